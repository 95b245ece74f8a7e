"""``wavesim audit SPEC EXPORT...``: a spec's properties judged on exports of its tables.

The fixture spec ``tests/fixtures/specs/batches.py`` has a property of each kind the audit tells apart: on one
table, on two tables, on the scope, on the ghost counts, and an eventually goal. ``tests/fixtures/spec_audit``
holds exports of its two tables in which batch 7 is finished with a job pending.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from test_bad_input import assert_one_line

from audit.properties import audit_exports
from audit.tables import read_table, value_of
from coordinator.writeup import spec as writeup
from specfile.load import load_spec
from userio.errors import BadInput
from wavesim.cli import main

FIXTURES = Path(__file__).parent / "fixtures"
SPEC = str(FIXTURES / "specs" / "batches.py")
BATCHES = str(FIXTURES / "spec_audit" / "job_batches.csv")
JOBS = str(FIXTURES / "spec_audit" / "jobs.jsonl")
HEADER = "id,name,total_jobs,pending_jobs,failed_jobs,cancelled,finished_at\n"
CLEAN_BATCHES = HEADER + "1,import,2,0,0,f,1727702038\n2,export,2,1,0,false,\n"
CLEAN_JOBS = "id,batch_id,done\n11,1,t\n12,1,t\n21,2,true\n22,2,false\n"

FIXTURE_TABLE = f"""\
spec batches; scope jobs=2, max_jobs=1000, fix=locked
exports: job_batches <- {BATCHES} (csv, 4 rows); jobs <- {JOBS} (jsonl, 10 rows)
note: columns the spec does not declare, ignored: {BATCHES}: created_at
  property                     verdict    detail
  counts_in_range              holds      -
  finished_only_when_drained   VIOLATED   batch(es) [7] finished with jobs pending
  pending_counts_jobs_left     holds      -
  then_at_most_once            not judged reads ghost counts (count), which no export holds
  every_batch_finished         not judged an eventually goal: an export is one moment, no future to reach it in

result: VIOLATED (finished_only_when_drained); 3 of 5 properties judged; exit 1
"""


def invoke(*args: str) -> Result:
    result = CliRunner().invoke(main, ["audit", *args])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def write(folder: Path, name: str, text: str) -> str:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return str(path)


# -- verdicts ----------------------------------------------------------------------------------------------

def test_a_clean_export_exits_0_with_what_was_not_judged_named(tmp_path: Path) -> None:
    result = invoke(SPEC, write(tmp_path, "job_batches.csv", CLEAN_BATCHES), write(tmp_path, "jobs.csv", CLEAN_JOBS))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert [line.split()[:2] for line in lines[3:8]] == [
        ["counts_in_range", "holds"], ["finished_only_when_drained", "holds"], ["pending_counts_jobs_left", "holds"],
        ["then_at_most_once", "not"], ["every_batch_finished", "not"]]
    assert lines[-1] == "result: holds; 3 of 5 properties judged; exit 0"


def test_an_export_that_breaks_an_always_property_exits_1_naming_it() -> None:
    result = invoke(SPEC, BATCHES, JOBS)
    assert (result.exit_code, result.stdout, result.stderr) == (1, FIXTURE_TABLE, "")


def test_the_json_document() -> None:
    result = invoke(SPEC, BATCHES, "--table", f"jobs={JOBS}", "--json")
    doc = json.loads(result.stdout)
    assert (result.exit_code, doc["schema"], doc["spec"], doc["exit_code"]) == (1, "wavesim.spec-audit/1", "batches", 1)
    assert doc["spec_file"] == str(Path(SPEC).resolve())
    assert doc["scope"] == {"jobs": 2, "max_jobs": 1000, "fix": "locked"}
    assert doc["exports"] == [
        {"table": "job_batches", "file": BATCHES, "format": "csv", "rows": 4, "ignored_columns": ["created_at"]},
        {"table": "jobs", "file": JOBS, "format": "jsonl", "rows": 10, "ignored_columns": []}]
    assert {n: (p["kind"], p["verdict"], p["holds"], p["reads"]) for n, p in doc["properties"].items()} == {
        "counts_in_range": ("always", "holds", True, []),
        "finished_only_when_drained": ("always", "violated", False, []),
        "pending_counts_jobs_left": ("always", "holds", True, []),
        "then_at_most_once": ("always", "not judged", None, ["ghost counts (count)"]),
        "every_batch_finished": ("eventually", "not judged", None, [])}
    assert doc["properties"]["finished_only_when_drained"]["detail"] == "batch(es) [7] finished with jobs pending"


def test_a_property_reading_ghost_counts_or_a_table_not_given_is_not_judged_never_holds() -> None:
    spec = load_spec(SPEC)
    (batches,) = [t for t in spec.schema.tables if t.name == "job_batches"]
    export = read_table(CLEAN_BATCHES, table=batches, file="job_batches.csv")
    judged = {j.name: j for j in audit_exports(spec, spec.scope_of(), [export]).judged}
    assert (judged["then_at_most_once"].verdict, judged["then_at_most_once"].reads) == (
        "not judged", ("ghost counts (count)",))
    assert (judged["pending_counts_jobs_left"].verdict, judged["pending_counts_jobs_left"].detail) == (
        "not judged", "reads table jobs, which no export holds")
    assert judged["every_batch_finished"].held is None
    assert judged["counts_in_range"].held is True


def wave_coordination(folder: Path, *waves: tuple[int, str]) -> str:
    """An export of the write-up spec's table, one row per (wave, status), no batch finished."""
    names = [c.name for c in writeup.schema.tables[0].columns]
    lines = [",".join(names)]
    for wave, status in waves:
        cells = {n: "0" for n in names} | {"wave_number": str(wave), "job_id": "1", "dependency_level": "-1",
                                          "status": status, "total_batches": "2", "claimed_at": "",
                                          "claimed_by": ""}
        lines.append(",".join(cells[n] for n in names))
    return write(folder, "wave_coordination.csv", "\n".join(lines) + "\n")


def test_the_write_ups_own_spec_audits_an_export_of_its_table(tmp_path: Path) -> None:
    export = wave_coordination(tmp_path, (1, "processing"), (2, "processing"), (3, "pending"))
    result = invoke("coordinator/writeup.py", export, "--policy", "original", "--json")
    verdicts = {n: p["verdict"] for n, p in json.loads(result.stdout)["properties"].items()}
    assert result.exit_code == 1
    assert verdicts == {"single_active_wave": "violated", "one_wave_below_threshold": "violated",
                        "threshold_respected": "violated", "no_duplicate_claim": "not judged",
                        "no_duplicate_push": "not judged", "queue_bounded": "not judged", "no_stall": "not judged",
                        "import_completes": "not judged"}
    assert json.loads(result.stdout)["scope"]["policy"] == "original"


def test_a_check_that_raises_on_the_rows_is_a_violation_naming_the_error(tmp_path: Path) -> None:
    # the write-up spec reads a wave's row by its number: an export without wave 1 is not what it expects
    export = wave_coordination(tmp_path, (2, "completed"), (3, "processing"))
    properties = json.loads(invoke("coordinator/writeup.py", export, "--json").stdout)["properties"]
    assert (properties["one_wave_below_threshold"]["verdict"], properties["one_wave_below_threshold"]["detail"]) == (
        "violated", "the check raised: property 'one_wave_below_threshold' raised IndexError: list index out of range")
    assert properties["single_active_wave"]["verdict"] == "holds"


def test_the_scope_is_what_the_properties_read(tmp_path: Path) -> None:
    batches = write(tmp_path, "job_batches.csv", CLEAN_BATCHES)
    assert invoke(SPEC, batches).exit_code == 0
    result = invoke(SPEC, batches, "--scope", "max_jobs=1")
    assert result.exit_code == 1
    assert "counts_in_range              VIOLATED   batch 1: failed 0, pending 0, total 2 (at most 1)" in result.stdout


def test_expected_violations_are_the_spec_s_judged_properties() -> None:
    assert invoke(SPEC, BATCHES, JOBS, "--expect-violation", "finished_only_when_drained").exit_code == 0
    assert invoke(SPEC, BATCHES, JOBS, "--expect-violation", "batches:finished_only_when_drained").exit_code == 0
    surprised = invoke(SPEC, BATCHES, JOBS, "--expect-violation", "counts_in_range")
    assert surprised.exit_code == 1
    assert surprised.stderr.splitlines() == [
        "not as expected: batches: counts_in_range held, expected a violation",
        "not as expected: batches: finished_only_when_drained violated, expected to hold"]
    assert_one_line(invoke(SPEC, BATCHES, JOBS, "--expect-violation", "then_at_most_once"), "then_at_most_once",
                    "judged: counts_in_range, finished_only_when_drained, pending_counts_jobs_left")


def test_no_property_judged_is_bad_input_naming_why() -> None:
    assert_one_line(invoke("examples/batch_counter.py", "--table", f"job_batches={BATCHES}"),
                    "spec batch-counter: no property can be judged", "callback_at_most_once: reads ghost counts",
                    "callback_ran: an eventually goal")


# -- reading the exports -------------------------------------------------------------------------------------

def test_values_are_typed_as_the_spec_declares_them() -> None:
    spec = load_spec(SPEC)
    batches, jobs = spec.schema.tables
    read = read_table(HEADER + '2,"",2,1,0,yes,\n1,x,1,0,0,0,NULL\n', table=batches, file="b.csv")
    assert read.rows == ((1, "x", 1, 0, 0, False, None), (2, "", 2, 1, 0, True, None))  # in key order
    read = read_table('{"id": 3, "batch_id": "2", "done": 1, "note": [1]}\n', table=jobs, file="j.jsonl")
    assert (read.rows, read.ignored, read.format) == (((3, 2, True),), ("note",), "jsonl")


def test_a_datetime_column_is_microseconds_in_utc_as_the_simulation_holds_it() -> None:
    spec = load_spec(FIXTURES / "specs" / "leased.py")
    claimed_at = spec.schema.tables[0].columns[2]
    assert value_of(claimed_at, "1970-01-01 00:00:01.5") == 1_500_000
    assert value_of(claimed_at, "1970-01-01T01:00:00+01:00") == 0
    assert value_of(claimed_at, "") is None
    with pytest.raises(ValueError, match="cannot read time"):
        value_of(claimed_at, "soon")


#: (file name, its text, words the one error line holds): each refused with the file and (where there is one)
#: the line
BAD_EXPORTS = {
    "not-a-number": ("job_batches.csv", HEADER + "1,a,x,0,0,f,\n", ("job_batches.csv:2", "total_jobs", "'x'",
                                                                     "whole number")),
    "no-key": ("job_batches.csv", HEADER + ",a,1,0,0,f,\n", ("job_batches.csv:2", "no primary key", "id")),
    "no-key-column": ("job_batches.csv", HEADER.replace("id,", "") + "a,1,0,0,f,\n",
                      ("job_batches.csv", "no column id", "primary key")),
    "duplicate-key": ("job_batches.csv", HEADER + "1,a,1,0,0,f,\n1,b,1,0,0,f,\n",
                      ("job_batches.csv:3", "id=1", "line 2")),
    "null-not-null": ("job_batches.csv", HEADER + "1,a,1,,0,f,\n", ("job_batches.csv:2", "pending_jobs", "NOT NULL")),
    "not-boolean": ("job_batches.csv", HEADER + "1,a,1,0,0,maybe,\n", ("job_batches.csv:2", "cancelled", "'maybe'")),
    "too-long": ("job_batches.csv", HEADER + f"1,{'x' * 21},1,0,0,f,\n", ("job_batches.csv:2", "String(20)")),
    "missing-column": ("job_batches.csv", HEADER.replace(",finished_at", "") + "1,a,1,0,0,f\n",
                       ("job_batches.csv", "lacks column(s) finished_at")),
    "wrong-width": ("job_batches.csv", HEADER + "1,a,1\n", ("job_batches.csv:2", "3 fields")),
    "empty": ("job_batches.csv", "", ("job_batches.csv is empty", "id, name")),
    "json-missing-value": ("jobs.jsonl", '{"id": 1, "batch_id": 1, "done": true}\n{"id": 2, "batch_id": 1}\n',
                           ("jobs.jsonl:2", "no value for column done")),
    "json-not-json": ("jobs.jsonl", '{"id": 1, "batch_id": 1, "done": true}\n{"id": 2\n', ("jobs.jsonl:2", "not JSON")),
    "json-fraction": ("jobs.jsonl", '{"id": 1, "batch_id": 1.5, "done": true}\n', ("jobs.jsonl:1", "1.5")),
    "unknown-table": ("orders.csv", "id\n1\n", ("orders.csv", "no table 'orders'", "job_batches, jobs",
                                                "--table NAME=FILE")),
}


@pytest.mark.parametrize("name", list(BAD_EXPORTS))
def test_an_export_that_does_not_fit_is_one_line_naming_the_file(name: str, tmp_path: Path) -> None:
    file, text, words = BAD_EXPORTS[name]
    assert_one_line(invoke(SPEC, write(tmp_path, file, text)), *words)


#: the audit's arguments (after the spec, ``{b}`` a clean export of job_batches) and the words of the one line
BAD_OPTIONS = {
    "no-export": ((), ("spec batches", "give the exports", "--table NAME=FILE")),
    "table-twice": (("{b}", "--table", "job_batches={b}"), ("table job_batches is given twice",)),
    "table-unknown": (("--table", "orders={b}"), ("--table orders=", "no table 'orders'")),
    "table-no-file": (("--table", "jobs"), ("--table 'jobs'", "NAME=FILE")),
    "scope-unknown": (("{b}", "--scope", "nope=1"), ("no scope entry or switch 'nope'",)),
    "scope-not-a-number": (("{b}", "--scope", "max_jobs=many"), ("max_jobs=many", "integer")),
    "switch-value": (("{b}", "--switch", "fix=bogus"), ("fix=bogus", "none, locked")),
    "policy-without-switch": (("{b}", "--policy", "atomic"), ("--policy", "no 'policy' switch")),
    "file-only-option": (("{b}", "--max-active", "1"), ("--max-active", "wavesim audit FILE")),
    "missing-export": (("--table", "jobs=nowhere.csv"), ("nowhere.csv", "no such file")),
    "tz": (("{b}", "--tz", "Mars/Olympus"), ("Mars/Olympus",)),
}


@pytest.mark.parametrize("name", list(BAD_OPTIONS))
def test_bad_options_are_one_line(name: str, tmp_path: Path) -> None:
    args, words = BAD_OPTIONS[name]
    batches = write(tmp_path, "job_batches.csv", CLEAN_BATCHES)
    assert_one_line(invoke(SPEC, *(a.format(b=batches) for a in args)), *words)


def test_the_write_ups_audit_refuses_a_spec_s_options_and_a_second_file() -> None:
    writeup_export = str(FIXTURES / "writeup_dispatches.csv")
    assert_one_line(invoke(writeup_export, "--scope", "waves=2"), "--scope", "give the spec file first")
    assert_one_line(invoke(writeup_export, writeup_export), "not a spec file", "takes one FILE")
    assert invoke(writeup_export).exit_code == 1  # the write-up's burst, as before


def test_the_reader_refuses_rather_than_skips() -> None:
    spec = load_spec(SPEC)
    with pytest.raises(BadInput, match=r"b.csv:3: column total_jobs"):
        read_table(HEADER + "1,a,1,0,0,f,\n2,a,two,0,0,f,\n3,a,1,0,0,f,\n", table=spec.schema.tables[0], file="b.csv")
