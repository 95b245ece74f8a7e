"""``wavesim run`` and ``wavesim compare`` through click's CliRunner."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from sim.compare import COUNT_LABELS
from sim.export import COLUMNS
from sim.run import run_one
from sim.scenario import PRESETS
from wavesim.cli import main

SMALL = ["--waves", "4", "--wave-size", "5", "--threshold", "60", "--workers", "3", "--batch-mean-s", "0.5"]


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_run_json_is_the_contract_and_matches_run_one() -> None:
    code, out, err = invoke("run", "--preset", "light", "--policy", "guarded", "--seed", "1", *SMALL, "--json")
    assert code == 1, err  # the run stalls: a verdict, exit 1
    expected = PRESETS["light"].with_settings(policy="guarded", seed=1, waves=4, wave_size=5, threshold=60,
                                              workers=3, batch_mean_s=0.5)
    assert out == run_one(expected).to_json()
    doc = json.loads(out)
    assert doc["scenario"]["policy"] == "guarded" and doc["scenario"]["seed"] == 1
    # the write-up's post-guard stall: every wave before it completed, it pending, no event left
    stall = doc["metrics"]["stall_wave"]
    assert doc["metrics"]["stalled"] is True and doc["metrics"]["waves_completed"] == stall - 1
    assert doc["properties"]["no_stall"]["detail"].startswith(
        f"stalled at wave {stall}: nothing left to run, wave {stall} pending")
    assert doc["policy_switches"] == expected.resolved_policy.switches()


def test_run_text_summary_names_outcome_and_every_property() -> None:
    code, out, _ = invoke("run", "--preset", "light", "--policy", "atomic", *SMALL)
    assert code == (1 if " FAILS" in out else 0)
    assert out.splitlines()[0].startswith("light / atomic / seed 0: completed at ")
    for name in ("single_active_wave", "no_duplicate_push", "import_completes"):
        assert f"  {name} " in out


def test_run_writes_csv_and_plot(tmp_path: Path) -> None:
    table, plot = tmp_path / "waves.csv", tmp_path / "run.png"
    code, _, err = invoke("run", "--preset", "light", *SMALL, "--csv", str(table), "--plot", str(plot))
    assert code in (0, 1) and err == f"wrote {plot}\nwrote {table}\n"  # each file written is named
    rows = list(csv.DictReader(table.read_text().splitlines()))
    assert tuple(rows[0]) == COLUMNS and [r["wave_number"] for r in rows] == ["1", "2", "3", "4"]
    assert rows[0]["dispatched_at"].startswith("2025-09-30T13:13:00.") and rows[0]["dispatched_at"].endswith("Z")
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_run_reads_a_scenario_file_and_options_win(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text('preset = "stragglers"\nwaves = 3\nwave_size = 4\nworkers = 2\npolicy = "atomic"\nseed = 9\n')
    code, out, err = invoke("run", "--scenario", str(path), "--workers", "3", "--json")
    assert code == 0, err
    scenario = json.loads(out)["scenario"]
    assert (scenario["preset"], scenario["waves"], scenario["workers"], scenario["policy"]) == (
        "stragglers", 3, 3, "atomic")
    assert scenario["batch_distribution"] == "lognormal" and scenario["seed"] == 9


@pytest.mark.parametrize(("args", "message"), [
    (["--threshold", "0"], "error: threshold must be between 1 and 100, got 0\n"),
    (["--batch-mean-s", "-2"], "error: batch_mean_s must be between 1e-06 and 86400, got -2.0\n"),
    (["--plot", "nowhere/x.png"], "error: --plot nowhere/x.png: folder nowhere does not exist\n"),
    (["--plot", "x.gif"], "error: --plot x.gif: the file must end in .png, .svg, .pdf\n"),
    (["--csv", "x.txt"], "error: --csv x.txt: the file must end in .csv\n"),
    (["--scenario", "missing.toml"], "error: cannot read missing.toml: no such file\n"),
])
def test_run_bad_input_is_one_line_and_exit_2(args: list[str], message: str) -> None:
    code, out, err = invoke("run", *SMALL, *args)
    assert (code, out, err) == (2, "", message)


def test_run_bad_scenario_file_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("waves = 3\nspeed = 9\n")
    code, _, err = invoke("run", "--scenario", str(path))
    assert code == 2
    assert err.startswith(f"error: unknown setting 'speed' in {path}; known: preset, policy, seed,")
    assert err.count("\n") == 1
    path.write_text('preset = "light"\n')
    code, _, err = invoke("run", "--preset", "rapid", "--scenario", str(path))
    assert (code, err) == (2, f"error: --preset rapid conflicts with preset = 'light' in {path}\n")


def test_unknown_policy_is_refused_by_click() -> None:
    code, _, err = invoke("run", "--policy", "fast")
    assert code == 2 and "'fast' is not one of 'original', 'guarded', 'seed-fix', 'atomic'" in err


def test_compare_json_gives_distributions_and_shares(tmp_path: Path) -> None:
    plot = tmp_path / "cmp.png"
    code, out, err = invoke("compare", "--preset", "light", *SMALL, "--seeds", "3", "--policy", "guarded",
                            "--policy", "atomic", "--json", "--plot", str(plot))
    assert (code, err) == (1, f"wrote {plot}\n")  # guarded stalls: exit 1
    doc = json.loads(out)
    assert doc["seeds"] == [0, 1, 2] and list(doc["policies"]) == ["guarded", "atomic"]
    assert "policy" not in doc["scenario"] and doc["scenario"]["waves"] == 4
    runs = [run_one(PRESETS["light"].with_settings(policy="guarded", seed=s, waves=4, wave_size=5, threshold=60,
                                                   workers=3, batch_mean_s=0.5)) for s in range(3)]
    guarded = doc["policies"]["guarded"]
    stalls = sum(r.metrics["stalled"] for r in runs)
    ended = sorted(r.metrics["makespan_s"] for r in runs if r.outcome != "completed")
    assert stalls == 3 and guarded["metrics"]["makespan_s"] == {"median": None, "min": None, "max": None}
    assert guarded["metrics"]["not_completed"] == {  # makespan is over completed runs; stalled runs apart
        "runs": 3, "outcomes": {"stalled": 3}, "ended_s": {"median": ended[1], "min": ended[0], "max": ended[2]}}
    atomic = [run_one(PRESETS["light"].with_settings(policy="atomic", seed=s, waves=4, wave_size=5, threshold=60,
                                                     workers=3, batch_mean_s=0.5)) for s in range(3)]
    makespans = sorted(r.metrics["makespan_s"] for r in atomic)
    assert doc["policies"]["atomic"]["metrics"]["makespan_s"] == {
        "median": makespans[1], "min": makespans[0], "max": makespans[2]}
    assert guarded["policy_switches"]["name"] == "guarded"
    assert guarded["metrics"]["stalled"]["share"] == round(stalls / 3, 6)
    assert guarded["properties"]["no_stall"] == round(1 - stalls / 3, 6)
    assert doc["policies"]["atomic"]["properties"]["no_duplicate_push"] == 1.0
    assert plot.read_bytes()[:4] == b"\x89PNG"


def test_compare_table_reads_at_a_glance() -> None:
    code, out, err = invoke("compare", "--preset", "light", *SMALL, "--seeds", "2")
    assert code == 1, err  # the write-up's policies break properties
    lines = out.splitlines()
    assert lines[0].startswith("light: 4 waves x 5 batches, threshold 60%, 3 workers")
    assert lines[2].split()[0] == "policy"
    assert all(COUNT_LABELS[k] in lines[2] for k in ("max_waves_first_dispatched_in_1s", "max_dispatch_events_in_1s"))
    assert [ln.split()[0] for ln in lines[4:8]] == ["original", "guarded", "seed-fix", "atomic"]
    assert "share of runs in which each property held:" in out
