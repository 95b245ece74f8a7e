"""Waits that keep nothing (model.specmodel.waits): not steps, the same verdicts, and a statement that
breaks the assumption, or a merge where it does not hold, is caught."""

from __future__ import annotations

from pathlib import Path

import pytest

import model.specmodel.waits as waits
from model.specmodel import Model, check_spec
from model.specmodel.waits import WaitMergeBroken
from specfile.load import load_spec

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "specs"


def search(name: str, merge: bool, **scope: str) -> tuple[int, dict[str, bool | None]]:
    spec = load_spec(FIXTURES / name)
    found = check_spec(Model(spec, spec.scope_of(scope), dialect="postgresql", wait_merge=merge), por=False,
                       probe=False)
    return found.states, {n: found.holds(n) for n in found.checked}


def test_a_wait_that_keeps_nothing_is_not_a_state_and_every_verdict_stays() -> None:
    merged, kept = search("waits.py", True), search("waits.py", False)
    assert merged[1] == kept[1] == {"n_is_known": True, "bump_wrote_last_or_first": True}
    assert merged[0] < kept[0]


def test_a_statement_planned_later_that_writes_what_a_merged_wait_read_stops_the_check() -> None:
    with pytest.raises(WaitMergeBroken, match="tag"):
        search("waits.py", True, retag="yes")
    assert search("waits.py", False, retag="yes")[1]["n_is_known"] is True


def test_a_wait_inside_a_transaction_is_kept_or_the_deadlock_is_lost(monkeypatch: pytest.MonkeyPatch) -> None:
    assert search("deadlock.py", True)[1] == {"no_job_failed": False}
    # the merge's conditions broken on purpose: every wait is merged, those that hold locks too
    monkeypatch.setattr(waits.Waits, "keeps_nothing", lambda *args: True)
    assert search("deadlock.py", True)[1] == {"no_job_failed": True}
