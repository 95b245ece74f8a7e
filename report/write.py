"""Writing the report folder: all of it, or nothing.

``write_report(out, settings)`` checks ``out`` first (before minutes of
runs), gathers the data, then writes ``report.md`` and every figure into a
temporary sibling folder and only then swaps it in for ``out``. An error or an
interrupt on the way removes the temporary folder and leaves ``out`` as it
was. The figure titles state each figure's finding, computed from the data.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from matplotlib.figure import Figure

from report import figures as F
from report.build import ReportData, ReportSettings, gather
from report.markdown import HEADLINE, render
from report.timeline import Timeline
from userio.errors import BadInput
from userio.progress import progress_bar

__all__ = ["check_out", "draw", "write_report"]


def check_out(out: Path) -> None:
    """``out`` must be a folder we may replace: missing, empty, or a previous report."""
    parent = out.parent if str(out.parent) else Path(".")
    if out.exists() and not out.is_dir():
        raise BadInput(f"--out {out} is a file; give a folder (it is replaced by the report)")
    if not parent.is_dir():
        raise BadInput(f"--out {out}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise BadInput(f"--out {out}: folder {parent} is not writable")
    if out.is_dir() and any(out.iterdir()) and not (out / "report.md").is_file():
        raise BadInput(f"--out {out} is a folder with files but no report.md; give an empty folder or a report")
    if out.resolve() in (Path.cwd().resolve(), *Path.cwd().resolve().parents):
        raise BadInput(f"--out {out} is the current folder or above it; give a folder of its own")


def _median(data: ReportData, policy: str, key: str) -> float:
    value = data.comparison.summary(policy)["metrics"][key]["median"]
    return float(value) if value is not None else 0.0


def _by(data: ReportData, key: str, fmt: str = ",.0f") -> str:
    return ", ".join(f"{p} {_median(data, p, key):{fmt}}" for p in data.timelines)


def _within(data: ReportData, key: str, limit: float) -> list[str]:
    return [p for p in data.timelines if _median(data, p, key) <= limit]


def _names(names: list[str]) -> str:
    return " and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 2 else names) if names else "no policy"


def _verb(names: list[str]) -> str:
    return "keeps" if len(names) == 1 else "keep"


def draw(data: ReportData) -> dict[str, Figure]:
    """Every figure of the report, by file stem, titled with its finding (two lines: finding, numbers)."""
    tl = data.timelines
    comp = data.comparison
    n = len(comp.seeds)
    promise = comp.scenario.wave_size
    kept = _within(data, "peak_queue_depth", promise)
    single = _within(data, "max_active_waves", 1)
    worst = max(tl, key=lambda p: (_median(data, p, "max_active_waves"), p))
    ones = f"; {_names(single)} {_verb(single)} to one" if single else ""
    others = max((_median(data, p, "max_active_waves") for p in tl if p != worst), default=0.0)
    stalls = {p: sum(1 for r in comp.runs[p] if r.metrics["stalled"]) for p in tl}
    burst = max(tl, key=lambda p: (_median(data, p, "max_dispatches_in_1s"), p))
    logged = f"the write-up logged {_max_per_second(data.writeup_s)} waves in one second; " if data.writeup_s else ""
    spreads = [_spread(t) for t in tl.values()]
    half = (len(spreads) + 1) // 2
    return {
        "queue_depth": F.queue_depth_figure(
            tl, promise=promise,
            title=f"{'Only ' if len(kept) == 1 < len(tl) else ''}{_names(kept)} {_verb(kept)} the queue within the "
                  f"write-up's promise of {promise} ready batch jobs\npeak, median of {n} seeds: "
                  f"{_by(data, 'peak_queue_depth')}"),
        "active_waves": F.active_waves_figure(
            tl, title=f"{worst} has up to {_median(data, worst, 'max_active_waves'):.0f} waves active at once, "
                      f"the others up to {others:.0f}{ones}\nmost waves active at once, median of {n} seeds: "
                      f"{_by(data, 'max_active_waves')}"),
        "wave_timeline": F.wave_timeline_figure(
            tl, title="Wave timeline: " + "; ".join(spreads[:half]) + "\n" + "; ".join(spreads[half:])),
        "dispatch_rate": F.dispatch_rate_figure(
            data.writeup_s, tl,
            title=f"The burst: {logged}simulated, {burst} makes "
                  f"{_median(data, burst, 'max_dispatches_in_1s'):.0f} dispatches in 1 s (duplicates included)"
                  f"\nmost dispatch events in any 1 s, median of {n} seeds: {_by(data, 'max_dispatches_in_1s', 'g')}"),
        "distributions": F.distributions_figure(
            comp, promise=promise,
            title=f"Stalled runs: {', '.join(f'{p} {k}/{n}' for p, k in stalls.items())}\nmedian makespan "
                  f"(s): {_by(data, 'makespan_s', '.1f')}"),
    }


def _spread(tl: Timeline) -> str:
    """How the run's waves went out: stalled, or the time from wave 2's dispatch to the last one's."""
    if tl.outcome == "stalled":
        return f"{tl.policy} stalls at wave {tl.stall_wave}"
    times = sorted(w.dispatched_s for w in tl.waves[1:] if w.dispatched_s is not None)
    if not times:
        return f"{tl.policy} dispatches one wave"
    return f"{tl.policy} sends waves 2-{len(times) + 1} out over {times[-1] - times[0]:.1f} s"


def _max_per_second(times: tuple[float, ...]) -> int:
    counts: dict[int, int] = {}
    for t in times:
        counts[int(t)] = counts.get(int(t), 0) + 1
    return max(counts.values(), default=0)


def _write(folder: Path, data: ReportData, progress: bool) -> None:
    (folder / "report.md").write_text(render(data), encoding="utf-8")
    with progress_bar(len(F.FIGURES) + 1, desc="report: figures", enabled=progress, unit="figure") as bar:
        for stem, fig in draw(data).items():
            F.save_figure(fig, folder, stem)
            if stem == HEADLINE:
                for suffix in (".png", ".svg"):
                    shutil.copyfile(folder / f"{stem}{suffix}", folder / f"headline{suffix}")
            bar.update()
        bar.update()


def write_report(out: str | os.PathLike[str], settings: ReportSettings) -> Path:
    """Regenerate the report folder ``out`` from scratch; return its path."""
    target = Path(out)
    check_out(target)
    data = gather(settings)
    parent = target.parent if str(target.parent) else Path(".")
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.new-", dir=parent))
    except OSError as err:
        raise BadInput(f"--out {target}: cannot write in {parent}: {err.strerror}") from None
    old: Path | None = None
    try:
        tmp.chmod(0o755)
        _write(tmp, data, settings.progress)
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=parent))
            os.replace(target, old / target.name)
        os.replace(tmp, target)
    except BaseException:
        if old is not None and not target.exists():
            os.replace(old / target.name, target)  # put the previous report back
        raise
    finally:
        for leftover in (tmp, old):
            if leftover is not None and leftover.exists():
                shutil.rmtree(leftover, ignore_errors=True)
    return target
