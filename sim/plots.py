"""Plots of runs: queue depth and active waves over time, dispatches marked.

matplotlib with the Agg backend and explicit figure/axes objects: nothing here
touches pyplot's global state, so plotting is safe in tests and threads.
"""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from coordinator.properties import queue_bound
from sim.compare import Comparison
from sim.run import RunResult

__all__ = ["POLICY_COLOURS", "comparison_figure", "draw_run", "run_figure", "save"]

#: One colour per policy in every plot (Okabe-Ito, readable with colour-blindness); ``wavesim report`` uses it too.
POLICY_COLOURS = {"original": "#D55E00", "guarded": "#E69F00", "seed-fix": "#0072B2", "atomic": "#009E73"}


def draw_run(ax_depth: Axes, ax_active: Axes, result: RunResult, *, title: str | None = None) -> None:
    """Queue depth (ready batch jobs) on one axes and active waves on the other."""
    s = result.series
    end = result.metrics["makespan_s"]
    colour = POLICY_COLOURS.get(result.scenario.policy, "tab:blue")
    ax_depth.step([*s.depth_t, end], [*s.depth, s.depth[-1]], where="post", color=colour, lw=1.2,
                  label="ready batch jobs")
    bound = queue_bound(result.scenario.config)
    ax_depth.axhline(bound, color="black", ls="--", lw=0.8, label=f"queue bound {bound}")
    seen: set[int] = set()
    first: list[float] = []
    again: list[float] = []
    for t, w in zip(s.dispatch_t.tolist(), s.dispatch_wave.tolist(), strict=True):
        (again if w in seen else first).append(t)
        seen.add(w)
    if first:
        ax_depth.plot(first, [0] * len(first), "|", color="black", ms=10, mew=1.2, label="dispatch")
    if again:
        ax_depth.plot(again, [0] * len(again), "|", color="tab:red", ms=14, mew=1.5, label="duplicate dispatch")
    ax_depth.set_ylabel("ready batch jobs")
    ax_depth.legend(loc="upper right", fontsize=7)
    ax_active.step([*s.active_t, end], [*s.active, s.active[-1]], where="post", color=colour, lw=1.2)
    ax_active.set_ylabel("active waves")
    ax_active.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax_active.set_xlabel("simulated seconds")
    m = result.metrics
    status = f"stalled at wave {m['stall_wave']}" if m["stalled"] else result.outcome
    ax_depth.set_title(title or f"{result.scenario.policy}, seed {result.scenario.seed}: {status}", fontsize=9)
    for ax in (ax_depth, ax_active):
        ax.set_xlim(0, max(end, 1e-3))
        ax.grid(alpha=0.3)


def run_figure(result: RunResult) -> Figure:
    """One run: queue depth above, active waves below, sharing the time axis."""
    fig = Figure(figsize=(9, 5.5), layout="constrained")
    FigureCanvasAgg(fig)
    ax_depth, ax_active = fig.subplots(2, 1, sharex=True, height_ratios=(2, 1))
    draw_run(ax_depth, ax_active, result)
    sc = result.scenario
    fig.suptitle(f"{sc.preset}: {sc.waves} x {sc.wave_size}, threshold {sc.threshold}%, {sc.workers} workers",
                 fontsize=10)
    return fig


def comparison_figure(comparison: Comparison, *, seed_index: int = 0) -> Figure:
    """Side by side, one column per policy: the run of one seed (the first by default)."""
    policies: Sequence[str] = list(comparison.runs)
    fig = Figure(figsize=(3.6 * len(policies) + 0.5, 6), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(2, len(policies), squeeze=False, height_ratios=(2, 1))
    for i, p in enumerate(policies):
        r = comparison.runs[p][seed_index]
        summ = comparison.summary(p)
        stall = summ["metrics"]["stalled"]["share"]
        title = (f"{p} (seed {r.scenario.seed})\nmedian over {summ['runs']} seeds: peak "
                 f"{summ['metrics']['peak_queue_depth']['median']:.0f}, stalled {stall:.0%}")
        draw_run(axes[0][i], axes[1][i], r, title=title)
    sc = comparison.scenario
    fig.suptitle(f"{sc.preset}: {sc.waves} x {sc.wave_size}, threshold {sc.threshold}%, {sc.workers} workers, "
                 f"{sc.listener} listeners", fontsize=10)
    return fig


def save(fig: Figure, path: str) -> None:
    """Write ``fig`` to ``path`` (the format follows the suffix: .png, .svg, .pdf)."""
    fig.savefig(path, dpi=120)
