"""``wavesim readings``: which readings of the write-up its own evidence supports.

``evidence`` holds the write-up's evidence (``evidence.toml``), ``grid`` runs every combination of
readings against it, ``calibration`` sets the simulation's clock against the write-up's timestamps,
``render`` writes the tables, ``docs`` the generated blocks of ``docs/readings.md``.
"""

__all__ = ["calibration", "docs", "evidence", "grid", "render"]
