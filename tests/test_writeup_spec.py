"""The write-up's ``guarded`` policy written as a spec (``examples/writeup_guarded.py``) and the built-in
model agree at 2x2,2: the same verdicts and the same shortest counterexample lengths (their steps
correspond one to one; the spec's docstring gives the mapping)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from coordinator import POLICIES, PROPERTY_NAMES
from model.checker import check
from model.scope import Scope
from model.specmodel import Model, check_spec
from model.specmodel.search import PremiseBroken
from wavesim.specfile import load_spec

SPEC = Path(__file__).resolve().parent.parent / "examples" / "writeup_guarded.py"


def test_the_spec_and_the_built_in_model_agree_at_2x2_2() -> None:
    builtin = check(Scope(waves=2, wave_size=2, max_handlers=2), POLICIES["guarded"], shortest=True)
    spec = load_spec(SPEC)
    found = check_spec(Model(spec, spec.scope_of({"waves": "2", "wave_size": "2", "handlers": "2"})),
                       time_limit=60, por=False, probe=False)
    assert builtin.complete and found.complete
    assert set(spec.properties) == set(PROPERTY_NAMES)
    verdicts = {n: (builtin.holds(n), len(builtin.found[n].labels) if n in builtin.found else None)
                for n in PROPERTY_NAMES}
    assert {n: (found.holds(n), len(found.found[n].labels) if n in found.found else None)
            for n in PROPERTY_NAMES} == verdicts
    assert verdicts == {
        "single_active_wave": (False, 8), "one_wave_below_threshold": (True, None),
        "threshold_respected": (True, None), "no_duplicate_claim": (False, 17), "no_duplicate_push": (False, 19),
        "queue_bounded": (False, 19), "no_stall": (False, 31), "import_completes": (False, 31),
    }


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


def test_a_step_against_a_settled_premise_stops_the_check(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = load_spec(SPEC)
    declared = spec.settles["threshold_respected"]
    # the premise broken on purpose: every step is said to write a wave back to pending
    spec.settles["threshold_respected"] = dataclasses.replace(declared, premise=lambda before, after: "broken")
    with pytest.raises(PremiseBroken, match="breaks the premise of settled"):
        check_spec(Model(spec, spec.scope_of({})), time_limit=60)


def test_probe_walks_decide_the_liveness_properties_with_the_same_verdicts() -> None:
    scope = {"waves": "2", "wave_size": "2", "handlers": "2"}
    walked, shortest = _run(scope), _run(scope, por=False, probe=False)
    assert {n: v[0] for n, v in walked[2].items()} == {n: v[0] for n, v in shortest[2].items()}
    assert all(walked[2][n][1] >= shortest[2][n][1] for n in walked[2] if walked[2][n][1] is not None)
    assert _run(scope) == walked  # seeded: the same search every time


def test_its_saturated_counts_keep_every_verdict_and_shortest_length() -> None:
    spec = load_spec(SPEC)
    scope = spec.scope_of({"waves": "2", "wave_size": "2", "handlers": "2"})
    runs = [check_spec(Model(spec, scope, saturation=on), time_limit=60, por=False, probe=False)
            for on in (True, False)]
    verdicts = [{n: (s.holds(n), len(f.labels) if (f := s.found.get(n)) else None) for n in s.checked} for s in runs]
    assert runs[0].complete and runs[1].complete and verdicts[0] == verdicts[1]
    assert runs[0].states <= runs[1].states  # at 2x2,2 no counter passes its bound before the verdicts
