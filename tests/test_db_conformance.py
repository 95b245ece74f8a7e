"""Conformance: every DB operation on a real engine does what ``coordinator.apply`` does.

Hypothesis draws sequences of operations: handler runs of every policy started
and stepped in an interleaved order (each run on its own connection), batches
finishing, and bare operations with drawn arguments (claims, marks, pushes,
status writes, plain and conditional, the current wave by every rule, the
relay's read, a nonsense wave). Each operation runs on the in-memory table
and on the database; the results, any ``WaveError`` and the rows read back
must be the same after every step. The one documented
difference: the write-up's active-wave guard has no ``orderBy``, so an engine
may return any active wave (the handlers only test it for null).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
from dbengines import ENGINES, opened
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dbdriver
from coordinator import (
    POLICIES,
    ClaimNextWave,
    CompleteFinishedWaves,
    Context,
    CurrentWaveRule,
    EnqueueBatches,
    MarkPushed,
    ReadActiveWave,
    ReadClaimedWave,
    ReadCurrentWave,
    ReadWave,
    RecordBatchFinished,
    SetStatus,
    Status,
    WaveConfig,
    WaveError,
    apply,
    check_and_trigger_next_wave,
    dispatch_wave,
    new_import,
)
from coordinator import sql as q

WAVES, SIZE = 3, 2
CONFIG = WaveConfig(wave_size=SIZE, completion_threshold=50)
POLICY_NAMES = [*POLICIES, "fused"]
_jobs = itertools.count(1)


def _policy(name: str):  # type: ignore[no-untyped-def]
    return POLICIES["atomic"].with_switches(fused_push=True) if name == "fused" else POLICIES[name]


def _bare(job: int) -> st.SearchStrategy[object]:
    wave = st.integers(0, WAVES + 1)
    return st.one_of(
        st.builds(ClaimNextWave, job_id=st.just(job), threshold_count=st.integers(1, 3),
                  max_active=st.none() | st.integers(1, 3), reclaim_unpushed=st.booleans()),
        st.builds(MarkPushed, job_id=st.just(job), wave=wave),
        st.builds(EnqueueBatches, job_id=st.just(job), wave=wave, once=st.booleans()),
        st.builds(SetStatus, job_id=st.just(job), wave=wave, status=st.sampled_from(Status),
                  only_from=st.none() | st.sampled_from(Status)),
        st.builds(ReadCurrentWave, job_id=st.just(job), rule=st.sampled_from(CurrentWaveRule)),
        st.builds(ReadClaimedWave, job_id=st.just(job), lease_s=st.sampled_from([0.0, 1.0, 10.0])),
        st.builds(ReadWave, job_id=st.just(job), wave=wave),
        st.builds(CompleteFinishedWaves, job_id=st.just(job)),
        st.builds(RecordBatchFinished, job_id=st.just(job), wave=wave, batch=st.integers(-1, SIZE),
                  failed=st.booleans()),
    )


ACTIONS = st.lists(
    st.one_of(
        st.tuples(st.just("start"), st.sampled_from(POLICY_NAMES)),
        st.tuples(st.just("run"), st.sampled_from(POLICY_NAMES)),
        st.tuples(st.just("step"), st.integers(0, 3)),
        st.tuples(st.just("finish"), st.integers(1, WAVES), st.integers(0, SIZE - 1)),
        st.tuples(st.just("bare"), st.integers(0, 10_000)),
    ),
    min_size=1, max_size=40,
)


def _outcome(fn):  # type: ignore[no-untyped-def]
    try:
        return ("ok", fn())
    except WaveError as err:
        return ("error", str(err))


def _same_result(effect: object, mine: tuple[str, object], real: tuple[str, object], active: tuple[int, ...]) -> None:
    if isinstance(effect, ReadActiveWave) and mine[0] == real[0] == "ok":
        # no orderBy in the write-up's guard: any active wave (but the excluded one) may come back
        assert (mine[1] is None) == (real[1] is None), (effect, mine, real)
        assert real[1] is None or real[1] in active, (effect, real, active)
        return
    assert real == mine, effect


class Pair:
    """The in-memory table and the database, stepped together."""

    def __init__(self, db: dbdriver.Database, job: int) -> None:
        self.db = db
        self.job = job
        self.table = new_import(job_id=self.job, waves=WAVES, wave_size=SIZE)
        db.create_import(job_id=self.job, waves=WAVES, wave_size=SIZE)
        self.now = 0.0

    def apply(self, effect: object, session: dbdriver.Session) -> object:
        self.now += 0.5
        before = self.table
        mine = _outcome(lambda: apply(before, effect, self.now))  # type: ignore[arg-type]
        real = _outcome(lambda: session.apply(effect, self.now))  # type: ignore[arg-type]
        if mine[0] == "ok":
            self.table, mine = mine[1][0], ("ok", mine[1][1])  # type: ignore[index]
        active = tuple(n for n in before.active() if not isinstance(effect, ReadActiveWave) or n != effect.exclude)
        _same_result(effect, mine, real, active)
        assert set(session.ran) <= set(q.OPERATIONS[type(effect).__name__].statements[self.db.dialect]) | {
            "read_wave", "rollback"}, (effect, session.ran)
        session.ran.clear()
        assert self.db.table(self.job).rows == self.table.rows, effect
        return mine[1]

    def one(self, effect: object) -> None:
        with self.db.session() as s:
            self.apply(effect, s)


def play(db: dbdriver.Database, job: int, actions: list[tuple[object, ...]], bare: list[object]) -> None:
    pair = Pair(db, job)
    runs: list[list[object]] = []  # [program, effect, session context, session]
    first = Context(job_id=job, policy=POLICIES["original"], config=CONFIG)
    with db.session() as s:  # the import dispatched wave 1 (the write-up's line 1617)
        for effect in dispatch_wave(first, 1):
            pair.apply(effect, s)
    try:
        for action in actions:
            kind = action[0]
            if kind == "run":
                ctx = Context(job_id=job, policy=_policy(str(action[1])), config=CONFIG)
                program = check_and_trigger_next_wave(ctx)
                with db.session() as s:
                    try:
                        effect = next(program)
                        while True:
                            effect = program.send(pair.apply(effect, s))
                    except StopIteration:
                        pass
            if kind == "start" and len(runs) < 4:
                ctx = Context(job_id=pair.job, policy=_policy(str(action[1])), config=CONFIG)
                program = check_and_trigger_next_wave(ctx)
                cm = db.session()
                runs.append([program, next(program), cm, cm.__enter__()])
            elif kind == "step" and runs:
                run = runs[int(action[1]) % len(runs)]
                result = pair.apply(run[1], run[3])  # type: ignore[arg-type]
                try:
                    run[1] = run[0].send(result)  # type: ignore[union-attr]
                except StopIteration:
                    run[2].__exit__(None, None, None)  # type: ignore[union-attr]
                    runs.remove(run)
            elif kind == "finish":
                pair.one(RecordBatchFinished(job_id=pair.job, wave=int(action[1]), batch=int(action[2])))
            elif kind == "bare" and bare:
                pair.one(bare[int(action[1]) % len(bare)])
    finally:
        for run in runs:
            run[2].__exit__(None, None, None)  # type: ignore[union-attr]


@pytest.fixture(scope="module", params=list(ENGINES))
def database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dbdriver.Database]:
    yield from opened(request.param, tmp_path_factory.mktemp("db"))


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(actions=ACTIONS, data=st.data())
def test_every_operation_matches_the_in_memory_table(database: dbdriver.Database, actions, data) -> None:
    job = next(_jobs)
    play(database, job, actions, data.draw(st.lists(_bare(job), max_size=8)))


def test_every_effect_has_its_sql_on_every_engine() -> None:
    from coordinator.effects import Effect

    names = {t.__name__ for t in Effect.__args__}  # type: ignore[attr-defined]
    assert set(q.OPERATIONS) == names
    assert set(q.CURRENT_WAVE) == {rule.value for rule in CurrentWaveRule}
    assert set(q.CURRENT_WAVE.values()) <= set(q.OPERATIONS["ReadCurrentWave"].statements["sqlite"])
    for name, op in q.OPERATIONS.items():
        for dialect in q.DIALECTS:
            for statement in op.statements[dialect]:
                assert q.statement(statement, dialect, "wavesim_x_").strip(), (name, dialect, statement)


def test_a_claimer_that_dies_after_its_commit_does_not_stall_the_import(database: dbdriver.Database) -> None:
    """The claim commits, its run dies before pushing; past the lease the next run relays the wave."""
    job = next(_jobs)
    database.create_import(job_id=job, waves=2, wave_size=SIZE)
    ctx = Context(job_id=job, policy=POLICIES["atomic"], config=CONFIG)
    with database.session() as s:
        program = check_and_trigger_next_wave(ctx)
        effect = next(program)
        while not isinstance(effect, EnqueueBatches):
            effect = program.send(s.apply(effect, 0.0))
        program.close()  # dies after the claim committed, before its push
    assert [r.status for r in database.table(job).rows] == [Status.DISPATCHING, Status.PENDING]
    with database.session() as s:
        later = check_and_trigger_next_wave(ctx)
        effect, pushed = next(later), []
        try:
            while True:
                if isinstance(effect, EnqueueBatches):
                    pushed.append(effect.wave)
                effect = later.send(s.apply(effect, 11.0))
        except StopIteration as stop:
            decision = stop.value
    assert (decision.path, decision.outcome, decision.wave, pushed) == ("relay", "dispatched", 1, [1])
    assert [r.status for r in database.table(job).rows] == [Status.PROCESSING, Status.PENDING]
    assert [r.owners_told for r in database.table(job).rows] == [1, 0]


def test_racing_claims_on_real_connections_claim_one_wave_once(database: dbdriver.Database) -> None:
    """Eight connections claim at once (threads): the lock makes them take turns, so exactly one claims
    wave 1 and the others, reading it active and below threshold, claim nothing (no write skew)."""
    import threading

    job = next(_jobs)
    database.create_import(job_id=job, waves=3, wave_size=SIZE)
    results: list[object] = []
    start = threading.Barrier(8)

    def claim() -> None:
        with database.session() as s:
            start.wait()
            results.append(s.apply(ClaimNextWave(job_id=job, threshold_count=1), 1.0))

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results, key=repr) == [1] + [None] * 7
    rows = database.table(job).rows
    assert [(r.status, r.owners_told) for r in rows] == [
        (Status.DISPATCHING, 1), (Status.PENDING, 0), (Status.PENDING, 0)]
