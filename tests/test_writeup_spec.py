"""The write-up's ``guarded`` policy written as a spec (``examples/writeup_guarded.py``) and the built-in
model agree at 2x2,2: the same verdicts and the same shortest counterexample lengths (their steps
correspond one to one; the spec's docstring gives the mapping)."""

from __future__ import annotations

from pathlib import Path

from coordinator import POLICIES, PROPERTY_NAMES
from model.checker import check
from model.scope import Scope
from model.specmodel import Model, check_spec
from wavesim.specfile import load_spec

SPEC = Path(__file__).resolve().parent.parent / "examples" / "writeup_guarded.py"


def test_the_spec_and_the_built_in_model_agree_at_2x2_2() -> None:
    builtin = check(Scope(waves=2, wave_size=2, max_handlers=2), POLICIES["guarded"], shortest=True)
    spec = load_spec(SPEC)
    found = check_spec(Model(spec, spec.scope_of({"waves": "2", "wave_size": "2", "handlers": "2"})),
                       time_limit=60)
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
