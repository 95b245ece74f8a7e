"""Reading an export of the ``wave_coordination`` table: CSV or JSON Lines.

Times become integer microseconds since the Unix epoch, in UTC, so that every
comparison in the audit is exact. Naive timestamps (no offset, no ``Z``) are
read in the zone given by ``tz`` (UTC unless the user says otherwise); a
timestamp with an offset is converted. Accepted forms: ISO 8601
(``2025-09-30T13:13:58.123Z``, ``2025-09-30T13:13:58+02:00``) and MySQL DATETIME
(``2025-09-30 13:13:58``, optionally with up to six fractional digits). Empty
cells, ``NULL`` and ``\\N`` mean "not known".

CSV may be comma- or tab-separated (``mysql --batch`` writes tabs and ``NULL``);
a UTF-8 byte-order mark is ignored. A row that cannot be used (a missing field, an unparseable value, completed
before dispatched) becomes a ``BadRow`` with its line number; the rest are
read. A file that cannot be used at all raises ``BadInput``. ``read_records`` is the reading of the file
before any column is read, which the audit of a spec's own tables (``audit.tables``) shares.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from coordinator.lifecycle import Status
from userio.errors import BadInput

__all__ = [
    "FORMATS",
    "OPTIONAL",
    "REQUIRED",
    "STATUSES",
    "BadRow",
    "History",
    "Row",
    "Record",
    "format_time",
    "is_null",
    "parse_time",
    "parse_zone",
    "read_history",
    "read_records",
]

#: The columns every export must have.
REQUIRED = ("job_id", "wave_number", "dependency_level", "status", "dispatched_at", "completed_at")
#: The optional progress columns (the simulation's ``--csv`` writes all four).
OPTIONAL = ("total_batches", "completed_batches", "failed_batches", "dispatch_count")
#: The status values a row may carry (the write-up's lifecycle).
STATUSES = tuple(s.value for s in Status)
FORMATS = ("auto", "csv", "jsonl")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
_NULLS = {"", "null", "\\n", "none"}
_TIME = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d{1,6})?"
    r"(?P<zone>Z|[+-]\d{2}:?\d{2})?"
)
_OFFSET = re.compile(r"(?P<sign>[+-])(?P<h>\d{2}):?(?P<m>\d{2})")
#: one record of a file: its cells by lower-case column (JSON values as parsed, CSV cells as text), or why its
#: line is not one (a CSV line of the wrong width, a JSON line that is not an object)
Record = dict[str, object] | str


@dataclass(frozen=True, slots=True, kw_only=True)
class Row:
    """One usable row of the export; times in microseconds since the epoch (UTC)."""

    line: int
    job_id: str
    wave_number: int
    dependency_level: int
    status: str
    dispatched_at: int | None
    completed_at: int | None
    total_batches: int | None = None
    completed_batches: int | None = None
    failed_batches: int | None = None
    dispatch_count: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class BadRow:
    """A row the audit skipped, and why."""

    line: int
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class History:
    """What was read from one export file."""

    format: str
    rows: tuple[Row, ...]
    bad_rows: tuple[BadRow, ...]
    columns: tuple[str, ...]


def parse_zone(text: str) -> tzinfo:
    """``UTC``, an IANA zone name (``Europe/Berlin``) or a fixed offset (``+02:00``)."""
    name = text.strip()
    if name.upper() in {"UTC", "Z"}:
        return UTC
    fixed = _OFFSET.fullmatch(name)
    if fixed:
        sign = -1 if fixed["sign"] == "-" else 1
        return timezone(sign * timedelta(hours=int(fixed["h"]), minutes=int(fixed["m"])))
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadInput(f"--tz {text!r} is not a time zone: use UTC, a name like Europe/Berlin, or +02:00") from None


def parse_time(text: str, tz: tzinfo = UTC) -> int:
    """Microseconds since the epoch for one timestamp; ``ValueError`` if it is not one."""
    value = text.strip()
    match = _TIME.fullmatch(value)
    if not match:
        raise ValueError(f"cannot read time {text!r} (use ISO 8601 or YYYY-MM-DD HH:MM:SS)")
    stamp = datetime.fromisoformat(value)
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=tz)
    return (stamp - _EPOCH) // _US


def format_time(us: int) -> str:
    """A time as ``YYYY-MM-DD HH:MM:SS.mmm`` UTC (milliseconds; the audit's display form)."""
    stamp = _EPOCH + timedelta(microseconds=us)
    return stamp.strftime("%Y-%m-%d %H:%M:%S.") + f"{stamp.microsecond // 1000:03d}"


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not allowed")
    if isinstance(value, (str, int, float)):
        return str(value).strip()
    raise ValueError(f"{json.dumps(value)} is not a plain value")


def is_null(text: str) -> bool:
    """Whether a cell's text means "not known": empty, ``NULL`` or ``\\N`` (any case)."""
    return text.lower() in _NULLS


def _int(name: str, text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{name} {text!r} is not a whole number") from None


def _optional_int(name: str, text: str) -> int | None:
    if is_null(text):
        return None
    number = _int(name, text)
    if number < 0:
        raise ValueError(f"{name} {number} is negative")
    return number


def _row(line: int, record: dict[str, object], tz: tzinfo) -> Row:
    missing = [c for c in REQUIRED if c not in record]
    if missing:
        raise ValueError(f"missing {', '.join(missing)}")
    cells = {name: _cell(value) for name, value in record.items()}
    job_id = cells["job_id"]
    if is_null(job_id):
        raise ValueError("job_id is empty")
    status = cells["status"].lower()
    if status not in STATUSES:
        raise ValueError(f"status {cells['status']!r} is not one of {', '.join(STATUSES)}")
    times: dict[str, int | None] = {}
    for name in ("dispatched_at", "completed_at"):
        text = cells[name]
        try:
            times[name] = None if is_null(text) else parse_time(text, tz)
        except ValueError as err:
            raise ValueError(f"{name}: {err}") from None
    dispatched, completed = times["dispatched_at"], times["completed_at"]
    if completed is not None and dispatched is not None and completed < dispatched:
        raise ValueError(f"completed_at {cells['completed_at']} is before dispatched_at {cells['dispatched_at']}")
    if completed is not None and dispatched is None:
        raise ValueError("completed_at is given but dispatched_at is empty")
    wave = _int("wave_number", cells["wave_number"])
    if wave < 1:
        raise ValueError(f"wave_number {wave} is not positive")
    extra = {name: _optional_int(name, cells.get(name, "")) for name in OPTIONAL}
    return Row(
        line=line,
        job_id=job_id,
        wave_number=wave,
        dependency_level=_int("dependency_level", cells["dependency_level"]),
        status=status,
        dispatched_at=dispatched,
        completed_at=completed,
        **extra,
    )


def _records_csv(text: str) -> tuple[tuple[str, ...], list[tuple[int, Record]]]:
    first = text.lstrip("\ufeff\r\n").split("\n", 1)[0]
    delimiter = "\t" if "\t" in first and "," not in first else ","
    reader = csv.reader(text.lstrip("\ufeff").splitlines(keepends=True), delimiter=delimiter)
    try:
        header: list[str] | None = None
        records: list[tuple[int, Record]] = []
        while True:
            start = reader.line_num + 1
            try:
                fields = next(reader)
            except StopIteration:
                break
            if not fields or all(not f.strip() for f in fields):
                continue
            if header is None:
                header = [f.strip().lower() for f in fields]
                continue
            if len(fields) != len(header):
                records.append((start, f"has {len(fields)} fields, the header has {len(header)}"))
            else:
                records.append((start, dict(zip(header, fields, strict=True))))
    except csv.Error as err:
        raise BadInput(f"cannot parse CSV at line {reader.line_num}: {err}") from None
    return tuple(header or ()), records


def _records_jsonl(text: str) -> tuple[tuple[str, ...], list[tuple[int, Record]]]:
    seen: dict[str, None] = {}
    records: list[tuple[int, Record]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as err:
            records.append((number, f"not JSON: {err.msg}"))
            continue
        if not isinstance(value, dict):
            records.append((number, "not a JSON object"))
            continue
        record = {str(k).lower(): v for k, v in value.items()}
        seen.update(dict.fromkeys(record))
        records.append((number, record))
    return tuple(seen), records


def read_records(text: str, *, fmt: str = "auto") -> tuple[str, tuple[str, ...], list[tuple[int, Record]]]:
    """The format read (``auto``: JSON Lines when the text starts with ``{``, else CSV), the columns (lower case,
    in the order first seen) and each record by its line; ``BadInput`` for CSV that cannot be parsed."""
    if fmt == "auto":
        fmt = "jsonl" if text.lstrip().startswith("{") else "csv"
    columns, records = _records_jsonl(text) if fmt == "jsonl" else _records_csv(text)
    return fmt, columns, records


def read_history(text: str, *, name: str, fmt: str = "auto", tz: tzinfo = UTC) -> History:
    """Read one export; ``BadInput`` if the file as a whole cannot be used."""
    if not text.strip():
        raise BadInput(f"{name} is empty: expected a CSV header or JSON Lines with {', '.join(REQUIRED)}")
    fmt, columns, records = read_records(text, fmt=fmt)
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise BadInput(f"{name} lacks the required column(s) {', '.join(missing)} (needs {', '.join(REQUIRED)})")
    rows: list[Row] = []
    bad: list[BadRow] = []
    for line, record in records:
        if isinstance(record, str):
            bad.append(BadRow(line=line, reason=record))
            continue
        try:
            rows.append(_row(line, record, tz))
        except ValueError as err:
            bad.append(BadRow(line=line, reason=str(err)))
    if not rows:
        why = f"all {len(bad)} rows are bad, the first at line {bad[0].line}: {bad[0].reason}" if bad else "no rows"
        raise BadInput(f"{name} has no usable rows ({why})")
    return History(format=fmt, rows=tuple(rows), bad_rows=tuple(bad), columns=columns)
