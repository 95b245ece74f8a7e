"""``wavesim check`` and ``wavesim replay`` through click's runner."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from coordinator_builders import forgetful_apply

from coordinator import POLICIES, PROPERTY_NAMES
from model import compiled
from model.checker import check
from model.scope import Scope
from userio.exitcodes import HOLDS, VIOLATED
from wavesim.cli import main


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_check_json_reports_what_the_checker_found() -> None:
    """The report is the library's search, number for number (the exit code says whether every
    property held: 0 or 1 under the contract in userio/exitcodes.py, never 2 here)."""
    code, out, _ = invoke("check", "--policy", "atomic", "--json")
    report = json.loads(out)
    search = check(Scope(), POLICIES["atomic"])
    assert {k: report[k] for k in ("policy", "strategy", "complete", "states", "transitions", "depth")} == {
        "policy": "atomic", "strategy": "bfs", "complete": True, "states": search.states,
        "transitions": search.transitions, "depth": search.depth,
    }
    assert report["scope"] == {
        "waves": 2, "wave_size": 2, "threshold": 50, "workers": 2, "max_handlers": 2, "crashes": 0,
        "duplicates": 0, "losses": 0, "failures": 0, "fifo": True, "crash_handlers": False,
        "relay_lease": "expired",
    }
    assert {name: v["holds"] for name, v in report["properties"].items()} == {
        name: search.holds(name) for name in PROPERTY_NAMES}
    for name, verdict in report["properties"].items():
        # a counterexample exactly for each violated property, as long as the search's path
        if verdict["holds"]:
            assert verdict["counterexample"] is None, name
        else:
            assert len(verdict["counterexample"]) == len(search.found[name].labels), name
    assert code == (VIOLATED if any(v["holds"] is False for v in report["properties"].values()) else HOLDS)


def test_a_budget_makes_the_report_incomplete_never_holds() -> None:
    code, out, _ = invoke("check", "--policy", "atomic", "--max-states", "50", "--property", "no_stall")
    assert code == 1  # undecided is not "holds"
    assert "INCOMPLETE: 50 distinct states" in out
    assert "stopped: state budget of 50 reached" in out
    assert "undecided: no_stall\n" in out
    assert re.search(r"\n  no_stall +unknown \(states budget ran out\) -\n", out)


def test_reductions_can_be_switched_off_and_shortest_is_reported() -> None:
    minimal = ("symmetry", "abstraction", "futures", "settled")
    code, out, _ = invoke("check", "--policy", "guarded", "--json", "--without", "por", "--without", "probe")
    report = json.loads(out)
    assert code == VIOLATED  # guarded breaks a property here (docs/exit-codes.md)
    assert (report["reductions"], report["shortest"]) == (list(minimal), True)
    assert report["states"] == check(Scope(), POLICIES["guarded"], use=minimal).states
    assert report["settled"] > 0  # guarded's other properties are broken early; the rest is settled
    code, out, _ = invoke("check", "--policy", "guarded", "--json", "--without", "por", "--without", "probe",
                          "--without", "settled")
    unsettled = json.loads(out)
    assert unsettled["settled"] == 0 and unsettled["states"] > report["states"]
    assert unsettled["states"] == check(Scope(), POLICIES["guarded"], use=minimal[:-1]).states
    code, out, _ = invoke("check", "--policy", "guarded", "--json", "--shortest")
    assert json.loads(out)["reductions"] == ["symmetry", "abstraction", "futures", "settled"]
    code, out, _ = invoke("check", "--policy", "guarded", "--shortest")
    assert re.search(r"distinct states \(\d+ settled, not expanded\)", out)
    code, out, _ = invoke("check", "--policy", "guarded")
    assert "note: counterexamples may be longer than the shortest" in out
    code, _, err = invoke("check", "--policy", "guarded", "--max-memory", "0")
    assert (code, err) == (2, "error: --max-memory must be above 0 MB, got 0\n")


def test_a_violated_cell_reports_that_it_stopped_when_decided() -> None:
    code, out, _ = invoke("check", "--policy", "original", "--waves", "3", "--json")
    report = json.loads(out)
    assert (code, report["complete"], report["decided"], report["stop_reason"]) == (
        1, False, True, "every property decided",
    )
    assert report["budget"] is None and report["undecided"] == []


def test_trace_out_then_replay_prints_the_same_steps(tmp_path: Path) -> None:
    trace = tmp_path / "trace.json"
    code, out, err = invoke("check", "--policy", "guarded", "--property", "no_duplicate_push", "--shortest",
                          "--trace-out", str(trace))
    assert code == VIOLATED
    assert err == f"wrote {trace}\n"
    code, replayed, _ = invoke("replay", str(trace))
    assert code == VIOLATED  # the replayed trace violates its property, as it did in the check
    found = check(Scope(), POLICIES["guarded"], properties=("no_duplicate_push",), shortest=True).found
    assert replayed.splitlines()[1] == (
        f"no_duplicate_push violated in {len(found['no_duplicate_push'].labels)} steps: "
        f"{found['no_duplicate_push'].detail}"
    )
    # the check shows the table only where the rows change; the step lines are the same
    assert step_lines(replayed) == step_lines(out) and len(step_lines(out)) == len(found["no_duplicate_push"].labels)


def step_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if re.match(r"^ *\d+\. ", line)]


def test_pct_search_reports_what_it_covered() -> None:
    code, out, _ = invoke("check", "--policy", "original", "--strategy", "pct", "--max-states", "300", "--json")
    report = json.loads(out)
    assert (code, report["strategy"], report["complete"]) == (1, "pct", False)
    assert report["states"] >= 300
    assert report["properties"]["single_active_wave"]["holds"] is False
    assert report["properties"]["no_duplicate_push"]["holds"] in (False, None)


def test_bad_input_is_one_line_and_exit_code_2(tmp_path: Path) -> None:
    code, _, err = invoke("check", "--policy", "atomic", "--waves", "9")
    assert (code, err) == (2, "error: waves must be a whole number from 1 to 6, got 9\n")
    code, _, err = invoke("check", "--policy", "atomic", "--time-limit", "0")
    assert (code, err) == (2, "error: --time-limit must be above 0 seconds, got 0\n")
    code, _, err = invoke("replay", str(tmp_path / "missing.json"))
    assert (code, err) == (2, f"error: cannot read {tmp_path / 'missing.json'}: no such file\n")
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    code, _, err = invoke("replay", str(bad))
    assert (code, err) == (2, f"error: cannot read {bad}: not a wavesim counterexample (expected a JSON object)\n")


def test_a_negative_walk_seed_is_refused_in_one_line() -> None:
    result = CliRunner().invoke(main, ["check", "--strategy", "random", "--seed", "-1"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == ["error: Invalid value for '--seed': -1 is not in the range x>=0."]


def test_the_engine_is_chosen_and_reported() -> None:
    """Both engines give the same report but for the engine's name and the timings; a compiled
    engine that cannot run is one line and exit 2."""
    reports = {}
    for engine in ("python", "auto"):
        code, out, _ = invoke("check", "--policy", "guarded", "--json", "--engine", engine, "--without", "probe")
        assert code == 1
        reports[engine] = json.loads(out)
    assert reports["python"]["engine"] == "python"
    assert reports["auto"]["engine"] in ("compiled", "python")
    for key in ("states", "transitions", "depth", "complete", "properties"):
        assert reports["python"][key] == reports["auto"][key], key
    code, _, err = invoke("check", "--policy", "guarded", "--engine", "compiled", "--any-order")
    why = compiled.unavailable() or "the compiled engine runs a FIFO queue only"
    assert (code, err.strip().splitlines()) == (2, [f"error: --engine compiled: {why}"])


def test_a_core_step_against_the_settled_premise_is_one_line_and_exit_2(monkeypatch: pytest.MonkeyPatch) -> None:
    """A core whose record forgets finished batches: the settled reduction refuses to run, in one line."""
    import model.actions as actions

    monkeypatch.setattr(actions, "apply", forgetful_apply(actions.apply))
    code, out, err = invoke("check", "--policy", "guarded", "--engine", "python")
    assert (code, out) == (2, "")
    assert err.startswith("error: RecordBatchFinished(") and err.endswith("rerun with --without settled\n")
    assert err.count("\n") == 1
