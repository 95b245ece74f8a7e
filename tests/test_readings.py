"""The evidence file, the default readings against it, and ``wavesim readings`` on a reduced grid."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from coordinator import Policy, policy_named
from docgen import fill
from readings import docs
from readings.evidence import EVIDENCE, timeline, writeup_seconds
from readings.grid import READINGS, UNSEEN, combinations, run_readings
from sim.scenario import PRESETS, load_scenario_toml
from wavesim.cli import main

FIXTURE = Path(__file__).parent / "fixtures" / "writeup_dispatches.csv"
ROOT = Path(__file__).resolve().parent.parent
DEFAULTS = {name: getattr(Policy(), name) for name in READINGS}
#: the defaults as a one-value grid
ONLY_DEFAULTS = {name: [getattr(v, "value", v)] for name, v in DEFAULTS.items()}


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_the_evidence_file_holds_the_write_ups_timestamps() -> None:
    rows = list(csv.DictReader(FIXTURE.read_text(encoding="utf-8").splitlines()))
    assert EVIDENCE.dispatched_at == {int(r["wave_number"]): r["dispatched_at"] for r in rows}
    text = Path("/work/shared/seed/000_7cb2091e15fc2a81.txt")
    if text.exists():  # each item's sentence is quoted from the write-up (up to the ' / ' joins)
        body = " ".join(text.read_text(encoding="utf-8").replace("`", "").split())
        for item in EVIDENCE.items:
            for part in item.sentence.split(" / "):
                assert " ".join(part.split()) in body, part


def test_the_bounds_hold_the_write_ups_own_numbers() -> None:
    measured = timeline(writeup_seconds())
    assert measured == {"gap_2_3": 16.0, "burst": 30.0, "late_waves": 409.0, "late_count": 3.0}
    items = {i.id: i for i in EVIDENCE.items}
    for name in ("gap_2_3", "burst", "late_waves"):
        assert items[name].holds(measured[name])
        assert not items[name].holds(measured[name] * 3)  # the bounds can fail


def test_the_default_readings_reproduce_every_observation() -> None:
    r = run_readings(grid=ONLY_DEFAULTS, seeds=range(8), checker=False)
    assert len(r.combos) == 1
    assert {k: c["reproduced"] for k, c in r.cells[0].items()} == {i.id: True for i in EVIDENCE.observations()}


def test_readings_on_a_reduced_grid_separates_the_current_wave_rules() -> None:
    grid = {**ONLY_DEFAULTS, "current_wave_rule": ["completed-else-active", "lowest-active"]}
    code, out, err = invoke("readings", "--seeds", "1", "--no-checker", "--json",
                            *(f"--only={n}={','.join(map(str, v)).lower()}" for n, v in grid.items()))
    doc = json.loads(out)
    assert code == (0 if doc["fitting"] else 1), err  # readings judges the fit (docs/exit-codes.md)
    rules = {c["readings"]["current_wave_rule"]: c for c in doc["combinations"]}
    assert set(rules) == {"completed-else-active", "lowest-active"}
    # under lowest-active the burst goes through CATCH-UP: DB-RECONCILE is not the active path
    assert rules["lowest-active"]["cells"]["reconcile_active"]["value"] < 0.5
    assert rules["completed-else-active"]["cells"]["reconcile_active"]["reproduced"] is True
    assert doc["best"]["readings"]["current_wave_rule"] == "completed-else-active"
    code, text, _ = invoke("readings", "--seeds", "1", "--no-checker", "--only", "current_wave_rule=lowest-active",
                           "--only", "batch_wave_check=none", "--only", "completion_check=before-guard",
                           "--only", "catchup_entry=successor-not-pending", "--only", "final_write=plain",
                           "--only", "distinct_progress=false")
    assert code == 1 and "best supported: current_wave_rule=lowest-active" in text  # it does not fit


def test_the_grid_varies_the_progression_readings_and_the_evidence_separates_an_unchecked_normal_path() -> None:
    assert {"normal_threshold", "reconcile_else"} <= set(READINGS)
    grid = {**ONLY_DEFAULTS, "normal_threshold": ["checked", "unchecked"],
            "reconcile_else": ["fall-through", "return-monitoring"]}
    assert len(combinations(grid)) == 4
    r = run_readings(grid={**grid, "reconcile_else": ["fall-through"]}, seeds=range(2), checker=False)
    cells = {dict(c)["normal_threshold"]: r.cells[i] for i, c in enumerate(r.combos)}
    assert r.fits(0) and dict(r.combos[0])["normal_threshold"] == "checked"
    # without the threshold, normal progression sends wave 2 and CATCH-UP wave 3 at once: no 16 s gap,
    # and the burst no longer goes through DB-RECONCILE
    assert cells["unchecked"]["gap_2_3"]["value"] < 8 and not cells["unchecked"]["gap_2_3"]["reproduced"]
    assert not cells["unchecked"]["reconcile_active"]["reproduced"]


def test_the_failed_batch_reading_is_left_out_of_the_grid_because_no_observation_can_see_it() -> None:
    assert UNSEEN == ("failed_batch_fires",) and "failed_batch_fires" not in READINGS
    assert PRESETS["incident"].batch_failure_rate == 0  # the write-up's history has no failed batch to fire
    code, _, err = invoke("readings", "--only", "failed_batch_fires=true")
    assert code == 2 and "must look like READING=V1,V2" in err


def test_a_bad_only_is_one_line() -> None:
    code, out, err = invoke("readings", "--only", "colour=red")
    assert (code, out) == (2, "") and err.startswith("error: --only 'colour=red' must look like READING=V1,V2")
    code, _, err = invoke("readings", "--only", "current_wave_rule=newest")
    assert code == 2 and err.startswith("error: current_wave_rule must be one of:")


def test_the_committed_readings_pick_the_defaults_and_the_page_is_generated() -> None:
    data = json.loads(docs.RESULT.read_text(encoding="utf-8"))
    assert data["best"]["readings"] == {n: getattr(v, "value", v) for n, v in DEFAULTS.items()}
    page = docs.PAGE.read_text(encoding="utf-8")
    assert page == fill(page, {"switches", "readings"}), "run: wavesim docs"


def test_the_committed_readings_are_what_the_code_measures_now() -> None:
    data = json.loads(docs.RESULT.read_text(encoding="utf-8"))
    default = next(c for c in data["combinations"] if c["readings"] == data["best"]["readings"])
    again = run_readings(grid={n: [v] for n, v in default["readings"].items()}, seeds=data["seeds"], checker=False)
    assert again.cells[0] == default["cells"]


def test_a_switch_a_policy_would_ignore_is_refused_naming_both() -> None:
    code, out, err = invoke("run", "--policy", "atomic", "--switch", "auto_trigger=true")
    assert (code, out) == (2, "")
    assert err == ("error: switch auto_trigger=true is ignored under atomic_advance=true (advance() replaces the "
                   "write-up's handler) (policy atomic)\n")
    code, _, err = invoke("compare", "--policy", "atomic", "--seeds", "1",
                          "--switch", "current_wave_rule=lowest-active")
    assert code == 2 and "current_wave_rule=lowest-active is ignored under atomic_advance=true" in err
    code, _, err = invoke("check", "--policy", "original", "--switch", "completion_check=after-guard")
    assert code == 2 and err.startswith("error: switch completion_check=after-guard is ignored under "
                                        "reconcile_active_guard=false")


def verdict_code(run_json: str) -> int:
    """The contract's exit code of a ``wavesim run --json`` document."""
    return 0 if all(v["holds"] for v in json.loads(run_json)["properties"].values()) else 1


def test_switches_reach_every_command_and_every_json(tmp_path: Path) -> None:
    small = ["--preset", "light", "--waves", "3", "--wave-size", "4", "--workers", "2"]
    code, out, _ = invoke("run", *small, "--policy", "guarded", "--switch", "current_wave_rule=latest-started",
                          "--json")
    assert code == verdict_code(out) and json.loads(out)["policy_switches"]["current_wave_rule"] == "latest-started"
    toml = tmp_path / "s.toml"
    toml.write_text('preset = "light"\npolicy = "guarded"\n[switches]\nfinal_write = "conditional"\n')
    scenario = load_scenario_toml(toml.read_text(), base=PRESETS["light"])
    assert scenario.resolved_policy == policy_named("guarded").with_switches(name="guarded", final_write="conditional")
    code, out, _ = invoke("run", "--scenario", str(toml), "--waves", "3", "--json")
    assert code == verdict_code(out) and json.loads(out)["policy_switches"]["final_write"] == "conditional"
    code, out, _ = invoke("check", "--policy", "guarded", "--switch", "batch_wave_check=none", "--json",
                          "--property", "no_stall")
    assert code == 1 and json.loads(out)["policy_switches"]["batch_wave_check"] == "none"  # guarded stalls
    rows = tmp_path / "rows.csv"
    code, out, err = invoke("sweep", *small, "--policy", "guarded", "--seeds", "1", "--jobs", "1", "--out", str(rows),
                            "--param", "switch.batch_wave_check=none,after-decision", "--json")
    assert code == 1, err  # guarded stalls in both points
    points = json.loads(out)
    assert [p["policy_switches"]["batch_wave_check"] for p in points] == ["none", "after-decision"]


@pytest.mark.parametrize(("name", "value"), [
    ("normal_threshold", "unchecked"), ("reconcile_else", "return-monitoring"), ("failed_batch_fires", True),
])
def test_the_new_readings_reach_the_commands_as_switches(name: str, value: object) -> None:
    small = ["--preset", "light", "--waves", "2", "--wave-size", "4", "--workers", "2"]
    code, out, err = invoke("run", *small, "--policy", "original", "--switch", f"{name}={str(value).lower()}",
                            "--json")
    run = json.loads(out)
    assert code == (0 if all(v["holds"] for v in run["properties"].values()) else 1), err  # docs/exit-codes.md
    assert run["policy_switches"][name] == value
    code, out, err = invoke("check", "--policy", "original", "--waves", "1", "--property", "single_active_wave",
                            "--switch", f"{name}={str(value).lower()}", "--json")
    assert json.loads(out)["policy_switches"][name] == value, err
    listed = invoke("check", str(ROOT / "coordinator" / "writeup.py"), "--list")
    assert listed[0] == 0 and f"\n  {name}=" in listed[1]  # where --switch's help sends a user for the switches


def test_replay_takes_switches_and_refuses_one_the_trace_policy_ignores(tmp_path: Path) -> None:
    trace = tmp_path / "trace.json"
    code, _, err = invoke("check", "--policy", "guarded", "--trace-out", str(trace), "--property", "single_active_wave")
    assert code == 1, err
    code, out, _ = invoke("replay", str(trace), "--switch", "final_write=plain")  # the trace's own reading
    assert code == 1 and "single_active_wave violated" in out
    code, out, err = invoke("replay", str(trace), "--switch", "max_waves_in_flight=2")
    assert (code, out) == (2, "") and err.startswith("error: switch max_waves_in_flight=2 is ignored under "
                                                     "atomic_advance=false")
