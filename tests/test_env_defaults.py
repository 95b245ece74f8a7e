"""WAVE_SIZE and WAVE_COMPLETION_THRESHOLD: defaults of every command with a wave size and a threshold.

Precedence (later wins): preset (or a command's own default) < environment < --scenario file < option.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from userio.errors import BadInput
from wavesim.cli import main
from wavesim.envdefaults import env_settings


def invoke(args: list[str], env: dict[str, str]):
    return CliRunner().invoke(main, args, env=env)


def scenario(args: list[str], env: dict[str, str]) -> dict[str, object]:
    result = invoke(["run", "--waves", "2", "--json", *args], env)
    assert result.exit_code in (0, 1), result.stderr  # 1: a property failed, which is not what this tests
    return json.loads(result.stdout)["scenario"]


def sizes(doc: dict[str, object]) -> tuple[object, object]:
    return doc["wave_size"], doc["threshold"]


def test_the_environment_overrides_the_preset() -> None:
    assert sizes(scenario([], {})) == (50, 90)
    assert sizes(scenario([], {"WAVE_SIZE": "7", "WAVE_COMPLETION_THRESHOLD": "60"})) == (7, 60)
    assert sizes(scenario(["--preset", "light"], {"WAVE_SIZE": " 8 "})) == (8, 90)


def test_a_file_overrides_the_environment_only_for_what_it_sets(tmp_path: Path) -> None:
    both = tmp_path / "both.toml"
    both.write_text('preset = "light"\nwave_size = 5\n')
    assert sizes(scenario(["--scenario", str(both)], {"WAVE_SIZE": "7", "WAVE_COMPLETION_THRESHOLD": "60"})) == (5, 60)


def test_an_option_overrides_file_and_environment(tmp_path: Path) -> None:
    file = tmp_path / "s.toml"
    file.write_text("wave_size = 5\nthreshold = 70\n")
    got = scenario(["--scenario", str(file), "--wave-size", "3", "--threshold", "80"],
                   {"WAVE_SIZE": "7", "WAVE_COMPLETION_THRESHOLD": "60"})
    assert sizes(got) == (3, 80)


def test_faults_takes_the_environment_over_its_reduced_scenario() -> None:
    args = ["faults", "--policy", "atomic", "--fault", "none", "--seeds", "1", "--json"]
    doc = json.loads(invoke(args, {"WAVE_SIZE": "6"}).stdout)["scenario"]
    assert (doc["waves"], doc["wave_size"]) == (8, 6)
    assert json.loads(invoke(args, {}).stdout)["scenario"]["wave_size"] == 20


def test_check_takes_the_environment_and_an_option_overrides_it() -> None:
    head = invoke(["check", "--policy", "atomic"], {"WAVE_SIZE": "3"}).stdout.splitlines()[0]
    assert "scope 2 waves x 3 batches at 50%" in head
    head = invoke(["check", "--policy", "atomic", "--wave-size", "2"], {"WAVE_SIZE": "3"}).stdout.splitlines()[0]
    assert "scope 2 waves x 2 batches at 50%" in head


@pytest.mark.parametrize(("args", "env", "message"), [
    (["run"], {"WAVE_SIZE": "abc"}, "error: WAVE_SIZE must be a number, got 'abc' (from the environment)"),
    (["run", "--wave-size", "5"], {"WAVE_SIZE": "0"},
     "error: WAVE_SIZE must be at least 1, got '0' (from the environment)"),
    (["compare"], {"WAVE_COMPLETION_THRESHOLD": "101"},
     "error: WAVE_COMPLETION_THRESHOLD must be between 1 and 100, got '101' (from the environment)"),
    (["sweep", "--param", "workers=2", "--out", "/nonexistent-15/x.csv"], {"WAVE_SIZE": "2.5"},
     "error: WAVE_SIZE must be a whole number, got '2.5' (from the environment)"),
    (["check", "--policy", "atomic"], {"WAVE_SIZE": "50"},
     "error: wave_size must be a whole number from 1 to 6, got 50 (from WAVE_SIZE=50)"),
    (["run"], {"WAVE_SIZE": "20000"}, "error: wave_size must be between 1 and 10000, got 20000 (from WAVE_SIZE=20000)"),
])
def test_a_bad_value_is_one_line_and_exit_2(args: list[str], env: dict[str, str], message: str) -> None:
    result = invoke(args, env)
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", message + "\n")


def test_the_installed_command_exits_2_on_a_bad_wave_size() -> None:
    env = {**os.environ, "WAVE_SIZE": "abc"}
    done = subprocess.run([sys.executable, "-m", "wavesim", "run"], env=env, capture_output=True, text=True,
                          timeout=120)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == "error: WAVE_SIZE must be a number, got 'abc' (from the environment)\n"


def test_env_settings_reads_only_what_is_set() -> None:
    assert env_settings({}) == {}
    assert env_settings({"WAVE_COMPLETION_THRESHOLD": "75", "PATH": "/bin"}) == {"threshold": 75}
    with pytest.raises(BadInput):
        env_settings({"WAVE_SIZE": "-1"})
