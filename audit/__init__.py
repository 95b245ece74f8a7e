"""``wavesim audit``: find bursts, overlaps, stalls, duplicate dispatches and unfinished
waves in an export of the ``wave_coordination`` table (real or simulated).

``parse`` reads CSV or JSON Lines, ``checks`` finds what happened per job,
``report`` gathers one file's audit, ``render`` writes the table and the JSON
document, ``plot`` draws the timeline. A spec's own tables (``wavesim audit SPEC
EXPORT...``): ``tables`` reads their exports, ``properties`` judges the spec's
properties on them.
"""

from __future__ import annotations

from audit.checks import KINDS, JobAudit, Limits, audit_job
from audit.parse import OPTIONAL, REQUIRED, History, parse_time, read_history
from audit.render import to_json, to_table
from audit.report import MAIN_LEVEL, Report, audit_history

__all__ = [
    "KINDS",
    "MAIN_LEVEL",
    "OPTIONAL",
    "REQUIRED",
    "History",
    "JobAudit",
    "Limits",
    "Report",
    "audit_history",
    "audit_job",
    "parse_time",
    "read_history",
    "to_json",
    "to_table",
]
