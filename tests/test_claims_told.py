"""``no_duplicate_claim`` judges what handler runs were told, and can fail.

The in-memory table records, as the ghost ``owners_told``, each answer that
tells a run it owns a wave: a ``ClaimNextWave`` that returned the wave (its
conditional UPDATE changed the row) and a ``SetStatus(dispatching)`` that
changed its row (the write-up's ``dispatchWave``, which dispatches whatever its
row count). The checker is then shown able to find a duplicate claim: the
claim of ``advance()`` is replaced by its two statements without the import
lock (the predicate's read, then the UPDATE, each one step). With the UPDATE's
condition and its row count read, one run is told; with the condition removed,
the checker finds two runs told they own the same wave, on every engine and
with and without the reductions. The simulation's verdicts are held to the
answers in its own trace.
"""

from __future__ import annotations

from collections import Counter

import pytest
from coordinator_builders import JOB, table, wave

import coordinator.handlers
from coordinator import (
    POLICIES,
    ClaimNextWave,
    CompleteFinishedWaves,
    Context,
    Decision,
    EnqueueBatches,
    MarkPushed,
    ReadLowestPending,
    ReadWave,
    SetStatus,
    Status,
    WaveRow,
    apply,
)
from coordinator.handlers import Program
from coordinator.properties import no_duplicate_claim
from model.checker import REDUCTIONS, check, engine_for
from model.scope import Scope
from sim.scenario import preset
from sim.workers import Shell

PENDING, DISPATCHING, PROCESSING = Status.PENDING, Status.DISPATCHING, Status.PROCESSING
NOW = 1.0


def test_a_claim_records_the_run_it_tells_and_a_claim_that_finds_nothing_records_none() -> None:
    t0 = table(wave(1, PROCESSING, done=3), wave(2))
    t1, won = apply(t0, ClaimNextWave(job_id=JOB, threshold_count=3), NOW)
    t2, lost = apply(t1, ClaimNextWave(job_id=JOB, threshold_count=3), NOW)
    assert (won, lost) == (2, None)
    assert [r.owners_told for r in t2.rows] == [1, 1]
    assert no_duplicate_claim(t2) is None


def test_dispatch_waves_write_tells_its_run_each_time_it_changes_the_row() -> None:
    """The write-up's unconditional write tells every caller (they all dispatch); a conditional
    one tells only the caller whose write changed the row."""
    t0 = table(wave(1, PROCESSING, done=3), wave(2))
    plain = SetStatus(job_id=JOB, wave=2, status=DISPATCHING)
    twice = apply(apply(t0, plain, NOW)[0], plain, NOW)[0]
    assert twice.row(2).owners_told == 2
    assert no_duplicate_claim(twice) == "1 wave(s) claimed by more than one run: wave 2 told to 2 runs"
    conditional = SetStatus(job_id=JOB, wave=2, status=DISPATCHING, only_from=PENDING)
    first, one = apply(t0, conditional, NOW)
    second, none = apply(first, conditional, NOW)
    assert (one, none, second.row(2).owners_told) == (1, 0, 1)
    assert no_duplicate_claim(second) is None


def test_the_fused_comparisons_hand_over_is_no_claim() -> None:
    """``reclaim_unpushed`` hands an unpushed wave out again without an UPDATE, as the relay's read
    does: no run is told it owns it (the fused push decides who pushes)."""
    t0 = table(wave(1, PROCESSING, done=3), wave(2, DISPATCHING, dispatches=0, claims=1))
    after, handed = apply(t0, ClaimNextWave(job_id=JOB, threshold_count=3, reclaim_unpushed=True), NOW)
    assert (handed, after) == (2, t0)


def test_the_property_reads_the_runs_told_not_the_status() -> None:
    """Two rows alike but for what their runs were told: only the record decides."""
    once = table(wave(1, PROCESSING, done=3), wave(2, DISPATCHING, claims=1))
    told_twice = table(wave(1, PROCESSING, done=3), wave(2, DISPATCHING, claims=2))
    assert no_duplicate_claim(once) is None
    assert no_duplicate_claim(told_twice) is not None and "wave 2 told to 2 runs" in no_duplicate_claim(told_twice)


def _claim_without_lock(conditional: bool):  # type: ignore[no-untyped-def]
    """``advance()`` whose claim runs as two statements without the import lock: the predicate's read
    (the lowest pending wave, and its predecessor at the threshold), then the UPDATE, which is
    ``... AND status = 'pending'`` (``conditional``) or not. The run owns the wave only when its
    UPDATE changed the row."""

    def advance(ctx: Context) -> Program:
        yield CompleteFinishedWaves(job_id=ctx.job_id)
        candidate = yield ReadLowestPending(job_id=ctx.job_id)
        if candidate is None:
            return Decision(path="advance", outcome="idle")
        assert isinstance(candidate, int)
        if candidate > 1:
            prev = yield ReadWave(job_id=ctx.job_id, wave=candidate - 1)
            assert isinstance(prev, WaveRow)
            if prev.status is PENDING or prev.distinct_finished < min(ctx.config.threshold_count, prev.batches):
                return Decision(path="advance", outcome="idle")
        changed = yield SetStatus(job_id=ctx.job_id, wave=candidate, status=DISPATCHING,
                                  only_from=PENDING if conditional else None)
        if changed != 1:
            return Decision(path="advance", outcome="idle")
        yield EnqueueBatches(job_id=ctx.job_id, wave=candidate)
        yield MarkPushed(job_id=ctx.job_id, wave=candidate)
        return Decision(path="advance", outcome="dispatched", wave=candidate)

    return advance


ENGINES = ["python"] + (["compiled"] if engine_for(Scope(), "auto") == "compiled" else [])

pytestmark = pytest.mark.usefixtures("fresh_futures")  # the mutations below must not outlive their tests


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("use", [tuple(REDUCTIONS), ()], ids=["reduced", "unreduced"])
def test_the_checker_finds_two_runs_told_they_own_a_wave_once_the_claims_condition_is_removed(
        monkeypatch: pytest.MonkeyPatch, engine: str, use: tuple[str, ...]) -> None:
    monkeypatch.setattr(coordinator.handlers, "advance", _claim_without_lock(conditional=False))
    search = check(Scope(), POLICIES["atomic"], properties=("no_duplicate_claim",), use=use, engine=engine,
                   shortest=True)
    assert search.holds("no_duplicate_claim") is False
    found = search.found["no_duplicate_claim"]
    assert found.detail.endswith("told to 2 runs")
    last = found.path[-1].table
    assert max(r.owners_told for r in last.rows) == 2


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("use", [tuple(REDUCTIONS), ()], ids=["reduced", "unreduced"])
def test_without_the_lock_the_conditional_update_and_its_row_count_still_tell_one_run(
        monkeypatch: pytest.MonkeyPatch, engine: str, use: tuple[str, ...]) -> None:
    monkeypatch.setattr(coordinator.handlers, "advance", _claim_without_lock(conditional=True))
    search = check(Scope(), POLICIES["atomic"], properties=("no_duplicate_claim",), use=use, engine=engine)
    assert search.complete and search.holds("no_duplicate_claim") is True


def _told_by_the_trace(trace: list[tuple[float, str, object, object]]) -> Counter[int]:
    """Per wave, the runs the simulated database's answers told they own it, read off its trace."""
    told: Counter[int] = Counter()
    for _, _, effect, result in trace:
        if isinstance(effect, SetStatus) and effect.status is DISPATCHING and result == 1:
            told[effect.wave] += 1
        elif isinstance(effect, ClaimNextWave) and type(result) is int:
            assert not effect.reclaim_unpushed  # the fused comparison's hand-over is no claim
            told[result] += 1
    return told


@pytest.mark.parametrize("policy", ["guarded", "atomic"])
def test_the_simulation_judges_the_answers_its_database_gave(policy: str) -> None:
    """The monitor's verdict and the final rows' ghost agree with the answers in the run's own
    trace, seed by seed; under ``guarded`` some seed tells two runs they own one wave."""
    verdicts = []
    for seed in range(4):
        shell = Shell(preset("rapid-completions").with_settings(
            policy=policy, seed=seed, waves=8, wave_size=20, batch_sigma=1.5))
        shell.db.trace = []
        shell.run()
        told = _told_by_the_trace(shell.db.trace)
        table = shell.final if shell.final is not None else shell.db.table
        assert {r.wave_number: r.owners_told for r in table.rows if r.owners_told} == dict(told)
        holds = shell.monitors.verdicts["no_duplicate_claim"].holds
        assert holds is (max(told.values()) <= 1)
        verdicts.append(holds)
    assert all(verdicts) if policy == "atomic" else not all(verdicts)
