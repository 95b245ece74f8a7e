"""The ``wavesim`` command: one click group; each command lives in ``wavesim/commands``.

The group imports a command's module only when that command runs
(``wavesim.lazygroup``), so ``--help`` and ``--version`` start fast.
"""

from __future__ import annotations

import click

from userio.exitcodes import EPILOG
from wavesim import __version__
from wavesim.lazygroup import LazyCommand, LazyGroup

__all__ = ["COMMANDS", "main"]

#: every command: where it lives and its one-line summary (its docstring's first sentence)
COMMANDS = {
    "audit": LazyCommand("wavesim.commands.audit:audit",
                         "Audit an export of wave_coordination (CSV or JSON Lines) for bursts, overlaps, stalls, "
                         "duplicate dispatches and waves never completed; or exports of a spec's own tables "
                         "against its properties."),
    "check": LazyCommand("wavesim.commands.check:check_command",
                         "Check a spec file (or a policy of the write-up's coordinator) against its properties, "
                         "exhaustively."),
    "compare": LazyCommand("wavesim.commands.compare:compare",
                           "Compare a spec's switch variants (or the write-up's policies) over many seeds, side by "
                           "side."),
    "demo": LazyCommand("wavesim.commands.demo:demo",
                        "Show, step by step, what a spec's jobs (or a policy of the write-up's coordinator) do, to the"
                        " end."),
    "docs": LazyCommand("wavesim.commands.docs:docs",
                        "Rewrite the generated tables of README.md and docs/*.md from the report and the code."),
    "faults": LazyCommand("wavesim.commands.faults:faults",
                          "Which spec switch variant (or write-up policy) survives which fault: the share of runs each"
                          " property held."),
    "live": LazyCommand("wavesim.commands.live:live",
                        "Run imports live: worker processes, a real queue, real faults; measured from the real "
                        "tables."),
    "readings": LazyCommand("wavesim.commands.readings:readings_command",
                            "Run every combination of readings against the write-up's evidence; verdicts for "
                            "those that fit."),
    "replay": LazyCommand("wavesim.commands.replay:replay_command",
                          "Re-run a counterexample of a spec (or of the write-up's coordinator) and print its steps."),
    "report": LazyCommand("wavesim.commands.report:report",
                          "Regenerate the incident report: Markdown, figures (PNG and SVG), verdicts, fault matrix."),
    "run": LazyCommand("wavesim.commands.run:run",
                       "Simulate a spec file (or one import of the write-up's coordinator) and report its metrics and "
                       "properties."),
    "sweep": LazyCommand("wavesim.commands.sweep:sweep",
                         "Run a grid of a spec's (or the write-up's) settings x seeds and summarise each grid point."),
}


@click.group(cls=LazyGroup, lazy=COMMANDS, epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="wavesim")
def main() -> None:
    """Model, simulate and check queue-backed wave coordinators."""
