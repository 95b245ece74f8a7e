"""Policies: which guards, paths and triggers are on.

Every guard of the write-up is a named switch; the four named policies
(``POLICIES``, docs/core.md) are presets of those switches. ``atomic`` is our proposed
fix; ``coordinator.sql`` says what a user would run for each of its operations.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from enum import StrEnum

from coordinator.effects import CurrentWaveRule
from coordinator.errors import ConfigError

__all__ = [
    "POLICIES", "SWITCHES", "BatchWaveCheck", "CatchupEntry", "CompletionCheck", "FinalWrite", "NormalThreshold",
    "Policy", "ReconcileElse", "Switch", "parse_switch", "policy_named", "switch_text", "switch_value",
    "with_given",
]


class CompletionCheck(StrEnum):
    """When ``checkWaveCompletion`` of the current wave runs, relative to Fix #1's active-wave guard."""

    #: first, as the pre-fix snippet has it (line 1109), so the guard sees the current wave marked
    BEFORE_GUARD = "before-guard"
    #: after the guard (lines 1107-1127), with the threshold check that reads it (lines 1132-1168)
    AFTER_GUARD = "after-guard"


class CatchupEntry(StrEnum):
    """When ``handleMainTypeWaveProgression`` takes the CATCH-UP path."""

    #: the current wave's successor is not pending (already dispatched) while some wave still is
    SUCCESSOR_NOT_PENDING = "successor-not-pending"
    #: as above, and no wave is active: only a real stall ("due to stall") enters it
    STALLED = "stalled"


class BatchWaveCheck(StrEnum):
    """Whether a ``BatchJobCompleted`` handler also runs ``checkWaveCompletion`` on its own batch's wave."""

    #: no: only the current wave is checked (the only call the write-up shows)
    NONE = "none"
    #: yes, before the dispatch decision
    BEFORE_DECISION = "before-decision"
    #: yes, after the dispatch decision (e.g. the listener's own bookkeeping once the coordinator returned)
    AFTER_DECISION = "after-decision"


class FinalWrite(StrEnum):
    """``dispatchWave``'s last status write."""

    #: ``SET status = 'processing'``: overwrites whatever is there (a 'completed' too)
    PLAIN = "plain"
    #: ``... WHERE status = 'dispatching'``: leaves a wave that moved on alone
    CONDITIONAL = "conditional"


class NormalThreshold(StrEnum):
    """Whether normal progression (``$nextMainWave``, lines 1888-1910) waits for the current wave's threshold."""

    #: it does, before and after the fix: the write-up names only DB-RECONCILE and CATCH-UP as the
    #: "TWO unguarded dispatch paths", and the threshold is the configured "Percentage before next wave"
    CHECKED = "checked"
    #: it does not: the fix's snippet shows no threshold read there, so the successor goes out as
    #: soon as it is found (with ``normal_active_guard``, once no other wave is active)
    UNCHECKED = "unchecked"


class ReconcileElse(StrEnum):
    """What pre-fix DB-RECONCILE does when its current wave is neither completed nor 0 (the snippet ends before)."""

    #: it falls through to ``handleMainTypeWaveProgression``: the root cause's "Each event calls
    #: checkAndTriggerNextWave() -> handleMainTypeWaveProgression()" and its CATCH-UP step need that
    FALL_THROUGH = "fall-through"
    #: it returns 'monitoring', as Fix #1's added ``else`` does (lines 1160-1168)
    RETURN_MONITORING = "return-monitoring"


_ENUMS: dict[str, type[StrEnum]] = {
    "current_wave_rule": CurrentWaveRule, "completion_check": CompletionCheck, "catchup_entry": CatchupEntry,
    "batch_wave_check": BatchWaveCheck, "final_write": FinalWrite, "normal_threshold": NormalThreshold,
    "reconcile_else": ReconcileElse,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Policy:
    """A coordinator variant, as a set of switches (``SWITCHES`` documents each one)."""

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
    #: reading (ours under ``atomic``): progress counts distinct finished batches, not counter bumps
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
    #: reading: how a handler decides which wave is current
    current_wave_rule: CurrentWaveRule = CurrentWaveRule.COMPLETED_ELSE_ACTIVE
    #: reading: checkWaveCompletion before or after Fix #1's active-wave guard
    completion_check: CompletionCheck = CompletionCheck.BEFORE_GUARD
    #: reading: when CATCH-UP is entered
    catchup_entry: CatchupEntry = CatchupEntry.SUCCESSOR_NOT_PENDING
    #: reading: whether (and when) a handler also checks its own batch's wave
    batch_wave_check: BatchWaveCheck = BatchWaveCheck.AFTER_DECISION
    #: reading: whether dispatchWave's last write is conditional
    final_write: FinalWrite = FinalWrite.PLAIN
    #: reading: whether normal progression waits for the current wave's threshold
    normal_threshold: NormalThreshold = NormalThreshold.CHECKED
    #: reading: what pre-fix DB-RECONCILE does when it does not dispatch (read only without
    #: ``reconcile_threshold_guard``, whose fix returns 'monitoring' there)
    reconcile_else: ReconcileElse = ReconcileElse.FALL_THROUGH
    #: reading: whether a batch that failed for good (out of tries) still fires ``BatchJobCompleted``;
    #: read by the drivers (simulation, checker, live workers), for every policy
    failed_batch_fires: bool = False

    def __post_init__(self) -> None:
        for name, enum in _ENUMS.items():
            value = getattr(self, name)
            try:
                object.__setattr__(self, name, enum(value))
            except ValueError:
                known = ", ".join(v.value for v in enum)
                raise ConfigError(f"{name} must be one of: {known}; got {value!r}") from None
        period = self.reconciler_period_s
        if period is not None and not period > 0:
            raise ConfigError(f"reconciler_period_s must be more than 0 (or None for off), got {period!r}")
        limit = self.max_waves_in_flight
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
            raise ConfigError(f"max_waves_in_flight must be a whole number of at least 1 (or None), got {limit!r}")
        if isinstance(self.relay_lease_s, bool) or not self.relay_lease_s >= 0:
            raise ConfigError(f"relay_lease_s must be 0 or more seconds, got {self.relay_lease_s!r}")
        for name, reason in self.ignored().items():
            raise ConfigError(f"switch {name}={_text(getattr(self, name))} {reason}")

    def ignored(self) -> dict[str, str]:
        """Switches set away from their default that this policy would not read, each with why.

        A policy refuses them (a silent no-op would hide a reading that was never tried)."""
        out: dict[str, str] = {}
        if self.atomic_advance:
            for name in _NOT_READ_BY_ADVANCE:
                if getattr(self, name) != _DEFAULTS[name]:
                    out[name] = "is ignored under atomic_advance=true (advance() replaces the write-up's handler)"
            if not self.distinct_progress:
                out["distinct_progress"] = "contradicts atomic_advance=true (its claim always counts distinct batches)"
        else:
            for name in _READ_ONLY_BY_ADVANCE:
                if getattr(self, name) != _DEFAULTS[name]:
                    out[name] = "is ignored under atomic_advance=false (only advance() reads it)"
        if self.completion_check is CompletionCheck.AFTER_GUARD and not self.reconcile_active_guard \
                and not self.atomic_advance:
            out["completion_check"] = "is ignored under reconcile_active_guard=false (there is no guard to come after)"
        if not self.atomic_advance:
            out.update(self._unreached_progression())
        return out

    def _unreached_progression(self) -> dict[str, str]:
        """The readings of the path to normal progression that DB-RECONCILE never lets a run reach.

        With a wave pending, Fix #1's threshold guard (or ``reconcile_else=return-monitoring``)
        always decides in DB-RECONCILE; with none pending, DB-RECONCILE returns 'idle' first."""
        out: dict[str, str] = {}
        if self.reconcile_threshold_guard and self.reconcile_else is not ReconcileElse.FALL_THROUGH:
            out["reconcile_else"] = ("is ignored under reconcile_threshold_guard=true (Fix #1's own else returns "
                                     "monitoring, lines 1160-1168)")
        if self.normal_threshold is not NormalThreshold.CHECKED:
            if self.reconcile_threshold_guard:
                out["normal_threshold"] = ("is ignored under reconcile_threshold_guard=true (DB-RECONCILE decides "
                                           "every run, so normal progression is never reached)")
            elif self.reconcile_else is ReconcileElse.RETURN_MONITORING:
                out["normal_threshold"] = ("is ignored under reconcile_else=return-monitoring (DB-RECONCILE decides "
                                           "every run, so normal progression is never reached)")
        return out

    @property
    def reads_batch_wave(self) -> bool:
        """Whether a handler run reads the wave of the batch whose completion started it."""
        return not self.atomic_advance and self.batch_wave_check is not BatchWaveCheck.NONE

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
            out[f.name] = value.value if isinstance(value, StrEnum) else value
        return out

    def readings(self) -> dict[str, str]:
        """The readings of the write-up this policy runs under (``SWITCHES`` of kind 'reading')."""
        return {s.name: _text(getattr(self, s.name)) for s in SWITCHES if s.kind == "reading"}


def switch_text(value: object) -> str:
    """A switch value as a spec's choice text (``--switch NAME=TEXT`` of ``coordinator/writeup.py``): as
    ``--switch`` spells it, and a whole number of seconds without its ``.0``."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return _text(value)


def _text(value: object) -> str:
    """A switch value as ``--switch`` spells it."""
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, bool):
        return "true" if value else "false"
    return "none" if value is None else str(value)


_NOT_READ_BY_ADVANCE = (
    "reconcile_active_guard", "reconcile_threshold_guard", "normal_active_guard", "catchup_active_guard",
    "catchup_threshold_guard", "auto_trigger", "current_wave_rule", "completion_check", "catchup_entry",
    "batch_wave_check", "final_write", "normal_threshold", "reconcile_else",
)
_READ_ONLY_BY_ADVANCE = ("max_waves_in_flight", "fused_push", "relay_lease_s")
_DEFAULTS: dict[str, object] = {f.name: f.default for f in fields(Policy)}


@dataclass(frozen=True, slots=True, kw_only=True)
class Switch:
    """One row of the switch table: what a switch reads in the write-up and what it changes."""

    name: str
    kind: str  # 'reading' (the write-up is silent), 'fix' (the write-up's own fix) or 'ours'
    values: tuple[str, ...]
    lines: str  # the write-up lines (or passage) it reads
    changes: str

    @property
    def default(self) -> str:
        return _text(_DEFAULTS[self.name])


def _values(name: str) -> tuple[str, ...]:
    """A switch's values, the plainest reading first (the one that adds least to what the write-up shows):
    ``wavesim readings`` breaks ties between equally supported combinations by this order."""
    enum = _ENUMS.get(name)
    return tuple(v.value for v in enum) if enum is not None else ("false", "true")


#: The one table of switches: docs, ``--help`` and ``wavesim readings`` all read it.
SWITCHES: tuple[Switch, ...] = (
    Switch(name="current_wave_rule", kind="reading", values=_values("current_wave_rule"),
           lines="DB-RECONCILE, lines 1108-1113 (`$currentWave`, `max(1, $currentWave)`, `$currentWave === 0`)",
           changes="which wave every handler reads as current: the wave it checks, the guards exclude, and whose "
                   "successor it dispatches"),
    Switch(name="completion_check", kind="reading", values=_values("completion_check"),
           lines="Fix #1: active check 1107-1127, threshold check 1132-1168 (reads `$currentMainCompletion`)",
           changes="after-guard: a handler stopped by the active-wave guard never checks (or marks) the current "
                   "wave"),
    Switch(name="catchup_entry", kind="reading", values=_values("catchup_entry"),
           lines="CATCH-UP, lines 1933-1938 and 1926-1992 ('due to stall'); `$nextMainWave`, line 1888",
           changes="stalled: CATCH-UP dispatches only when no wave is active, so it cannot chain a burst"),
    Switch(name="batch_wave_check", kind="reading", values=_values("batch_wave_check"),
           lines="'Each event calls checkAndTriggerNextWave()' (root cause, step 4); checkWaveCompletion, "
                 "lines 928-956",
           changes="whether a completion handler also marks its own batch's wave completed, and whether before "
                   "or after it decided to dispatch"),
    Switch(name="final_write", kind="reading", values=_values("final_write"),
           lines="dispatchWave (not shown); 'Wave 7 marked as completed' (stall evidence)",
           changes="conditional: a slow 'processing' write no longer overwrites a wave already completed"),
    Switch(name="normal_threshold", kind="reading", values=_values("normal_threshold"),
           lines="Fix #2 / Guard #3, lines 1888-1910 (`if ($nextMainWave)`: no threshold read shown); 'TWO "
                 "unguarded dispatch paths' (root cause)",
           changes="unchecked: normal progression dispatches the current wave's successor without waiting for "
                   "its threshold"),
    Switch(name="reconcile_else", kind="reading", values=_values("reconcile_else"),
           lines="DB-RECONCILE before the fix, lines 1108-1113 (the snippet ends at the dispatch); root cause "
                 "steps 4-5",
           changes="return-monitoring: pre-fix DB-RECONCILE returns instead of falling through to "
                   "handleMainTypeWaveProgression, so normal progression and CATCH-UP never run"),
    Switch(name="failed_batch_fires", kind="reading", values=_values("failed_batch_fires"),
           lines="'BatchJobCompleted' (root cause, step 3); failures are not mentioned",
           changes="true: a batch that failed for good (out of tries) still fires BatchJobCompleted, in the "
                   "simulation, the checker (--failures) and live workers"),
    Switch(name="distinct_progress", kind="reading", values=_values("distinct_progress"),
           lines="checkWaveCompletion's `progress` (not shown); Laravel batch counters",
           changes="true: a batch reported twice counts once toward its wave's threshold and completion"),
    Switch(name="reconcile_active_guard", kind="fix", values=_values("reconcile_active_guard"),
           lines="Fix #1, lines 1107-1127", changes="DB-RECONCILE returns monitoring while another wave is active"),
    Switch(name="reconcile_threshold_guard", kind="fix", values=_values("reconcile_threshold_guard"),
           lines="Fix #1, lines 1132-1168",
           changes="DB-RECONCILE dispatches at the threshold too, and otherwise returns monitoring"),
    Switch(name="normal_active_guard", kind="fix", values=_values("normal_active_guard"),
           lines="Fix #2 / Guard #3, lines 1888-1910",
           changes="normal progression skips while another wave is active"),
    Switch(name="catchup_active_guard", kind="fix", values=_values("catchup_active_guard"),
           lines="Fix #3, lines 1926-1944", changes="CATCH-UP skips while any wave is active"),
    Switch(name="catchup_threshold_guard", kind="fix", values=_values("catchup_threshold_guard"),
           lines="Guard #2, lines 1946-1961", changes="CATCH-UP skips while the current wave is below threshold"),
    Switch(name="auto_trigger", kind="fix", values=_values("auto_trigger"),
           lines="Additional fix, lines 928-956",
           changes="marking a wave completed queues a re-check 2 s later"),
    Switch(name="atomic_advance", kind="ours", values=_values("atomic_advance"), lines="-",
           changes="every trigger runs advance(): one conditional completion, one compare-and-set claim"),
    Switch(name="reconciler_period_s", kind="ours", values=("none", "SECONDS"), lines="-",
           changes="a scheduler runs the handler every period, off the queue"),
    Switch(name="max_waves_in_flight", kind="ours", values=("none", "N"), lines="-",
           changes="advance() claims only while fewer waves than this are active"),
    Switch(name="relay_lease_s", kind="ours", values=("SECONDS",), lines="-",
           changes="how long after a claim another run's relay leaves the claimed wave to its claimer"),
    Switch(name="fused_push", kind="ours", values=_values("fused_push"), lines="-",
           changes="true (NOT buildable, for comparison only): the push and its status write are one step"),
)


def parse_switch(text: str) -> tuple[str, object]:
    """``"NAME=VALUE"`` as ``--switch`` takes it -> ``(name, value)``; a bad one is a ``ConfigError``."""
    name, sep, raw = text.partition("=")
    name, raw = name.strip().replace("-", "_"), raw.strip()
    known = [s.name for s in SWITCHES]
    if not sep or not name or not raw:
        raise ConfigError(f"--switch {text!r} must look like NAME=VALUE (e.g. current_wave_rule=latest-started)")
    if name not in known:
        raise ConfigError(f"unknown policy switch {name!r}; known: {', '.join(sorted(known))}")
    return name, switch_value(name, raw)


def switch_value(name: str, raw: object) -> object:
    """A switch value from its text (or a TOML/JSON value), checked against the switch's type."""
    if name in _ENUMS:
        enum = _ENUMS[name]
        try:
            return enum(str(raw.value if isinstance(raw, StrEnum) else raw))
        except ValueError:
            raise ConfigError(f"{name} must be one of: {', '.join(v.value for v in enum)}; got {raw!r}") from None
    text = str(raw).lower() if not isinstance(raw, bool) else ("true" if raw else "false")
    if isinstance(_DEFAULTS.get(name), bool):
        if text not in ("true", "false"):
            raise ConfigError(f"{name} must be true or false; got {raw!r}")
        return text == "true"
    if text in ("none", "off"):
        return None
    try:
        number = float(text)
    except ValueError:
        raise ConfigError(f"{name} must be a number or none; got {raw!r}") from None
    return int(number) if name == "max_waves_in_flight" and number.is_integer() else number


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


def with_given(base: Policy, given: dict[str, object], *, lenient: bool = False) -> Policy:
    """``base`` with the switches a user gave (it keeps its name; its switch set tells them apart).

    A switch the policy would ignore is refused with one line naming both; with
    ``lenient`` (a command that runs several policies) it is left out of this
    policy only."""
    values = {name: switch_value(name, value) for name, value in given.items()}
    while True:
        try:
            return base.with_switches(name=base.name, **values)
        except ConfigError as err:
            named = [n for n in values if str(err).startswith(f"switch {n}=")]
            if not (lenient and named):
                raise ConfigError(f"{err} (policy {base.name})") from None
            del values[named[0]]

