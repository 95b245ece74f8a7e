"""The committed data ``wavesim report`` reads, shipped inside the package.

The files live where the commands that write them put them (``docs/live-results/``,
``docs/readings.json``, ``tests/fixtures/writeup_dispatches.csv``); this folder
links to them, and ``pyproject.toml`` lists them as package data, so a wheel
(``pip install /path/to/wavesim``, not editable) carries copies and the report
works from any install. Read them through ``shipped``, never through a path
relative to the source tree.
"""

from __future__ import annotations

from importlib import resources
from importlib.abc import Traversable

__all__ = ["shipped"]


def shipped(name: str) -> Traversable:
    """One shipped file, e.g. ``shipped("live-results/guards.jsonl")``."""
    return resources.files(__name__).joinpath(*name.split("/"))
