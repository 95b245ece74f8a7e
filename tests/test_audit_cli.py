"""``wavesim audit`` end to end: table, JSON, plot, exit codes, bad input, simulated histories."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from wavesim.cli import main

FIXTURES = Path(__file__).parent / "fixtures"
WRITEUP = str(FIXTURES / "writeup_dispatches.csv")

WRITEUP_TABLE = """\
wavesim audit writeup_dispatches.csv (csv; naive times read as UTC; shown in UTC)
rows: 36 read, 36 audited (dependency_level -1), 0 skipped
limits: burst = more than 1 dispatched within 1 s; overlap = measured, no limit; stall = idle over 60 s

job 1: 36 waves (2-37), history 2025-09-30 13:13:41.000 .. 2025-09-30 13:20:51.000 (end: latest timestamp)
  check                 result    detail
  dispatch bursts       VIOLATED  3 burst(s); most in 1 s: 30 (waves 5-34) at 2025-09-30 13:13:58.000
  overlapping waves     unknown   cannot tell: no wave with a known end; no completion time for waves 2-37
  stalls                not seen  none over 60 s; no completion time for waves 2-37
  duplicate dispatches  ok        no wave dispatched twice
  never completed       not seen  all marked completed (no completed_at for waves 2-37)
  bursts:
    first dispatch           last dispatch            peak  waves
    2025-09-30 13:13:57.000  2025-09-30 13:13:57.000  2     3-4
    2025-09-30 13:13:58.000  2025-09-30 13:13:58.000  30    5-34
    2025-09-30 13:20:51.000  2025-09-30 13:20:51.000  2     36-37
  note: no usable row for wave 1
  note: waves 2-37 marked completed without completed_at: the audit does not know when they ended,
        so it cannot measure their overlap or rule out a stall

result: VIOLATED (dispatch bursts), exit 1
"""


def audit(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["audit", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def test_the_writeup_table() -> None:
    assert audit(WRITEUP) == (1, WRITEUP_TABLE, "")


def test_the_writeup_json_document() -> None:
    code, out, _ = audit(WRITEUP, "--json")
    doc = json.loads(out)
    assert code == 1
    assert (doc["schema"], doc["violations"], doc["exit_code"]) == ("wavesim.audit/1", ["bursts"], 1)
    assert doc["rows"] == {"read": 36, "audited": 36, "skipped": 0, "other_levels": {}}
    (job,) = doc["jobs"]
    assert job["bursts"] == [
        {"start": "2025-09-30T13:13:57.000Z", "end": "2025-09-30T13:13:57.000Z", "peak": 2, "waves": [3, 4]},
        {"start": "2025-09-30T13:13:58.000Z", "end": "2025-09-30T13:13:58.000Z", "peak": 30,
         "waves": list(range(5, 35))},
        {"start": "2025-09-30T13:20:51.000Z", "end": "2025-09-30T13:20:51.000Z", "peak": 2, "waves": [36, 37]},
    ]
    assert {k: v["result"] for k, v in job["checks"].items()} == {
        "bursts": "violated", "overlap": "unknown", "stalls": "not seen", "duplicates": "ok",
        "never_completed": "not seen"}
    assert job["history"] == {"start": "2025-09-30T13:13:41.000Z", "end": "2025-09-30T13:20:51.000Z",
                              "end_from": "latest timestamp"}


def test_a_clean_history_exits_0(tmp_path: Path) -> None:
    clean = tmp_path / "clean.csv"
    clean.write_text("\n".join((FIXTURES / "audit_jobs.csv").read_text().splitlines()[:5]) + "\n")
    code, out, _ = audit(str(clean))
    assert code == 0
    assert out.endswith("\nresult: clean, exit 0\n")


def test_a_stall_with_now_and_a_json_stall_entry() -> None:
    code, out, _ = audit(str(FIXTURES / "audit_jobs.csv"), "--json", "--now", "2025-09-30 13:00:00")
    doc = json.loads(out)
    assert code == 1
    assert doc["violations"] == ["bursts", "stalls", "duplicates", "never_completed"]
    stalls = {j["job_id"]: j["stalls"] for j in doc["jobs"]}
    assert stalls["8"] == [{"start": "2025-09-30T11:00:30.000Z", "end": "2025-09-30T13:00:00.000Z",
                            "duration_s": 7170.0, "completed_wave": 1, "pending_wave": 3, "ongoing": True}]


def test_naive_times_in_another_zone(tmp_path: Path) -> None:
    berlin = tmp_path / "berlin.csv"
    berlin.write_text(Path(WRITEUP).read_text().replace("2025-09-30 13:", "2025-09-30 15:"))
    code, out, _ = audit(str(berlin), "--json", "--tz", "Europe/Berlin")
    assert (code, json.loads(out)["jobs"][0]["bursts"][1]["start"]) == (1, "2025-09-30T13:13:58.000Z")


def test_bad_rows_are_listed_first_ten_then_a_count(tmp_path: Path) -> None:
    lines = (FIXTURES / "writeup_dispatches.csv").read_text().splitlines()
    broken = lines[:1] + [line.replace("2025-09-30 13:13:58", "13:13:58") for line in lines[1:]]
    path = tmp_path / "broken.csv"
    path.write_text("\n".join(broken) + "\n")
    code, out, _ = audit(str(path))
    assert code == 1
    assert "rows: 36 read, 6 audited (dependency_level -1), 30 skipped\n" in out
    assert ("  line 14: dispatched_at: cannot read time '13:13:58' (use ISO 8601 or YYYY-MM-DD HH:MM:SS)\n"
            "  ... and 20 more\n") in out
    assert out.count("cannot read time") == 10
    assert "2025-09-30 13:13:57.000  2025-09-30 13:13:57.000  2     3-4\n" in out


def test_the_plot_is_written(tmp_path: Path) -> None:
    plot = tmp_path / "timeline.png"
    code, _, err = audit(WRITEUP, "--plot", str(plot))
    assert (code, err) == (1, f"wrote {plot}\n")
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir()] == ["timeline.png"]


@pytest.mark.parametrize(("args", "message"), [
    (["missing.csv"], "error: cannot read missing.csv: no such file\n"),
    ([WRITEUP, "--tz", "Nowhere/Else"],
     "error: --tz 'Nowhere/Else' is not a time zone: use UTC, a name like Europe/Berlin, or +02:00\n"),
    ([WRITEUP, "--now", "later"],
     "error: --now: cannot read time 'later' (use ISO 8601 or YYYY-MM-DD HH:MM:SS)\n"),
    ([WRITEUP, "--now", "2025-09-30 13:00:00"],
     "error: --now 2025-09-30 13:00:00 is before the latest timestamp of job 1 (2025-09-30 13:20:51.000 UTC): "
     "--now must be at or after the end of the history\n"),
    ([WRITEUP, "--level", "0"],
     "error: writeup_dispatches.csv has no usable rows at dependency_level 0 (found levels -1; use --level)\n"),
    ([WRITEUP, "--plot", "timeline.gif"], "error: --plot timeline.gif: the file name must end in .png, .svg, .pdf\n"),
    ([WRITEUP, "--plot", "no/such/folder/t.png"], "error: cannot write no/such/folder/t.png: folder no/such/folder "
                                                  "does not exist\n"),
    ([WRITEUP, "--window", "0"], "error: --window 0.0 must be above 0 seconds\n"),
])
def test_bad_options_are_one_line_and_exit_2(args: list[str], message: str) -> None:
    assert audit(*args) == (2, "", message)


@pytest.mark.parametrize(("content", "message"), [
    (b"", "error: bad.csv is empty: expected a CSV header or JSON Lines with job_id, wave_number, dependency_level, "
          "status, dispatched_at, completed_at\n"),
    (b"\xff\xfe\x00garbage", "error: cannot read {path}: not UTF-8 text\n"),
    (b"job_id,wave_number,status\n1,2,pending\n",
     "error: bad.csv lacks the required column(s) dependency_level, dispatched_at, completed_at "
     "(needs job_id, wave_number, dependency_level, status, dispatched_at, completed_at)\n"),
    (b"job_id,wave_number,dependency_level,status,dispatched_at,completed_at\n1,2,-1,waiting,,\n",
     "error: bad.csv has no usable rows (all 1 rows are bad, the first at line 2: status 'waiting' is not one of "
     "pending, dispatching, processing, completed)\n"),
])
def test_unusable_files_exit_2(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    assert audit(str(path)) == (2, "", message.format(path=path))


def simulate(tmp_path: Path, policy: str, *extra: str) -> Path:
    csv_path = tmp_path / f"{policy}.csv"
    run = CliRunner().invoke(main, ["run", "--preset", "incident", "--policy", policy, "--seed", "1",
                                    *extra, "--csv", str(csv_path)])
    assert run.exit_code in (0, 1) and csv_path.is_file(), run.output  # 1: the run broke a property
    return csv_path


def test_the_burst_is_found_in_a_simulated_original_run(tmp_path: Path) -> None:
    code, out, _ = audit(str(simulate(tmp_path, "original")), "--json")
    doc = json.loads(out)
    (job,) = doc["jobs"]
    assert (code, "bursts" in doc["violations"]) == (1, True)
    assert job["most_in_window"]["count"] > 10
    assert job["checks"]["stalls"]["result"] == job["checks"]["never_completed"]["result"] == "ok"


@pytest.mark.parametrize(("policy", "expected"), [("original", 1), ("atomic", 0)])
def test_original_bursts_and_atomic_is_clean_on_the_same_scenario(tmp_path: Path, policy: str, expected: int) -> None:
    # Batches of 1 s on average, so a wave takes seconds to reach its threshold, as in the write-up
    # (16 s from wave 2 to wave 3); the incident preset's 0.1 s batches finish a wave in about 0.6 s,
    # and then even atomic's sequential hand-overs put 2 or 3 dispatches in one second.
    code, out, _ = audit(str(simulate(tmp_path, policy, "--batch-mean-s", "1")), "--json")
    doc = json.loads(out)
    bursts = [b for job in doc["jobs"] for b in job["bursts"]]
    assert (code, doc["exit_code"]) == (expected, expected)
    if policy == "original":
        assert "bursts" in doc["violations"]
        assert max(b["peak"] for b in bursts) > 10
    else:
        assert (doc["violations"], bursts) == ([], [])
