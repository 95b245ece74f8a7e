"""A live import of the write-up's coordinator as a live run of its spec (``live.settingsspec.spec_run_for``).

The mapping gives the spec's run the built-in run's scope and policy (switch by switch), and refuses a setting
the spec's run cannot honour with one line naming it. One tiny import on SQLite, through both paths, shows
what the mapping asks of the spec's run is done: the listener jobs run on the import queue's workers
(``queue_of``), a batch does its work before its UPDATE (``durations``, drawn from the stream the built-in
worker draws from), and both judge the same properties. The committed benchmark
(``benchmarks/results/live_spec.txt``) names the scope the mapping gives and the properties the spec judges
today.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from coordinator import ConfigError
from coordinator.writeup_programs import policy_of
from dbdriver.specdb import SpecDatabase
from live import LiveSettings
from live.settingsspec import spec_run_for
from live.specrun import PREFIX, run_spec_live
from specfile.load import load_spec
from wavesim.commands.live import iter_imports

ROOT = Path(__file__).resolve().parent.parent
WRITEUP = str(ROOT / "coordinator" / "writeup.py")
RESULT = ROOT / "benchmarks" / "results" / "live_spec.txt"
#: a tiny import the spec's run can take: queued listener, one try; batches long enough to measure (0.4 s wall)
TINY = LiveSettings(policy="atomic", seed=3, waves=2, wave_size=2, threshold=50, workers=2, listener="queued",
                    tries=1, batch_mean_s=20.0, deadline_s=30.0)


@pytest.mark.parametrize("settings", [
    TINY,
    LiveSettings(policy="guarded", waves=6, wave_size=5, threshold=80, workers=4, listener="queued", tries=1),
    LiveSettings(policy="seed-fix", waves=3, wave_size=4, listener="queued", tries=1,
                 switches=(("normal_active_guard", False),)),
])
def test_the_spec_run_gets_the_builtin_runs_scope_and_policy(settings: LiveSettings) -> None:
    spec = load_spec(WRITEUP)
    mapped = spec_run_for(settings)
    scope = spec.scope_of(mapped.given)
    assert (scope.waves, scope.wave_size, scope.threshold, scope.workers) == (
        settings.waves, settings.wave_size, settings.threshold, settings.workers)
    assert policy_of(scope).switches() == settings.resolve().switches()  # the policy, switch by switch
    assert mapped.settings == settings.with_settings(step_s=0.0)  # the rest as it is; statements back to back
    assert mapped.durations == {"batch": settings.batch_mean_s}
    queues = spec.workers(scope)
    assert {spec.jobs[job].queue for job in mapped.queue_of} == {"listeners"} and set(mapped.queue_of.values()) \
        == {"import"} and queues["listeners"] == 1


@pytest.mark.parametrize(("change", "named"), [
    ({"listener": "sync"}, "listener=sync"),
    ({"tries": 3}, "tries=3"),
    ({"kill_rate": 0.01}, "kill_rate=0.01"),
    ({"drop_rate": 0.01}, "drop_rate=0.01"),
    ({"kill_at": "before push"}, "kill_at='before push'"),
    ({"lock_rate": 0.05}, "lock_rate=0.05"),
    ({"wave_size": 51}, "wave_size=51"),
])
def test_a_setting_the_spec_run_cannot_honour_is_refused_in_one_line(change: dict[str, object], named: str) -> None:
    with pytest.raises(ConfigError) as refused:
        spec_run_for(TINY.with_settings(**change))
    message = str(refused.value)
    assert message.startswith(f"{named} cannot run through the spec: ") and "\n" not in message


def test_a_tiny_import_runs_through_both_paths_as_the_mapping_says(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'both.db'}"
    [(builtin, result)] = list(iter_imports(url, ["atomic"], TINY, workdir=str(tmp_path)))
    spec = load_spec(WRITEUP)
    mapped = spec_run_for(TINY)
    db = SpecDatabase(url, spec.metadata, PREFIX)
    try:
        run = run_spec_live(spec, mapped.given, mapped.settings, db_url=url, engine="SQLite", queue_url=None,
                            workdir=str(tmp_path), queue_of=mapped.queue_of, durations=mapped.durations)
    finally:
        db.drop()
        db.dispose()
    assert (builtin.outcome, run.outcome) == ("completed", "reached")
    assert set(run.verdicts) == set(result.properties) - {"live_progress"}
    assert all(v.holds for n, v in run.verdicts.items() if n != "single_active_wave")
    # the built-in's workers' takes, from its log: every batch, and a listener job for each
    assert builtin.deliveries["batch"] >= 4 and builtin.deliveries["listener"] == builtin.deliveries["batch"]
    takes = [e for e in run.events if e["kind"] == "take"]
    import_workers = {f"worker-{slot}.0" for slot in range(TINY.workers)}  # slots go to the queues in order
    listened = [e for e in takes if e["job"] == "batch_job_completed"]
    assert len(listened) >= 4 and all(e["worker"] in import_workers for e in listened)  # queue_of
    # durations: a worker's first batch sleeps the first draw of its stream before the worker takes again
    checked = 0
    for worker in sorted(import_workers):
        mine = [e for e in takes if e["worker"] == worker]
        if len(mine) >= 2 and mine[0]["job"] == "batch":
            slot = int(re.fullmatch(r"worker-(\d+)\.0", worker).group(1))  # type: ignore[union-attr]
            first = random.Random(f"{TINY.seed}:durations:{slot}:0").expovariate(1.0 / TINY.batch_mean_s)
            assert mine[1]["at_s"] - mine[0]["at_s"] >= first * 0.99, (worker, first)
            checked += 1
    assert checked >= 1


def test_the_committed_benchmark_names_the_scope_the_mapping_gives_and_the_spec_s_properties() -> None:
    """Drift: the committed result's scope line and property names, from its own header's settings."""
    lines = RESULT.read_text(encoding="utf-8").splitlines()
    header = re.search(r"(\d+) waves x (\d+) batches, threshold (\d+) %, (\d+) workers", lines[1])
    assert header is not None, lines[1]
    waves, size, threshold, workers = map(int, header.groups())
    mapped = spec_run_for(LiveSettings(waves=waves, wave_size=size, threshold=threshold, workers=workers,
                                       listener="queued", tries=1))
    scope = " ".join(f"{k}={v}" for k, v in mapped.given.items() if k != "policy")
    assert lines[2].startswith(f"spec's run: scope {scope}; ")
    judged = {line.split()[0] for line in lines if re.fullmatch(r"  \w+ +[HV]+ +[HV]+  .*", line)}
    assert judged == set(load_spec(WRITEUP).properties)
