"""The write-up's coordinator as one spec (``coordinator/writeup.py``) and the built-in model agree: per policy
at a small scope, the same verdicts, computed here by both checkers (and, where no transaction is involved,
the same shortest counterexample lengths: their steps correspond one to one, the spec's docstring gives the
mapping); a switch changes what the spec does as it changes what the built-in does; a switch the policy
never reads is refused."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from coordinator import POLICIES, PROPERTY_NAMES, writeup_programs
from coordinator.policy import with_given
from model.checker import check
from model.scope import Scope
from model.specmodel import Model, check_spec
from model.specmodel.saturation import SaturationBroken
from model.specmodel.search import PremiseBroken
from specfile.load import load_spec
from wavesim.cli import main

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "coordinator" / "writeup.py"

Verdicts = dict[str, tuple[bool | None, int | None]]


def builtin(policy: str, waves: int, size: int, handlers: int, workers: int = 2, **switches: str) -> Verdicts:
    search = check(Scope(waves=waves, wave_size=size, max_handlers=handlers, workers=workers),
                   with_given(POLICIES[policy], dict(switches)), shortest=True)
    assert search.complete
    return {n: (search.holds(n), len(f.labels) if (f := search.found.get(n)) else None) for n in search.checked}


def spec_run(policy: str, waves: int, size: int, handlers: int, workers: int = 2, **switches: str) -> Verdicts:
    spec = load_spec(SPEC)
    scope = {"waves": str(waves), "wave_size": str(size), "handlers": str(handlers), "workers": str(workers),
             "policy": policy, **switches}
    search = check_spec(Model(spec, spec.scope_of(scope)), time_limit=60, por=False, probe=False)
    assert search.complete
    return {n: (search.holds(n), len(f.labels) if (f := search.found.get(n)) else None) for n in search.checked}


def holds(verdicts: Verdicts) -> dict[str, bool | None]:
    return {n: v[0] for n, v in verdicts.items()}


#: (policy, waves, batches per wave, handlers, workers, switches); the smallest scopes where the policy's
#: violations show and the spec's check takes seconds
WRITEUP_CELLS = [
    ("original", 2, 2, 2, 2, {}),
    ("guarded", 2, 2, 2, 2, {}),
    ("seed-fix", 2, 1, 2, 1, {}),
]


@pytest.mark.parametrize(("policy", "waves", "size", "handlers", "workers", "switches"), WRITEUP_CELLS,
                         ids=[c[0] for c in WRITEUP_CELLS])
def test_each_write_up_policy_has_the_built_in_s_verdicts_and_shortest_lengths(
        policy: str, waves: int, size: int, handlers: int, workers: int, switches: dict[str, str]) -> None:
    expected = builtin(policy, waves, size, handlers, workers, **switches)
    assert set(load_spec(SPEC).properties) == set(PROPERTY_NAMES)
    assert spec_run(policy, waves, size, handlers, workers, **switches) == expected
    assert False in holds(expected).values()  # the cell shows a violation, so the comparison can fail


@pytest.mark.parametrize("fused", ["false", "true"])
def test_atomic_has_the_built_in_s_verdicts(fused: str) -> None:
    # verdicts only: a claim and a mark are transactions, several steps here and one in the built-in
    switches = {"reconciler_period_s": "none", "fused_push": fused}
    expected = holds(builtin("atomic", 2, 1, 2, 1, **switches))
    assert holds(spec_run("atomic", 2, 1, 2, 1, **switches)) == expected
    assert expected["no_duplicate_push"] is (fused == "true")  # the relay pushes twice; the fused push once


def test_atomic_s_reconciler_runs_beside_a_full_set_of_listeners_in_both_checkers() -> None:
    # one listener slot: the reconciler's run has its own (the spec's scheduler queue has its own worker), so it
    # relays a wave the listener's run has just claimed and pushed; on a listener's slot it never could
    expected = holds(builtin("atomic", 2, 1, 1, 1))
    assert holds(spec_run("atomic", 2, 1, 1, 1)) == expected
    assert expected["no_duplicate_push"] is False and expected["queue_bounded"] is False


def test_a_switch_changes_what_the_spec_does_as_it_changes_the_built_in() -> None:
    # Fix #1's threshold guard off: DB-RECONCILE falls through to normal progression and CATCH-UP again
    switch = {"reconcile_threshold_guard": "false"}
    plain, switched = spec_run("guarded", 2, 2, 1, 1), spec_run("guarded", 2, 2, 1, 1, **switch)
    assert switched != plain
    assert switched == builtin("guarded", 2, 2, 1, 1, **switch)


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_a_switch_the_policy_never_reads_is_refused_in_one_line() -> None:
    code, out = invoke("check", str(SPEC), "--policy", "atomic", "--switch", "final_write=conditional")
    assert code == 2 and "final_write=conditional is ignored under atomic_advance=true" in out
    assert len(out.strip().splitlines()) == 1 and "Traceback" not in out
    code, out = invoke("check", str(SPEC), "--policy", "guarded", "--switch", "fused_push=true")
    assert code == 2 and "fused_push=true is ignored under atomic_advance=false" in out


def test_policy_picks_the_preset_and_a_spec_without_one_refuses_it() -> None:
    code, out = invoke("check", str(SPEC), "--policy", "seed-fix", "--scope", "wave_size=1", "--scope", "workers=1",
                       "--property", "no_duplicate_claim")
    assert code == 1 and "policy=seed-fix" in out
    code, out = invoke("check", str(SPEC), "--policy", "original", "--switch", "policy=atomic")
    assert code == 2 and "disagree" in out
    code, out = invoke("check", str(ROOT / "examples" / "batch_counter.py"), "--policy", "atomic")
    assert code == 2 and "no 'policy' switch" in out


@pytest.mark.parametrize("command", [["run"], ["compare", "--seeds", "1"], ["faults", "--seeds", "1"]])
def test_policy_names_the_spec_switch_in_the_simulation(command: list[str]) -> None:
    code, out = invoke(command[0], str(SPEC), *command[1:], "--policy", "original", "--json")
    assert code in (0, 1) and ('"policy": "original"' in out or '"policy=original"' in out)
    code, out = invoke(command[0], str(ROOT / "examples" / "batch_counter.py"), *command[1:], "--policy", "atomic")
    assert code == 2 and "no 'policy' switch" in out


def test_policy_names_the_spec_switch_in_a_live_run(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'live.db'}"
    # several policies run one after another (tests/test_live_spec_cli.py); one that --switch contradicts is refused
    code, out = invoke("live", str(SPEC), "--db", db, "--policy", "original", "--switch", "policy=guarded")
    assert code == 2 and "disagree" in out, out
    code, out = invoke("live", str(ROOT / "examples" / "batch_counter.py"), "--db", db, "--policy", "atomic")
    assert code == 2 and "no 'policy' switch" in out


def _run(scope: dict[str, str], **options: bool) -> tuple[int, int, dict[str, tuple[bool | None, int | None]]]:
    spec = load_spec(SPEC)
    search = check_spec(Model(spec, spec.scope_of(scope)), time_limit=60, **options)
    return search.states, search.settled, {n: (search.holds(n), len(f.labels) if (f := search.found.get(n)) else None)
                                           for n in search.checked}


def test_its_settled_declarations_keep_every_verdict_and_shortest_length() -> None:
    scope = {"waves": "2", "wave_size": "2", "handlers": "2"}
    pruned = _run(scope, por=False, probe=False)
    full = _run(scope, por=False, probe=False, settled=False)
    assert pruned[2] == full[2]
    assert pruned[1] > 0 and full[1] == 0 and pruned[0] < full[0]


def test_a_step_against_a_settled_premise_stops_the_check() -> None:
    spec = load_spec(SPEC)
    declared = spec.settles["threshold_respected"]
    # the premise broken on purpose: every step is said to write a wave back to pending
    spec.settles["threshold_respected"] = dataclasses.replace(declared, premise=lambda before, after: "broken")
    try:
        with pytest.raises(PremiseBroken, match="breaks the premise of settled"):
            check_spec(Model(spec, spec.scope_of({})), time_limit=60)
    finally:
        spec.settles["threshold_respected"] = declared  # the spec module is imported once: leave it as it was


def test_probe_walks_decide_the_liveness_properties_with_the_same_verdicts() -> None:
    scope = {"waves": "2", "wave_size": "2", "handlers": "2"}
    walked, shortest = _run(scope), _run(scope, por=False, probe=False)
    assert {n: v[0] for n, v in walked[2].items()} == {n: v[0] for n, v in shortest[2].items()}
    assert all(walked[2][n][1] >= shortest[2][n][1] for n in walked[2] if walked[2][n][1] is not None)
    assert _run(scope) == walked  # seeded: the same search every time


def test_the_example_is_an_alias_of_the_one_spec() -> None:
    alias = load_spec(ROOT / "examples" / "writeup_guarded.py")
    assert alias.jobs["batch"].body.__module__ == "coordinator.writeup"  # imported, not a second copy
    assert alias.switches["policy"].default == "guarded"


def test_its_saturated_counts_keep_every_verdict_and_shortest_length() -> None:
    spec = load_spec(SPEC)
    scope = spec.scope_of({"waves": "2", "wave_size": "2", "handlers": "2"})
    runs = [check_spec(Model(spec, scope, saturation=on), time_limit=60, por=False, probe=False)
            for on in (True, False)]
    verdicts = [{n: (s.holds(n), len(f.labels) if (f := s.found.get(n)) else None) for n in s.checked} for s in runs]
    assert runs[0].complete and runs[1].complete and verdicts[0] == verdicts[1]
    assert runs[0].states <= runs[1].states  # at 2x2,2 no counter passes its bound before the verdicts


def test_a_wave_counter_read_past_the_wave_size_stops_the_check(monkeypatch: pytest.MonkeyPatch) -> None:
    # the mechanism broken on purpose: checkWaveCompletion reads the counters' whole sum, not only up to the
    # total, so a saturated counter and a higher one give it different progress
    def whole(result: Any) -> tuple[str, int, int]:
        row = result.mappings()[0]
        return row["status"], int(row["total_batches"]), int(row["completed_batches"] + row["failed_batches"])

    monkeypatch.setattr(writeup_programs, "_COUNTED", whole)
    with pytest.raises(SaturationBroken, match="completed_batches"):
        _run({"waves": "2", "wave_size": "2", "handlers": "2"}, por=False, probe=False)
