"""The ``wavesim`` command: one click group; each command lives in ``wavesim/commands``."""

from __future__ import annotations

import click

from wavesim import __version__
from wavesim.commands.audit import audit
from wavesim.commands.check import check_command
from wavesim.commands.compare import compare
from wavesim.commands.demo import demo
from wavesim.commands.docs import docs
from wavesim.commands.faults import faults
from wavesim.commands.live import live
from wavesim.commands.readings import readings_command
from wavesim.commands.replay import replay_command
from wavesim.commands.report import report
from wavesim.commands.run import run
from wavesim.commands.sweep import sweep
from wavesim.errors import OneLineGroup
from wavesim.exitcodes import EPILOG

__all__ = ["main"]


@click.group(cls=OneLineGroup, epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="wavesim")
def main() -> None:
    """Model, simulate and check queue-backed wave coordinators."""


main.add_command(demo)
main.add_command(run)
main.add_command(compare)
main.add_command(faults)
main.add_command(audit)
main.add_command(sweep)
main.add_command(check_command)
main.add_command(replay_command)
main.add_command(report)
main.add_command(docs)
main.add_command(readings_command)
main.add_command(live)
