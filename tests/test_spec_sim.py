"""The simulation of a spec file (``wavesim run|compare|faults SPEC``): its bugs shown and its fixes
holding, one seed reproducing a run, lock waits from the checker's lock model in the timing, the
worker's shared decisions at a run's end, and the spec's metrics."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from golden import explain, moved, produce, stored

from sim.specrun import run_spec
from sim.specsettings import SpecSettings
from spec.running import FailForGood, GiveUp, Retry, after_raise, fired
from specfile.load import load_spec
from wavesim.cli import main

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES, SPECS = ROOT / "examples", Path(__file__).parent / "fixtures" / "specs"
BATCH = str(EXAMPLES / "batch_counter.py")
#: a scope and seed in which the batch counter's race happens (its fix holds in the same run)
RACE = ["--scope", "jobs=40", "--scope", "workers=8", "--seed", "0"]


def wavesim(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_the_batch_counters_race_fails_the_run_and_its_fix_holds() -> None:
    code, out = wavesim("run", BATCH, *RACE, "--json")
    doc = json.loads(out)
    assert code == 1
    assert doc["properties"]["callback_at_most_once"]["verdict"] == "violated"
    assert doc["jobs"]["finally_callback"]["acked"] == 2  # the callback ran twice
    assert 0 < doc["properties"]["callback_at_most_once"]["first_violation_s"] <= doc["metrics"]["makespan_s"]
    code, out = wavesim("run", BATCH, *RACE, "--switch", "fix=returning", "--json")
    doc = json.loads(out)
    assert code == 0 and doc["jobs"]["finally_callback"]["acked"] == 1
    assert {v["verdict"] for v in doc["properties"].values()} == {"holds", "reached"}


def test_compare_puts_switch_variants_side_by_side_and_gates_on_each() -> None:
    args = ["compare", BATCH, "--scope", "jobs=40", "--scope", "workers=8", "--seeds", "2", "--switch", "fix=none",
            "--switch", "fix=returning"]
    code, out = wavesim(*args, "--json")
    doc = json.loads(out)
    assert code == 1 and list(doc["variants"]) == ["fix=none", "fix=returning"]
    assert doc["variants"]["fix=none"]["properties"]["callback_at_most_once"]["violated"] >= 1
    assert doc["variants"]["fix=returning"]["properties"]["callback_at_most_once"]["held"] == 2
    code, _ = wavesim(*args, "--expect-violation", "fix=none:callback_at_most_once",
                      "--expect-violation", "fix=none:callback_ran")
    assert code == 0


def test_the_same_seed_gives_the_same_json_and_another_seed_another() -> None:
    spec = load_spec(BATCH)
    settings = SpecSettings(seed=3, scope=(("jobs", "10"), ("workers", "3")))
    assert run_spec(spec, settings).to_json() == run_spec(spec, settings).to_json()
    assert run_spec(spec, settings).to_json() != run_spec(spec, settings.but(seed=4)).to_json()


def test_the_same_seed_gives_the_same_json_in_other_processes() -> None:
    """Across interpreters (each with its own string hashing), as a seed given to a colleague must."""
    import subprocess
    import sys

    code = ("import sys; from sim.specrun import run_spec; from sim.specsettings import SpecSettings; "
            "from specfile.load import load_spec; "
            f"sys.stdout.write(run_spec(load_spec({str(EXAMPLES / 'celery_chord_counter.py')!r}), "
            "SpecSettings(seed=5, fault_rates=(('duplicate', 0.5),))).to_json())")
    outs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
            for _ in range(2)]
    here = run_spec(load_spec(EXAMPLES / "celery_chord_counter.py"),
                    SpecSettings(seed=5, fault_rates=(("duplicate", 0.5),))).to_json()
    assert outs[0] == outs[1] == here


def test_a_small_spec_run_matches_its_golden_file() -> None:
    """Every number of one seed's run, in which the race happens (``python -m tests.golden --write``)."""
    golden = stored("sim-spec-batch-counter")["run"]
    assert golden["properties"]["callback_at_most_once"]["verdict"] == "violated"
    assert golden["jobs"]["finally_callback"]["acked"] == 2
    changes = moved(stored("sim-spec-batch-counter"), produce("sim-spec-batch-counter"))
    assert not changes, explain("sim-spec-batch-counter", changes)


def _locked(read: str, jobs: int = 2, dialect: str = "postgresql") -> dict:
    """lostupdate.py with every latency exactly 50 ms and no job duration: the lock wait alone moves times."""
    code, out = wavesim("run", str(SPECS / "lostupdate.py"), "--switch", f"read={read}", "--scope", f"jobs={jobs}",
                        "--duration", "deposit=0", "--db-read-ms", "50", "--db-sigma", "0", "--dialect", dialect,
                        "--json")
    assert code in (0, 1)
    return json.loads(out)


def test_a_lock_wait_holds_the_second_run_until_the_first_commits() -> None:
    # both runs BEGIN at 50 ms and SELECT ... FOR UPDATE at 100 ms; one waits until the other's COMMIT at 200 ms
    locked = _locked("for-update")
    assert locked["metrics"]["lock_waits"] == 1 and locked["metrics"]["lock_wait_s"] == pytest.approx(0.1)
    assert locked["metrics"]["makespan_s"] == pytest.approx(0.301)  # 6 statements of 50 ms, and an ack's push
    assert locked["properties"]["every_deposit_counted"]["verdict"] == "reached"
    # without the lock, the UPDATE waits instead (less), and the update is lost
    plain = _locked("plain")
    assert plain["metrics"]["lock_wait_s"] == pytest.approx(0.05)
    assert plain["properties"]["every_deposit_counted"]["verdict"] == "stalled"
    # SQLite: one writing transaction at a time, so the second BEGIN waits for the first COMMIT (150 ms)
    sqlite = _locked("plain", dialect="sqlite")
    assert sqlite["metrics"]["lock_wait_s"] == pytest.approx(0.15)
    assert sqlite["properties"]["every_deposit_counted"]["verdict"] == "reached"
    alone = _locked("for-update", jobs=1)
    assert alone["metrics"]["lock_waits"] == 0 and alone["metrics"]["makespan_s"] == pytest.approx(0.201)


def test_a_deadlock_aborts_one_run_as_the_engine_does() -> None:
    spec = load_spec(SPECS / "deadlock.py")
    base = SpecSettings(durations=(("bump", 0.0),), db_sigma=0.0)
    opposite = run_spec(spec, base)  # both lock their first row at once, then each waits for the other's
    assert opposite.metrics["deadlocks"] == 1 and opposite.jobs["bump"]["failed"] == 1
    assert opposite.properties["no_job_failed"]["verdict"] == "violated"
    same = run_spec(spec, base.but(scope=(("order", "same"),)))
    assert same.metrics["deadlocks"] == 0 and same.metrics["lock_waits"] == 1
    assert same.properties["no_job_failed"]["verdict"] == "holds"


def test_the_workers_decisions_are_one_definition() -> None:
    spec = load_spec(SPECS / "failing.py")
    kind = spec.jobs["work"]
    assert after_raise(kind, "body", 1, 2, True) == Retry(2)
    assert after_raise(kind, "body", 2, 2, False) == FailForGood(run_failure=True, rollback=False)
    assert after_raise(kind, "failure", 1, 1, True) == GiveUp()
    batch = load_spec(BATCH)
    assert after_raise(batch.jobs["process"], "body", 1, 1, False) == FailForGood(run_failure=False, rollback=True)
    assert fired(batch.jobs["process"], (1,), True) == ()


def test_a_thrown_job_is_retried_then_failed_and_its_handler_runs() -> None:
    spec = load_spec(SPECS / "failing.py")
    settings = SpecSettings(fault_rates=(("throw", 1.0),), budgets=(("throw", 5),), scope=(("tries", "2"),))
    result = run_spec(spec, settings)
    assert result.jobs["work"]["retried"] == 1 and result.jobs["work"]["failed"] == 1
    assert result.metrics["faults"]["throw"] == 2
    assert result.tables["batches"] == [{"id": 1, "done": 0, "failed": 1}]  # on_failure counted it


METRICS = '''

@spec.metric("callbacks")
def callbacks(world):
    return world.count("callback")


@spec.metric("callbacks_in_1s")
def callbacks_in_1s(world):
    return world.most_within(1.0, "callback")


@spec.metric("callback_gap_s")
def callback_gap_s(world):
    times = world.times("callback", 1)
    return round(times[-1] - times[0], 6)


@spec.metric("ended_s")
def ended_s(world):
    return round(world.now, 6)
'''


def test_a_spec_metric_is_reported_and_a_bad_one_refused(tmp_path: Path) -> None:
    text = (EXAMPLES / "batch_counter.py").read_text()
    good = tmp_path / "metric_spec.py"
    good.write_text(text + METRICS)
    code, out = wavesim("run", str(good), "--switch", "fix=returning", "--json")
    doc = json.loads(out)
    assert code == 0 and doc["metrics"]["spec"] == {"callbacks": 1, "callbacks_in_1s": 1, "callback_gap_s": 0,
                                                    "ended_s": doc["metrics"]["makespan_s"]}
    code, out = wavesim("run", str(good), *RACE, "--json")  # the race: two callbacks, close together
    doc = json.loads(out)
    assert code == 1 and doc["metrics"]["spec"]["callbacks"] == 2
    gap = doc["metrics"]["spec"]["callback_gap_s"]
    assert doc["metrics"]["spec"]["callbacks_in_1s"] == 2 and 0 < gap < doc["metrics"]["makespan_s"] < 1
    bad = tmp_path / "bad_metric_spec.py"
    bad.write_text(text + '\n\n@spec.metric("name")\ndef name(world):\n    return "text"\n')
    code, out = wavesim("run", str(bad))
    assert code == 2 and "metric 'name' gave 'text': a metric is a number" in out


def test_the_fault_matrix_shows_which_fault_breaks_the_chord() -> None:
    code, out = wavesim("faults", str(EXAMPLES / "celery_chord_counter.py"), "--seeds", "6", "--fault", "none",
                        "--fault", "crash", "--json")
    cells = json.loads(out)["variants"]["default"]
    assert code == 1
    assert cells["none"]["callback_when_idle"]["held"] == 6
    assert cells["crash"]["callback_when_idle"]["violated"] >= 1


@pytest.mark.parametrize("args, says", [
    (["run", BATCH, "--waves", "3"], "--waves is for the write-up's coordinator"),
    (["run", "--scope", "jobs=3"], "--scope is for a spec file"),
    (["run", BATCH, "--switch", "fix=none", "--switch", "fix=returning"], "run takes one choice per switch"),
    (["run", BATCH, "--duration", "nope=1"], "the spec has no job type 'nope'"),
    (["run", BATCH, "--fault-rate", "crash=2"], "a chance between 0 and 1"),
    (["compare", BATCH, "--switch", "nope=1"], "the spec has no switch 'nope'"),
    (["faults", BATCH, "--fault", "replica-lag"], "a spec's faults are none, crash"),
])
def test_bad_input_is_one_line_and_exit_2(args: list[str], says: str) -> None:
    code, out = wavesim(*args)
    assert code == 2 and says in out and "Traceback" not in out


def test_a_spec_sweep_writes_a_row_per_run_and_resumes_only_the_same_spec(tmp_path: Path) -> None:
    spec = tmp_path / "batch.py"
    spec.write_text((EXAMPLES / "batch_counter.py").read_text())
    out = tmp_path / "rows.csv"
    args = ["sweep", str(spec), "--param", "fix=none,returning", "--scope", "jobs=40", "--scope", "workers=8",
            "--seeds", "2", "--out", str(out), "--jobs", "1", "--json"]
    code, text = wavesim(*args)
    summaries = json.loads(text[text.index("["):])
    assert code == 1 and [s["point"] for s in summaries] == ["fix=none", "fix=returning"]
    assert summaries[0]["held_callback_at_most_once"] == 0.5 and summaries[1]["held_callback_at_most_once"] == 1
    rows = out.read_text()
    assert len(rows.splitlines()) == 5  # a header and one row per run
    assert wavesim(*args)[0] == 1 and out.read_text() == rows  # resumed: every row reused
    spec.write_text(spec.read_text().replace("left == 0", "left <= 0"))  # another spec under the same name
    code, text = wavesim(*args)
    assert code == 2 and "cannot resume" in text and "spec_sha256" in text


def test_a_delayed_push_arrives_after_its_delay_and_may_be_lost() -> None:
    forever = str(SPECS / "forever.py")  # a poll that pushes itself again with a 1 s delay, forever
    code, out = wavesim("run", forever, "--horizon-s", "10.5", "--json")
    doc = json.loads(out)
    assert code == 1 and doc["outcome"] == "horizon"  # never quiet: the goal is undecided, not stalled
    assert doc["properties"]["flag_set"]["verdict"] == "undecided"
    assert doc["jobs"]["poll"]["acked"] == 10  # one poll a second, each a little after the last
    code, out = wavesim("run", forever, "--fault-rate", "lose_delayed=1", "--json")
    doc = json.loads(out)
    assert code == 1 and doc["outcome"] == "quiet" and doc["jobs"]["poll"] == {**doc["jobs"]["poll"], "lost": 1}
    assert doc["properties"]["flag_set"]["verdict"] == "stalled" and 1 < doc["metrics"]["makespan_s"] < 1.5


PERIODIC = '''
import sqlalchemy as sa
from spec.lang import Spec

meta = sa.MetaData()
flags = sa.Table("flags", meta, sa.Column("id", sa.Integer, primary_key=True), sa.Column("done", sa.Integer))
spec = Spec("periodic", meta)
spec.every("sweeper", seconds=0.5)

@spec.rows
def rows(scope):
    return {"flags": [{"id": 1, "done": 0}]}

@spec.job("sweeper")
def sweeper(ctx):
    yield sa.update(flags).where(flags.c.id == 1).values(done=1)

@spec.eventually("swept")
def swept(world):
    """the sweeper set the flag"""
    return world.row("flags", 1)["done"] == 1
'''


def test_a_periodic_job_ticks_until_a_tick_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "periodic_spec.py"
    path.write_text(PERIODIC)
    code, out = wavesim("run", str(path), "--json")
    doc = json.loads(out)
    assert code == 0 and doc["outcome"] == "quiet" and doc["properties"]["swept"]["verdict"] == "reached"
    assert doc["jobs"]["sweeper"]["acked"] == 2  # at 0.5 s it sets the flag; at 1 s it changes nothing
    assert 1.0 < doc["metrics"]["makespan_s"] < 1.5


def test_a_spec_run_writes_its_plot_and_its_final_rows(tmp_path: Path) -> None:
    plot, rows = tmp_path / "run.png", tmp_path / "rows.csv"
    code, out = wavesim("run", BATCH, "--switch", "fix=returning", "--plot", str(plot), "--csv", str(rows))
    assert code == 0 and f"wrote {plot}" in out and plot.read_bytes()[:4] == b"\x89PNG"
    # each value is named by its row's primary key (the batch's id, 1), not by the row's position
    assert rows.read_text().splitlines() == ["table,key,column,value", "job_batches,1,id,1",
                                             "job_batches,1,pending_jobs,0"]


def test_a_compared_figure_reads_in_one_format_never_in_exponent_form() -> None:
    from sim.speccompare import _spread

    assert _spread({"median": 2070.5, "min": 335, "max": 2842}) == "2070 [335-2842]"
    assert _spread({"median": 0.03141, "min": 0.5, "max": 12.345}) == "0.0314 [0.500-12.3]"
    assert _spread({"median": 7.0, "min": 7.0, "max": 7.0}) == "7"


def test_the_rollback_before_a_failure_handler_decides_whether_its_count_survives() -> None:
    """failing.py: a throw inside the job's transaction; its handler's UPDATE joins that transaction unless
    the worker rolls it back first, and the ack's rollback then loses it (as the checker finds)."""
    spec = load_spec(SPECS / "failing.py")
    base = SpecSettings(seed=4, fault_rates=(("throw", 0.5),))
    kept = run_spec(spec, base.but(scope=(("worker", "keeps-open"),)))
    assert kept.jobs["work"]["failed"] == 1 and kept.tables["batches"] == [{"id": 1, "done": 0, "failed": 0}]
    assert kept.properties["every_job_counted"]["verdict"] == "stalled"
    rolled = run_spec(spec, base)  # the same throw at the same step
    assert rolled.jobs["work"]["failed"] == 1 and rolled.tables["batches"] == [{"id": 1, "done": 0, "failed": 1}]
    assert rolled.properties["every_job_counted"]["verdict"] == "reached"


@pytest.mark.parametrize("name", ["batch_counter", "celery_chord_counter", "writeup_guarded"])
def test_what_the_simulation_breaks_the_checker_breaks_too(name: str) -> None:
    """The simulation runs the checker's semantics with timings: every property it sees violated (or a goal
    stalled) at the spec's default scope and fault budgets, the exhaustive check finds violated there too."""
    from model.specmodel import Model, check_spec

    spec = load_spec(EXAMPLES / f"{name}.py")
    search = check_spec(Model(spec, spec.scope_of({})))
    broken_by_checker = {p for p in search.checked if not search.holds(p)}
    broken_by_sim: set[str] = set()
    for seed in range(12):
        result = run_spec(spec, SpecSettings(seed=seed, fault_rates=tuple((f, 0.5) for f in spec.faults)))
        broken_by_sim |= {p for p, held in result.held().items() if held is False}
    assert broken_by_sim <= broken_by_checker
    if name != "batch_counter":  # its race needs more jobs than its default scope (see RACE)
        assert broken_by_sim, "the simulation should show one of the spec's bugs at its default scope"


def test_a_spec_sweep_on_dask_gives_the_same_rows_as_a_local_one(tmp_path: Path) -> None:
    import dask
    import distributed

    local, remote = tmp_path / "local.csv", tmp_path / "dask.csv"
    args = ["sweep", BATCH, "--param", "fix=none,returning", "--seeds", "2"]
    assert wavesim(*args, "--out", str(local), "--jobs", "1")[0] == 0
    # the cluster's scratch space in the test's own folder, not the system's temporary folder
    with dask.config.set({"temporary-directory": str(tmp_path)}), distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        code, _ = wavesim(*args, "--out", str(remote), "--scheduler", cluster.scheduler_address)
    assert code == 0 and remote.read_text() == local.read_text()


def test_a_summary_keeps_one_column_for_a_specs_long_names() -> None:
    # the write-up's metric max_waves_first_dispatched_in_1s is longer than the usual 26 characters
    code, out = wavesim("run", str(ROOT / "coordinator" / "writeup.py"), "--policy", "seed-fix")
    named = [line for line in out.splitlines()
             if line.startswith("  ") and not line.startswith("   ") and not line.split()[0].isdigit()]
    columns = {len(line) - len(line[2:].split(" ", 1)[1].lstrip()) for line in named}
    assert code in (0, 1) and len(named) > 8 and len(columns) == 1, named


def test_the_built_in_runs_duration_and_write_options_set_a_specs_run() -> None:
    base = ["run", BATCH, *RACE, "--json"]
    plain = json.loads(wavesim(*base)[1])
    heavy = json.loads(wavesim(*base, "--batch-distribution", "lognormal", "--batch-sigma", "2",
                               "--db-write-ms", "9")[1])
    assert (heavy["settings"]["duration_distribution"], heavy["settings"]["duration_sigma"],
            heavy["settings"]["write_ms"]) == ("lognormal", 2.0, 9.0)
    assert heavy["metrics"]["makespan_s"] != plain["metrics"]["makespan_s"]  # the draws and the writes did change
