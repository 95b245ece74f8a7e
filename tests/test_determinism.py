"""One seed, one result: byte-identical JSON and CSV within a process, across processes
(with different hash seeds), and from the replay command a failing run prints."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from sim.run import run_one
from sim.scenario import PRESETS
from wavesim.cli import main

ROOT = Path(__file__).resolve().parent.parent
RUN = ["run", "--preset", "incident", "--waves", "8", "--wave-size", "12", "--seed", "7", "--json"]
COMPARE = ["compare", "--preset", "stragglers", "--waves", "4", "--wave-size", "5", "--workers", "3",
           "--seeds", "3", "--first-seed", "11", "--json"]
CHECKS = {
    "bfs": ["check", "--policy", "guarded", "--json"],
    "random": ["check", "--policy", "original", "--strategy", "random", "--seed", "3", "--max-states", "400",
               "--json"],
}
#: what a check's JSON report holds besides its timing
CHECK_KEYS = ("policy", "scope", "strategy", "complete", "states", "transitions", "depth", "reductions",
              "stop_reason", "properties")

#: run in a fresh interpreter: every command above through the real click group, outputs as JSON
CHILD = """
import json, sys
from click.testing import CliRunner
from wavesim.cli import main
out = {}
for name, args in json.loads(sys.argv[1]).items():
    result = CliRunner().invoke(main, args)
    out[name] = [result.exit_code, result.stdout]
print(json.dumps(out))
"""


def invoke(args: list[str]) -> str:
    result = CliRunner().invoke(main, args)
    assert result.exit_code in (0, 1), result.output  # 0 or 1 by the verdicts; the code is compared below
    CODES[" ".join(args)] = result.exit_code
    return result.stdout


#: the exit code of each command line invoked in this process
CODES: dict[str, int] = {}


def invoke_code(args: list[str]) -> int:
    invoke(args)
    return CODES[" ".join(args)]


def check_core(text: str) -> dict[str, Any]:
    doc = json.loads(text)
    return {k: doc[k] for k in CHECK_KEYS}


def child_env(hash_seed: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "WAVESIM_DEBUG"}
    return {**env, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": str(ROOT)}


def test_run_json_and_csv_are_byte_identical_in_one_process(tmp_path: Path) -> None:
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    out1 = invoke([*RUN, "--csv", str(first)])
    out2 = invoke([*RUN, "--csv", str(second)])
    assert out1 == out2
    assert first.read_bytes() == second.read_bytes()
    doc = json.loads(out1)
    assert doc["metrics"]["waves_total"] == 8 and doc["scenario"]["seed"] == 7
    assert first.read_text().count("\n") == 9  # header and 8 wave rows


def test_run_is_byte_identical_across_processes_and_hash_seeds(tmp_path: Path) -> None:
    outputs = []
    code = invoke_code(RUN)
    for hash_seed in ("1", "4242"):
        csv_path = tmp_path / f"waves-{hash_seed}.csv"
        done = subprocess.run(
            [sys.executable, "-m", "wavesim", *RUN, "--csv", str(csv_path)],
            capture_output=True, env=child_env(hash_seed), cwd=tmp_path, check=False, timeout=120,
        )
        assert done.returncode == code, done.stderr.decode()
        assert done.stderr == f"wrote {csv_path}\n".encode()
        outputs.append((done.stdout, csv_path.read_bytes()))
    assert outputs[0] == outputs[1]
    here = invoke(RUN).encode()
    assert outputs[0][0] == here  # and the same as in this process


def test_compare_and_check_are_identical_in_one_process_and_across_processes() -> None:
    commands = {"compare": COMPARE, **CHECKS}
    here = {name: invoke(args) for name, args in commands.items()}
    assert invoke(COMPARE) == here["compare"]
    for name, args in CHECKS.items():
        assert check_core(invoke(args)) == check_core(here[name])
    children = []
    for hash_seed in ("0", "31337"):
        done = subprocess.run(
            [sys.executable, "-c", CHILD, json.dumps(commands)],
            capture_output=True, text=True, env=child_env(hash_seed), check=False, timeout=300,
        )
        assert done.returncode == 0, done.stderr
        children.append(json.loads(done.stdout))
    for child in children:
        assert child["compare"] == [CODES[" ".join(COMPARE)], here["compare"]]
        for name, args in CHECKS.items():
            assert child[name][0] == CODES[" ".join(args)]
            assert check_core(child[name][1]) == check_core(here[name])
    # the parts compared are not empty: a verdict, states and a counterexample each
    bfs = check_core(here["bfs"])
    assert bfs["complete"] is True and bfs["states"] > 0
    assert any(p["counterexample"] for p in bfs["properties"].values())
    compared = json.loads(here["compare"])
    assert compared["seeds"] == [11, 12, 13] and compared["scenario"]["waves"] == 4


def test_a_failing_run_prints_the_command_that_replays_it(tmp_path: Path) -> None:
    scenario_file = tmp_path / "odd.toml"  # no preset: every setting must reach the command line
    scenario_file.write_text(
        'policy = "guarded"\nwaves = 5\nwave_size = 6\nthreshold = 70\nworkers = 3\n'
        'batch_distribution = "lognormal"\nbatch_sigma = 1.7\nbatch_mean_s = 0.35\n'
        "db_read_ms = 3.25\nenqueue_ms_per_job = 1.5\nhorizon_s = 900\nmax_events = 40000\nseed = 5\n"
    )
    text = invoke(["run", "--scenario", str(scenario_file)])
    replays = [line for line in text.splitlines() if line.startswith("replay: ")]
    assert len(replays) == 1, text
    words = shlex.split(replays[0].removeprefix("replay: "))
    assert words[:2] == ["wavesim", "run"]
    assert invoke([*words[1:], "--json"]) == invoke(["run", "--scenario", str(scenario_file), "--json"])
    assert "FAILS" in text  # the run did fail: that is why it printed the command


def test_a_passing_run_prints_no_replay_command() -> None:
    text = invoke(["run", "--preset", "light", "--policy", "atomic", "--waves", "3", "--wave-size", "4"])
    assert "FAILS" not in text and "replay:" not in text


def test_run_one_is_repeatable_object_by_object() -> None:
    scenario = PRESETS["stragglers"].with_settings(policy="seed-fix", waves=6, wave_size=8, seed=3)
    first, second = run_one(scenario), run_one(scenario)
    assert first.to_json() == second.to_json() and first.rows_csv() == second.rows_csv()
    assert (first.events, first.db_operations) == (second.events, second.db_operations)
    for name in first.series.__dataclass_fields__:
        assert (getattr(first.series, name) == getattr(second.series, name)).all(), name
