"""``wavesim live SPEC`` from the command line: ``--queue-of`` and ``--duration``, several ``--policy`` (or
``all``) with a summary of ``--repeat`` runs, ``metrics``/``jobs``/``properties`` in ``--json`` in the
simulation's words, and the ``no-progress`` outcome.

The spec is ``tests/fixtures/specs/live_policy.py``: a ``work`` job records the policy it ran under
(``never_original`` is violated under ``original`` only) and can be moved to a second queue with its own
worker. Each run is one or two jobs on SQLite with no pause between steps: about a second.
"""

from __future__ import annotations

import json
import random
import tempfile
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import wavesim.commands.livespec
from live import LiveSettings
from live.settingsspec import spec_run_for
from tests.live_helpers import CANNOT_START, live_processes, workers_that_cannot_start
from wavesim.cli import main

ROOT = Path(__file__).resolve().parent.parent
POLICY = str(ROOT / "tests" / "fixtures" / "specs" / "live_policy.py")
WRITEUP = str(ROOT / "coordinator" / "writeup.py")
def _live(tmp_path: Path, *args: str) -> tuple[int, str]:
    out = CliRunner().invoke(main, ["live", POLICY, "--db", f"sqlite:///{tmp_path / 'live.db'}", "--step-s", "0",
                                    *args])
    return out.exit_code, out.output


def _lines(path: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines()]


def test_queue_of_and_duration_place_and_time_the_jobs_and_the_json_measures_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the logs it keeps go with the test's folder
    mean = 20.0  # scenario s: 0.4 s of wall time at the default scale
    code, out = _live(tmp_path, "--policy", "original", "--queue-of", "work=side", "--duration", f"work={mean:g}",
                      "--json", "--keep-logs")
    assert code == 1, out  # never_original is violated under original
    doc = json.loads(out.splitlines()[0])  # then the line naming the kept logs (on stderr)
    events = _lines(doc["live"]["event_log"])
    takes = [e for e in events if e["kind"] == "take"]
    # slots count across the queues in order: default's one worker is slot 0, side's is slot 1
    assert [e["worker"] for e in takes] == ["worker-1.0", "worker-1.0"]
    assert doc["settings"]["queue_of"] == {"work": "side"} and doc["settings"]["durations"] == {"work": mean}
    # the first job's own work is the first draw of side's worker's stream (live/specworker.py)
    first = random.Random("0:durations:1:0").expovariate(1.0 / mean) * doc["settings"]["scale"]
    assert first > 0.05  # the seed gives a draw long enough to see
    end = next(e for e in events if e["kind"] == "end")
    assert end["at_s"] - takes[0]["at_s"] >= first / doc["settings"]["scale"] * 0.99
    assert doc["policy"] == "original" and doc["scope"]["policy"] == "original"
    assert doc["jobs"]["work"] == {"acked": 2, "retried": 0, "failed": 0, "gave_up": 0, "crashed": 0,
                                   "duplicated": 0, "lost": 0}
    metrics = doc["metrics"]
    # the second job waited on side (the first too, when a sample came before its take)
    side = metrics["peak_queue_depth_by_queue"]["side"]
    assert metrics["peak_queue_depth_by_queue"] == {"default": 0, "side": side} and side in (1, 2)
    assert metrics["peak_queue_depth"] == side and metrics["peak_queued"] == {"work": side}
    verdict = doc["properties"]["never_original"]
    assert verdict["verdict"] == "violated" and verdict["holds"] is False
    assert verdict["first_violation_wall_s"] == round(verdict["first_violation_s"] * doc["settings"]["scale"], 3)
    assert 0 < verdict["first_violation_wall_s"] < doc["live"]["wall_s"]
    assert doc["properties"]["all_done"]["verdict"] == "reached"
    assert doc["properties"]["live_progress"]["holds"] is True


@pytest.mark.parametrize(("args", "says"), [
    (["--duration", "work=-1"], "--duration work=-1: expected a number of seconds, 0 or more"),
    (["--duration", "work=nan"], "--duration work=nan: expected a number of seconds"),
    (["--duration", "work=soon"], "--duration work=soon: expected a number of seconds"),
    (["--duration", "nope=1"], "--duration nope: the spec has no job type 'nope'"),
    (["--duration", "work"], "--duration 'work': expected NAME=VALUE"),
    (["--queue-of", "work=nowhere"], "--queue-of work=nowhere: the spec has no queue 'nowhere'"),
    (["--queue-of", "nope=side"], "--queue-of nope: the spec has no job type 'nope'"),
    (["--policy", "guarded"], "--policy guarded: spec live-policy has no such policy"),
    (["--policy", "atomic", "--switch", "policy=original"], "disagree: give one"),
])
def test_bad_values_are_one_line_and_exit_2(tmp_path: Path, args: list[str], says: str) -> None:
    code, out = _live(tmp_path, *args)
    assert code == 2 and out.count("\n") == 1 and says in out, out


def test_the_builtin_run_refuses_the_spec_options(tmp_path: Path) -> None:
    for option in ("--queue-of", "--duration"):
        out = CliRunner().invoke(main, ["live", "--db", f"sqlite:///{tmp_path / 'live.db'}", option, "work=1"])
        assert out.exit_code == 2 and "are for a SPEC file" in out.output, out.output


class _Asked(Exception):
    """Raised by the stand-in for ``run_spec_live`` once it has seen what the command asked for."""


@pytest.mark.parametrize("settings", [
    LiveSettings(policy="guarded", waves=3, wave_size=4, threshold=75, workers=2, listener="queued", tries=1,
                 batch_mean_s=0.5),
    LiveSettings(policy="atomic", waves=2, wave_size=2, listener="queued", tries=1,
                 switches=(("relay_lease_s", 0.0),)),
])
def test_the_command_line_asks_for_the_run_the_settings_mapping_gives(tmp_path: Path, settings: LiveSettings,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    mapped = spec_run_for(settings)
    asked: dict[str, Any] = {}

    def stand_in(spec: Any, given: dict[str, str], live_settings: LiveSettings, **options: Any) -> Any:
        asked.update(options, given=given, settings=live_settings)
        raise _Asked

    monkeypatch.setattr(wavesim.commands.livespec, "run_spec_live", stand_in)
    out = CliRunner().invoke(main, ["live", WRITEUP, "--db", f"sqlite:///{tmp_path / 'live.db'}",
                                    *mapped.options()])
    assert asked, out.output  # the stand-in was called (its exception then ends the command: exit 70)
    assert asked["given"] == mapped.given
    assert (asked["queue_of"], asked["durations"]) == (mapped.queue_of, mapped.durations)
    assert asked["settings"].step_s == mapped.settings.step_s == 0.0


def test_every_policy_runs_its_own_batch_and_repeats_are_summarized(tmp_path: Path) -> None:
    code, out = _live(tmp_path, "--policy", "all", "--repeat", "2", "--expect-violation",
                      "original:never_original")
    assert code == 0, out  # the expected violation happened under original, and nothing else was violated
    firsts = [line for line in out.splitlines() if line.startswith("spec live-policy")]
    assert [line.split("policy=")[1].split(")")[0] for line in firsts] == ["original"] * 2 + ["atomic"] * 2
    summary = out[out.index("policy original on SQLite"):].splitlines()
    assert summary[0].endswith(": 2 runs, reached 2")
    assert summary[1].split() == ["never_original", "held", "in", "0/2,", "violated", "in", "2,", "not", "judged",
                                  "in", "0"]
    assert summary[4].startswith("policy atomic on SQLite")
    assert summary[5].split()[:4] == ["never_original", "held", "in", "2/2,"]
    assert "live_progress                held in 2/2" in out
    code, out = _live(tmp_path, "--policy", "original", "--policy", "atomic", "--expect-violation", "never_original")
    assert code == 1, out  # expected under every policy: it held under atomic
    assert "not as expected: atomic: never_original held, expected a violation" in out


def test_workers_that_cannot_start_end_the_run_as_no_progress_and_exit_1(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    workers_that_cannot_start(monkeypatch, "spec-worker")
    code, out = _live(tmp_path, "--retry-after-s", "10", "--deadline-s", "25")
    assert code == 1, out
    first = out.splitlines()[0]
    assert ": no-progress after " in first, first
    assert float(first.split("no-progress after ")[1].split(" s")[0]) < 12  # the window, not the deadline
    assert "live_progress                live       VIOLATED" in out
    assert "no job was taken and no row, record or failure changed for 5.0 wall s while 2 job(s) waited" in out
    assert "crashed (exit code 1)" in out and CANNOT_START in out
    assert "all_done                     eventually UNDECIDED: no progress" in out  # cut off, not judged
    assert live_processes(tmp_path) == []


def test_a_specs_own_metrics_are_measured_live_on_the_runs_clock(tmp_path: Path) -> None:
    # the metrics the simulation reports (tests/test_spec_sim.py's), read on the live run's final reading
    from test_spec_sim import METRICS

    spec = tmp_path / "metric_spec.py"
    first = ('\n\n@spec.metric("first_callback_s")\ndef first_callback_s(world):\n'
             '    return world.times("callback")[0]\n')
    spec.write_text((ROOT / "examples" / "batch_counter.py").read_text(encoding="utf-8") + METRICS + first,
                    encoding="utf-8")
    out = CliRunner().invoke(main, ["live", str(spec), "--db", f"sqlite:///{tmp_path / 'live.db'}",
                                    "--switch", "fix=returning", "--json"])
    assert out.exit_code == 0, out.output
    metrics = json.loads(out.output.splitlines()[0])["metrics"]
    # one callback: its record line's time read back; the run's clock at its end is the makespan
    first_s = metrics["spec"].pop("first_callback_s")
    assert metrics["spec"] == {"callbacks": 1, "callbacks_in_1s": 1, "callback_gap_s": 0,
                               "ended_s": metrics["makespan_s"]}
    assert 0 < first_s <= metrics["makespan_s"]  # when the worker wrote the record, on the run's scenario clock


def test_a_statement_the_checker_refuses_on_the_engine_is_a_raise_not_run_without_its_lock(tmp_path: Path) -> None:
    # SQLAlchemy writes SQLite's FOR UPDATE SKIP LOCKED as a plain SELECT: run so, the lock would be gone unsaid
    read = "        left = (yield sa.select(batches.c.pending_jobs).where(batches.c.id == batch_id)).scalar_one()\n"
    locked = read.replace("batch_id))", "batch_id).with_for_update(skip_locked=True))")
    text = (ROOT / "examples" / "batch_counter.py").read_text(encoding="utf-8")
    assert read in text and locked != read
    spec = tmp_path / "skip_locked.py"
    spec.write_text(text.replace(read, locked), encoding="utf-8")
    line = 1 + spec.read_text(encoding="utf-8").splitlines().index(locked.rstrip("\n"))
    out = CliRunner().invoke(main, ["live", str(spec), "--db", f"sqlite:///{tmp_path / 'live.db'}", "--step-s", "0"])
    assert out.exit_code == 1, out.output
    assert f"the first: process: refused on sqlite: {spec}:{line}: SKIP LOCKED on sqlite" in out.output


def test_a_push_inside_a_transaction_on_sqlites_database_queue_is_refused_not_left_to_hang(tmp_path: Path) -> None:
    # the queue's INSERT would wait for the write lock the job's own transaction holds: a harness hang, which
    # the run reported as the coordinator's no-progress; it is refused at the push's line instead
    decrement = "        left = (yield decrement.returning(batches.c.pending_jobs)).scalar_one()\n"
    text = (ROOT / "examples" / "batch_counter.py").read_text(encoding="utf-8")
    assert decrement in text and "from spec.lang import " in text
    inside = ("        yield begin()\n" + decrement + "        if left == 0:\n"
              "            yield push(\"finally_callback\", batch_id)\n        yield commit()\n        return\n")
    spec = tmp_path / "push_inside.py"
    spec.write_text(text.replace(decrement, inside).replace("from spec.lang import ", "from spec.lang import begin, "
                                                            "commit, ", 1), encoding="utf-8")
    pushed = '            yield push("finally_callback", batch_id)'
    line = 1 + spec.read_text(encoding="utf-8").splitlines().index(pushed)
    out = CliRunner().invoke(main, ["live", str(spec), "--db", f"sqlite:///{tmp_path / 'live.db'}", "--step-s", "0",
                                    "--switch", "fix=returning"])
    assert out.exit_code == 1, out.output
    assert f"the first: process: refused on sqlite: {spec}:{line}: a push inside an open transaction" in out.output
    assert "no-progress" not in out.output
