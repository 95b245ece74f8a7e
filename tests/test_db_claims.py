"""A claim is judged by what its run is told, on two real concurrent sessions.

Two connections claim the first wave of a fresh import at once. A barrier
holds each, after it read the claim's predicate, until the other has read it
too, unless the import lock keeps the other waiting (then the barrier times
out and the first goes on alone). Each mutation breaks part of the claim on
purpose by replacing a statement's text:

* ``no lock``: ``lock_import`` does nothing, so both read wave 1 as claimable;
  the conditional UPDATE (``... AND status = 'pending'``) and its row count are
  left, and only one run may be told it owns the wave;
* ``no lock, unconditional``: the UPDATE's condition is gone too: both UPDATEs
  change the row, both runs are told, and ``no_duplicate_claim`` must fail;
* ``no lock, row count ignored``: the driver of before, which told its run it
  owns the wave without reading the UPDATE's row count: the row is written
  once, two runs are told, and the property must fail all the same, because it
  judges the runs told (the ``claims`` record), not the rows.

Both broken claims are run at every isolation level: where the level alone
refuses the second UPDATE (``LEVEL_STOPS_IT``) the loser retries and is told
nothing; elsewhere both runs are told and the property fails.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from dbengines import opened

import dbdriver
from coordinator import ClaimNextWave, Status
from coordinator import sql as q
from coordinator.properties import no_duplicate_claim
from dbdriver.operations import Session
from live.db import set_isolation

SERVERS = ["postgresql", "mysql"]
#: how long a session waits at the barrier for the other: with the lock, which holds the other
#: back, a moment; without it nothing holds either back, so the wait only guards against a hang
MEET_S = {True: 1.5, False: 60.0}


def _no_lock() -> dict[str, str]:
    return {"postgresql": "SELECT 1", "mysql": "SELECT 1"}


def _unconditional() -> str:
    text = q._SQL["claim_update"]
    assert isinstance(text, str) and text.endswith(" AND status = 'pending'")
    return text.removesuffix(" AND status = 'pending'")


class _AlwaysOneRow:
    """A result that says one row changed, whatever the UPDATE did (a driver that never read it)."""

    def __init__(self, result: Any) -> None:
        self._result = result
        self.rowcount = 1

    def __getattr__(self, name: str) -> Any:
        return getattr(self._result, name)


def _mutate(monkeypatch: pytest.MonkeyPatch, mutation: str) -> None:
    if mutation == "intact":
        return
    monkeypatch.setitem(q._SQL, "lock_import", _no_lock())
    if mutation == "no lock, unconditional":
        monkeypatch.setitem(q._SQL, "claim_update", _unconditional())
    elif mutation == "no lock, row count ignored":
        run = Session.run

        def unread(self: Session, name: str, **params: object) -> Any:
            result = run(self, name, **params)
            return _AlwaysOneRow(result) if name == "claim_update" else result

        monkeypatch.setattr(Session, "run", unread)
    else:
        assert mutation == "no lock", mutation


def _meet_after_the_predicate(monkeypatch: pytest.MonkeyPatch, mutation: str) -> None:
    """Each session, after its first read of the claim's predicate, waits for the other's."""
    barrier = threading.Barrier(2, timeout=MEET_S[mutation == "intact"])
    run = Session.run
    met: set[int] = set()

    def meeting(self: Session, name: str, **params: object) -> Any:
        result = run(self, name, **params)
        if name.startswith("claim_candidate") and threading.get_ident() not in met:
            met.add(threading.get_ident())
            result = list(result)  # read it before waiting: the predicate is what this run saw
            with contextlib.suppress(threading.BrokenBarrierError):  # the other is held back by the lock
                barrier.wait()
            return _Rows(result)
        return result

    monkeypatch.setattr(Session, "run", meeting)


class _Rows:
    """Rows already fetched, offered as the result object ``Session._value`` reads."""

    def __init__(self, rows: list[Any]) -> None:
        self._rows = rows

    def first(self) -> Any:
        return self._rows[0] if self._rows else None


def _race(database: dbdriver.Database, job: int, level: str | None) -> tuple[dict[str, object], dict[str, int]]:
    """Two sessions, ``A`` and ``B``, claim at once: what each was told, and how often each retried."""
    told: dict[str, object] = {}
    retries: dict[str, int] = {}
    errors: list[BaseException] = []

    def claim(actor: str) -> None:
        try:
            with database.session() as s:
                s.actor = actor
                set_isolation(s, level)
                told[actor] = s.apply(ClaimNextWave(job_id=job, threshold_count=1), 1.0)
                retries[actor] = s.retries
        except BaseException as err:  # reported below, on the test's thread
            errors.append(err)

    threads = [threading.Thread(target=claim, args=(actor,)) for actor in ("A", "B")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    return told, retries


def _claims_record(database: dbdriver.Database, job: int) -> list[tuple[int, str]]:
    with database.engine.connect() as conn:
        rows = conn.execute(sa.text(f"SELECT wave_number, run FROM {database.prefix}claims WHERE job_id = :job "
                                    "ORDER BY run"), {"job": job}).all()
    return [(int(w), str(r)) for w, r in rows]


@pytest.fixture(params=SERVERS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dbdriver.Database]:
    yield from opened(request.param, tmp_path)


#: Where the isolation level alone stops a claim that lost its lock and its condition (or whose row
#: count goes unread): the second UPDATE of the row is refused, by PostgreSQL's first-updater-wins
#: at REPEATABLE READ and above (a serialization failure) and by the deadlock of MariaDB
#: SERIALIZABLE's shared read locks, and its retry finds wave 1 taken. At READ COMMITTED, and at
#: MariaDB's REPEATABLE READ (whose UPDATE reads the latest committed row), nothing does.
LEVEL_STOPS_IT = {("postgresql", "REPEATABLE READ"), ("postgresql", "SERIALIZABLE"), ("mysql", "SERIALIZABLE")}


@pytest.mark.parametrize("level", [None, "READ COMMITTED", "REPEATABLE READ", "SERIALIZABLE"])
@pytest.mark.parametrize("mutation", ["no lock, unconditional", "no lock, row count ignored"])
def test_a_broken_claim_tells_two_runs_and_no_duplicate_claim_fails(
        database: dbdriver.Database, monkeypatch: pytest.MonkeyPatch, mutation: str, level: str | None) -> None:
    _mutate(monkeypatch, mutation)
    _meet_after_the_predicate(monkeypatch, mutation)
    database.create_import(job_id=1, waves=2, wave_size=2)
    told, retries = _race(database, 1, level)
    table = database.table(1)
    if (database.dialect, level) in LEVEL_STOPS_IT:
        loser = next(actor for actor, wave in told.items() if wave is None)
        assert sorted(told.values(), key=repr) == [1, None] and retries[loser] >= 1
        assert no_duplicate_claim(table) is None
        return
    assert told == {"A": 1, "B": 1}
    assert _claims_record(database, 1) == [(1, "A"), (1, "B")]
    assert table.row(1).owners_told == 2 and table.row(1).status is Status.DISPATCHING
    assert no_duplicate_claim(table) == "1 wave(s) claimed by more than one run: wave 1 told to 2 runs"


@pytest.mark.parametrize("level", [None, "READ COMMITTED", "REPEATABLE READ", "SERIALIZABLE"])
@pytest.mark.parametrize("mutation", ["intact", "no lock"])
def test_a_claim_tells_one_run_it_owns_the_wave(database: dbdriver.Database, monkeypatch: pytest.MonkeyPatch,
                                                 mutation: str, level: str | None) -> None:
    """With the lock, or without it but with the UPDATE's condition and its row count read, one
    run is told it owns wave 1 and the other is told nothing, at every isolation level."""
    _mutate(monkeypatch, mutation)
    _meet_after_the_predicate(monkeypatch, mutation)
    database.create_import(job_id=1, waves=2, wave_size=2)
    told, _ = _race(database, 1, level)
    assert sorted(told.values(), key=repr) == [1, None]
    owner = next(actor for actor, wave in told.items() if wave == 1)
    assert _claims_record(database, 1) == [(1, owner)]
    table = database.table(1)
    assert [r.owners_told for r in table.rows] == [1, 0]
    assert no_duplicate_claim(table) is None
