"""Output files named on stderr: every file a command writes (``--plot``, ``--csv``, ``--out``,
``--trace-out``) is written whole (``atomic_write``) and then announced as ``wrote PATH``."""

from __future__ import annotations

from collections.abc import Callable
from os import PathLike
from pathlib import Path

import click

from userio.files import atomic_write

__all__ = ["write_output", "wrote"]


def wrote(path: str | PathLike[str]) -> None:
    """Say on stderr that ``path`` was written (stdout stays the command's report)."""
    click.echo(f"wrote {path}", err=True)


def write_output(path: str | PathLike[str], write: Callable[[Path], object]) -> None:
    """``atomic_write(path, write)``, then ``wrote(path)``."""
    atomic_write(path, write)
    wrote(path)
