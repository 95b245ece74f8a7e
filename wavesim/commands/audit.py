"""``wavesim audit FILE``: check a real or simulated wave history for the write-up's failures; ``wavesim audit
SPEC EXPORT...`` (``wavesim.commands.specaudit``): judge a spec's properties on exports of its tables."""

from __future__ import annotations

import json
import math
from pathlib import Path

import click

from audit import MAIN_LEVEL, Limits, Report, audit_history, parse_time, read_history, to_json, to_table
from audit.checks import KINDS, SECOND
from audit.parse import FORMATS, format_time, parse_zone
from audit.plot import write_plot
from coordinator import POLICIES
from specfile.load import given_options
from userio.errors import BadInput
from userio.exitcodes import Expected, Verdicts, expect_option, judge, surprises
from userio.files import is_spec_path, read_text
from wavesim.commands.outputs import wrote
from wavesim.switches import switch_option

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


#: options of the write-up's audit (FILE) and of a spec's (SPEC EXPORT...): each refused with the other
FILE_ONLY = ("plot_path", "level", "window_s", "burst_limit", "max_active", "stall_after_s", "now")
SPEC_ONLY = ("table_texts", "scope_texts", "switch_specs", "policy")


def _flag(name: str) -> str:
    """The option's flag as typed (``--max-active``) for a parameter's name."""
    command = click.get_current_context().command
    return next(p.opts[0] for p in command.params if p.name == name)


@click.command()
@click.argument("paths", nargs=-1, required=True, is_eager=True, type=click.Path(dir_okay=False),
                metavar="FILE | SPEC EXPORT...")
@click.option("--json", "as_json", is_flag=True,
              help="Print the findings as a JSON document (schema wavesim.audit/1; with a SPEC, wavesim.spec-audit/1).")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False), default=None,
              help="FILE only: also write a timeline plot (.png, .svg or .pdf).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="auto", show_default=True,
              help="Input format (of every export, with a SPEC); auto reads JSON Lines when the file starts with "
                   "'{', else CSV.")
@click.option("--level", type=int, default=MAIN_LEVEL, show_default=True,
              help="FILE only: which dependency_level to audit (-1: the main waves); rows at other levels are "
                   "counted only.")
@click.option("--window", "window_s", type=float, default=1.0, show_default=True,
              help="FILE only: burst window in seconds.")
@click.option("--burst-limit", type=click.IntRange(min=1), default=1, show_default=True,
              help="FILE only: a window with more dispatches than this is a burst.")
@click.option("--max-active", type=click.IntRange(min=1), default=None,
              help="FILE only: more waves active at once than this is a violation (1: the write-up's "
                   "single-active-wave criterion). Default: overlap is measured and reported, not judged.")
@click.option("--stall-after", "stall_after_s", type=float, default=STALL_AFTER_S, show_default=True,
              help="FILE only: seconds with nothing dispatched, nothing working and a later wave pending that make "
                   "a stall.")
@click.option("--now", default=None, metavar="TIMESTAMP",
              help="FILE only: end of the history (for a job still running); default: the job's latest timestamp "
                   "in FILE.")
@click.option("--tz", default="UTC", show_default=True,
              help="Zone of timestamps without an offset (UTC, a name like Europe/Berlin, or +02:00); "
                   "timestamps with an offset or Z are converted. With a SPEC: of its DateTime columns.")
@click.option("--table", "table_texts", multiple=True, metavar="NAME=FILE",
              help="SPEC only: FILE is the export of the spec's table NAME (repeatable); an EXPORT without it "
                   "names its table by its file name (jobs.csv: jobs).")
@click.option("--scope", "scope_texts", multiple=True, metavar="NAME=VALUE",
              help="SPEC only: a scope entry of the spec, which its properties may read (repeatable).")
@switch_option
@click.option("--policy", type=click.Choice(list(POLICIES)), default=None,
              help="SPEC only: the spec's 'policy' switch (the write-up's coordinator, coordinator/writeup.py).")
@expect_option
def audit(paths: tuple[str, ...], as_json: bool, plot_path: str | None, fmt: str, level: int, window_s: float,
          burst_limit: int, max_active: int | None, stall_after_s: float, now: str | None, tz: str,
          table_texts: tuple[str, ...], scope_texts: tuple[str, ...], switch_specs: tuple[str, ...],
          policy: str | None, expected: Expected) -> None:
    """Audit an export of wave_coordination (CSV or JSON Lines) for bursts, overlaps, stalls,
    duplicate dispatches and waves never completed; or exports of a spec's own tables against its properties.

    FILE: exit code 0 when clean, 1 when a property is violated (or, with --expect-violation, an expected
    one is not), 2 on bad input. The properties judged are those the findings bear on: queue_bounded
    (bursts), single_active_wave (overlap, with --max-active), no_stall, no_duplicate_push and
    import_completes.

    SPEC EXPORT...: each EXPORT is one of the spec's tables (CSV with a header row, or JSON Lines), its
    values typed as the spec declares them; every always property is judged on the rows. A property that
    reads what an export does not hold (count, queued, running, failed, idle, a table not given) and every
    eventually property are 'not judged'. Exit 0 when every property judged holds, 1 when one is violated,
    2 on bad input, and when no property can be judged (docs/your-coordinator.md, "Audit an export of your
    tables").
    """
    given = given_options()
    if is_spec_path(paths[0]):
        wrong = [n for n in FILE_ONLY if n in given]
        if wrong:
            raise BadInput(f"{_flag(wrong[0])} is for an export of the write-up's wave_coordination (wavesim audit "
                           "FILE); a spec's audit judges the spec's own properties")
        from wavesim.commands.specaudit import audit_spec_command
        audit_spec_command(paths[0], paths[1:], tables=table_texts, scope=scope_texts, switches=switch_specs,
                           policy=policy, fmt=fmt, tz=tz, as_json=as_json, expected=expected)
        return
    wrong = [n for n in SPEC_ONLY if n in given]
    if wrong:
        raise BadInput(f"{_flag(wrong[0])} is for a spec's tables: give the spec file first "
                       "(wavesim audit SPEC.py EXPORT...)")
    if len(paths) > 1:
        raise BadInput(f"{paths[0]} is not a spec file (.py): the write-up's audit takes one FILE, got {len(paths)} "
                       "(a spec's audit: wavesim audit SPEC.py EXPORT...)")
    if any(policy for policy, _ in expected.items):
        raise BadInput("--expect-violation: an audit judges a history, not a policy; give PROPERTY alone")
    report = run_audit(paths[0], fmt=fmt, level=level, window_s=window_s, burst_limit=burst_limit,
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
