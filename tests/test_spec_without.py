"""``wavesim check SPEC --without NAME``: each reduction a spec has is switched off by the name the write-up's
checker gives it, the ``reductions:`` line says so and the verdicts stay; the one a spec lacks is refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from wavesim.cli import main

ROOT = Path(__file__).resolve().parent.parent
COUNTER = str(ROOT / "examples" / "batch_counter.py")
HITS = str(ROOT / "tests" / "fixtures" / "specs" / "hits.py")
WRITEUP = str(ROOT / "coordinator" / "writeup.py")
#: a scope of the write-up's spec where its settled declarations judge states (and the check takes a second)
SETTLES = ("--scope", "waves=2", "--scope", "wave_size=2", "--scope", "handlers=2", "--scope", "workers=1")


def report(*args: str) -> dict[str, object]:
    result = CliRunner().invoke(main, ["check", *args, "--json"])
    assert result.exit_code in (0, 1), result.output
    out: dict[str, object] = json.loads(result.stdout)
    return out


def verdicts(found: dict[str, object]) -> dict[str, object]:
    props = found["properties"]
    assert isinstance(props, dict)
    return {n: p["holds"] for n, p in props.items()}


@pytest.mark.parametrize(("spec", "name", "words"), [
    (COUNTER, "symmetry", "symmetry of workers"),
    (COUNTER, "por", "partial-order"),
    (COUNTER, "probe", "probe walks"),
    (HITS, "abstraction", "saturated counts.hits"),
    (WRITEUP, "settled", "settled ("),
])
def test_each_reduction_a_spec_has_is_switched_off_by_name_and_keeps_every_verdict(
        spec: str, name: str, words: str) -> None:
    scope = SETTLES if spec == WRITEUP else ()
    on, off = report(spec, *scope), report(spec, *scope, "--without", name)
    assert words in str(on["reductions"]) and words not in str(off["reductions"])
    assert verdicts(off) == verdicts(on)
    rest = str(off["reductions"])
    assert rest and rest != "none"  # the others stay on


def test_every_reduction_off_at_once_keeps_the_verdicts_of_the_counter() -> None:
    every = [w for n in ("symmetry", "por", "probe", "abstraction", "settled") for w in ("--without", n)]
    off = report(COUNTER, *every)
    assert "symmetry" not in str(off["reductions"]) and "partial-order" not in str(off["reductions"])
    assert verdicts(off) == verdicts(report(COUNTER)) == {"callback_at_most_once": False, "callback_ran": False}


def test_the_reduction_a_spec_lacks_is_refused_in_one_line_naming_what_it_has() -> None:
    result = CliRunner().invoke(main, ["check", COUNTER, "--without", "futures"])
    assert (result.exit_code, result.stderr) == (
        2, "error: --without futures: the write-up's coordinator's reduction; a spec's are symmetry, abstraction, "
           "settled, por, probe\n")
