"""The built-in scenario through the write-up's spec: the mapping, the settings it needs, the comparison."""

from __future__ import annotations

import json
import statistics

import pytest

from coordinator import ConfigError
from coordinator.writeup import spec
from docgen import ROOT
from sim.scenario import preset
from sim.scenariospec import spec_settings_for
from sim.specrun import run_spec
from sim.specsettings import SpecSettings
from sim.specsim import SpecShell
from sim.specworld import SimWorld
from sim.viaspec import compare_via_spec
from spec.lang import Record
from wavesim.docs_specs import INCIDENT_VIA_SPEC

SMALL = (("policy", "original"), ("waves", "2"), ("wave_size", "2"), ("threshold", "50"), ("workers", "2"),
         ("handlers", "1"))


def test_the_incident_preset_lands_in_the_spec_run_setting_by_setting() -> None:
    assert spec_settings_for(preset("incident").with_settings(seed=7)) == SpecSettings(
        seed=7, statement_ms=2.0, write_ms=5.0, db_sigma=0.5, push_ms=0.5, push_per_job=True,
        durations=(("batch", 8.0), ("batch_job_completed", 0.0), ("auto_trigger", 0.0), ("trigger", 0.0),
                   ("reconciler", 0.0)),
        duration_distribution="lognormal", duration_sigma=0.5,
        queue_of=(("batch_job_completed", "import"), ("trigger", "import")),
        retry_after_s=90.0, horizon_s=3600.0, max_events=5_000_000,
        scope=(("policy", "original"), ("waves", "37"), ("wave_size", "50"), ("threshold", "90"),
               ("workers", "20"), ("handlers", "1")))


def test_switches_become_the_spec_s_switch_texts() -> None:
    scenario = preset("incident").with_settings(policy="guarded", switches={"final_write": "conditional"})
    assert ("final_write", "conditional") in spec_settings_for(scenario).scope


@pytest.mark.parametrize(("settings", "named"), [
    ({"listener": "sync"}, "listener=sync"),
    ({"crash_rate": 0.1}, "crash_rate"),
    ({"wave_size": 51}, "wave_size=51"),
    ({"auto_trigger_delay_s": 3.0}, "auto_trigger_delay_s=3"),
])
def test_what_the_spec_path_cannot_honour_is_refused_in_one_line(settings: dict[str, object], named: str) -> None:
    with pytest.raises(ConfigError) as refused:
        spec_settings_for(preset("incident").with_settings(**settings))
    assert str(refused.value).startswith(named) and "\n" not in str(refused.value)


def _makespan(**settings: object) -> float:
    return float(run_spec(spec, SpecSettings(scope=SMALL, **settings)).metrics["makespan_s"])  # type: ignore[arg-type]


def test_write_ms_times_the_writes_and_push_per_job_the_jobs_of_a_bulk() -> None:
    base = _makespan(db_sigma=0.0, duration_s=0.0)
    assert _makespan(db_sigma=0.0, duration_s=0.0, write_ms=2.0) == base  # write_ms = statement_ms: the same run
    assert _makespan(db_sigma=0.0, duration_s=0.0, write_ms=502.0) > base + 0.5
    bulky = _makespan(db_sigma=0.0, duration_s=0.0, push_ms=100.0)
    # wave 2's one bulk of 2 jobs: 200 ms instead of 100
    assert _makespan(db_sigma=0.0, duration_s=0.0, push_ms=100.0, push_per_job=True) == pytest.approx(bulky + 0.1)


def test_a_lognormal_duration_keeps_the_mean_with_its_own_tail() -> None:
    def draws(**settings: object) -> list[float]:
        shell = SpecShell(spec, SpecSettings(scope=SMALL, durations=(("batch", 8.0),), **settings))  # type: ignore[arg-type]
        return [shell._duration("batch") for _ in range(4000)]

    heavy, light = draws(duration_distribution="lognormal", duration_sigma=0.5), draws()
    assert statistics.mean(heavy) == pytest.approx(8.0, rel=0.05)
    assert statistics.mean(light) == pytest.approx(8.0, rel=0.08)
    assert min(heavy) > 1.0 > min(light)  # sigma 0.5: no draw near 0, as the exponential's


def test_queue_of_runs_a_job_type_on_another_queue() -> None:
    moved = run_spec(spec, SpecSettings(scope=SMALL, queue_of=(("batch_job_completed", "import"),)))
    kept = run_spec(spec, SpecSettings(scope=SMALL))
    listeners = moved.queues.index("listeners")
    assert all(d[listeners] == 0 for d in moved.series["depth"])
    assert any(d[listeners] > 0 for d in kept.series["depth"])
    with pytest.raises(Exception, match="no queue 'nowhere'"):
        SpecShell(spec, SpecSettings(scope=SMALL, queue_of=(("batch", "nowhere"),)))


def test_ghost_counts_follow_each_record() -> None:
    world = SimWorld(db=None, queues=[], slots=[])  # type: ignore[arg-type]
    world.record(Record("pushed", (1,)))
    assert world.ghost == [(("pushed", (1,)), 1)] and world.ghost is world.ghost
    world.record(Record("pushed", (1,)))
    assert world.ghost == [(("pushed", (1,)), 2)]


def test_the_committed_comparison_is_what_the_code_gives_for_its_first_seed() -> None:
    """Drift: seed 0 of ``original`` rerun, both sides, equals the committed per-seed figures."""
    committed = json.loads((ROOT / INCIDENT_VIA_SPEC).read_text(encoding="utf-8"))
    assert len(committed["seeds"]) >= 20 and "original" in committed["policies"]
    now = compare_via_spec(spec, preset("incident"), ["original"], [0]).to_dict()["policies"]["original"]
    stored = committed["policies"]["original"]["per_seed"]
    assert now["per_seed"]["builtin"][0] == stored["builtin"][0]
    assert now["per_seed"]["spec"][0] == stored["spec"][0]
    assert all(v["verdict_agrees"] for p in committed["policies"].values() for v in p["verdicts"].values())


def test_atomic_runs_through_the_spec_with_its_reconciler_ticking_and_its_relay_waiting_out_the_lease() -> None:
    # the reconciler is periodic (spec.every), so the spec run ticks it on the clock; the relay's lease is
    # read at the simulated clock, so a wave claimed a moment ago is not relayed and nothing is pushed twice
    scenario = preset("incident").with_settings(policy="atomic", waves=4, wave_size=3, workers=2, seed=3)
    run = run_spec(spec, spec_settings_for(scenario))
    assert run.outcome == "quiet" and run.metrics["peak_queued"]["reconciler"] == 1
    compared = compare_via_spec(spec, scenario, ["atomic"], [3]).to_dict()["policies"]["atomic"]
    assert all(v["verdict_agrees"] for v in compared["verdicts"].values())
    assert compared["per_seed"]["spec"][0]["waves_dispatched_more_than_once"] == 0

