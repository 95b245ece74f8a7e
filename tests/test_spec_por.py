"""Partial-order reduction for specs (model.specmodel.por): the same verdicts, fewer states, and a
broken independence test is caught."""

from __future__ import annotations

from pathlib import Path

import pytest

import model.specmodel.por as por
from model.specmodel import Model, check_spec
from spec.errors import Unsupported
from specfile.load import load_spec

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = sorted((ROOT / "tests" / "fixtures" / "specs").glob("*.py"))
# the write-up's spec has no transaction, so no step is ever taken alone there: tests/test_writeup_spec.py
SPECS = [p for p in FIXTURES + sorted((ROOT / "examples").glob("*.py"))
         if p.name != "refused.py" and not p.name.startswith("writeup_")]


def verdicts(path: Path, dialect: str, reduce: bool, **scope: str) -> tuple[int, int, dict[str, bool | None]]:
    spec = load_spec(path)
    search = check_spec(Model(spec, spec.scope_of(scope), dialect=dialect), por=reduce)
    return search.states, search.reduced, {n: search.holds(n) for n in search.checked}


@pytest.mark.parametrize("dialect", ["postgresql", "mysql", "sqlite"])
@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.name)
def test_the_reduction_keeps_every_verdict(path: Path, dialect: str) -> None:
    try:
        reduced, plain = verdicts(path, dialect, True), verdicts(path, dialect, False)
    except Unsupported as refused:  # a construct this engine does not have (RETURNING on MariaDB ...)
        pytest.skip(f"{path.name} on {dialect}: {refused}")
    assert reduced[2] == plain[2]
    assert reduced[0] <= plain[0] and plain[1] == 0


def test_it_reduces_where_a_worker_holds_its_rows() -> None:
    states, reduced, _ = verdicts(ROOT / "tests/fixtures/specs/deadlock.py", "sqlite", True)
    assert reduced > 0 and states < verdicts(ROOT / "tests/fixtures/specs/deadlock.py", "sqlite", False)[0]


def test_a_step_taken_alone_when_others_can_disturb_it_hides_the_deadlock(monkeypatch: pytest.MonkeyPatch) -> None:
    # the independence test broken on purpose: every step commutes with everything
    path = ROOT / "tests/fixtures/specs/deadlock.py"
    assert verdicts(path, "postgresql", True)[2] == {"no_job_failed": False}
    monkeypatch.setattr(por, "undisturbed", lambda *args: True)
    assert verdicts(path, "postgresql", True)[2] == {"no_job_failed": True}
