"""Sweeps: the grid, resuming, and identical results locally, in parallel and on Dask."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import dask
import distributed
import pytest
from click.testing import CliRunner

from sim.scenario import PRESETS
from sweep.grid import Task, expand_grid, parse_param
from sweep.simrun import sim_row
from userio.errors import BadInput
from userio.exitcodes import HOLDS, VIOLATED
from wavesim.cli import main
from wavesim.commands.sweep import SETTINGS, sweep_runs

SMALL = PRESETS["light"].with_settings(waves=3, wave_size=4, threshold=50, workers=2)
GRID = [("workers", [1, 2]), ("policy", ["original", "atomic"])]


def test_parse_param_reads_numbers_and_names() -> None:
    assert parse_param("workers=4,8,16", SETTINGS) == ("workers", [4, 8, 16])
    assert parse_param("batch-mean-s=0.5,1", SETTINGS) == ("batch_mean_s", [0.5, 1])
    assert parse_param("policy=original,atomic", SETTINGS) == ("policy", ["original", "atomic"])


@pytest.mark.parametrize("spec, says", [
    ("workers", "must look like NAME=V1,V2"),
    ("speed=1,2", "'speed' is not a scenario setting"),
    ("workers=", "must look like NAME=V1,V2"),
])
def test_parse_param_rejects_bad_specs(spec: str, says: str) -> None:
    with pytest.raises(BadInput, match=says):
        parse_param(spec, SETTINGS)


def test_expand_grid_is_every_combination_with_every_seed_in_order() -> None:
    tasks = expand_grid(GRID, [0, 1])
    assert [(dict(t.point)["workers"], dict(t.point)["policy"], t.seed) for t in tasks] == [
        (1, "original", 0), (1, "original", 1), (1, "atomic", 0), (1, "atomic", 1),
        (2, "original", 0), (2, "original", 1), (2, "atomic", 0), (2, "atomic", 1),
    ]
    with pytest.raises(BadInput, match="given twice"):
        expand_grid([("workers", [1]), ("workers", [2])], [0])


def counting(calls: list[Task]) -> Any:
    def run(base: dict[str, Any], task: Task) -> dict[str, object]:
        calls.append(task)
        return sim_row(base, task)
    return run


def test_an_interrupted_sweep_resumes_without_redoing_finished_runs(tmp_path: Path) -> None:
    out = tmp_path / "rows.csv"
    first: list[Task] = []
    sweep_runs(SMALL, GRID, [0, 1], str(out), jobs=1, run=counting(first))
    assert len(first) == 8
    complete = out.read_text()
    # the process died while writing its last row: that row is torn
    lines = complete.splitlines(keepends=True)
    out.write_text("".join(lines[:-2]) + lines[-2][:10])
    again: list[Task] = []
    sweep_runs(SMALL, GRID, [0, 1], str(out), jobs=1, run=counting(again))
    assert len(again) == 2
    assert out.read_text() == complete
    more: list[Task] = []
    sweep_runs(SMALL, GRID, [0, 1, 2], str(out), jobs=1, run=counting(more))
    assert sorted(t.seed for t in more) == [2, 2, 2, 2]
    # a narrower grid resumed from the same file summarises only its own runs
    narrower = sweep_runs(SMALL, [("workers", [1]), ("policy", ["atomic"])], [0], str(out), jobs=1,
                          run=counting([]))
    assert [(s["point"], s["runs"]) for s in narrower] == [("policy=atomic;workers=1", 1)]


def test_two_processes_write_the_same_file_as_one(tmp_path: Path) -> None:
    serial, parallel = tmp_path / "serial.jsonl", tmp_path / "parallel.jsonl"
    one = sweep_runs(SMALL, GRID, [0, 1, 2], str(serial), jobs=1)
    two = sweep_runs(SMALL, GRID, [0, 1, 2], str(parallel), jobs=2)
    assert parallel.read_text() == serial.read_text()
    assert one == two
    assert len(one) == 4 and all(s["runs"] == 3 for s in one)


def test_a_dask_cluster_gives_the_same_rows_as_a_local_run(tmp_path: Path) -> None:
    local, remote = tmp_path / "local.csv", tmp_path / "dask.csv"
    sweep_runs(SMALL, GRID, [0, 1], str(local), jobs=1)
    # the cluster's scratch space in the test's own folder, not the system's temporary folder
    with dask.config.set({"temporary-directory": str(tmp_path)}), distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        sweep_runs(SMALL, GRID, [0, 1], str(remote), jobs=1, scheduler=cluster.scheduler_address)
    assert remote.read_text() == local.read_text()


def test_the_summary_reports_medians_and_property_shares(tmp_path: Path) -> None:
    summaries = sweep_runs(SMALL, [("policy", ["original", "atomic"])], [0, 1, 2], str(tmp_path / "s.csv"), jobs=1)
    by_point = {s["point"]: s for s in summaries}
    atomic, original = by_point["policy=atomic"], by_point["policy=original"]
    assert atomic["held_no_duplicate_push"] == 1.0
    assert atomic["held_threshold_respected"] == 1.0
    assert original["held_threshold_respected"] < 1.0
    makespan = atomic["makespan_s"]
    assert isinstance(makespan, dict) and makespan["min"] <= makespan["median"] <= makespan["max"]


def test_sweep_cli_writes_rows_and_a_plot(tmp_path: Path) -> None:
    out, plot = tmp_path / "rows.jsonl", tmp_path / "plot.png"
    result = CliRunner().invoke(main, [
        "sweep", "--preset", "light", "--waves", "3", "--wave-size", "4", "--param", "workers=1,2",
        "--seeds", "2", "--jobs", "1", "--out", str(out), "--plot", "makespan_s", "--plot-out", str(plot),
    ])
    shares = result.stdout[result.stdout.index("share of runs"):]
    # exit 0 only when every property held in every run (docs/exit-codes.md)
    assert result.exit_code == (0 if set(re.findall(r" (\d+)%", shares)) == {"100"} else 1), result.output
    assert result.stderr == f"wrote {plot}\nwrote {out}\n"
    assert len(out.read_text().splitlines()) == 4
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "workers=1" in result.output and "share of runs" in result.output


@pytest.mark.parametrize("args, says", [
    (["--param", "speed=1"], "'speed' is not a scenario setting"),
    (["--param", "workers=0"], "workers"),
    (["--out", "rows.txt"], "extension"),
    (["--plot", "colour"], "not a metric"),
])
def test_sweep_cli_rejects_bad_input_in_one_line(tmp_path: Path, args: list[str], says: str) -> None:
    base = ["sweep", "--preset", "light", "--waves", "2", "--seeds", "1", "--jobs", "1"]
    if "--out" not in args:
        base += ["--out", str(tmp_path / "rows.csv")]
    result = CliRunner().invoke(main, base + args)
    assert result.exit_code == 2, result.output
    assert says in result.output
    assert "Traceback" not in result.output


SMALL_CLI = ["sweep", "--preset", "light", "--waves", "3", "--wave-size", "4", "--threshold", "50",
             "--param", "workers=2", "--seeds", "2", "--jobs", "1"]


def sweep_cli(out: Path, *args: str) -> Any:
    return CliRunner().invoke(main, [*SMALL_CLI, "--out", str(out), *args])


def test_a_resume_under_another_policy_refuses_instead_of_printing_the_first_policys_numbers(tmp_path: Path) -> None:
    out, fresh = tmp_path / "s.csv", tmp_path / "fresh.csv"
    assert sweep_cli(out, "--policy", "atomic").exit_code in (HOLDS, VIOLATED)  # a verdict, not a refusal
    before = out.read_bytes()
    resumed = sweep_cli(out, "--policy", "original")
    assert resumed.exit_code == 2, resumed.output
    assert resumed.output.count("\n") == 1 and resumed.output.startswith("error: ")
    assert "policy=atomic" in resumed.output and "policy=original" in resumed.output and "--force" in resumed.output
    assert out.read_bytes() == before  # a refused resume leaves the file as it was
    forced = sweep_cli(out, "--policy", "original", "--force")
    assert forced.exit_code in (HOLDS, VIOLATED), forced.output
    assert sweep_cli(fresh, "--policy", "original").exit_code in (HOLDS, VIOLATED)  # a verdict, not a refusal
    assert out.read_bytes() == fresh.read_bytes()  # started over: original's own rows, nothing of atomic's
    assert forced.stdout == sweep_cli(fresh, "--policy", "original").stdout


@pytest.mark.parametrize("change, named", [
    (["--switch", "relay_lease_s=5"], "switches.relay_lease_s=10.0"),
    (["--batch-mean-s", "2"], "batch_mean_s=1.0"),
    (["--policy", "guarded"], "policy=atomic"),
])
def test_a_resume_refuses_every_kind_of_changed_setting(tmp_path: Path, change: list[str], named: str) -> None:
    out = tmp_path / "s.jsonl"
    assert sweep_cli(out, "--policy", "atomic").exit_code in (HOLDS, VIOLATED)  # a verdict, not a refusal
    same = sweep_cli(out, "--policy", "atomic")
    assert same.exit_code in (HOLDS, VIOLATED), same.output
    changed = sweep_cli(out, "--policy", "atomic", *change)
    assert changed.exit_code == 2, changed.output
    assert named in changed.output and "Traceback" not in changed.output


def test_a_resume_refuses_rows_of_another_wavesim_version_or_without_settings(tmp_path: Path) -> None:
    out = tmp_path / "s.jsonl"
    assert sweep_cli(out).exit_code in (HOLDS, VIOLATED)  # a verdict, not a refusal
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    out.write_text("".join(json.dumps({**r, "wavesim_version": "0.0.1"}) + "\n" for r in rows))
    older = sweep_cli(out)
    assert older.exit_code == 2 and "written by wavesim 0.0.1" in older.output
    out.write_text("".join(json.dumps({k: v for k, v in r.items() if k != "settings"}) + "\n" for r in rows))
    unrecorded = sweep_cli(out)
    assert unrecorded.exit_code == 2 and "does not record its settings" in unrecorded.output
    assert sweep_cli(out, "--force").exit_code in (HOLDS, VIOLATED)  # a verdict, not a refusal


def test_a_resume_reuses_a_row_only_for_its_own_seed(tmp_path: Path) -> None:
    out = tmp_path / "rows.csv"
    calls: list[Task] = []
    sweep_runs(SMALL, [("workers", [2])], [0, 1], str(out), jobs=1, run=counting(calls))
    again: list[Task] = []
    summaries = sweep_runs(SMALL, [("workers", [2])], [1, 2], str(out), jobs=1, run=counting(again))
    assert [t.seed for t in again] == [2]
    assert summaries[0]["runs"] == 2
