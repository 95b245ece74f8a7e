"""``wavesim audit FILE``: check a real or simulated wave history for the write-up's failures."""

from __future__ import annotations

import json
import math
from pathlib import Path

import click

from audit import MAIN_LEVEL, Limits, Report, audit_history, parse_time, read_history, to_json, to_table
from audit.checks import KINDS, SECOND
from audit.parse import FORMATS, format_time, parse_zone
from audit.plot import write_plot
from userio.errors import BadInput
from userio.exitcodes import Expected, Verdicts, expect_option, judge, surprises
from userio.files import read_text
from wavesim.commands.outputs import wrote

__all__ = ["audit", "audit_verdicts", "run_audit"]

#: Seconds of idleness before a stall is reported: Horizon's default long-wait alert (``horizon.waits``).
STALL_AFTER_S = 60.0


def run_audit(path: str, *, fmt: str = "auto", level: int = MAIN_LEVEL, window_s: float = 1.0,
              burst_limit: int = 1, max_active: int | None = None, stall_after_s: float = STALL_AFTER_S,
              now: str | None = None, tz: str = "UTC") -> Report:
    """Read ``path`` and audit it; ``BadInput`` for a file or option that cannot be used."""
    zone = parse_zone(tz)
    if not math.isfinite(window_s):
        raise BadInput(f"--window {window_s} must be a finite number of seconds above 0")
    if window_s <= 0:
        raise BadInput(f"--window {window_s} must be above 0 seconds")
    if not math.isfinite(stall_after_s):
        raise BadInput(f"--stall-after {stall_after_s} must be a finite number of seconds, 0 or more")
    if stall_after_s < 0:
        raise BadInput(f"--stall-after {stall_after_s} must be 0 seconds or more")
    try:
        now_us = None if now is None else parse_time(now, zone)
    except ValueError as err:
        raise BadInput(f"--now: {err}") from None
    limits = Limits(window=round(window_s * SECOND), burst_limit=burst_limit, max_active=max_active,
                    stall_after=round(stall_after_s * SECOND), now=now_us)
    name = Path(path).name
    history = read_history(read_text(path), name=name, fmt=fmt, tz=zone)
    report = audit_history(history, file=name, limits=limits, level=level, tz=tz)
    if not report.jobs:
        found = ", ".join(str(k) for k in report.other_levels)
        raise BadInput(f"{name} has no usable rows at dependency_level {level} (found levels {found}; use --level)")
    late = [job for job in report.jobs if now_us is not None and job.latest is not None and job.latest > now_us]
    if late:
        raise BadInput(f"--now {now} is before the latest timestamp of job {late[0].job_id} "
                       f"({format_time(late[0].latest or 0)} UTC): --now must be at or after the end of the history")
    return report


def audit_verdicts(report: Report) -> Verdicts:
    """Per property a finding kind bears on (``KINDS``): violated when any job breaks its limit, held
    otherwise; overlap is judged only with ``--max-active`` (without it, it is measured, not judged)."""
    broken = set(report.violations())
    return {(report.file, prop): kind not in broken for kind, prop in KINDS.items()
            if kind != "overlap" or report.limits.max_active is not None}


@click.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the findings as a JSON document (schema wavesim.audit/1).")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False), default=None,
              help="Also write a timeline plot (.png, .svg or .pdf).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="auto", show_default=True,
              help="Input format; auto reads JSON Lines when the file starts with '{', else CSV.")
@click.option("--level", type=int, default=MAIN_LEVEL, show_default=True,
              help="Which dependency_level to audit (-1: the main waves); rows at other levels are counted only.")
@click.option("--window", "window_s", type=float, default=1.0, show_default=True,
              help="Burst window in seconds.")
@click.option("--burst-limit", type=click.IntRange(min=1), default=1, show_default=True,
              help="A window with more dispatches than this is a burst.")
@click.option("--max-active", type=click.IntRange(min=1), default=None,
              help="More waves active at once than this is a violation (1: the write-up's single-active-wave "
                   "criterion). Default: overlap is measured and reported, not judged.")
@click.option("--stall-after", "stall_after_s", type=float, default=STALL_AFTER_S, show_default=True,
              help="Seconds with nothing dispatched, nothing working and a later wave pending that make a stall.")
@click.option("--now", default=None, metavar="TIMESTAMP",
              help="End of the history (for a job still running); default: the job's latest timestamp in FILE.")
@click.option("--tz", default="UTC", show_default=True,
              help="Zone of timestamps without an offset (UTC, a name like Europe/Berlin, or +02:00); "
                   "timestamps with an offset or Z are converted.")
@expect_option
def audit(file: str, as_json: bool, plot_path: str | None, fmt: str, level: int, window_s: float,
          burst_limit: int, max_active: int | None, stall_after_s: float, now: str | None, tz: str,
          expected: Expected) -> None:
    """Audit an export of wave_coordination (CSV or JSON Lines) for bursts, overlaps, stalls,
    duplicate dispatches and waves never completed.

    Exit code 0 when clean, 1 when a property is violated (or, with --expect-violation, an expected
    one is not), 2 on bad input. The properties judged are those the findings bear on: queue_bounded
    (bursts), single_active_wave (overlap, with --max-active), no_stall, no_duplicate_push and
    import_completes.
    """
    if any(policy for policy, _ in expected.items):
        raise BadInput("--expect-violation: an audit judges a history, not a policy; give PROPERTY alone")
    report = run_audit(file, fmt=fmt, level=level, window_s=window_s, burst_limit=burst_limit,
                       max_active=max_active, stall_after_s=stall_after_s, now=now, tz=tz)
    verdicts = audit_verdicts(report)
    expected.require(verdicts, why=" (overlap is judged with --max-active)")
    code = judge(verdicts, expected)
    if plot_path is not None:
        write_plot(report, plot_path)
        wrote(plot_path)
    if as_json:
        click.echo(json.dumps({**to_json(report), "exit_code": code}, indent=2))
    else:
        click.echo(to_table(report), nl=False)
    for line in surprises(verdicts, expected) if expected.items else ():
        click.echo(f"not as expected: {line}", err=True)
    click.get_current_context().exit(code)
