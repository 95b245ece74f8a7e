"""The scope of a model check: the constants of the spec, kept apart from it.

A scope fixes how many waves and batches there are, the threshold, how many
workers take jobs, how many listener handler runs may be in flight at once, and how many
faults of each kind may happen. Small waves make a 90 % threshold equal to
100 %, which hides the overlap between a wave and its successor; the defaults
(2 waves of 2 batches at 50 %) keep the threshold at one batch of two, strictly
below the whole wave, so the overlap is inside the scope.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from coordinator import WaveConfig

__all__ = ["RELAY_LEASES", "Scope"]

#: How the model, which keeps no time, reads the relay's lease (``Policy.relay_lease_s``):
#: ``expired`` is the default because it over-approximates (a live claimer paused longer than
#: the lease is possible); ``outlasts-claimer`` is the assumption that no claimer takes longer
#: than the lease between its claim and its mark, so only a dead claimer's wave is relayed.
RELAY_LEASES = ("expired", "outlasts-claimer")

_LIMITS = {
    "waves": (1, 6),
    "wave_size": (1, 6),
    "threshold": (1, 100),
    "workers": (1, 6),
    "max_handlers": (1, 6),
    "crashes": (0, 3),
    "duplicates": (0, 3),
    "losses": (0, 3),
    "failures": (0, 3),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Scope:
    """How big the checked system is, and its fault budgets."""

    #: main waves of the import
    waves: int = 2
    #: batch jobs per wave
    wave_size: int = 2
    #: completion threshold, percent of a wave's batches
    threshold: int = 50
    #: workers taking batch jobs off the queue
    workers: int = 2
    #: listener handler runs that may be in flight at once (listener concurrency); a periodic
    #: reconciler's run has a slot of its own beside them, as its scheduler process has
    max_handlers: int = 2
    #: worker crashes after a batch is recorded but before it is acknowledged
    crashes: int = 0
    #: completion events delivered twice
    duplicates: int = 0
    #: completion events lost
    losses: int = 0
    #: batch jobs that fail for good: recorded as failed batches (which count toward progress), and
    #: their ``BatchJobCompleted`` fires only under the ``failed_batch_fires`` reading
    failures: int = 0
    #: workers take the front job (True) or any ready job (False, an over-approximation)
    fifo: bool = True
    #: a crash may also kill an in-flight handler run between any two of its DB operations
    #: (one budget, ``crashes``, for worker and handler crashes)
    crash_handlers: bool = False
    #: the relay's lease, in a model without a clock (``RELAY_LEASES``): ``expired`` (every claim
    #: may be older than the lease, even a live claimer's: an over-approximation) or
    #: ``outlasts-claimer`` (a claim is older than the lease only once its claimer's run is gone)
    relay_lease: str = "expired"

    def __post_init__(self) -> None:
        for flag in ("fifo", "crash_handlers"):
            if not isinstance(getattr(self, flag), bool):
                raise ValueError(f"{flag} must be true or false, got {getattr(self, flag)!r}")
        if self.relay_lease not in RELAY_LEASES:
            raise ValueError(f"relay_lease must be one of: {', '.join(RELAY_LEASES)}; got {self.relay_lease!r}")
        for name, (low, high) in _LIMITS.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise ValueError(f"{name} must be a whole number from {low} to {high}, got {value!r}")

    @property
    def config(self) -> WaveConfig:
        """The core's config for this scope (the auto-trigger delay is not timed here)."""
        return WaveConfig(wave_size=self.wave_size, completion_threshold=self.threshold)

    @property
    def hides_overlap(self) -> bool:
        """True when the threshold needs the whole wave, so waves cannot overlap."""
        return self.config.threshold_count >= self.wave_size

    def as_dict(self) -> dict[str, int | bool | str]:
        return asdict(self)

    def label(self) -> str:
        order = "" if self.fifo else ", any-order queue"
        faults = f" faults c{self.crashes}/d{self.duplicates}/l{self.losses}" if self.faulty else ""
        if self.failures:
            faults += f"/f{self.failures}"
        if self.crash_handlers and self.crashes:
            faults += " (crashes hit handlers too)"
        if self.relay_lease != "expired":
            faults += f", relay lease {self.relay_lease}"
        return (
            f"{self.waves} waves x {self.wave_size} batches at {self.threshold}%, {self.workers} workers, "
            f"{self.max_handlers} handlers{order}{faults}"
        )

    @property
    def faulty(self) -> bool:
        return bool(self.crashes or self.duplicates or self.losses or self.failures)
