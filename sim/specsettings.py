"""The settings of a spec's simulation: each assumption a named setting with its default and why.

``SpecSettings`` is frozen and goes with every result (``to_dict``), so a run's JSON says what it assumed.
The spec itself (its scope, switches, queues, workers, queue order, dialect and isolation level) says the
rest; ``wavesim run SPEC`` sets these with the options of the built-in run where the meaning is the same
(``--seed``, ``--db-read-ms``, ``--db-sigma``, ``--retry-after-s``, ``--horizon-s``, ``--max-events``) and
``--duration JOB=S`` and ``--fault-rate NAME=P`` for the rest.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from spec.lang import FAULTS

__all__ = ["DEFAULTS", "DEFAULT_FAULT_RATE", "DISTRIBUTIONS", "DEFAULT_PERIOD_S", "REASONS", "SpecSettings"]

#: a periodic job's period when the spec's ``every`` gives none: Laravel's scheduler runs at most once a
#: minute, but a sweeper's own loop is often faster; 1 s keeps short runs short and still lets work pile up
DEFAULT_PERIOD_S = 1.0
#: the chance of a fault the spec gives a budget at each opportunity (a step for crash and throw, a take
#: for duplicate, a delayed push for lose_delayed), up to the budget per run: often enough that a short
#: run meets it, rare enough that most runs are mostly fault-free
DEFAULT_FAULT_RATE = 0.05

DEFAULTS: dict[str, Any] = {"seed": 0, "statement_ms": 2.0, "push_ms": 1.0, "db_sigma": 0.5, "duration_s": 0.05,
                            "retry_after_s": 1.0, "horizon_s": 600.0, "max_events": 2_000_000}
#: how a job's own work is drawn around its mean: ``exponential`` (light-tailed) or ``lognormal`` (heavy-tailed,
#: with ``duration_sigma``), the built-in run's two batch distributions
DISTRIBUTIONS = ("exponential", "lognormal")

#: each setting's default and the reason for it
REASONS: dict[str, str] = {
    "seed": f"one seed reproduces a run exactly ({DEFAULTS['seed']} unless given)",
    "statement_ms": f"median latency of one statement, BEGIN, COMMIT or ROLLBACK: {DEFAULTS['statement_ms']:g} ms, "
                    "a round trip to a database on the same network",
    "push_ms": f"median latency of one queue push or ack: {DEFAULTS['push_ms']:g} ms, a Redis RPUSH on the same "
               "network",
    "db_sigma": f"lognormal shape of every latency: {DEFAULTS['db_sigma']:g}, a tail of a few times the median",
    "write_ms": "median latency of one INSERT, UPDATE or DELETE: statement_ms unless given (a write waits for "
                "its commit to be durable, so it may be slower than a read: the built-in run's db_write_ms)",
    "push_per_job": "whether a push of several jobs (bulk) takes push_ms per job: off, one queue operation is "
                    "one round trip (Redis RPUSH takes many values); on, as Laravel pushes a batch's jobs one "
                    "by one (the built-in run's enqueue_ms_per_job)",
    "duration_distribution": "how a job's own work is drawn around its mean: exponential (light-tailed) unless "
                             "given; lognormal with duration_sigma is heavy-tailed, as the built-in run's",
    "duration_sigma": "the lognormal duration's shape (its mean stays the job's mean): 1.0 unless given",
    "queue_of": "the queue a job type runs on, over the spec's (Laravel's onQueue is a deployment choice): "
                "none unless given",
    "duration_s": "mean time of a job's own work before its first step (exponential), per job type; the "
                  f"spec's durations, else {DEFAULTS['duration_s']:g} s, short beside a real job so that runs "
                  "overlap",
    "retry_after_s": f"a crashed run's job comes back this long after the crash: {DEFAULTS['retry_after_s']:g} s "
                     "(Laravel's retry_after is 90 s; a short one keeps runs short, and the order of events "
                     "is the same)",
    "period_s": f"a periodic job's period when the spec's every() gives none: {DEFAULT_PERIOD_S:g} s",
    "fault_rates": f"the chance of each fault the spec budgets, per opportunity: {DEFAULT_FAULT_RATE:g}, up to "
                   "the spec's budget per run; a fault the spec does not budget is off",
    "dialect": "the engine whose SQL, isolation and locks the database follows: the spec's dialect",
    "level": "the isolation level: the spec's, else the engine's default (as the checker)",
    "order": "the order a queue delivers in, fifo or any: the spec's",
    "horizon_s": f"the run stops here, its eventually properties undecided: {DEFAULTS['horizon_s']:g} s of "
                 "simulated time",
    "max_events": f"the run stops after this many SimPy events, undecided: {DEFAULTS['max_events']:,}",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class SpecSettings:
    """How one simulated run of a spec is timed and faulted (``REASONS`` says each default's reason)."""

    seed: int = DEFAULTS["seed"]
    statement_ms: float = DEFAULTS["statement_ms"]
    push_ms: float = DEFAULTS["push_ms"]
    db_sigma: float = DEFAULTS["db_sigma"]
    duration_s: float = DEFAULTS["duration_s"]  # a job type's mean when neither the spec nor durations name it
    durations: tuple[tuple[str, float], ...] = ()  # (job type, mean seconds), on top of the spec's
    write_ms: float | None = None  # an INSERT, UPDATE or DELETE's median (None: statement_ms)
    push_per_job: bool = False  # a bulk push takes push_ms per job (True) or per queue operation (False)
    duration_distribution: str = "exponential"  # or "lognormal" (DISTRIBUTIONS)
    duration_sigma: float = 1.0  # the lognormal's shape
    queue_of: tuple[tuple[str, str], ...] = ()  # (job type, queue it runs on), over the spec's
    retry_after_s: float = DEFAULTS["retry_after_s"]
    horizon_s: float = DEFAULTS["horizon_s"]
    max_events: int = DEFAULTS["max_events"]
    fault_rates: tuple[tuple[str, float], ...] = ()  # (fault, chance per opportunity), given ones
    budgets: tuple[tuple[str, int], ...] = ()  # (fault, per-run budget), on top of the spec's
    scope: tuple[tuple[str, str], ...] = field(default=())  # --scope and --switch texts, as given
    dialect: str | None = None  # the engine the database follows (None: the spec's)
    level: str | None = None  # the isolation level (None: the spec's, else the engine's default)
    order: str | None = None  # the queues' delivery order, fifo or any (None: the spec's)

    def __post_init__(self) -> None:
        for name, value in (("statement_ms", self.statement_ms), ("push_ms", self.push_ms),
                            ("db_sigma", self.db_sigma), ("duration_s", self.duration_s),
                            ("retry_after_s", self.retry_after_s), ("duration_sigma", self.duration_sigma),
                            ("write_ms", 0.0 if self.write_ms is None else self.write_ms)):
            if not value >= 0:
                raise ValueError(f"{name} must be zero or more, got {value}")
        if self.duration_distribution not in DISTRIBUTIONS:
            raise ValueError(f"duration_distribution must be one of {', '.join(DISTRIBUTIONS)}, "
                             f"got {self.duration_distribution!r}")
        if not self.horizon_s > 0:
            raise ValueError(f"horizon_s must be positive, got {self.horizon_s}")
        if self.order not in (None, "fifo", "any"):
            raise ValueError(f"order must be fifo or any, got {self.order!r}")
        if self.max_events < 1:
            raise ValueError(f"max_events must be at least 1, got {self.max_events}")
        for name, mean in self.durations:
            if not mean >= 0:
                raise ValueError(f"duration of {name} must be zero or more, got {mean}")
        for name, rate in self.fault_rates:
            if name not in FAULTS:
                raise ValueError(f"fault {name!r}: no such fault (faults: {', '.join(FAULTS)})")
            if not 0 <= rate <= 1:
                raise ValueError(f"fault rate {name}={rate}: a chance between 0 and 1")
        for name, n in self.budgets:
            if name not in FAULTS:
                raise ValueError(f"fault {name!r}: no such fault (faults: {', '.join(FAULTS)})")
            if n < 0:
                raise ValueError(f"fault budget {name}={n} cannot be negative")

    def but(self, **changes: Any) -> SpecSettings:
        return replace(self, **changes)

    def duration_of(self, job: str, spec_durations: Mapping[str, float]) -> float:
        return dict(self.durations).get(job, spec_durations.get(job, self.duration_s))

    def faults(self, spec_budgets: Mapping[str, int]) -> dict[str, tuple[float, int]]:
        """Each fault's (chance per opportunity, budget per run); a fault with no budget is off."""
        budgets = {**{f: int(spec_budgets.get(f, 0)) for f in FAULTS}, **dict(self.budgets)}
        rates = dict(self.fault_rates)
        out = {}
        for f in FAULTS:
            rate = rates.get(f, DEFAULT_FAULT_RATE if budgets[f] > 0 else 0.0)
            budget = budgets[f] if budgets[f] > 0 or f not in rates else 1_000_000_000
            out[f] = (rate, budget if rate > 0 else 0)
        return out

    def to_dict(self) -> dict[str, Any]:
        doc = asdict(self)
        for key in ("durations", "fault_rates", "budgets", "scope", "queue_of"):
            doc[key] = dict(doc[key])
        return doc
