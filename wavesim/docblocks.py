"""The generated blocks of the README and the general docs pages (see ``docgen``).

Each block is cheap: it reads the committed report (``reports/report.md``,
written by ``wavesim report``) or computes something small and deterministic
from the code itself (policies, presets, scenario defaults, named faults, the
audit of a committed fixture). Rerun ``wavesim report`` first when the numbers
should change, then ``wavesim docs``.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import fields
from enum import StrEnum

from coordinator import POLICIES, Policy, sql
from docgen import project_root, register
from sim.compare import COUNT_LABELS
from sim.faultsettings import FAULT_PRESETS
from sim.scenario import PRESETS, Scenario

__all__ = ["markdown_table", "report_section"]

REPORT = "reports/report.md"
WRITEUP_FIXTURE = "tests/fixtures/writeup_dispatches.csv"


def report_section(heading: str) -> str:
    """The text under ``## heading`` in the committed report, up to the next heading of that level or above."""
    path = project_root() / REPORT
    if not path.is_file():
        raise LookupError(f"{REPORT} is missing: run 'wavesim report' first")
    text = path.read_text(encoding="utf-8")
    m = re.search(rf"^(#+) {re.escape(heading)}\s*$", text, flags=re.MULTILINE)
    if m is None:
        raise LookupError(f"{REPORT} has no section {heading!r}: rerun 'wavesim report'")
    level = len(m.group(1))
    rest = text[m.end():]
    end = re.search(rf"^#{{1,{level}}} ", rest, flags=re.MULTILINE)
    return rest[: end.start() if end else len(rest)].strip("\n")


def markdown_table(section: str) -> list[list[str]]:
    """The first Markdown table of a section, as rows of cells (the header row first, the rule dropped)."""
    rows: list[list[str]] = []
    for line in section.splitlines():
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if not all(set(c) <= set("-:") for c in cells):
                rows.append(cells)
        elif rows:
            break
    return rows


def _table(head: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


_BEFORE_AFTER = "Before / After: the write-up's success metrics, measured"
#: the report's rows the README's short summary keeps, and what it calls them
_SUMMARY_ROWS = {
    COUNT_LABELS["max_waves_first_dispatched_in_1s"]: COUNT_LABELS["max_waves_first_dispatched_in_1s"],
    COUNT_LABELS["max_dispatch_events_in_1s"]: COUNT_LABELS["max_dispatch_events_in_1s"],
    "peak ready batch jobs": "peak ready batch jobs",
    COUNT_LABELS["waves_dispatched_more_than_once"]: COUNT_LABELS["waves_dispatched_more_than_once"],
    "runs that stalled (a manual restart)": "runs stalled",
    "imports completed": "imports completed",
}


@register("findings")
def findings() -> str:
    """A short summary of the report: one row per policy, five of its measured metrics."""
    rows = markdown_table(report_section(_BEFORE_AFTER))
    head, body = rows[0], {r[0]: r for r in rows[1:]}
    policies = [p for p in head if p in POLICIES]
    cols = [i for i, p in enumerate(head) if p in POLICIES]
    kept = [name for name in _SUMMARY_ROWS if name in body]
    out = [[p, *(body[name][i] for name in kept)] for p, i in zip(policies, cols, strict=True)]
    setup = report_section("The wave-burst incident, measured").split("\n\n")[1].split(";")[-1].strip()
    return (_table(["policy", *(_SUMMARY_ROWS[k] for k in kept)], out)
            + f"\n\nMedians [min-max] or counts over {setup.rstrip('.')}.")


@register("report-before-after")
def report_before_after() -> str:
    """The report's Before / After table, whole."""
    section = report_section(_BEFORE_AFTER)
    return "\n".join(line for line in section.splitlines() if line.startswith("|"))


@register("report-fault-matrix")
def report_fault_matrix() -> str:
    """The report's fault matrix: its scenario line and the table (the replay commands stay in the report)."""
    section = report_section("Fault matrix")
    head = section.split("\n\n")[0]
    table = "\n".join(line for line in section.splitlines() if line.startswith("|"))
    return f"{head}\n\n{table}"


@register("policies")
def policies() -> str:
    """Each policy and the switches it sets away from ``Policy()``'s defaults (``coordinator.POLICIES``)."""
    defaults = Policy().switches()
    rows = []
    for name, policy in POLICIES.items():
        on = []
        for key, value in policy.switches().items():
            if key == "name" or value == defaults[key]:
                continue
            on.append(f"`{key}`" if value is True else f"`{key} = {_value(value)}`")
        rows.append([f"`{name}`", ", ".join(on) or "none (no guard, no auto-trigger)"])
    return _table(["policy", "switches set"], rows)


@register("atomic-claim-sql")
def atomic_claim_sql() -> str:
    """The claim of ``atomic`` as a user would run it, per database, from ``coordinator.sql``."""
    names = {"postgresql": "PostgreSQL", "mysql": "MariaDB / MySQL", "sqlite": "SQLite"}
    return "\n\n".join(f"{names[d]}:\n\n```sql\n{sql.render('ClaimNextWave', d)}\n```" for d in sql.DIALECTS)


def _value(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value.value if isinstance(value, StrEnum) else value)


@register("presets")
def presets() -> str:
    """Each preset and the settings in which it differs from the defaults."""
    default = Scenario()
    rows = []
    for name, preset in PRESETS.items():
        changed = [f"`{f.name} = {_value(getattr(preset, f.name))}`" for f in fields(Scenario)
                   if f.name != "preset" and getattr(preset, f.name) != getattr(default, f.name)]
        rows.append([f"`{name}`", ", ".join(changed) or "the defaults"])
    return _table(["preset", "differs from the defaults in"], rows)


@register("scenario-settings")
def scenario_settings() -> str:
    """Every scenario option of ``wavesim run``, its setting and its default."""
    from wavesim.commands.run import SETTINGS

    default = Scenario()
    rows = [[f"`{flag}`", _value(getattr(default, field)), text] for flag, (field, _, text) in SETTINGS.items()]
    return _table(["option", "default", "meaning"], rows)


@register("fault-presets")
def fault_presets() -> str:
    """The named faults of ``wavesim faults --fault`` and the settings each turns on."""
    rows = [[f"`{name}`", ", ".join(f"`{k} = {_value(v)}`" for k, v in settings.items()) or "no fault"]
            for name, settings in FAULT_PRESETS.items()]
    return _table(["fault", "settings"], rows)


@register("audit-example")
def audit_example() -> str:
    """``wavesim audit`` on the write-up's own dispatch timestamps (a committed fixture)."""
    from audit import to_table
    from wavesim.commands.audit import run_audit

    report = run_audit(str(project_root() / WRITEUP_FIXTURE))
    return f"```\n$ wavesim audit {WRITEUP_FIXTURE}\n{to_table(report).rstrip()}\n```"


@register("audit-json-shape")
def audit_json_shape() -> str:
    """The shape of ``wavesim audit --json`` and its result words (one copy: ``audit/render.py``'s docstring)."""
    from audit import render

    text = render.__doc__ or ""
    units, shape = text.split("has this shape; ", 1)[1].split("::", 1)
    body, words = shape.split("Result words:", 1)
    units = " ".join(units.split())
    return (f"{units[:1].upper()}{units[1:]}.\n\n```\n{textwrap.dedent(body).strip()}\n```\n\n"
            f"Result words: {' '.join(words.split())}")
