"""``wavesim replay FILE --simulate``: a checker counterexample replayed in the timed
simulation, step for step, judged by the simulation's monitors and plotted."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from coordinator_builders import pinned

from model.checker import Search, check
from model.scope import Scope
from model.trace import ReplayError, from_json, steps_of, table_text, to_json
from replay.scripted import ScriptedRun, drain, replay_in_sim
from sim.plots import run_figure
from wavesim.cli import main

PNG = b"\x89PNG\r\n\x1a\n"


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def guarded() -> Search:
    return check(Scope(), pinned("guarded"), shortest=True)


def trace(search: Search, prop: str) -> dict[str, Any]:
    found = search.found[prop]
    return to_json(search.spec, prop, found.detail, steps_of(search.spec, found.path))


def simulate(data: dict[str, Any], seed: int = 0) -> ScriptedRun:
    spec, prop, detail, steps, _ = from_json(data)
    return replay_in_sim(spec, prop, detail, steps, seed=seed)


def rows(run: ScriptedRun) -> list[tuple[str, int, int]]:
    return [(r.status.value, r.distinct_finished, r.dispatch_count) for r in run.result.table.rows]


def test_the_duplicate_dispatch_shows_in_the_simulation_and_on_a_plot(guarded: Search, tmp_path: Path) -> None:
    data = trace(guarded, "no_duplicate_push")
    file, png = tmp_path / "dup.json", tmp_path / "dup.png"
    file.write_text(json.dumps(data))
    code, out, err = invoke("replay", str(file), "--simulate", "--plot", str(png))
    assert (code, err) == (1, f"wrote {png}\n")  # the violation shows in the simulation: exit 1
    found = re.search(r"VIOLATED no_duplicate_push at (\d+\.\d+) s: 1 wave\(s\) dispatched more than once", out)
    assert found is not None
    assert png.read_bytes()[:8] == PNG
    assert f"final table, as the model recorded it: {data['steps'][-1]['table']}" in out
    run = simulate(data)
    assert rows(run) == [("completed", 2, 1), ("dispatching", 0, 2)]
    assert table_text(run.result.table) == data["steps"][-1]["table"] == "1:completed 2/2 | 2:dispatching 0/2 x2"
    # the second EnqueueBatches, the trace's last step, is where the simulation's monitor sees it
    last, traced = run.steps[-1], data["steps"][-1]
    assert (last.n, last.actor, last.what) == (len(data["steps"]), traced["actor"], traced["what"])
    assert last.what == "EnqueueBatches(wave=2)"
    assert run.result.properties["no_duplicate_push"]["first_violation_s"] == round(last.t, 6)
    assert float(found.group(1)) == pytest.approx(last.t, abs=1e-4)
    assert [s.n for s in run.steps] == list(range(len(data["steps"]) + 1)) and not any(s.drained for s in run.steps)
    times = [s.t for s in run.steps]
    assert times == sorted(times)
    # the peak is the queue the model ended with: wave 2's batch jobs, pushed twice, none taken yet
    queued = traced["jobs"].split("queue [")[1].split("]")[0].split()
    assert queued == [f"w2b{b}" for b in range(2)] * 2
    assert (run.result.outcome, run.result.metrics["peak_queue_depth"], run.result.metrics["duplicate_dispatches"]) == (
        "stopped", len(queued), 1)
    assert run.result.properties["import_completes"]["holds"]  # not judged: the run stops mid-import
    assert len(run_figure(run.result).axes) == 2


def test_a_stall_trap_is_followed_to_its_quiescent_end(guarded: Search, tmp_path: Path) -> None:
    data = trace(guarded, "no_stall")
    file, png = tmp_path / "stall.json", tmp_path / "stall.png"
    file.write_text(json.dumps(data))
    code, out, _ = invoke("replay", str(file), "--simulate", "--plot", str(png))
    assert code == 1
    assert re.search(r"VIOLATED no_stall at \d+\.\d+ s: stalled at wave 2: nothing left to run", out)
    assert "stalled at wave 2 (nothing left to run)" in out
    assert png.read_bytes()[:8] == PNG
    run = simulate(data)
    spec, _, _, steps, _ = from_json(data)
    # the checker's no_stall path ends at the stalled state itself: nothing is left to drain
    assert drain(spec, steps) == () and not any(s.drained for s in run.steps)
    assert table_text(run.result.table) == steps[-1].table
    assert rows(run) == [("completed", 2, 1), ("processing", 2, 1)]
    assert steps[-1].jobs == "queue [-] running [-] events 0 delayed 0"
    assert (run.result.outcome, run.result.metrics["stalled"], run.result.metrics["stall_wave"]) == (
        "stalled", True, 2)
    assert run.result.properties["no_stall"]["first_violation_s"] == run.result.metrics["makespan_s"]


def test_the_same_seed_gives_the_same_json_and_another_seed_only_other_times(guarded: Search, tmp_path: Path) -> None:
    file = tmp_path / "dup.json"
    file.write_text(json.dumps(trace(guarded, "no_duplicate_push")))
    first = invoke("replay", str(file), "--simulate", "--json", "--seed", "7")
    assert first == invoke("replay", str(file), "--simulate", "--json", "--seed", "7")
    other = invoke("replay", str(file), "--simulate", "--json", "--seed", "8")
    a, b = json.loads(first[1]), json.loads(other[1])
    assert a["scenario"]["seed"] == 7 and a["scenario"]["listener"] == "queued"
    assert [s["t"] for s in a["steps"]] != [s["t"] for s in b["steps"]]
    strip = [{k: v for k, v in s.items() if k != "t"} for s in a["steps"]]
    assert strip == [{k: v for k, v in s.items() if k != "t"} for s in b["steps"]]
    assert a["final_table"] == b["final_table"] == "1:completed 2/2 | 2:dispatching 0/2 x2"


def test_a_step_that_cannot_happen_is_one_line_and_exit_2(guarded: Search, tmp_path: Path) -> None:
    data = trace(guarded, "no_duplicate_push")
    data["steps"][1]["what"] = "takes batch w2b0"  # wave 2 is not queued yet
    file = tmp_path / "bad.json"
    file.write_text(json.dumps(data))
    code, out, err = invoke("replay", str(file), "--simulate")
    assert (code, out) == (2, "")
    assert err == f"error: {file}: step 2 (worker takes batch w2b0) does not replay from the state before it\n"


def test_the_simulation_names_the_first_step_whose_table_differs(guarded: Search) -> None:
    spec, prop, detail, steps, _ = from_json(trace(guarded, "no_duplicate_push"))
    bad = list(steps)
    bad[7] = replace(bad[7], table="1:completed 2/2 | 2:pending 0/2")  # step 8 really completes wave 1 ...
    bad[6] = replace(bad[6], table="1:completed 2/2 | 2:pending 0/2")  # ... so claim it happened at step 7
    with pytest.raises(ReplayError, match=r"^step 7 \(h1 ReadWave\(wave=1\)\) differs in the simulation: table "):
        replay_in_sim(spec, prop, detail, bad)


def test_simulate_only_options_need_simulate(tmp_path: Path) -> None:
    file = tmp_path / "x.json"
    file.write_text("{}")
    assert invoke("replay", str(file), "--plot", str(tmp_path / "x.png")) == (2, "", "error: --plot needs --simulate\n")
    code, _, err = invoke("replay", str(file), "--simulate", "--plot", str(tmp_path / "x.gif"))
    assert code == 2 and err.startswith("error: --plot ") and err.count("\n") == 1


def test_a_policy_the_simulation_does_not_know_is_one_line_and_exit_2(guarded: Search, tmp_path: Path) -> None:
    data = trace(guarded, "no_duplicate_push")
    data["switches"]["name"] = "mine"
    file = tmp_path / "mine.json"
    file.write_text(json.dumps(data))
    assert invoke("replay", str(file), "--simulate") == (
        2, "", f"error: {file}: policy 'mine': the simulation runs only original, guarded, seed-fix, atomic\n")
