"""The report's dispatch counts say what they count: waves once each, or every dispatch event.

Each labelled row is recomputed from the runs' own dispatch times, so a row that
shows dispatch events under a name that says waves (the README's old headline
column) fails here, and the relations between the counts are checked, not copied.
"""

from __future__ import annotations

import re
import statistics
from types import SimpleNamespace

import pytest

from report.markdown import _before_after
from sim.compare import COUNT_LABELS, Comparison, compare
from sim.monitors import max_in_window
from sim.run import RunResult
from sim.scenario import PRESETS
from wavesim.docblocks import _SUMMARY_ROWS, markdown_table

#: original at a small scale, with seeds in which a wave is pushed twice within a second
SCENARIO = PRESETS["incident"].with_settings(waves=6, workers=40)
SEEDS = range(8)


@pytest.fixture(scope="module")
def comparison() -> Comparison:
    return compare(SCENARIO, ["original", "atomic"], SEEDS)


def _cell(text: str) -> tuple[float, float, float]:
    """``"4 [4-5]"`` or ``"4"`` -> (median, min, max)."""
    numbers = [float(n.replace(",", "")) for n in re.findall(r"[\d,.]+", text)]
    return (numbers[0], numbers[0], numbers[0]) if len(numbers) == 1 else (numbers[0], numbers[1], numbers[2])


def _spread(values: list[int]) -> tuple[float, float, float]:
    return float(statistics.median(values)), float(min(values)), float(max(values))


def _firsts(run: RunResult) -> list[float]:
    return [times[0] for times in run.metrics["dispatch_times_s"].values() if times]


def _events(run: RunResult) -> list[float]:
    return [t for times in run.metrics["dispatch_times_s"].values() for t in times]


def test_each_count_row_is_what_its_label_says(comparison: Comparison) -> None:
    rows = markdown_table(_before_after(SimpleNamespace(comparison=comparison)))  # type: ignore[arg-type]
    head, body = rows[0], {r[0]: r for r in rows[1:]}
    waves_row = body[COUNT_LABELS["max_waves_first_dispatched_in_1s"]]
    events_row = body[COUNT_LABELS["max_dispatch_events_in_1s"]]
    seen_a_repeat = False
    for policy, runs in comparison.runs.items():
        column = head.index(policy)
        waves = _cell(waves_row[column])
        events = _cell(events_row[column])
        assert waves == _spread([max_in_window(_firsts(r), 1.0) for r in runs])
        assert events == _spread([max_in_window(_events(r), 1.0) for r in runs])
        assert waves[2] <= SCENARIO.waves  # a wave is counted once, so never more than the import's waves
        assert all(e >= w for e, w in zip(events, waves, strict=True))  # every first dispatch is a dispatch event
        seen_a_repeat |= any(len(_events(r)) > len(_firsts(r)) for r in runs)
    assert seen_a_repeat  # the scenario tells the two counts apart


def test_the_readme_summary_names_each_count_as_the_report_does() -> None:
    for label in (COUNT_LABELS["max_waves_first_dispatched_in_1s"], COUNT_LABELS["max_dispatch_events_in_1s"]):
        assert _SUMMARY_ROWS[label] == label
