"""``wavesim report``: regenerate the report folder (``reports/`` by default) from scratch."""

from __future__ import annotations

import click

from coordinator import POLICIES
from userio.progress import wanted
from wavesim.switches import check_read, parse_specs, switch_option

__all__ = ["report"]


@click.command("report")
@click.option("--out", default="reports", show_default=True, type=click.Path(),
              help="Folder to (re)write; it is replaced whole once everything is written.")
@click.option("--seeds", type=click.IntRange(min=1, max=10_000), default=None,
              help="Seeds per policy for the comparison. [default: 20; 3 with --quick]")
@click.option("--fault-seeds", type=click.IntRange(min=1, max=10_000), default=None,
              help="Seeds per cell of the fault matrix. [default: 10; 1 with --quick]")
@click.option("--jobs", type=click.IntRange(min=1, max=256), default=1, show_default=True,
              help="Processes for the runs and checks (the report is the same for any number).")
@click.option("--quick", is_flag=True, help="A tiny report in seconds (6 waves, 3 seeds, one small scope): for tests.")
@switch_option
def report(out: str, seeds: int | None, fault_seeds: int | None, jobs: int, quick: bool,
           switch_specs: tuple[str, ...] = ()) -> None:
    """Regenerate the incident report: Markdown, figures (PNG and SVG), verdicts, fault matrix.

    The report records verdicts; it does not judge them (the write-up's policies break properties
    by design): exit 0 once it is written. Gate on 'wavesim check' or 'wavesim compare' instead.
    """
    # imported here: the report needs matplotlib, which every other command should not pay for at start-up
    from report.build import ReportSettings
    from report.write import write_report

    given = parse_specs(switch_specs)
    check_read(given, list(POLICIES))
    settings = ReportSettings(
        switches=tuple(sorted(given.items())),
        seeds=seeds if seeds is not None else (3 if quick else 20),
        fault_seeds=fault_seeds if fault_seeds is not None else (1 if quick else 10),
        jobs=jobs, quick=quick, progress=wanted(),
    )
    target = write_report(out, settings)
    click.echo(f"wrote {target}/report.md and its figures", err=True)  # a file written is named on stderr
