"""The properties of ``coordinator.properties``, checked while the run goes.

Every verdict comes from ``coordinator.properties``; this module only decides
*when* to ask. A safety property is re-checked after each DB write that can
change its verdict, and its first violation (time and one-line detail) is kept:

* a status write (``SetStatus``, ``ClaimNextWave``, ``CompleteFinishedWaves``, ``MarkPushed``):
  ``single_active_wave``, ``one_wave_below_threshold``, ``threshold_respected``,
  ``no_duplicate_claim`` (judged from the rows' ghost ``owners_told``: the runs a
  claim or a write of ``dispatching`` told they own the wave, recorded by
  ``coordinator.apply`` as it answers them, and on a real database by the
  driver's ``claims`` record);
* an ``EnqueueBatches``: ``no_duplicate_push`` and ``queue_bounded``;
* a ``RecordBatchFinished`` changes none of them (progress only grows, which can
  only shrink the set of active waves below threshold).

``no_stall`` is checked when the run goes quiescent and ``import_completes``
when it ends. ``quiescent`` and ``max_in_window`` are the two small rules the
run's stop and its burst metric depend on.
"""

from __future__ import annotations

from dataclasses import dataclass

from coordinator import (
    PROPERTY_NAMES,
    ClaimNextWave,
    CompleteFinishedWaves,
    Effect,
    EnqueueBatches,
    MarkPushed,
    SetStatus,
    WaveConfig,
    WaveTable,
)
from coordinator import properties as P
from spec.view import max_in_window

__all__ = ["Monitors", "Verdict", "max_in_window", "quiescent"]

_STATUS_WRITES = (SetStatus, ClaimNextWave, CompleteFinishedWaves, MarkPushed)


def quiescent(*, ready: int, delayed: int, running: int, handlers: int) -> bool:
    """Nothing left that could change the table: no ready or delayed job, no job
    running, no handler run in flight (a periodic reconciler is judged apart)."""
    return ready == 0 and delayed == 0 and running == 0 and handlers == 0


@dataclass(slots=True)
class Verdict:
    """One property's verdict so far."""

    holds: bool = True
    first_violation_s: float | None = None
    detail: str = "held throughout the run"

    def to_dict(self) -> dict[str, object]:
        at = None if self.first_violation_s is None else round(self.first_violation_s, 6)
        return {"holds": self.holds, "first_violation_s": at, "detail": self.detail}


class Monitors:
    """The properties of one run, updated incrementally."""

    def __init__(self, config: WaveConfig, *, sampled: bool = False) -> None:
        self.config = config
        #: the tables are samples (a live run), not the two sides of one write: see
        #: ``coordinator.properties.threshold_respected``'s ``judged``
        self.sampled = sampled
        self.verdicts: dict[str, Verdict] = {name: Verdict() for name in PROPERTY_NAMES}
        self.verdicts["no_stall"].detail = "never quiescent with a wave left"
        self.verdicts["import_completes"].detail = "not yet checked"
        self.verdicts["queue_bounded"].detail = f"queued batch jobs stayed within {P.queue_bound(config)}"

    def _report(self, name: str, detail: str | None, now: float) -> None:
        verdict = self.verdicts[name]
        if detail is not None and verdict.holds:
            verdict.holds, verdict.first_violation_s, verdict.detail = False, now, detail

    def after_write(self, effect: Effect, before: WaveTable, after: WaveTable, now: float) -> None:
        """Re-check the safety properties a write to the table can break."""
        if isinstance(effect, _STATUS_WRITES):
            if before is after:
                return
            v = self.verdicts
            if v["single_active_wave"].holds:
                self._report("single_active_wave", P.single_active_wave(after), now)
            if v["one_wave_below_threshold"].holds:
                self._report("one_wave_below_threshold", P.one_wave_below_threshold(after, self.config), now)
            if v["threshold_respected"].holds:
                self._report("threshold_respected", P.threshold_respected(
                    before, after, self.config, judged=after if self.sampled else None), now)
            if v["no_duplicate_claim"].holds:
                self._report("no_duplicate_claim", P.no_duplicate_claim(after), now)
        elif isinstance(effect, EnqueueBatches) and self.verdicts["no_duplicate_push"].holds:
            self._report("no_duplicate_push", P.no_duplicate_push(after), now)

    def after_enqueue(self, queued_batches: int, now: float) -> None:
        """Check the queue bound after batch jobs were pushed."""
        if self.verdicts["queue_bounded"].holds:
            self._report("queue_bounded", P.queue_bounded(queued_batches, self.config), now)

    def at_quiescence(self, table: WaveTable, now: float) -> bool:
        """Check ``no_stall``; True when the run is stalled."""
        detail = P.no_stall(table, quiescent=True)
        self._report("no_stall", detail, now)
        return detail is not None

    def at_end(self, table: WaveTable, now: float, horizon: bool) -> None:
        """Check ``import_completes`` when the run ends."""
        detail = P.import_completes(table)
        if detail is not None and horizon:
            detail += " (by the horizon)"
        self._report("import_completes", detail, now)
        if detail is None:
            self.verdicts["import_completes"].detail = f"all {len(table.rows)} waves completed"

    def to_dict(self) -> dict[str, dict[str, object]]:
        return {name: self.verdicts[name].to_dict() for name in PROPERTY_NAMES}
