"""The ``wavesim`` command: one click group; each command lives in ``wavesim/commands``."""

from __future__ import annotations

import click

from wavesim import __version__
from wavesim.commands.demo import demo

__all__ = ["main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="wavesim")
def main() -> None:
    """Model, simulate and check queue-backed wave coordinators."""


main.add_command(demo)
