"""``wavesim report``: the incident measured, as a Markdown report with figures.

``build`` gathers the data (compare over seeds, one representative run per
policy, the checker on small scopes, the fault matrix), ``timeline`` records a
run's fuller time series, ``figures`` draws one figure per function,
``markdown`` writes ``report.md`` and ``write`` puts the folder in place, whole
or not at all. ``live`` measures a live run (``wavesim live``) by the simulation's
own metrics and verdicts, ``liveplot`` draws it, and ``data`` ships the committed
results the report reads.
"""

from __future__ import annotations

import importlib
from typing import Any

#: each name the package offers -> the module it comes from; a name is imported when first asked for, so
#: that ``report.live`` and ``report.data`` (read by ``wavesim live`` and ``wavesim docs``) do not bring in
#: the report's figures and checks
_FROM = {
    "ReportData": "build", "ReportSettings": "build", "gather": "build", "FIGURES": "figures",
    "POLICY_COLOURS": "figures", "HEADLINE": "markdown", "render": "markdown", "Timeline": "timeline",
    "WaveTimes": "timeline", "traced_run": "timeline", "write_report": "write",
}

__all__ = [
    "FIGURES", "HEADLINE", "POLICY_COLOURS", "ReportData", "ReportSettings", "Timeline", "WaveTimes", "gather",
    "render", "traced_run", "write_report",
]


def __getattr__(name: str) -> Any:
    if name not in _FROM:
        raise AttributeError(f"module 'report' has no attribute {name!r}")
    return getattr(importlib.import_module(f"report.{_FROM[name]}"), name)
