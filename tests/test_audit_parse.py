"""Reading exports: timestamp forms, CSV and JSON Lines, bad rows, bad files."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from audit.parse import BadRow, Row, format_time, parse_time, parse_zone, read_history
from userio.errors import BadInput

FIXTURES = Path(__file__).parent / "fixtures"
HEADER = "job_id,wave_number,dependency_level,status,dispatched_at,completed_at\n"


def us(*args: int) -> int:
    """Microseconds since the epoch of a UTC wall time."""
    return int(datetime(*args, tzinfo=UTC).timestamp()) * 1_000_000


@pytest.mark.parametrize(("text", "expected"), [
    ("2025-09-30 13:13:58", us(2025, 9, 30, 13, 13, 58)),
    ("2025-09-30T13:13:58", us(2025, 9, 30, 13, 13, 58)),
    ("2025-09-30T13:13:58.123Z", us(2025, 9, 30, 13, 13, 58) + 123_000),
    ("2025-09-30 13:13:58.5", us(2025, 9, 30, 13, 13, 58) + 500_000),
    ("2025-09-30T15:13:58+02:00", us(2025, 9, 30, 13, 13, 58)),
    ("2025-09-30T08:13:58-0500", us(2025, 9, 30, 13, 13, 58)),
])
def test_timestamp_forms_are_read_as_utc(text: str, expected: int) -> None:
    assert parse_time(text) == expected


def test_naive_times_take_the_given_zone_and_offsets_win() -> None:
    berlin = parse_zone("Europe/Berlin")
    assert parse_time("2025-09-30 15:13:58", berlin) == us(2025, 9, 30, 13, 13, 58)
    assert parse_time("2025-09-30 13:13:58Z", berlin) == us(2025, 9, 30, 13, 13, 58)
    assert parse_time("2025-09-30 16:13:58", parse_zone("+03:00")) == us(2025, 9, 30, 13, 13, 58)


@pytest.mark.parametrize("text", ["yesterday", "2025-09-30", "13:13:58", "2025-09-30 13:13", "2025-13-30 13:13:58"])
def test_what_is_not_a_timestamp(text: str) -> None:
    with pytest.raises(ValueError):
        parse_time(text)


def test_an_unknown_zone_is_bad_input() -> None:
    with pytest.raises(BadInput, match="'Mars/Olympus' is not a time zone"):
        parse_zone("Mars/Olympus")


def test_format_time_shows_milliseconds() -> None:
    assert format_time(us(2025, 9, 30, 13, 13, 58) + 123_456) == "2025-09-30 13:13:58.123"


def test_the_simulations_csv_columns_are_read_whole() -> None:
    text = ("job_id,wave_number,dependency_level,status,total_batches,completed_batches,failed_batches,"
            "dispatch_count,dispatched_at,completed_at\n"
            "1,2,-1,processing,50,45,1,1,2025-09-30T13:13:58.123Z,\n")
    history = read_history(text, name="sim.csv")
    assert history.format == "csv"
    assert history.bad_rows == ()
    assert history.rows == (Row(line=2, job_id="1", wave_number=2, dependency_level=-1, status="processing",
                                dispatched_at=us(2025, 9, 30, 13, 13, 58) + 123_000, completed_at=None,
                                total_batches=50, completed_batches=45, failed_batches=1, dispatch_count=1),)


def test_bad_rows_are_skipped_with_their_line_numbers() -> None:
    history = read_history((FIXTURES / "audit_bad_rows.csv").read_text(), name="audit_bad_rows.csv")
    assert [r.line for r in history.rows] == [2, 9]
    assert history.bad_rows == (
        BadRow(line=3, reason="completed_at: cannot read time 'yesterday' (use ISO 8601 or YYYY-MM-DD HH:MM:SS)"),
        BadRow(line=4, reason="wave_number 'two' is not a whole number"),
        BadRow(line=5, reason="completed_at 2025-09-30 09:00:30 is before dispatched_at 2025-09-30 09:00:38"),
        BadRow(line=6, reason="status 'done' is not one of pending, dispatching, processing, completed"),
        BadRow(line=7, reason="has 3 fields, the header has 6"),
        BadRow(line=8, reason="completed_at is given but dispatched_at is empty"),
    )


def test_json_lines_rows_keep_their_line_numbers_and_nulls() -> None:
    history = read_history((FIXTURES / "audit_per_dispatch.jsonl").read_text(), name="x.jsonl")
    assert history.format == "jsonl"
    assert [(r.line, r.wave_number, r.completed_at is None) for r in history.rows] == [
        (1, 1, False), (2, 2, False), (3, 2, True), (5, 3, False)]
    assert history.rows[0].dispatched_at == us(2025, 9, 30, 13, 0, 0)


def test_json_lines_bad_lines_and_missing_keys() -> None:
    good = '{"job_id": 1, "wave_number": 1, "dependency_level": -1, "status": "pending", ' \
           '"dispatched_at": null, "completed_at": null}'
    text = "\n".join([good, "{not json", "[1, 2]", '{"job_id": 1, "wave_number": 2}', good.replace("-1", "true")])
    history = read_history(text, name="x.jsonl")
    assert [r.line for r in history.rows] == [1]
    assert history.bad_rows == (
        BadRow(line=2, reason="not JSON: Expecting property name enclosed in double quotes"),
        BadRow(line=3, reason="not a JSON object"),
        BadRow(line=4, reason="missing dependency_level, status, dispatched_at, completed_at"),
        BadRow(line=5, reason="True is not allowed"),
    )


def test_tab_separated_mysql_batch_output_with_a_byte_order_mark() -> None:
    text = "\ufeff" + HEADER.replace(",", "\t") + "1\t2\t-1\tpending\tNULL\tNULL\n"
    history = read_history(text, name="x.tsv")
    assert history.bad_rows == ()
    assert history.rows == (Row(line=2, job_id="1", wave_number=2, dependency_level=-1, status="pending",
                                dispatched_at=None, completed_at=None),)


def test_a_multi_line_csv_field_is_numbered_by_its_first_line() -> None:
    text = HEADER + '1,1,-1,"pend\ning",,\n1,x,-1,pending,,\n1,2,-1,pending,,\n'
    history = read_history(text, name="x.csv")
    assert [b.line for b in history.bad_rows] == [2, 4]
    assert [r.line for r in history.rows] == [5]


@pytest.mark.parametrize(("text", "message"), [
    ("", "x.csv is empty: expected a CSV header or JSON Lines with job_id, wave_number"),
    ("\n  \n", "x.csv is empty"),
    ("job_id,wave_number,status\n1,1,pending\n",
     "x.csv lacks the required column(s) dependency_level, dispatched_at, completed_at"),
    (HEADER + "1,1,-1,pending,soon,\n",
     "x.csv has no usable rows (all 1 rows are bad, the first at line 2: dispatched_at: cannot read time 'soon'"),
    (HEADER, "x.csv has no usable rows (no rows)"),
    ('{"job_id": 1}\n', "x.csv lacks the required column(s) wave_number, dependency_level, status"),
    ("hello world\n", "x.csv lacks the required column(s) job_id, wave_number, dependency_level, status"),
])
def test_unusable_files_are_bad_input(text: str, message: str) -> None:
    with pytest.raises(BadInput) as caught:
        read_history(text, name="x.csv")
    assert caught.value.format_message().startswith(message)
