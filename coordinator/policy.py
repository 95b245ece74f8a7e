"""Policies: which guards, paths and triggers are on.

Every guard of the write-up is a named switch; the four named policies of
DESIGN.md section 4 are presets of those switches. ``atomic`` is our proposed
fix; ``ATOMIC_CLAIM_SQL`` says what a user would run for its claim.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

from coordinator.effects import CurrentWaveRule
from coordinator.errors import ConfigError

__all__ = ["ATOMIC_CLAIM_SQL", "POLICIES", "Policy", "policy_named"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Policy:
    """A coordinator variant, as a set of switches."""

    name: str = "custom"
    #: Fix #1: DB-RECONCILE returns 'monitoring' while another wave is active
    reconcile_active_guard: bool = False
    #: Fix #1: DB-RECONCILE dispatches only when completed, at threshold, or at
    #: the start; otherwise it returns 'monitoring' instead of falling through
    reconcile_threshold_guard: bool = False
    #: Fix #2/#3: normal progression skips while another wave is active
    normal_active_guard: bool = False
    #: Fix #3: CATCH-UP skips while any wave is active
    catchup_active_guard: bool = False
    #: Fix #3 guard 2: CATCH-UP skips while the current wave is below threshold
    catchup_threshold_guard: bool = False
    #: the write-up's final fix: a delayed re-check when a wave completes
    auto_trigger: bool = False
    #: ours: every trigger runs one ``advance()`` with an atomic claim
    atomic_advance: bool = False
    #: ours: progress counts distinct finished batches, not counter bumps
    distinct_progress: bool = False
    #: ours: seconds between reconciler ticks that call ``advance()``; None = off
    reconciler_period_s: float | None = None
    #: ours: ``advance()`` claims only while fewer waves than this are active, so at
    #: most one wave fills while the one before it drains its tail; None = no limit
    max_waves_in_flight: int | None = None
    #: NOT buildable, kept for comparison: ``advance()`` pushes through the fused
    #: ``EnqueueBatches(once=True)``, which pushes a wave's jobs and marks it
    #: processing in one step (a queue push inside a DB transaction), and its claim
    #: hands an unpushed wave out again; off = the outbox relay, one step each
    fused_push: bool = False
    #: ours: seconds after a claim before another run's relay pushes the claimed wave again
    #: (a claimer that is still pushing is left alone; a dead one is relayed after this)
    relay_lease_s: float = 10.0
    #: how a handler decides which wave is current (not said in the write-up)
    current_wave_rule: CurrentWaveRule = CurrentWaveRule.LOWEST_ACTIVE

    def __post_init__(self) -> None:
        try:
            rule = CurrentWaveRule(self.current_wave_rule)
        except ValueError:
            known = ", ".join(r.value for r in CurrentWaveRule)
            raise ConfigError(f"current_wave_rule must be one of: {known}; got {self.current_wave_rule!r}") from None
        object.__setattr__(self, "current_wave_rule", rule)
        period = self.reconciler_period_s
        if period is not None and not period > 0:
            raise ConfigError(f"reconciler_period_s must be more than 0 (or None for off), got {period!r}")
        limit = self.max_waves_in_flight
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
            raise ConfigError(f"max_waves_in_flight must be a whole number of at least 1 (or None), got {limit!r}")

    def with_switches(self, **switches: object) -> Policy:
        """This policy with some switches changed (the name becomes 'custom')."""
        known = {f.name for f in fields(self)}
        unknown = sorted(set(switches) - known)
        if unknown:
            raise ConfigError(f"unknown policy switch {unknown[0]!r}; known: {', '.join(sorted(known - {'name'}))}")
        return replace(self, name=str(switches.pop("name", "custom")), **switches)  # type: ignore[arg-type]

    def switches(self) -> dict[str, object]:
        """The switches as plain values (for reports and JSON)."""
        out: dict[str, object] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = value.value if isinstance(value, CurrentWaveRule) else value
        return out


_GUARDED = Policy(
    name="guarded",
    reconcile_active_guard=True,
    reconcile_threshold_guard=True,
    normal_active_guard=True,
    catchup_active_guard=True,
    catchup_threshold_guard=True,
)

POLICIES: dict[str, Policy] = {
    "original": Policy(name="original"),
    "guarded": _GUARDED,
    "seed-fix": replace(_GUARDED, name="seed-fix", auto_trigger=True),
    "atomic": Policy(
        name="atomic", atomic_advance=True, distinct_progress=True, reconciler_period_s=5.0,
        max_waves_in_flight=2,
    ),
}


def policy_named(name: str) -> Policy:
    """The named policy; an unknown name is a ``ConfigError`` listing the known ones."""
    try:
        return POLICIES[name]
    except KeyError:
        raise ConfigError(f"unknown policy {name!r}; choose one of: {', '.join(POLICIES)}") from None


ATOMIC_CLAIM_SQL = {
    "postgresql": """\
BEGIN;
-- serialise every advance() of this import on one row (Pattern B), so the
-- predicate below reads what the previous claim committed
SELECT id FROM imports WHERE id = :job_id FOR UPDATE;
UPDATE wave_coordination w
   SET status = 'dispatching', dispatched_at = now()
 WHERE w.job_id = :job_id AND w.dependency_level = -1 AND w.status = 'pending'
   AND w.wave_number = (SELECT min(wave_number) FROM wave_coordination
                         WHERE job_id = :job_id AND dependency_level = -1 AND status = 'pending')
   AND NOT EXISTS (SELECT 1 FROM wave_coordination a
                    WHERE a.job_id = :job_id AND a.dependency_level = -1
                      AND a.status IN ('dispatching', 'processing')
                      AND a.finished_batches * 100 < :threshold * a.total_batches)
   AND (SELECT count(*) FROM wave_coordination a
         WHERE a.job_id = :job_id AND a.dependency_level = -1
           AND a.status IN ('dispatching', 'processing')) < 2   -- at most two waves in flight
-- finished_batches must count distinct batch ids (e.g. rows of a results table
-- with a unique key), so that a redelivered batch cannot move the threshold
RETURNING w.wave_number;   -- no row: somebody else advanced, or not yet time
COMMIT;
-- only after COMMIT: push the claimed wave's jobs, then set it 'processing'""",
    "mysql": """\
START TRANSACTION;
SELECT id FROM imports WHERE id = :job_id FOR UPDATE;   -- one writer per import
SELECT wave_number, status, finished_batches, total_batches
  FROM wave_coordination
 WHERE job_id = :job_id AND dependency_level = -1
 ORDER BY wave_number FOR UPDATE;                        -- locking read: latest rows, not a snapshot
-- in the application: stop unless no active wave is below threshold and fewer
-- than two are active; n = lowest pending (finished_batches: distinct batch ids)
UPDATE wave_coordination SET status = 'dispatching', dispatched_at = NOW()
 WHERE job_id = :job_id AND dependency_level = -1 AND wave_number = :n AND status = 'pending';
-- affected rows = 1: claimed; 0: somebody else advanced
COMMIT;
-- only after COMMIT (afterCommit()): push the jobs, then set it 'processing'""",
}
