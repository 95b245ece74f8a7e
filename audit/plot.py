"""The audit's timeline plot: one panel per job, one bar per wave.

A bar runs from a wave's first dispatch to its completion; a wave with no
completion time gets an open (hatched, unfilled) bar to the end of the history.
Every dispatch instant is a black tick; burst windows are shaded red and stalls
grey. The x axis is seconds since the job's first timestamp (UTC).
"""

from __future__ import annotations

from pathlib import Path

from audit.checks import SECOND, JobAudit
from audit.parse import format_time
from audit.report import Report
from userio.errors import BadInput
from userio.files import atomic_write

__all__ = ["PLOT_FORMATS", "write_plot"]

PLOT_FORMATS = (".png", ".svg", ".pdf")


def _panel(ax: object, job: JobAudit) -> None:
    from matplotlib.axes import Axes
    from matplotlib.ticker import MaxNLocator

    assert isinstance(ax, Axes)
    origin = job.start or 0
    end = job.end if job.end is not None else origin

    def x(us: int) -> float:
        return (us - origin) / SECOND

    for burst in job.bursts:
        left = x(burst.start)
        ax.axvspan(left, x(burst.end) + job.limits.window / SECOND, color="tab:red", alpha=0.25, lw=0)
        ax.axvline(left, color="tab:red", lw=0.8)
        middle = (burst.waves[0] + burst.waves[-1]) / 2
        ax.annotate(f"{burst.peak} in {job.limits.window / SECOND:g} s", (left, middle), xytext=(4, 0),
                    textcoords="offset points", color="tab:red", fontsize=8, va="center",
                    bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1})
    for stall in job.stalls:
        ax.axvspan(x(stall.start), x(stall.end), color="0.6", alpha=0.3, lw=0)
    for wave in job.waves:
        if wave.dispatched_at is None:
            continue
        left = x(wave.dispatched_at)
        if wave.completed_at is not None:
            ax.barh(wave.number, x(wave.completed_at) - left, left=left, height=0.6, color="tab:blue")
        elif wave.status == "completed":
            ax.barh(wave.number, max(x(end) - left, 0.0), left=left, height=0.25, facecolor="none",
                    edgecolor="0.75", hatch="..", lw=0.4)
        else:
            ax.barh(wave.number, max(x(end) - left, 0.0), left=left, height=0.6, facecolor="none",
                    edgecolor="tab:blue", hatch="//", lw=0.6)
        ax.plot([x(t) for t in wave.dispatches], [wave.number] * len(wave.dispatches), "k|", ms=9)
    numbers = [w.number for w in job.waves]
    ax.set_ylim(max(numbers) + 0.7, min(numbers) - 0.7)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.margins(x=0.06)
    ax.set_ylabel("wave")
    active = f"at most {job.overlap.peak} active" if job.overlap.measured else "overlap unknown"
    ax.set_title(f"job {job.job_id}: {len(job.bursts)} burst(s), {len(job.stalls)} stall(s), {active}",
                 fontsize=9, pad=12)
    ax.set_xlabel(f"seconds since {format_time(origin)} UTC")


def _legend(fig: object) -> None:
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    assert isinstance(fig, Figure)
    handles = [
        Patch(color="tab:blue", label="dispatched to completed"),
        Patch(facecolor="none", edgecolor="tab:blue", hatch="//", label="not completed (to end of history)"),
        Patch(facecolor="none", edgecolor="0.7", hatch="..", label="completed, time unknown"),
        Line2D([], [], color="k", marker="|", ls="none", ms=9, label="dispatch"),
        Patch(color="tab:red", alpha=0.25, label="burst window"),
        Patch(color="0.6", alpha=0.3, label="stall"),
    ]
    fig.legend(handles=handles, loc="lower center", ncol=3, fontsize=8, frameon=False)


def write_plot(report: Report, path: str) -> Path:
    """Draw the timeline and write it whole to ``path`` (.png, .svg or .pdf)."""
    suffix = Path(path).suffix.lower()
    if suffix not in PLOT_FORMATS:
        raise BadInput(f"--plot {path}: the file name must end in {', '.join(PLOT_FORMATS)}")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    jobs = report.jobs
    height = sum(max(2.2, 0.18 * len(job.waves) + 1.4) for job in jobs) + 0.8
    fig, axes = plt.subplots(len(jobs), 1, figsize=(10, height), squeeze=False)
    try:
        for ax, job in zip(axes[:, 0], jobs, strict=True):
            _panel(ax, job)
        _legend(fig)
        fig.tight_layout(rect=(0, 0.8 / fig.get_figheight(), 1, 1))
        return atomic_write(path, lambda tmp: fig.savefig(tmp, format=suffix[1:]))
    finally:
        plt.close(fig)
