"""advance()'s claim after a mark that completes its wave, on every engine.

The mark's result is the rows its two UPDATEs changed; 2 (the mark also completed the wave)
is what lets the run claim the next wave. The engines must return what the in-memory table
returns, and the run must go on to claim, push and mark the next wave there too.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
from dbengines import ENGINES, opened

import dbdriver
from coordinator import (
    POLICIES,
    Context,
    EnqueueBatches,
    MarkPushed,
    RecordBatchFinished,
    Status,
    WaveConfig,
    apply,
    check_and_trigger_next_wave,
    new_import,
)

SIZE = 2
CONFIG = WaveConfig(wave_size=SIZE, completion_threshold=50)
_jobs = itertools.count(9000)


@pytest.fixture(scope="module", params=list(ENGINES))
def database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dbdriver.Database]:
    yield from opened(request.param, tmp_path_factory.mktemp("db"))


def test_a_relay_whose_mark_completes_the_wave_claims_the_next_on_every_engine(database: dbdriver.Database) -> None:
    """Wave 1's claimer dies after its claim; every batch of wave 1 finishes while it is still
    dispatching (their completion events find nothing to do); the relay's mark completes it, and
    the same run claims, pushes and marks wave 2."""
    job = next(_jobs)
    database.create_import(job_id=job, waves=3, wave_size=SIZE)
    memory = new_import(job_id=job, waves=3, wave_size=SIZE)
    ctx = Context(job_id=job, policy=POLICIES["atomic"], config=CONFIG)

    def both(effect: object, s: dbdriver.Session, now: float) -> object:
        nonlocal memory
        memory, mine = apply(memory, effect, now)  # type: ignore[arg-type]
        real = s.apply(effect, now)  # type: ignore[arg-type]
        assert real == mine, effect
        return real

    with database.session() as s:
        program = check_and_trigger_next_wave(ctx)
        effect = next(program)
        while not isinstance(effect, EnqueueBatches):
            effect = program.send(both(effect, s, 0.0))
        program.close()  # the claimer dies after its claim committed
        for batch in range(SIZE):
            both(RecordBatchFinished(job_id=job, wave=1, batch=batch), s, 1.0)
    steps = []
    with database.session() as s:
        relay = check_and_trigger_next_wave(ctx)
        effect = next(relay)
        try:
            while True:
                result = both(effect, s, 11.0)
                steps.append((type(effect).__name__, getattr(effect, "wave", None), result))
                effect = relay.send(result)
        except StopIteration as stop:
            decision = stop.value
    marks = [(wave, result) for name, wave, result in steps if name == MarkPushed.__name__]
    assert marks == [(1, 2), (2, 1)]  # wave 1's mark completed it; wave 2's left it processing
    assert (decision.path, decision.outcome, decision.wave) == ("advance", "dispatched", 2)
    assert [r.status for r in database.table(job).rows] == [Status.COMPLETED, Status.PROCESSING, Status.PENDING]
