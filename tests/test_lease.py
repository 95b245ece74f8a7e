"""A spec's lease (``spec/lease.py``): the checker's two readings, the simulation's clock, real SQL."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from model.specmodel import Model, check_spec
from model.specmodel.leases import Owners
from spec.executor import Engine
from spec.lang import Scope
from spec.lease import owned_by
from spec.results import Done
from spec.state import initial
from specfile.load import load_spec
from wavesim.cli import main

LEASED = load_spec(Path(__file__).parent / "fixtures" / "specs" / "leased.py")
TASKS = LEASED.metadata.tables["tasks"]
CLAIM = LEASED.leases["claim"]


def done_once(reading: str, crashes: int = 0) -> bool | None:
    m = Model(LEASED, LEASED.scope_of({"lease_claim": reading}), budgets={"crash": crashes})
    return check_spec(m, por=False, probe=False).holds("done_once")


def test_expired_lets_the_relay_take_a_live_claim() -> None:
    assert done_once("expired") is False


def test_outlasts_owner_hides_a_live_claim_from_the_relay() -> None:
    assert done_once("outlasts-owner") is True


def test_outlasts_owner_relays_a_crashed_owners_claim() -> None:
    assert done_once("outlasts-owner", crashes=1) is False


def test_a_run_that_ends_releases_its_leases(monkeypatch: pytest.MonkeyPatch) -> None:
    """Break the release: a crashed owner's claim then looks live forever, and the relay never takes it."""
    monkeypatch.setattr(Owners, "released", lambda self, db, s: db)
    assert done_once("outlasts-owner", crashes=1) is True


def test_the_reading_is_a_switch_of_the_spec() -> None:
    assert LEASED.switches["lease_claim"].default == "expired"
    result = CliRunner().invoke(main, ["check", str(Path(LEASED.source)), "--switch", "lease_claim=outlasts-owner"])
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(main, ["check", str(Path(LEASED.source)), "--switch", "lease_claim=later"])
    assert result.exit_code == 2 and "choose one of expired, outlasts-owner" in result.output


def test_symmetry_renames_owners() -> None:
    m = Model(LEASED, LEASED.scope_of({"lease_claim": "outlasts-owner"}))
    db = initial(LEASED.schema, {"tasks": [{"id": 1, "state": "claimed", "claimed_at": 0, "claimed_by": 1}]}, 2)
    renamed = m.owners.renamed(db, {1: 0, 0: 1})
    assert renamed.tables == (((1, "claimed", 0, 0),),)
    assert m.owners.released(db, 1).tables == (((1, "claimed", 0, -1),),)


def _expired_at(now_s: float) -> tuple[int, ...]:
    """The rows the relay's read finds at simulated time ``now_s`` after a claim at 1 s, lease 5 s."""
    engine = Engine.of(LEASED.schema, "postgresql")
    db = initial(LEASED.schema, {"tasks": [{"id": 1, "state": "new"}]}, 1)
    take = sa.update(TASKS).where(TASKS.c.id == 1).values(state="claimed", **CLAIM.taken())
    db, _ = engine.execute_plan(db, 0, engine.plan(take, now=1_000_000))[0]
    read = sa.select(TASKS.c.id).where(CLAIM.expired(Scope({"lease_s": 5, "lease_claim": "expired"})))
    _, outcome = engine.execute_plan(db, 0, engine.plan(read, now=round(now_s * 1_000_000)))[0]
    assert isinstance(outcome, Done)
    return tuple(r[0] for r in outcome.result.rows)


def test_the_simulation_reads_a_lease_by_its_clock() -> None:
    assert _expired_at(5.999) == ()
    assert _expired_at(6.0) == (1,)


def test_a_lease_read_refuses_a_time_compared_by_hand() -> None:
    engine = Engine.of(LEASED.schema, "postgresql")
    with pytest.raises(Exception, match="lease.expired"):
        engine.plan(sa.select(TASKS.c.id).where(TASKS.c.claimed_at == TASKS.c.claimed_at))


# -- real SQL -------------------------------------------------------------------------------------------------

def _on_engine(url: str) -> None:
    """Take a lease, then read it with a length of 0 s (run out) and of an hour (not yet), on a real engine:
    the statements the checker runs, re-targeted to prefixed tables."""
    from dbdriver.specdb import SpecDatabase

    db = SpecDatabase(url, LEASED.metadata, "wavesim_lease_")
    db.create({"tasks": [{"id": 1, "state": "new"}]})
    try:
        take = sa.update(TASKS).where(TASKS.c.id == 1).values(state="claimed", **CLAIM.taken())
        with db.engine.begin() as conn:
            assert conn.execute(db.retarget(owned_by(take, 7))).rowcount == 1
        found = {}
        for seconds in (0, 3600):
            read = sa.select(TASKS.c.id).where(TASKS.c.state == "claimed",
                                               CLAIM.expired(Scope({"lease_s": seconds})))
            with db.engine.connect() as conn:
                found[seconds] = [r[0] for r in conn.execute(db.retarget(read))]
        assert found == {0: [1], 3600: []}
        row = db.rows()["tasks"][0]
        assert row["claimed_by"] == 7 and isinstance(row["claimed_at"], datetime.datetime)
        age = datetime.datetime.now(datetime.UTC).replace(tzinfo=None) - row["claimed_at"]
        assert abs(age.total_seconds()) < 60  # the engine's clock, in UTC
    finally:
        db.drop()
        db.dispose()


def test_the_lease_is_real_sql_on_sqlite(tmp_path: Path) -> None:
    _on_engine(f"sqlite:///{tmp_path / 'lease.db'}")


def test_the_lease_is_real_sql_on_the_servers(server_db: str) -> None:
    _on_engine(server_db)


# -- the write-up spec's relay lease ---------------------------------------------------------------------------

WRITEUP = Path(__file__).resolve().parent.parent / "coordinator" / "writeup.py"


def writeup_pushes_once(reading: str) -> bool | None:
    """``no_duplicate_push`` of fault-free ``atomic`` at 2 waves x 1 batch, 1 worker, 2 handlers (the
    built-in: VIOLATED with --relay-lease expired, holds with outlasts-claimer)."""
    spec = load_spec(WRITEUP)
    scope = spec.scope_of({"policy": "atomic", "waves": "2", "wave_size": "1", "workers": "1", "handlers": "2",
                           "lease_relay": reading})
    return check_spec(Model(spec, scope), properties=("no_duplicate_push",), probe=False).holds("no_duplicate_push")


def test_the_writeup_relay_matches_the_built_in_readings() -> None:
    assert writeup_pushes_once("expired") is False
    assert writeup_pushes_once("outlasts-owner") is True


def test_a_relay_that_reads_a_live_claim_pushes_it_twice(monkeypatch: pytest.MonkeyPatch) -> None:
    """Break the relay's read: every claim read as run out, whatever the reading."""
    from spec.lease import Lease, LeaseExpired

    monkeypatch.setattr(Lease, "expired", lambda self, scope: LeaseExpired(self, 0.0, "expired"))
    assert writeup_pushes_once("outlasts-owner") is False


def test_a_policy_without_the_relay_refuses_the_reading() -> None:
    result = CliRunner().invoke(main, ["check", str(WRITEUP), "--policy", "guarded",
                                       "--switch", "lease_relay=outlasts-owner"])
    assert result.exit_code == 2 and "read only by advance()'s relay" in result.output


@pytest.mark.parametrize(("command", "where"), [(["run"], "the simulation"),
                                                (["compare", "--seeds", "1"], "the simulation"),
                                                (["live", "--db", "sqlite:///{tmp}/live.db"], "a live run")])
def test_a_run_with_a_clock_refuses_the_checkers_reading(tmp_path: Path, command: list[str], where: str) -> None:
    args = [c.replace("{tmp}", str(tmp_path)) for c in command]
    result = CliRunner().invoke(main, [args[0], str(Path(LEASED.source)), *args[1:],
                                       "--switch", "lease_claim=outlasts-owner"])
    assert result.exit_code == 2 and f"{where} reads lease 'claim' on its clock" in result.output
    assert not (tmp_path / "live.db").exists()  # refused before anything was written
    ok = CliRunner().invoke(main, [args[0], str(Path(LEASED.source)), *args[1:], "--switch", "lease_claim=expired"])
    assert "reads lease 'claim' on its clock" not in ok.output
