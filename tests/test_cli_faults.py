"""``wavesim faults`` and the fault options of ``wavesim run``, through click's CliRunner."""

from __future__ import annotations

import json
import shlex
from dataclasses import fields
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from coordinator_builders import PINNED_READINGS

from sim.faultmatrix import fault_matrix
from sim.replaycmd import option_name, replay_command
from sim.run import run_one
from sim.scenario import PRESETS, Scenario
from wavesim.cli import main

TINY = ["--preset", "rapid-completions", "--waves", "3", "--wave-size", "10", "--horizon-s", "2000",
        "--switch", "current_wave_rule=lowest-active", "--switch", "batch_wave_check=none"]
CELLS = ["--policy", "guarded", "--policy", "atomic", "--fault", "none", "--fault", "lost-event", "--seeds", "4"]
BASE = PRESETS["rapid-completions"].with_settings(waves=3, wave_size=10, horizon_s=2000, switches=PINNED_READINGS)


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def matrix_code(doc: dict[str, Any]) -> int:
    """The contract's code for a fault matrix: 0 only when every property held in every run of every cell."""
    return 0 if all(v == 1.0 for p in doc["cells"].values() for c in p.values() for v in c["held"].values()) else 1


def run_code(doc: dict[str, Any]) -> int:
    return 0 if all(v["holds"] for v in doc["properties"].values()) else 1


def test_faults_prints_the_table_of_the_matrix() -> None:
    code, out, err = invoke("faults", *TINY, *CELLS)
    assert code == 1, err  # guarded fails no_stall under a lost event
    assert out == fault_matrix(BASE, ["guarded", "atomic"], ["none", "lost-event"], range(4)).table()
    lines = out.splitlines()
    assert lines[0].startswith("rapid-completions preset with waves 3, wave_size 10, horizon_s 2000")
    assert ": 3 waves x 10 batches" in lines[0] and "4 seeds (0..3) per cell" in lines[0]
    # one row per cell: the share of runs each property held in (test_sim_faults checks the cells run by run)
    assert [line.split()[:2] for line in lines if line.split()[1:2] in (["none"], ["lost-event"])] == [
        ["guarded", "none"], ["guarded", "lost-event"], ["atomic", "none"], ["atomic", "lost-event"]]


def test_faults_json_and_out_write_the_same_document(tmp_path: Path) -> None:
    target = tmp_path / "matrix.json"
    code, out, err = invoke("faults", *TINY, *CELLS, "--json", "--out", str(target))
    doc = json.loads(out)
    assert (code, err) == (matrix_code(doc), f"wrote {target}\n")
    assert json.loads(target.read_text()) == doc
    assert set(doc) == {"scenario", "seeds", "policies", "policy_switches", "faults", "cells"}
    assert doc["policy_switches"]["guarded"]["current_wave_rule"] == "lowest-active"
    assert doc["seeds"] == [0, 3] and doc["faults"] == ["none", "lost-event"]
    assert doc == fault_matrix(BASE, ["guarded", "atomic"], ["none", "lost-event"], range(4)).to_dict()
    # a lost event stalls guarded on some seeds and atomic (its reconciler) on none
    assert doc["cells"]["guarded"]["lost-event"]["failing_seeds"]["no_stall"]
    assert doc["cells"]["atomic"]["lost-event"]["held"]["no_stall"] == 1.0


def test_faults_first_seed_and_jobs_choose_the_seeds_not_the_result() -> None:
    code, out, _ = invoke("faults", *TINY[:8], "--policy", "atomic", "--fault", "crash", "--seeds", "2",
                          "--first-seed", "5", "--jobs", "2", "--json")
    assert code == matrix_code(json.loads(out))
    plain = BASE.with_settings(switches={})  # atomic reads none of the pinned readings
    assert json.loads(out) == fault_matrix(plain, ["atomic"], ["crash"], [5, 6]).to_dict()


def test_faults_without_a_preset_runs_the_reduced_incident() -> None:
    code, out, _ = invoke("faults", "--policy", "atomic", "--fault", "none", "--seeds", "1", "--json")
    assert code == matrix_code(json.loads(out))
    scenario = json.loads(out)["scenario"]
    assert (scenario["preset"], scenario["waves"], scenario["wave_size"], scenario["batch_sigma"]) == (
        "rapid-completions", 8, 20, 1.5)
    head = invoke("faults", "--policy", "atomic", "--fault", "none", "--seeds", "1")[1].splitlines()[0]
    assert head.startswith("rapid-completions preset with waves 8, wave_size 20, batch_sigma 1.5")
    assert ": 8 waves x 20 batches" in head


def test_a_bad_fault_name_is_one_line_and_exit_2() -> None:
    code, out, err = invoke("faults", *TINY, "--fault", "meteor")
    assert code == 2 and out == ""
    assert err == ("error: --fault 'meteor' is not a named fault; choose from: none, crash, duplicate-event, "
                   "lost-event, replica-lag, batch-failures, lost-trigger, clock-skew, handler-death, swarm\n")


def test_a_bad_fault_rate_or_output_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    code, _, err = invoke("faults", *TINY, "--crash-rate", "2")
    assert (code, err) == (2, "error: crash_rate must be between 0 and 1, got 2.0\n")
    code, _, err = invoke("faults", *TINY, "--out", str(tmp_path / "m.csv"))
    assert (code, err) == (2, f"error: --out {tmp_path / 'm.csv'}: the file must end in .json\n")
    assert not (tmp_path / "m.csv").exists()


def test_every_setting_is_an_option_of_run_so_a_replay_command_replays_the_run() -> None:
    code, out, _ = invoke("run", "--help")
    assert code == 0
    for f in fields(Scenario):
        if f.name not in ("preset", "switches"):
            assert option_name(f.name) in out
    assert "--switch NAME=VALUE" in out
    scenario = BASE.with_settings(policy="seed-fix", seed=7, event_loss_rate=0.2, replica_lag_ms=30.0,
                                  batch_failure_rate=0.1, batch_tries=2, clock_skew_s=1.5, db_sigma=0.3)
    words = shlex.split(replay_command(scenario))
    assert words[:2] == ["wavesim", "run"]
    code, out, _ = invoke(*words[1:], "--json")
    assert out == run_one(scenario).to_json()
    assert code == run_code(json.loads(out))


def test_a_run_with_a_failing_property_prints_its_replay_command() -> None:
    code, out, _ = invoke("run", *TINY, "--policy", "guarded", "--seed", "1", "--event-loss-rate", "0.05")
    assert code == 1
    assert out.splitlines()[-1] == (
        "replay: wavesim run --preset rapid-completions --policy guarded --seed 1 --waves 3 --wave-size 10 "
        "--horizon-s 2000 --event-loss-rate 0.05 --switch batch_wave_check=none "
        "--switch current_wave_rule=lowest-active"
    )
    code, out, _ = invoke("run", "--preset", "light", "--policy", "atomic", "--waves", "1", "--wave-size", "1")
    assert code == 0 and "FAILS" not in out and "replay:" not in out


def test_swarm_on_the_command_line_records_the_faults_it_chose() -> None:
    code, out, _ = invoke("run", *TINY, "--seed", "2", "--swarm", "--json")
    assert code == run_code(json.loads(out))
    scenario = json.loads(out)["scenario"]
    assert scenario["swarm"] is True
    assert out == run_one(BASE.with_settings(seed=2, swarm=True)).to_json()


def test_the_help_names_the_scenario_faults_runs_by_default() -> None:
    code, out, _ = invoke("faults", "--help")
    text = " ".join(out.split())
    assert code == 0 and "[default: rapid-completions reduced to 8 waves x 20 batches, batch sigma 1.5]" in text
    assert "[default: incident]" not in text
