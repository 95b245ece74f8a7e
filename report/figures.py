"""The report's figures: one function per figure, each returning a matplotlib ``Figure``.

matplotlib's Agg backend with explicit figure and axes objects; nothing here
touches pyplot's global state. Every figure gives each policy the colour in
``POLICY_COLOURS`` (the Okabe-Ito palette, readable with colour-blindness), so
a policy looks the same in every figure (``sim.plots`` draws with it too). ``save_figure`` writes PNG and SVG
with no dates or random ids in them: the same data give the same bytes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib as mpl
import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FixedLocator, MaxNLocator, NullLocator, StrMethodFormatter

from report.timeline import Timeline
from sim.compare import Comparison
from sim.plots import POLICY_COLOURS

__all__ = [
    "FIGURES", "POLICY_COLOURS", "active_waves_figure", "colour", "dispatch_rate_figure", "distributions_figure",
    "queue_depth_figure", "save_figure", "wave_timeline_figure",
]

#: The write-up's production history, drawn apart from the simulated policies.
WRITEUP_COLOUR = "#444444"

#: figure stem -> what it shows (the order of the report)
FIGURES: dict[str, str] = {
    "queue_depth": "queue depth over time (ready and delayed jobs), one panel per policy",
    "active_waves": "active waves, and active waves below threshold, over time",
    "wave_timeline": "wave timeline: dispatch, threshold reached and completion of every wave",
    "dispatch_rate": "dispatch events per second (every push, repeats included), simulated beside the write-up's "
                     "timestamps",
    "distributions": "makespan, peak queue depth and stall rate over seeds",
}

_DPI = 130
#: y ticks of the queue-depth panels (a symmetric log scale)
_TICKS = (0, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 20_000, 50_000)


def colour(policy: str) -> str:
    """The policy's colour (grey for a policy without one)."""
    return POLICY_COLOURS.get(policy, "#777777")


def _figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _step(ax: Axes, t: np.ndarray, y: np.ndarray, end: float, **kw: object) -> None:
    """A step function held until ``end``."""
    ax.step([*t.tolist(), end], [*y.tolist(), int(y[-1])], where="post", **kw)  # type: ignore[arg-type]


def _status(tl: Timeline) -> str:
    if tl.outcome == "stalled":
        return f"stalled at wave {tl.stall_wave} after {tl.makespan_s:.1f} s"
    if tl.outcome == "horizon":
        return f"unfinished at the horizon ({tl.makespan_s:.0f} s)"
    return f"completed in {tl.makespan_s:.1f} s"


def _mark_end(ax: Axes, tl: Timeline) -> None:
    """A vertical line where a run stalled."""
    if tl.outcome == "stalled":
        ax.axvline(tl.makespan_s, color="black", lw=1, ls=":")


def _grid(n: int, width: float, height: float) -> tuple[Figure, list[Axes]]:
    fig = _figure(width, height)
    cols = 2 if n > 1 else 1
    rows = (n + cols - 1) // cols
    axes = fig.subplots(rows, cols, sharex=True, sharey=True, squeeze=False)
    flat = [ax for row in axes for ax in row]
    for ax in flat[n:]:
        ax.set_visible(False)
    return fig, flat[:n]


def queue_depth_figure(timelines: Mapping[str, Timeline], *, promise: int, title: str) -> Figure:
    """Ready and delayed jobs over time, one panel per policy, shared axes."""
    fig, axes = _grid(len(timelines), 11, 6.5)
    end = max(tl.makespan_s for tl in timelines.values())
    for ax, (policy, tl) in zip(axes, timelines.items(), strict=True):
        c = colour(policy)
        _step(ax, tl.queue_t, tl.ready, tl.makespan_s, color=c, lw=1.4)
        _step(ax, tl.queue_t, tl.delayed, tl.makespan_s, color=c, lw=1.2, ls="--")
        ax.axhline(promise, color="black", lw=0.9, ls=":")
        _mark_end(ax, tl)
        ax.set_title(f"{policy} (seed {tl.seed}): peak {int(tl.ready.max()):,} ready jobs; {_status(tl)}",
                     fontsize=10, color=c, loc="left")
        ax.grid(alpha=0.3)
    top = max(int(tl.ready.max()) for tl in timelines.values())
    for ax in axes:
        ax.set_xlim(0, end * 1.02)
        ax.set_yscale("symlog", linthresh=10, linscale=0.6)
        ax.set_ylim(0, max(top, promise) * 1.6)
        ax.yaxis.set_major_locator(FixedLocator([t for t in _TICKS if t <= max(top, promise) * 1.6]))
        ax.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
        ax.yaxis.set_minor_locator(NullLocator())
    for ax in axes[-2:]:
        ax.set_xlabel("simulated time (s)")
    for ax in axes[::2]:
        ax.set_ylabel("jobs in the queue (log scale above 10)")
    handles = [
        Line2D([], [], color="#555555", lw=1.4, label="ready jobs (solid)"),
        Line2D([], [], color="#555555", lw=1.2, ls="--", label="delayed jobs: auto-triggers (dashed)"),
        Line2D([], [], color="black", lw=0.9, ls=":", label=f"write-up's promise: <= {promise} queued"),
    ]
    fig.legend(handles=handles, loc="outside lower center", ncols=3, fontsize=9, frameon=False)
    fig.suptitle(title, fontsize=12)
    return fig


def active_waves_figure(timelines: Mapping[str, Timeline], *, title: str) -> Figure:
    """Active waves and active waves below threshold over time, one panel per policy."""
    fig, axes = _grid(len(timelines), 11, 6.5)
    end = max(tl.makespan_s for tl in timelines.values())
    for ax, (policy, tl) in zip(axes, timelines.items(), strict=True):
        c = colour(policy)
        _step(ax, tl.status_t, tl.active, tl.makespan_s, color=c, lw=1.6)
        _step(ax, tl.status_t, tl.below, tl.makespan_s, color=c, lw=1.2, ls="--")
        ax.axhline(1, color="black", lw=0.9, ls=":")
        _mark_end(ax, tl)
        ax.set_title(f"{policy} (seed {tl.seed}): up to {int(tl.active.max())} active, "
                     f"{int(tl.below.max())} below threshold", fontsize=10, color=c, loc="left")
        ax.grid(alpha=0.3)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    for ax in axes:
        ax.set_xlim(0, end * 1.02)
        ax.set_ylim(bottom=0)
    for ax in axes[-2:]:
        ax.set_xlabel("simulated time (s)")
    for ax in axes[::2]:
        ax.set_ylabel("waves")
    handles = [
        Line2D([], [], color="#555555", lw=1.6, label="active waves (dispatching or processing)"),
        Line2D([], [], color="#555555", lw=1.2, ls="--", label="active waves below threshold"),
        Line2D([], [], color="black", lw=0.9, ls=":", label="write-up's goal: 1 wave active at any time"),
    ]
    fig.legend(handles=handles, loc="outside lower center", ncols=3, fontsize=9, frameon=False)
    fig.suptitle(title, fontsize=12)
    return fig


def wave_timeline_figure(timelines: Mapping[str, Timeline], *, title: str) -> Figure:
    """A Gantt chart per policy: each wave from dispatch to completion, its threshold marked."""
    n = len(timelines)
    fig = _figure(3.2 * n + 1.2, 7.5)
    axes = fig.subplots(1, n, sharex=True, sharey=True, squeeze=False)[0]
    end = max(tl.makespan_s for tl in timelines.values())
    waves = max(len(tl.waves) for tl in timelines.values())
    for ax, (policy, tl) in zip(axes, timelines.items(), strict=True):
        c = colour(policy)
        for w in tl.waves:
            if w.dispatched_s is None:
                continue
            stop = w.completed_s if w.completed_s is not None else tl.makespan_s
            done = w.completed_s is not None
            ax.barh(w.wave, max(stop - w.dispatched_s, end * 0.002), left=w.dispatched_s, height=0.7,
                    color=c if done else "white", edgecolor=c, lw=0.8, hatch=None if done else "////")
            if w.threshold_s is not None:
                ax.plot([w.threshold_s], [w.wave], marker="|", color="black", ms=6, mew=1.3)
        _mark_end(ax, tl)
        dispatched = sum(1 for w in tl.waves if w.dispatched_s is not None)
        ax.set_title(f"{policy} (seed {tl.seed})\n{dispatched} of {len(tl.waves)} waves dispatched;\n{_status(tl)}",
                     fontsize=9.5, color=c)
        ax.set_xlabel("simulated time (s)")
        ax.grid(axis="x", alpha=0.3)
    axes[0].set_ylim(waves + 0.8, 0.2)
    axes[0].set_xlim(0, end * 1.02)
    axes[0].set_ylabel("wave number")
    axes[0].yaxis.set_major_locator(MaxNLocator(integer=True, nbins=12))
    handles = [
        Patch(facecolor="#999999", edgecolor="#999999", label="dispatch -> completion"),
        Patch(facecolor="white", edgecolor="#999999", hatch="////", label="dispatched, never completed"),
        Line2D([], [], ls="", marker="|", color="black", ms=8, mew=1.3, label="threshold reached"),
        Line2D([], [], color="black", lw=1, ls=":", label="run stalled"),
    ]
    fig.legend(handles=handles, loc="outside lower center", ncols=4, fontsize=9, frameon=False)
    fig.suptitle(title, fontsize=12)
    return fig


def _per_second(times: Sequence[float], end: float) -> tuple[np.ndarray, np.ndarray]:
    """Counts of ``times`` in each whole second [k, k+1) from 0 to ``end``."""
    edges = np.arange(0.0, max(np.floor(end) + 2.0, 2.0))
    counts, _ = np.histogram(np.asarray(times, dtype=float), bins=edges)
    return edges[:-1], counts


def _last_second(times: Sequence[float], end: float, step: float = 0.01) -> tuple[np.ndarray, np.ndarray]:
    """How many of ``times`` fall in the second before t, on a grid of t from 0 to ``end``
    (its maximum is the run's 'most dispatches in any 1 s window')."""
    ordered = np.sort(np.asarray(times, dtype=float))
    grid = np.arange(0.0, end + 1.0 + step, step)
    counts = np.searchsorted(ordered, grid, side="right") - np.searchsorted(ordered, grid - 1.0, side="right")
    return grid, counts


def dispatch_rate_figure(writeup_s: Sequence[float], timelines: Mapping[str, Timeline], *, title: str) -> Figure:
    """Left: the write-up's dispatches per second; right: the simulated ones, per policy."""
    fig = _figure(12, 5.4)
    left, right = fig.subplots(1, 2, sharey=True, width_ratios=(1, 1.25))
    if writeup_s:
        t, counts = _per_second(writeup_s, max(writeup_s))
        some = counts > 0
        left.vlines(t[some], 0, counts[some], color=WRITEUP_COLOUR, lw=2.5)
        left.plot(t[some], counts[some], "o", color=WRITEUP_COLOUR, ms=5)
        top = int(counts.argmax())
        left.annotate(f"{int(counts[top])} waves dispatched\nin second {int(t[top])}", (t[top], counts[top]),
                      xytext=(14, -2), textcoords="offset points", fontsize=9, va="top")
        left.set_xlim(-10, max(writeup_s) + 15)
    else:
        left.text(0.5, 0.5, "write-up timestamps not available", ha="center", transform=left.transAxes)
    left.set_title("production, from the write-up's timestamps (original code)", fontsize=10)
    left.set_xlabel("seconds after wave 2 was dispatched (timestamps to the second)")
    left.set_ylabel("waves dispatched per second")
    for policy, tl in timelines.items():
        t, counts = _last_second(tl.dispatch_t.tolist(), tl.makespan_s)
        right.plot(t, counts, color=colour(policy), lw=2.2 if policy == "original" else 1.3,
                   drawstyle="steps-post",
                   label=f"{policy} (seed {tl.seed}): at most {int(counts.max())} dispatch events in 1 s")
    right.set_title("simulated incident, one representative run per policy", fontsize=10)
    right.set_xlabel("simulated time (s); each point counts the dispatches of the second before it")
    right.legend(loc="upper right", fontsize=9)
    right.set_xlim(left=0)
    for ax in (left, right):
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    fig.suptitle(title, fontsize=12)
    return fig


def _strip(ax: Axes, values: Mapping[str, Sequence[float]]) -> None:
    """A box per policy with every seed's value as a dot (evenly spread, no randomness)."""
    names = list(values)
    data = [np.asarray(values[p], dtype=float) for p in names]
    box = ax.boxplot(data, positions=range(len(names)), widths=0.55, showfliers=False, patch_artist=True,
                     medianprops={"color": "black", "lw": 1.5})
    for patch, p in zip(box["boxes"], names, strict=True):
        patch.set_facecolor(colour(p))
        patch.set_alpha(0.25)
    for i, (p, d) in enumerate(zip(names, data, strict=True)):
        spread = np.linspace(-0.18, 0.18, len(d)) if len(d) > 1 else np.zeros(1)
        order = np.argsort(d, kind="stable")
        xs = np.empty(len(d))
        xs[order] = spread
        ax.scatter(i + xs, d, s=16, color=colour(p), edgecolor="white", lw=0.4, zorder=3)
    ax.set_xticks(range(len(names)), names)
    ax.grid(axis="y", alpha=0.3)


def distributions_figure(comparison: Comparison, *, promise: int, title: str) -> Figure:
    """Makespan and peak queue depth over seeds (box + dots), and the share of runs that stalled."""
    fig = _figure(13, 4.8)
    a, b, c = fig.subplots(1, 3)
    runs = comparison.runs
    n = len(comparison.seeds)
    _strip(a, {p: [r.metrics["makespan_s"] for r in rs] for p, rs in runs.items()})
    a.set_ylabel("makespan or time of stall (s)")
    a.set_title("makespan", fontsize=10)
    a.set_ylim(bottom=0)
    _strip(b, {p: [r.metrics["peak_queue_depth"] for r in rs] for p, rs in runs.items()})
    b.set_yscale("log")
    b.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    b.axhline(promise, color="black", lw=0.9, ls=":", label=f"write-up's promise: <= {promise}")
    b.legend(loc="upper right", fontsize=8)
    b.set_ylabel("peak ready batch jobs (log scale)")
    b.set_title("peak queue depth", fontsize=10)
    names = list(runs)
    stalled = [sum(1 for r in runs[p] if r.metrics["stalled"]) for p in names]
    c.bar(range(len(names)), [100 * k / n for k in stalled], color=[colour(p) for p in names], width=0.6)
    for i, k in enumerate(stalled):
        c.text(i, 100 * k / n + 2, f"{k}/{n}", ha="center", va="bottom", fontsize=9)
    c.set_xticks(range(len(names)), names)
    c.set_ylim(0, 112)
    c.set_ylabel("runs that stalled (%)")
    c.set_title("stall rate", fontsize=10)
    c.grid(axis="y", alpha=0.3)
    fig.suptitle(title, fontsize=12)
    return fig


def save_figure(fig: Figure, folder: Path, stem: str) -> tuple[Path, Path]:
    """Write ``stem.png`` and ``stem.svg`` into ``folder``, byte-stable for the same figure."""
    png, svg = folder / f"{stem}.png", folder / f"{stem}.svg"
    with mpl.rc_context({"svg.hashsalt": "wavesim", "svg.fonttype": "path"}):
        fig.savefig(png, dpi=_DPI, metadata={"Software": None})
        fig.set_layout_engine("none")  # keep the layout just computed: the SVG needs no second pass
        fig.savefig(svg, metadata={"Date": None, "Creator": None})
    return png, svg
