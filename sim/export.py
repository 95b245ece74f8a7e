"""The ``wave_coordination`` table as a user would export it: CSV rows.

Simulated seconds become wall-clock times by adding them to a fixed start,
``EPOCH`` (2025-09-30T13:13:00Z, the incident's day), written as ISO 8601 UTC
with milliseconds. ``wavesim audit`` reads these columns; they do not change.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from coordinator import WaveTable

__all__ = ["COLUMNS", "EPOCH", "rows_csv", "sim_time_to_iso", "table_rows"]

EPOCH = datetime(2025, 9, 30, 13, 13, 0, tzinfo=UTC)

COLUMNS = (
    "job_id", "wave_number", "dependency_level", "status", "total_batches", "completed_batches",
    "failed_batches", "dispatch_count", "dispatched_at", "completed_at",
)


def sim_time_to_iso(seconds: float | None) -> str:
    """``EPOCH + seconds`` as ``YYYY-MM-DDTHH:MM:SS.mmmZ``; ``None`` gives ``""``."""
    if seconds is None:
        return ""
    moment = EPOCH + timedelta(milliseconds=round(seconds * 1000))
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def table_rows(table: WaveTable) -> list[dict[str, str]]:
    """One dict per wave row, keyed by ``COLUMNS``, values as they appear in the CSV."""
    return [
        {
            "job_id": str(r.job_id),
            "wave_number": str(r.wave_number),
            "dependency_level": str(r.dependency_level),
            "status": r.status.value,
            "total_batches": str(r.batches),
            "completed_batches": str(r.completed_batches),
            "failed_batches": str(r.failed_batches),
            "dispatch_count": str(r.dispatch_count),
            "dispatched_at": sim_time_to_iso(r.dispatched_at),
            "completed_at": sim_time_to_iso(r.completed_at),
        }
        for r in table.rows
    ]


def rows_csv(table: WaveTable) -> str:
    """The table as CSV text with a header row (``\\n`` line ends)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(table_rows(table))
    return out.getvalue()
