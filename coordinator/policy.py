"""Policies: which guards, paths and triggers are on.

Every guard of the write-up is a named switch; the four named policies of
DESIGN.md section 4 are presets of those switches. ``atomic`` is our proposed
fix; ``coordinator.sql`` says what a user would run for each of its operations.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

from coordinator.effects import CurrentWaveRule
from coordinator.errors import ConfigError

__all__ = ["POLICIES", "Policy", "policy_named"]


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
