"""The one exit-code contract (``userio.exitcodes``, ``docs/exit-codes.md``), command by command.

Each judging command is run where its properties hold (exit 0) and where one is violated
(exit 1); ``--expect-violation`` is tried both ways, from the command's own verdicts: expecting
exactly the violations it reported gives 0, expecting one more (that held) gives 1. Ctrl-C is
130 and a bug is 70 on every command, so that 1 always means a verdict.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result

import wavesim.commands.audit as audit_command
import wavesim.commands.check as check_command
import wavesim.commands.compare as compare_command
import wavesim.commands.demo as demo_command
import wavesim.commands.run as run_command
from coordinator import PROPERTY_NAMES
from userio import exitcodes
from userio.exitcodes import BAD_INPUT, EPILOG, HOLDS, INTERNAL, INTERRUPTED, VIOLATED, Expected, judge, surprises
from wavesim.cli import main

FIXTURES = Path(__file__).parent / "fixtures"
WRITEUP = str(FIXTURES / "writeup_dispatches.csv")
DOC = Path(__file__).resolve().parent.parent / "docs" / "exit-codes.md"
#: a one-wave, one-batch import: nothing can race, so every property holds under atomic
TRIVIAL = ["--preset", "light", "--waves", "1", "--wave-size", "1", "--workers", "1"]
#: a small import in which guarded stalls
STALLS = ["--preset", "light", "--waves", "4", "--wave-size", "5", "--threshold", "60", "--workers", "3",
          "--batch-mean-s", "0.5"]


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def expecting(names: set[str] | list[str]) -> list[str]:
    return [w for name in sorted(names) for w in ("--expect-violation", name)]


def run_violated(doc: dict[str, Any]) -> set[str]:
    return {name for name, v in doc["properties"].items() if not v["holds"]}


def shares_violated(doc: dict[str, Any], policy: str) -> set[str]:
    return {name for name, share in doc["policies"][policy]["properties"].items() if share < 1}


def assert_expectation_both_ways(args: list[str], violated: set[str], held: str) -> None:
    """Expecting exactly ``violated`` gives 0; expecting ``held`` too (it held) gives 1, named on stderr."""
    assert violated and held not in violated
    exact = invoke(*args, *expecting(violated))
    assert (exact.exit_code, exact.stderr.count("not as expected")) == (HOLDS, 0), exact.output
    more = invoke(*args, *expecting({*violated, held}))
    assert more.exit_code == VIOLATED, more.output
    prop = held.rpartition(":")[2]
    assert re.search(rf"not as expected: \S+: {prop} held, expected a violation\n", more.stderr)


# -- the contract itself ------------------------------------------------------------------------

def test_the_codes_are_the_documented_ones() -> None:
    assert (HOLDS, VIOLATED, BAD_INPUT, INTERNAL, INTERRUPTED) == (0, 1, 2, 70, 130)
    text = DOC.read_text(encoding="utf-8")
    for code in (HOLDS, VIOLATED, BAD_INPUT, INTERNAL, INTERRUPTED):
        assert f"\n| {code} | " in text
        assert re.search(rf"^  {code} +\S", EPILOG, re.M)
    for name in main.commands:  # one docs page, every command in its table
        assert f"\n| `{name}" in text, name


def test_judge_wants_each_expected_violation_and_every_other_property_held() -> None:
    verdicts = {("guarded", "no_stall"): False, ("guarded", "single_active_wave"): True}
    assert judge(verdicts) == VIOLATED
    assert judge(verdicts, Expected((("guarded", "no_stall"),))) == HOLDS
    assert judge(verdicts, Expected(((None, "no_stall"),))) == HOLDS
    assert judge(verdicts, Expected((("atomic", "no_stall"),))) == VIOLATED  # another policy's expectation
    both = Expected(((None, "no_stall"), (None, "single_active_wave")))
    assert surprises(verdicts, both) == ["guarded: single_active_wave held, expected a violation"]
    undecided = {("atomic", "no_stall"): None}
    assert judge(undecided) == judge(undecided, Expected(((None, "no_stall"),))) == VIOLATED
    assert judge({("atomic", "no_stall"): True}) == HOLDS


def test_every_command_help_ends_with_the_contract() -> None:
    for name in main.commands:
        result = invoke(name, "--help")
        assert result.exit_code == 0
        assert "Exit codes (docs/exit-codes.md):" in result.stdout, name
        assert "130  interrupted (Ctrl-C)" in result.stdout and "70   internal error" in result.stdout, name
    assert "Exit codes (docs/exit-codes.md):" in invoke("--help").stdout


def test_a_malformed_expectation_is_bad_input() -> None:
    result = invoke("run", *TRIVIAL, "--expect-violation", "nonsense")
    assert result.exit_code == BAD_INPUT and result.stderr.startswith("error: Invalid value for '--expect-violation'")
    result = invoke("run", *TRIVIAL, "--expect-violation", "bogus:no_stall")
    assert result.exit_code == BAD_INPUT and "'bogus:no_stall' is not [POLICY:]PROPERTY" in result.stderr


# -- check ---------------------------------------------------------------------------------------

def test_check_exit_code_follows_the_verdicts_and_the_expectation() -> None:
    holds = invoke("check", "--policy", "atomic", "--property", "no_stall")
    assert holds.exit_code == HOLDS, holds.output
    stalls = invoke("check", "--policy", "guarded", "--property", "no_stall")
    assert stalls.exit_code == VIOLATED and "no_stall violated in" in stalls.stdout
    expected = invoke("check", "--policy", "guarded", "--property", "no_stall", "--expect-violation", "no_stall")
    assert (expected.exit_code, expected.stderr) == (HOLDS, "")
    surprise = invoke("check", "--policy", "atomic", "--property", "no_stall", "--expect-violation", "no_stall")
    assert surprise.exit_code == VIOLATED
    assert surprise.stderr == "not as expected: atomic: no_stall held, expected a violation\n"
    unasked = invoke("check", "--policy", "guarded", "--property", "no_stall", "--expect-violation", "queue_bounded")
    assert unasked.exit_code == BAD_INPUT and "does not judge queue_bounded" in unasked.stderr


def test_check_json_trace_out_without_a_violation_prints_the_report(tmp_path: Path) -> None:
    trace = tmp_path / "none.json"
    result = invoke("check", "--policy", "atomic", "--property", "no_stall", "--json", "--trace-out", str(trace))
    assert result.exit_code == HOLDS, result.output
    assert json.loads(result.stdout)["properties"]["no_stall"]["holds"] is True
    assert result.stderr == f"no counterexample: no property was violated, so {trace} was not written\n"
    assert not trace.exists()


def test_check_prints_a_summary_table_then_one_counterexample_per_violated_property() -> None:
    result = invoke("check", "--policy", "guarded")
    out = result.stdout
    doc = json.loads(invoke("check", "--policy", "guarded", "--json").stdout)
    table = out[out.index("  property "):].split("\n\n")[0].splitlines()
    assert table[0].split() == ["property", "verdict", "counterexample"]
    for name, line in zip(PROPERTY_NAMES, table[1:], strict=True):
        steps = doc["properties"][name]["counterexample"]
        assert line.split()[:2] == [name, "holds" if doc["properties"][name]["holds"] else "VIOLATED"]
        assert line.endswith(f"{len(steps)} steps" if steps else " -")
    violated = [n for n in PROPERTY_NAMES if doc["properties"][n]["holds"] is False]
    heads = re.findall(r"^(\w+) violated (?:in|by the same) \d+ steps", out, re.M)
    assert heads == violated  # one counterexample each, in the table's order
    assert "way out?" not in out and "(model.settled)" not in out  # behind --verbose
    verbose = invoke("check", "--policy", "guarded", "--verbose").stdout
    assert "way out?" in verbose and "(model.settled)" in verbose
    assert re.findall(r"^(\w+) violated in \d+ steps", verbose, re.M) == violated  # each in full
    assert len(verbose.splitlines()) > len(out.splitlines())


# -- simulated runs ------------------------------------------------------------------------------

def test_run_exit_code_follows_the_verdicts_and_the_expectation() -> None:
    assert invoke("run", "--policy", "atomic", *TRIVIAL).exit_code == HOLDS
    result = invoke("run", "--policy", "guarded", *STALLS, "--json")
    violated = run_violated(json.loads(result.stdout))
    assert result.exit_code == VIOLATED and {"no_stall", "import_completes"} <= violated
    assert_expectation_both_ways(["run", "--policy", "guarded", *STALLS], violated, "no_duplicate_push")


def test_compare_judges_every_policy_and_takes_expectations_per_policy() -> None:
    assert invoke("compare", "--policy", "atomic", *TRIVIAL, "--seeds", "2").exit_code == HOLDS
    args = ["compare", "--policy", "guarded", "--policy", "atomic", *STALLS, "--seeds", "2"]
    result = invoke(*args, "--json")
    doc = json.loads(result.stdout)
    assert result.exit_code == VIOLATED
    per_policy = {f"{p}:{n}" for p in ("guarded", "atomic") for n in shares_violated(doc, p)}
    assert "guarded:no_stall" in per_policy and "atomic:no_stall" not in per_policy
    assert_expectation_both_ways(args, per_policy, "atomic:no_stall")
    other = invoke(*args, "--expect-violation", "seed-fix:no_stall")
    assert other.exit_code == BAD_INPUT and "under seed-fix" in other.stderr


def test_faults_and_sweep_exit_by_the_verdicts(tmp_path: Path) -> None:
    assert invoke("faults", "--policy", "atomic", "--fault", "none", *TRIVIAL, "--seeds", "1").exit_code == HOLDS
    args = ["faults", "--policy", "guarded", "--fault", "none", *STALLS, "--seeds", "1"]
    doc = json.loads(invoke(*args, "--json").stdout)
    violated = {n for n, share in doc["cells"]["guarded"]["none"]["held"].items() if share < 1}
    assert invoke(*args).exit_code == VIOLATED
    assert_expectation_both_ways(args, violated, "no_duplicate_push")
    out = tmp_path / "holds.csv"
    result = invoke("sweep", "--policy", "atomic", *TRIVIAL, "--seeds", "1", "--jobs", "1", "--out", str(out))
    assert (result.exit_code, result.stderr) == (HOLDS, f"wrote {out}\n")
    out = tmp_path / "stalls.csv"
    result = invoke("sweep", *STALLS, "--param", "policy=atomic,guarded", "--seeds", "1", "--jobs", "1",
                    "--out", str(out), "--json")
    assert result.exit_code == VIOLATED
    violated = {f"{s['point'].split('=')[1]}:{n}" for s in json.loads(result.stdout) for n in PROPERTY_NAMES
                if s[f"held_{n}"] < 1}
    assert "guarded:no_stall" in violated and "atomic:no_stall" not in violated
    sweep = ["sweep", *STALLS, "--param", "policy=atomic,guarded", "--seeds", "1", "--jobs", "1", "--out", str(out)]
    assert_expectation_both_ways(sweep, violated, "atomic:no_stall")


def test_demo_runs_guarded_to_its_stall_and_exits_by_the_verdicts() -> None:
    lines, verdicts = demo_command.story("guarded")
    assert next(line for line in lines if line.startswith("summary: ")).startswith("summary: the import stalled")
    violated = {n for n, v in verdicts.items() if not v["holds"]}
    assert {"no_stall", "import_completes"} <= violated
    assert invoke("demo", "--policy", "guarded").exit_code == VIOLATED
    assert_expectation_both_ways(["demo", "--policy", "guarded"], violated, "no_duplicate_push")


# -- replays and audits --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def duplicate_trace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("trace") / "dup.json"
    result = invoke("check", "--policy", "guarded", "--property", "no_duplicate_push", "--trace-out", str(path))
    assert result.exit_code == VIOLATED and result.stderr == f"wrote {path}\n"
    return path


def test_replay_in_the_model_shows_its_violation(duplicate_trace: Path) -> None:
    assert invoke("replay", str(duplicate_trace)).exit_code == VIOLATED
    assert invoke("replay", str(duplicate_trace), "--expect-violation", "no_duplicate_push").exit_code == HOLDS
    other = invoke("replay", str(duplicate_trace), "--expect-violation", "no_stall")
    assert other.exit_code == BAD_INPUT and "does not judge no_stall" in other.stderr


def test_replay_simulate_judges_every_property(duplicate_trace: Path) -> None:
    result = invoke("replay", str(duplicate_trace), "--simulate", "--json")
    doc = json.loads(result.stdout)
    violated = {n for n, v in doc["properties"].items() if not v["holds"]}
    assert result.exit_code == VIOLATED and "no_duplicate_push" in violated
    assert_expectation_both_ways(["replay", str(duplicate_trace), "--simulate"], violated, "no_stall")


def test_replay_on_a_database_exits_by_what_the_real_rows_show(duplicate_trace: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'replay.db'}"
    shown = invoke("replay", str(duplicate_trace), "--db", url)
    assert shown.exit_code == VIOLATED and "VIOLATED in the real rows" in shown.stdout
    expected = invoke("replay", str(duplicate_trace), "--db", url, "--expect-violation", "no_duplicate_push")
    assert expected.exit_code == HOLDS
    bound = tmp_path / "bound.json"
    invoke("check", "--policy", "guarded", "--property", "queue_bounded", "--trace-out", str(bound))
    for extra in ([], ["--expect-violation", "queue_bounded"]):  # the rows cannot show it: undecided either way
        result = invoke("replay", str(bound), "--db", url, *extra)
        assert result.exit_code == VIOLATED and "undecided" in result.stdout


def test_audit_takes_expectations_of_properties_not_policies(tmp_path: Path) -> None:
    assert invoke("audit", WRITEUP).exit_code == VIOLATED  # the write-up's burst
    assert_expectation_both_ways(["audit", WRITEUP], {"queue_bounded"}, "no_stall")
    doc = json.loads(invoke("audit", WRITEUP, "--json", "--expect-violation", "queue_bounded").stdout)
    assert doc["exit_code"] == HOLDS  # the document says the code the command exits with
    for bad, words in ((["--expect-violation", "original:queue_bounded"], "not a policy"),
                       (["--expect-violation", "single_active_wave"], "with --max-active")):
        result = invoke("audit", WRITEUP, *bad)
        assert result.exit_code == BAD_INPUT and words in result.stderr


# -- interrupted and internal errors -------------------------------------------------------------

def _raise(err: BaseException) -> Callable[..., Any]:
    def callee(*_args: object, **_kwargs: object) -> Any:
        raise err
    return callee


#: command line -> (module, the callee that the command calls to do its work)
CALLEES: dict[str, tuple[list[str], Any, str]] = {
    "run": (["run", *TRIVIAL], run_command, "run_one"),
    "check": (["check", "--policy", "atomic"], check_command, "run_check"),
    "compare": (["compare", *TRIVIAL], compare_command, "run_comparison"),
    "demo": (["demo"], demo_command, "story"),
    "audit": (["audit", WRITEUP], audit_command, "run_audit"),
}


@pytest.mark.parametrize("name", list(CALLEES))
def test_ctrl_c_is_one_line_and_exit_130(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    args, module, callee = CALLEES[name]
    monkeypatch.setattr(module, callee, _raise(KeyboardInterrupt()))
    result = invoke(*args)
    assert (result.exit_code, result.stdout, result.stderr) == (INTERRUPTED, "", "interrupted\n")


@pytest.mark.parametrize("name", list(CALLEES))
def test_a_bug_is_exit_70_never_a_verdict(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    args, module, callee = CALLEES[name]
    monkeypatch.delenv("WAVESIM_DEBUG", raising=False)
    monkeypatch.setattr(module, callee, _raise(ZeroDivisionError("oops")))
    result = invoke(*args)
    assert (result.exit_code, result.stdout) == (INTERNAL, "")
    assert result.stderr == "error: internal error: ZeroDivisionError: oops (please report)\n"


def test_finish_exits_only_on_a_surprise() -> None:
    @click.command()
    @exitcodes.expect_option
    def judged(expected: Expected) -> None:
        exitcodes.finish({("atomic", "no_stall"): False}, expected)

    assert CliRunner().invoke(judged, []).exit_code == VIOLATED
    assert CliRunner().invoke(judged, ["--expect-violation", "no_stall"]).exit_code == HOLDS
    assert CliRunner().invoke(judged, ["--expect-violation", "atomic:no_stall"]).exit_code == HOLDS


# -- live runs and files written -----------------------------------------------------------------

def test_live_exits_by_the_verdicts_of_its_imports(tmp_path: Path) -> None:
    url, rows = f"sqlite:///{tmp_path / 'live.db'}", tmp_path / "rows.csv"
    one = invoke("live", "--db", url, "--waves", "1", "--wave-size", "2", "--workers", "1", "--csv", str(rows))
    assert (one.exit_code, one.stderr) == (HOLDS, f"wrote {rows}\n"), one.output
    expectation = ["--expect-violation", "guarded:no_stall", "--expect-violation", "guarded:import_completes"]
    stalls = invoke("live", "--db", url, "--policy", "guarded", "--waves", "3", "--wave-size", "2", "--workers", "2",
                    "--deadline-s", "5", "--json", *expectation)
    doc = json.loads(stalls.stdout.splitlines()[0])
    verdicts = {("guarded", n): v["holds"] for n, v in doc["properties"].items()}
    assert not verdicts[("guarded", "no_stall")]  # the write-up's stall, on a real database
    wanted = Expected((("guarded", "no_stall"), ("guarded", "import_completes")))
    assert stalls.exit_code == judge(verdicts, wanted), stalls.output
    runs = tmp_path / "runs.jsonl"
    runs.write_text(stalls.stdout, encoding="utf-8")
    assert invoke("live", "--summarize", str(runs)).exit_code == HOLDS  # a summary judges nothing


def test_readings_names_the_file_it_wrote(tmp_path: Path) -> None:
    out = tmp_path / "calibration.json"
    result = invoke("readings", "--calibration", "--seeds", "1", "--out", str(out))
    assert (result.exit_code, result.stderr) == (HOLDS, f"wrote {out}\n")
    assert isinstance(json.loads(out.read_text(encoding="utf-8")), dict)
