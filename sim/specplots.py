"""Plots of a spec's runs: each queue's depth over time, each property's first violation marked.

matplotlib with the Agg backend and explicit figure/axes objects, as ``sim.plots``, whose ``save`` writes
them.
"""

from __future__ import annotations

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from sim.speccompare import SpecComparison
from sim.specrun import SpecRunResult

__all__ = ["spec_comparison_figure", "spec_run_figure"]


def draw_spec_run(ax: Axes, result: SpecRunResult, title: str) -> None:
    """Each queue's depth as a step line; a dashed vertical line at each property's first violation."""
    t = result.series["t"]
    end = max(result.metrics["makespan_s"], t[-1], 1e-3)
    for i, queue in enumerate(result.queues):
        depth = [d[i] for d in result.series["depth"]]
        ax.step([*t, end], [*depth, depth[-1]], where="post", lw=1.2, label=f"queue {queue}")
    for name, v in result.properties.items():
        if v["holds"] is False and v["first_violation_s"] is not None:
            ax.axvline(v["first_violation_s"], color="tab:red", ls="--", lw=0.9, label=f"{name} {v['verdict']}")
    ax.set_xlim(0, end)
    ax.set_xlabel("simulated seconds")
    ax.set_ylabel("jobs queued")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper right", fontsize=7)


def spec_run_figure(result: SpecRunResult) -> Figure:
    fig = Figure(figsize=(9, 4), layout="constrained")
    FigureCanvasAgg(fig)
    scope = ", ".join(f"{k}={v}" for k, v in result.scope.items())
    draw_spec_run(fig.subplots(), result, f"{result.spec} ({scope}), seed {result.settings.seed}: {result.outcome}")
    return fig


def spec_comparison_figure(comparison: SpecComparison) -> Figure:
    """One panel per variant: the run of its first seed."""
    names = list(comparison.runs)
    fig = Figure(figsize=(4.2 * len(names) + 0.5, 4), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(names), squeeze=False)[0]
    for ax, name in zip(axes, names, strict=True):
        r = comparison.runs[name][0]
        draw_spec_run(ax, r, f"{name} (seed {r.settings.seed}): {r.outcome}")
    fig.suptitle(f"spec {comparison.spec}", fontsize=10)
    return fig
