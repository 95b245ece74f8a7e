"""The figure of a counterexample replayed in the simulation (``wavesim replay --simulate --plot``).

``replay_figure(run)`` draws the replayed run as ``sim.plots.draw_run`` draws
any run (queue depth, active waves; each property's first violation marked),
above the counterexample's steps in order, one lane per actor (squares are
writes to the table), with an inset when the handler runs are too short a
stretch of the run to see.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from replay.scripted import ScriptedRun

__all__ = ["replay_figure"]


def _at(verdict: dict[str, object]) -> float:
    """A failed property's first-violation time."""
    at = verdict["first_violation_s"]
    assert isinstance(at, (int, float))
    return float(at)


_WRITES = ("SetStatus", "EnqueueBatches", "ClaimNextWave", "CompleteFinishedWaves", "RecordBatchFinished")


def _short(what: str) -> str:
    """A step's operation in a few words, for the step lanes."""
    name = what.split("(")[0]
    wave = re.search(r"wave=(\d+)", what)
    w = f"w{wave.group(1)}" if wave else ""
    status = re.search(r"status=(\w+)", what)
    words = {
        "ReadCurrentWave": "read current", "ReadWave": f"read {w}", "ReadLowestPending": "read pending",
        "ReadActiveWave": "read active", "ReadNextMainWave": "read next", "ClaimNextWave": "claim",
        "CompleteFinishedWaves": "complete", "ScheduleTrigger": "schedule trigger", "RecordBatchFinished": "record",
        "SetStatus": f"{w} {status.group(1) if status else ''}", "EnqueueBatches": f"enqueue {w}",
    }
    if name in words:
        return words[name]
    return " ".join(what.split()[:1] + what.split()[-1:])


def replay_figure(run: ScriptedRun) -> Figure:
    """The replayed run as ``sim.plots.run_figure`` draws a run (queue depth, active waves; each
    first violation marked), above the trace's steps in order, one lane per actor."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    from sim.plots import draw_run

    r, steps = run.result, run.steps
    lanes: list[str] = []
    for s in steps:
        if s.actor not in lanes:
            lanes.append(s.actor)
    fig = Figure(figsize=(11, 6.5 + 0.55 * len(lanes)), layout="constrained")
    FigureCanvasAgg(fig)
    ax_depth, ax_active, ax_steps = fig.subplots(3, 1, height_ratios=(2, 1, 0.4 * len(lanes)))
    ax_active.sharex(ax_depth)
    title = None
    if r.outcome == "stopped":
        title = f"{r.scenario.policy}, seed {r.scenario.seed}: the run stops after the counterexample's last step"
    draw_run(ax_depth, ax_active, r, title=title)
    end = r.metrics["makespan_s"]
    failed = [(name, v) for name, v in r.properties.items() if not v["holds"]]
    colours = ("tab:red", "tab:purple", "tab:brown", "tab:pink", "tab:olive", "tab:cyan", "tab:gray")
    first_at: dict[int, list[str]] = {}
    for (name, v), c in zip(failed, colours, strict=False):
        at = _at(v)
        for ax in (ax_depth, ax_active):
            ax.axvline(at, color=c, lw=1.2, ls="--", label=f"{name} violated ({at:.3f} s)" if ax is ax_depth else None)
        n = next((s.n for s in steps if abs(s.t - at) < 1e-6 and s.action != "listener_start"), steps[-1].n)
        first_at.setdefault(n, []).append(name)
    for ax in (ax_depth, ax_active):
        ax.set_xlim(0, end * 1.04 + 1e-3)
    ax_depth.legend(loc="upper left", fontsize=7)
    _zoom(ax_depth, run, [at for _, v in failed for at in [_at(v)]])
    for s in steps:
        y = lanes.index(s.actor)
        write = s.what.split("(")[0] in _WRITES
        ax_steps.plot([s.n], [y], "s" if write else "o", ms=7 if write else 5,
                      color="tab:grey" if s.drained else "black" if write else "tab:blue")
        ax_steps.annotate(_short(s.what), (s.n, y), xytext=(3, 5), textcoords="offset points", rotation=30,
                          fontsize=7, fontweight="bold" if write else "normal", ha="left", va="bottom",
                          rotation_mode="anchor")
    for n, names in first_at.items():
        ax_steps.axvline(n, color="tab:red", lw=1.2, ls="--")
        ax_steps.text(n, 1.01, " & ".join(names) + f" (step {n})", transform=ax_steps.get_xaxis_transform(),
                      fontsize=8, color="tab:red", ha="right", va="bottom")
    prefix = [s.n for s in steps if not s.drained]
    if len(prefix) < len(steps):
        ax_steps.axvspan(prefix[-1] + 0.5, steps[-1].n + 0.5, color="grey", alpha=0.15, lw=0)
        ax_steps.text(prefix[-1] + 0.7, len(lanes) - 0.35,
                      "after the trace:\nits remaining steps,\nuntil nothing is left", fontsize=8, color="dimgrey",
                      va="bottom")
    ax_steps.set_yticks(range(len(lanes)), lanes, fontsize=8)
    ax_steps.set_ylim(len(lanes) - 0.2, -0.8)
    ax_steps.set_xlim(-0.5, steps[-1].n + 2.5)
    ax_steps.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax_steps.set_xlabel("step of the counterexample (squares write to the table; times in the step table)")
    ax_steps.grid(axis="x", alpha=0.3)
    sc = r.scenario
    fig.suptitle(f"replay of a {run.prop} counterexample ({len(prefix) - 1} steps) in the simulation: "
                 f"{sc.policy}, {sc.waves} x {sc.wave_size}, threshold {sc.threshold}%, {sc.workers} workers, "
                 f"seed {sc.seed}", fontsize=10)
    return fig


def _zoom(ax: Axes, run: ScriptedRun, marks: list[float]) -> None:
    """An inset of the queue depth from the first handler run on, when that stretch is too short to see."""
    from matplotlib.ticker import MaxNLocator

    starts = [s.t for s in run.steps if s.action in ("listener_start", "reconciler_tick")]
    end = run.result.metrics["makespan_s"]
    if not starts or end - starts[0] > 0.1 * end:
        return
    lo, pad = starts[0], max(end - starts[0], 1e-4) * 0.08
    series = run.result.series
    inset = ax.inset_axes((0.33, 0.14, 0.4, 0.5))
    inset.step([*series.depth_t.tolist(), end + pad], [*series.depth.tolist(), int(series.depth[-1])], where="post",
               color="black", lw=1.2)
    for at in marks:
        inset.axvline(at, color="tab:red", lw=1, ls="--")
    seen: set[int] = set()
    for t, w in zip(series.dispatch_t.tolist(), series.dispatch_wave.tolist(), strict=True):
        again = w in seen
        seen.add(w)
        if t >= lo:
            inset.annotate(f"w{w} again" if again else f"w{w}", (t, 0), xytext=(0, 3), textcoords="offset points",
                           fontsize=7, ha="center", color="tab:red" if again else "black")
    inset.set_xlim(lo - pad, end + pad)
    inset.set_ylim(-0.3, max(series.depth.max(), 1) + 0.5)
    inset.set_title(f"ready batch jobs, {lo:.3f}-{end:.3f} s (the handler runs)", fontsize=7.5)
    inset.tick_params(labelsize=7)
    inset.xaxis.set_major_locator(MaxNLocator(5))
    inset.grid(alpha=0.3)
    ax.indicate_inset_zoom(inset, edgecolor="grey")
