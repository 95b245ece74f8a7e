"""The plot of a live run (``wavesim live --plot``): ``sim.plots``' figure, on a wall clock, faults marked.

A live run records its times in scenario seconds (wall seconds since the start
divided by ``scale``), so that its metrics and verdicts read like a simulated
run's. Its plot is of something that really ran, though, so the time axis is
wall seconds since the start (scenario seconds times ``scale``): what the
user waited, on which a dispatch and a kill sit where they really happened.
Each fault the run injected (``report.live.INJECTED``: kills, dropped
connections, slow statements, lost delayed jobs, duplicated deliveries) is
marked at the time its process logged it, just before injecting it; what
followed a fault (a job released after a database error) is not a fault and is
not marked.
"""

from __future__ import annotations

from dataclasses import replace

from matplotlib.figure import Figure

from live import LiveRun
from report.live import INJECTED
from sim.plots import run_figure
from sim.run import RunResult

__all__ = ["FAULT_MARKERS", "live_figure"]

#: marker and colour per injected fault kind (matplotlib marker codes)
FAULT_MARKERS = {"kill": ("x", "tab:red"), "drop": ("v", "tab:purple"), "slow-statement": ("s", "tab:brown"),
                 "lose-delayed": ("D", "tab:orange"), "duplicate-delivery": ("^", "tab:pink")}


def live_figure(run: LiveRun, result: RunResult) -> Figure:
    """``sim.plots.run_figure`` of ``result`` on wall seconds, each injected fault of ``run`` marked."""
    scale = run.settings.scale
    s = result.series
    series = replace(s, depth_t=s.depth_t * scale, active_t=s.active_t * scale, dispatch_t=s.dispatch_t * scale)
    end = result.metrics["makespan_s"] * scale
    wall = replace(result, series=series, metrics={**result.metrics, "makespan_s": end})
    fig = run_figure(wall)
    ax_depth, ax_active = fig.axes
    ax_active.set_xlabel("wall seconds since the start")
    marked = [f for f in run.faults if f["kind"] in INJECTED]
    if not marked:
        return fig
    ax_depth.set_ylim(top=ax_depth.get_ylim()[1] * 1.15)  # a band above the queue bound for the marks
    for kind in INJECTED:
        times = [float(f["at_s"]) * scale for f in marked if f["kind"] == kind]
        if times:
            marker, colour = FAULT_MARKERS[kind]
            # x in data, y in axes coordinates: in the band at the top, whatever the depth
            ax_depth.plot(times, [0.95] * len(times), marker=marker, color=colour, ls="none", ms=7,
                          transform=ax_depth.get_xaxis_transform(), label=f"fault: {kind}")
    last = max(float(f["at_s"]) * scale for f in marked)
    if last > ax_depth.get_xlim()[1]:  # a fault while the queue drained, after the last completion
        ax_depth.set_xlim(right=last * 1.02)
    ax_depth.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7)
    return fig
