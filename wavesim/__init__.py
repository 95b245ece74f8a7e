"""wavesim's command line: the ``wavesim`` group, its commands and their options, and the generated docs
blocks that show the commands' own output.

What the commands use lives in its own package below (``docs/architecture.md``).
"""

from userio.version import __version__

__all__ = ["__version__"]
