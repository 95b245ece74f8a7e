"""A live import of the write-up's coordinator as a live run of its spec (``coordinator/writeup.py``): one
function, ``spec_run_for``, says where each ``LiveSettings`` field goes, and refuses with one line a setting
the spec's run cannot honour (as ``sim/scenariospec.py`` does for the simulation).

``HOMES`` names each setting's place in the spec's run; ``REFUSED`` the settings it cannot take, and why.
The write-up's queued listener pushes ``BatchJobCompleted`` onto the import's one queue, where the batch
workers take it, so the spec's listener jobs and the auto-trigger's re-check run on ``import``
(``queue_of``) and its ``listeners`` queue keeps one idle worker. A batch does its work (an exponential
draw of ``batch_mean_s``, from the stream the write-up's worker draws from) before its one UPDATE, and a
handler's statements follow each other with no pause, as the write-up's live worker runs them
(``step_s`` 0).
"""

from __future__ import annotations

from dataclasses import dataclass

from coordinator import ConfigError, policy_named
from coordinator.policy import switch_text
from coordinator.writeup_programs import LISTENERS_ON_IMPORT, MAX_WAVE_SIZE, SYNC_LISTENER_REFUSED
from live.settings import LiveSettings

__all__ = ["HOMES", "REFUSED", "SCOPE", "SpecRun", "spec_run_for"]

#: the write-up spec's scope entries ``spec_run_for`` sets (the rest of ``given`` are switches)
SCOPE = ("waves", "wave_size", "threshold", "workers", "handlers")

#: where each live setting goes in the spec's run (``spec_run_for``)
HOMES: dict[str, str] = {
    "policy": "scope switch `policy`",
    "switches": "scope switches of the same names (those the policy reads)",
    "waves": "scope `waves`", "wave_size": f"scope `wave_size` (at most {MAX_WAVE_SIZE})",
    "threshold": "scope `threshold`", "workers": "scope `workers` (the `import` queue's workers)",
    "listener": "`queue_of` (`--queue-of`): `batch_job_completed` and `trigger` run on `import`; scope `handlers` "
                "= 1, idle",
    "batch_mean_s": "`durations` (`--duration`): `batch` (exponential, the write-up worker's stream of the same "
                    "name)",
    "step_s": "0: the write-up's live worker runs a handler's statements back to back (it does not read step_s)",
    "auto_trigger_delay_s": "the wait of every delayed push (the spec's auto-trigger)",
    "tries": "1 only: the spec gives each job one try (a job delivered again after its reservation ran out keeps "
             "its try in the spec's run, where the write-up's worker counts the delivery and fails the job)",
    "seed": "`seed` (durations, choices and faults draw from it)",
    **{name: "the same setting" for name in (
        "retry_after_s", "scale", "deadline_s", "sample_ms", "stall_after_s", "stall_min_wall_s", "chaos_period_s",
        "lose_delayed_rate", "duplicate_rate")},
    "progress_min_wall_s": "the same setting: the least wall time of the `no-progress` window "
                           "(`live.run.progress_window`, as the write-up's run)",
    "lock_hold_s": "not read: only with `lock_rate`, which is refused",
    "start": "the spec's first state: wave 1 `processing`, its batch jobs queued (the write-up's run has its "
             "start handler dispatch it)",
}

#: what the spec's run refuses, and why
REFUSED: dict[str, str] = {
    "listener=sync": SYNC_LISTENER_REFUSED,
    "tries": "coordinator/writeup.py gives each job one try (a job that raises is failed at once)",
    "kill_rate, drop_rate, kill_at": "the crash points differ: the write-up's worker dies mid-batch, before a push "
                                     "and inside a handler's transaction, a spec's before a step of any job",
    "lock_rate": "the slow statement locks the write-up's wave rows through dbdriver; a spec's run does not inject it",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class SpecRun:
    """What ``live.specrun.run_spec_live`` takes to run the write-up's spec as one live import."""

    given: dict[str, str]  # the scope and the switches, as --scope and --switch give them
    settings: LiveSettings
    queue_of: dict[str, str]
    durations: dict[str, float]

    def options(self) -> list[str]:
        """The options of ``wavesim live coordinator/writeup.py --db URL`` that give this run what the table of
        homes maps to the spec's own terms: ``--policy``, ``--scope``, ``--switch``, ``--queue-of``,
        ``--duration`` and ``--step-s``; a setting that is the same setting keeps its own option."""
        out = ["--policy", self.given["policy"]]
        for name, value in self.given.items():
            if name != "policy":
                out += ["--scope" if name in SCOPE else "--switch", f"{name}={value}"]
        for job, queue in self.queue_of.items():
            out += ["--queue-of", f"{job}={queue}"]
        for job, mean in self.durations.items():
            out += ["--duration", f"{job}={mean!r}"]
        return [*out, "--step-s", repr(self.settings.step_s)]


def _refusal(s: LiveSettings) -> str | None:
    """Why ``s`` cannot run through the spec, as one line; None when it can."""
    crash = REFUSED["kill_rate, drop_rate, kill_at"]
    checks = (
        (s.listener != "queued", f"listener={s.listener}", REFUSED["listener=sync"]),
        (s.tries != 1, f"tries={s.tries}", REFUSED["tries"]),
        (s.kill_rate > 0, f"kill_rate={s.kill_rate:g}", crash),
        (s.drop_rate > 0, f"drop_rate={s.drop_rate:g}", crash),
        (bool(s.kill_at), f"kill_at={s.kill_at!r}", crash),
        (s.lock_rate > 0, f"lock_rate={s.lock_rate:g}", REFUSED["lock_rate"]),
        (s.wave_size > MAX_WAVE_SIZE, f"wave_size={s.wave_size}",
         f"at most {MAX_WAVE_SIZE} (one finished_<k> column per batch)"),
    )
    return next((f"{setting} cannot run through the spec: {why}" for bad, setting, why in checks if bad), None)


def spec_run_for(settings: LiveSettings) -> SpecRun:
    """The spec's live run of the import ``settings`` describe (``HOMES`` says where each setting goes);
    ``ConfigError`` (one line) for a setting it cannot honour (``REFUSED``)."""
    refused = _refusal(settings)
    if refused is not None:
        raise ConfigError(refused)
    s = settings
    policy, preset = s.resolve().switches(), policy_named(s.policy).switches()
    switches = {name: switch_text(value) for name, value in policy.items() if value != preset[name]}
    given = {"policy": s.policy, "waves": str(s.waves), "wave_size": str(s.wave_size),
             "threshold": str(s.threshold), "workers": str(s.workers), "handlers": "1", **switches}
    return SpecRun(given=given, settings=s.with_settings(step_s=0.0),
                   queue_of=dict(LISTENERS_ON_IMPORT),
                   durations={"batch": s.batch_mean_s})
