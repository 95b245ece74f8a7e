"""One audit of one export: the jobs' findings, the skipped rows and the settings."""

from __future__ import annotations

from dataclasses import dataclass

from audit.checks import KINDS, JobAudit, Limits, audit_job
from audit.parse import BadRow, History, Row

__all__ = ["MAIN_LEVEL", "Report", "audit_history"]

#: ``dependency_level`` of the main waves, the ones audited by default.
MAIN_LEVEL = -1


@dataclass(frozen=True, slots=True, kw_only=True)
class Report:
    """Everything ``wavesim audit`` says about one file."""

    file: str
    format: str
    tz: str
    level: int
    limits: Limits
    rows_read: int
    rows_audited: int
    other_levels: dict[int, int]
    bad_rows: tuple[BadRow, ...]
    jobs: tuple[JobAudit, ...]

    def violations(self) -> tuple[str, ...]:
        """The finding kinds violated by any job, each once, in report order."""
        broken = {kind for job in self.jobs for kind in job.violations()}
        return tuple(kind for kind in KINDS if kind in broken)

    @property
    def exit_code(self) -> int:
        """1 when a property is violated, 0 when clean."""
        return 1 if self.violations() else 0


def _job_key(job_id: str) -> tuple[int, int | str]:
    return (0, int(job_id)) if job_id.lstrip("-").isdigit() else (1, job_id)


def audit_history(history: History, *, file: str, limits: Limits, level: int = MAIN_LEVEL, tz: str = "UTC") -> Report:
    """Audit every job's waves at ``level``; rows at other levels are counted, not audited."""
    by_job: dict[str, list[Row]] = {}
    other: dict[int, int] = {}
    for row in history.rows:
        if row.dependency_level == level:
            by_job.setdefault(row.job_id, []).append(row)
        else:
            other[row.dependency_level] = other.get(row.dependency_level, 0) + 1
    jobs = tuple(audit_job(job, by_job[job], limits) for job in sorted(by_job, key=_job_key))
    return Report(
        file=file,
        format=history.format,
        tz=tz,
        level=level,
        limits=limits,
        rows_read=len(history.rows) + len(history.bad_rows),
        rows_audited=sum(len(rows) for rows in by_job.values()),
        other_levels=dict(sorted(other.items())),
        bad_rows=history.bad_rows,
        jobs=jobs,
    )
