"""The plot of a live run: a wall-clock axis, the dispatches and the injected faults where they happened.

Read from the matplotlib Axes, not from pixels: a run built by hand, with its
samples, pushes and fault log at known scenario times, scaled by its ``scale``.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from matplotlib.lines import Line2D

from coordinator import new_import
from live import LiveRun, LiveSettings, Sample
from live.spec import RunSpec
from report.live import INJECTED, measure_live
from report.liveplot import live_figure

SCALE = 0.02


def _run(faults: list[dict[str, Any]]) -> LiveRun:
    settings = LiveSettings(waves=2, wave_size=2, workers=1, scale=SCALE)
    table = new_import(job_id=7, waves=2, wave_size=2)
    spec = RunSpec(run="plot", job_id=7, db_url="sqlite:////nowhere.db", queue_url=None, t0=time.time(),
                   fault_log="/nowhere.faults.jsonl", settings=settings.to_dict())
    samples = [Sample(at_s=t, ready_batches=n, queued=n, table=table) for t, n in ((0.0, 0), (0.6, 2), (3.0, 1))]
    return LiveRun(spec=spec, engine="SQLite", queue="database", isolation=None, outcome="deadline", ended_s=4.0,
                   wall_s=4.0 * SCALE, table=table, dispatch_log=[{"wave": 1, "at_s": 0.5, "actor": "start"}],
                   samples=samples, faults=faults, deaths=[], processes=1)


FAULTS = [{"run": "plot", "at_s": 1.5, "kind": "kill", "point": "in the middle of a batch"},
          {"run": "plot", "at_s": 2.0, "kind": "duplicate-delivery"},
          {"run": "plot", "at_s": 2.75, "kind": "kill", "point": "before EnqueueBatches"},
          {"run": "plot", "at_s": 2.8, "kind": "job-failed", "error": "OperationalError"}]  # what followed: no mark


def _lines(fig: Any) -> dict[str, Line2D]:
    return {line.get_label(): line for ax in fig.axes for line in ax.get_lines()}


def test_the_time_axis_is_wall_seconds() -> None:
    run = _run(FAULTS)
    fig = live_figure(run, measure_live(run))
    depth, active = fig.axes
    assert "wall seconds" in active.get_xlabel()
    assert active.get_xlim()[1] == pytest.approx(run.ended_s * SCALE)
    assert list(_lines(fig)["dispatch"].get_xdata()) == pytest.approx([0.5 * SCALE])
    assert max(_lines(fig)["ready batch jobs"].get_xdata()) == pytest.approx(run.ended_s * SCALE)


def test_each_injected_fault_is_marked_at_its_logged_time() -> None:
    run = _run(FAULTS)
    lines = _lines(live_figure(run, measure_live(run)))
    marked = {label.removeprefix("fault: "): list(line.get_xdata()) for label, line in lines.items()
              if label.startswith("fault: ")}
    assert set(marked) <= set(INJECTED)
    assert marked == {"kill": pytest.approx([1.5 * SCALE, 2.75 * SCALE]), "duplicate-delivery": [2.0 * SCALE]}


def test_a_run_without_faults_has_no_fault_marks() -> None:
    run = _run([])
    assert not [label for label in _lines(live_figure(run, measure_live(run))) if label.startswith("fault")]


def test_a_fault_after_the_last_completion_is_still_in_view() -> None:
    run = _run([*FAULTS, {"run": "plot", "at_s": 5.0, "kind": "drop"}])  # the run ended at 4.0
    fig = live_figure(run, measure_live(run))
    assert list(_lines(fig)["fault: drop"].get_xdata()) == [5.0 * SCALE]
    assert all(ax.get_xlim()[1] >= 5.0 * SCALE for ax in fig.axes)
