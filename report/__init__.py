"""``wavesim report``: the incident measured, as a Markdown report with figures.

``build`` gathers the data (compare over seeds, one representative run per
policy, the checker on small scopes, the fault matrix), ``timeline`` records a
run's fuller time series, ``figures`` draws one figure per function,
``markdown`` writes ``report.md`` and ``write`` puts the folder in place, whole
or not at all. ``live`` measures a live run (``wavesim live``) by the simulation's
own metrics and verdicts, ``liveplot`` draws it, and ``data`` ships the committed
results the report reads.
"""

from report.build import ReportData, ReportSettings, gather
from report.figures import FIGURES, POLICY_COLOURS
from report.markdown import HEADLINE, render
from report.timeline import Timeline, WaveTimes, traced_run
from report.write import write_report

__all__ = [
    "FIGURES", "HEADLINE", "POLICY_COLOURS", "ReportData", "ReportSettings", "Timeline", "WaveTimes", "gather",
    "render", "traced_run", "write_report",
]
