"""``wavesim report``: the folder it writes, its determinism, and that it is written whole or not at all."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from coordinator import POLICIES, PROPERTY_NAMES
from report import figures
from report.build import explain, representative_seed, writeup_dispatch_seconds
from report.timeline import traced_run
from sim.run import run_one
from sim.scenario import PRESETS
from wavesim.cli import main

FIGURE_FILES = sorted(f"{stem}{suffix}" for stem in (*figures.FIGURES, "headline") for suffix in (".png", ".svg"))


def _report(out: Path) -> None:
    result = CliRunner().invoke(main, ["report", "--quick", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert (result.stdout, result.stderr) == ("", f"wrote {out}/report.md and its figures\n")


@pytest.fixture(scope="module")
def quick_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One quick report, written once per test process (the tests of a module may run on two workers)."""
    out = tmp_path_factory.mktemp("reports") / "first"
    _report(out)
    return out


def test_quick_report_has_every_part(quick_report: Path) -> None:
    out = quick_report
    assert sorted(p.name for p in out.iterdir()) == sorted(["report.md", *FIGURE_FILES])
    text = (out / "report.md").read_text(encoding="utf-8")
    for section in ("## Before / After", "## The checker's verdicts", "## Fault matrix", "## Figures",
                    "## On real databases (live runs)"):
        assert section in text
    # the live section is the committed live results, summarized as docs/live.md's blocks are
    assert "atomic on PostgreSQL (database queue" in text and "<!-- wavesim:begin live-fix-faults -->" in text
    assert "wavesim live --db URL/wavesim_live200_$i --policy atomic" in text  # with the commands that ran
    table = [line for line in text.splitlines() if line.startswith("| peak ready batch jobs |")]
    assert len(table) == 1 and table[0].count("|") == 3 + len(POLICIES) + 1
    verdict_head = "| scope | policy | states | " + " | ".join(f"`{n}`" for n in PROPERTY_NAMES) + " |"
    assert verdict_head in text
    for policy in POLICIES:
        assert f"| 1 | {policy} | " in text  # one verdict row per policy on the quick scope
        assert f"- **{policy}** (" in text  # its mechanism explained
    for stem in figures.FIGURES:
        assert f"]({stem}.png)" in text and f"]({stem}.svg)" in text
    assert "![" in text and "](headline.png)" in text
    assert (out / "headline.png").read_bytes() == (out / "queue_depth.png").read_bytes()


def test_two_runs_give_identical_files(quick_report: Path, tmp_path: Path) -> None:
    first, second = quick_report, tmp_path / "second"
    _report(second)
    for name in ["report.md", *FIGURE_FILES]:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_interrupted_report_leaves_the_old_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "reports"
    out.mkdir()
    (out / "report.md").write_text("the previous report\n", encoding="utf-8")

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("figure failed")

    monkeypatch.setattr(figures, "wave_timeline_figure", broken)
    result = CliRunner().invoke(main, ["report", "--quick", "--out", str(out)])
    assert result.exit_code == 70 and "figure failed" in result.output  # an internal error, not a verdict
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reports"]  # no temporary folder left
    assert [p.name for p in out.iterdir()] == ["report.md"]
    assert (out / "report.md").read_text(encoding="utf-8") == "the previous report\n"


@pytest.mark.parametrize("kind", ["file", "under a file", "someone's folder"])
def test_bad_out_is_one_line_exit_2(tmp_path: Path, kind: str) -> None:
    afile = tmp_path / "file.md"
    afile.write_text("not a folder\n", encoding="utf-8")
    if kind == "file":
        out, message = afile, f"error: --out {afile} is a file; give a folder (it is replaced by the report)\n"
    elif kind == "under a file":
        out, message = afile / "reports", f"error: --out {afile / 'reports'}: folder {afile} does not exist\n"
    else:
        out = tmp_path / "notes"
        out.mkdir()
        (out / "mine.txt").write_text("keep me\n", encoding="utf-8")
        message = f"error: --out {out} is a folder with files but no report.md; give an empty folder or a report\n"
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    result = CliRunner().invoke(main, ["report", "--quick", "--out", str(out)])
    assert (result.exit_code, result.output) == (2, message)
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


@pytest.mark.parametrize("policy", ["original", "guarded", "atomic"])
def test_traced_run_is_the_same_run(policy: str) -> None:
    scenario = PRESETS["incident"].with_settings(policy=policy, waves=6, seed=4)
    plain, traced = run_one(scenario), traced_run(scenario)
    m = plain.metrics
    assert (traced.outcome, traced.makespan_s) == (plain.outcome, m["makespan_s"])
    assert int(traced.active.max()) == m["max_active_waves"]
    assert int(traced.below.max()) == m["max_waves_below_threshold"]
    assert traced.dispatch_t.tolist() == plain.series.dispatch_t.tolist()
    firsts = {int(w): ts[0] for w, ts in m["dispatch_times_s"].items() if ts}
    assert {w.wave: round(w.dispatched_s, 6) for w in traced.waves if w.dispatched_s is not None} == firsts
    assert all(w.threshold_s is None or w.dispatched_s <= w.threshold_s for w in traced.waves)  # type: ignore
    completed = [w for w in traced.waves if w.completed_s is not None]
    assert len(completed) == m["waves_completed"]


def test_representative_seed_is_the_lower_median_makespan() -> None:
    scenario = PRESETS["incident"].with_settings(policy="atomic", waves=3)
    runs = [run_one(scenario.with_settings(seed=s)) for s in range(4)]
    ordered = sorted(runs, key=lambda r: r.metrics["makespan_s"])
    assert representative_seed(runs) == ordered[1].scenario.seed


def test_writeup_timestamps_show_the_burst() -> None:
    seconds = writeup_dispatch_seconds()
    assert len(seconds) == 36 and seconds[0] == 0.0
    assert max(seconds.count(t) for t in seconds) == 30  # waves 5-34 in one second
    assert writeup_dispatch_seconds(Path("/nonexistent.csv")) == ()


def test_explanation_names_the_last_step() -> None:
    from model.trace import TraceStep

    steps = (
        TraceStep(n=1, action="a", actor="worker", what="takes batch w1b0", result="", table="", jobs=""),
        TraceStep(n=2, action="b", actor="h1", what="SetStatus(wave=2, status=dispatching)", result="1", table="",
                  jobs=""),
    )
    assert explain("single_active_wave", "2 waves active at once: 1, 2", steps) == (
        "After 2 steps with 1 handler run (h1), step 2 (h1: SetStatus(wave=2, status=dispatching) -> 1) "
        "leaves 2 waves active at once: 1, 2."
    )


def test_explanation_names_who_enqueued_a_wave_twice() -> None:
    from model.trace import TraceStep

    def step(n: int, actor: str, what: str) -> TraceStep:
        return TraceStep(n=n, action="handler_step", actor=actor, what=what, result="none", table="", jobs="")

    steps = (step(1, "h1", "ReadLowestPending()"), step(2, "h2", "EnqueueBatches(wave=2)"),
             step(3, "h1", "EnqueueBatches(wave=2)"))
    assert explain("no_duplicate_push", "wave 2 x2", steps) == (
        "After 3 steps with 2 handler runs (h1, h2), step 3 (h1: EnqueueBatches(wave=2) -> none) leaves wave 2 x2; "
        "wave 2 was enqueued by h2 (step 2) and h1 (step 3)."
    )
