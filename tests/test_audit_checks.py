"""The audit's findings on the write-up's dispatch times and on small made-up histories.

Fixtures (``tests/fixtures``):

* ``writeup_dispatches.csv`` — the write-up's evidence from ``sx_db_1754515181``: waves 2 to 37
  with the dispatch times it quotes, in MySQL DATETIME form (naive, read as UTC). The write-up
  gives no job id (we use 1), no time for wave 1 (so there is no wave 1 row) and no completion
  times (``completed_at`` is empty). Status is ``completed``: the import went on to dispatch wave
  37, and the write-up describes it as finished history; ``processing`` would make the audit
  treat all 36 waves as running to 13:20:51 and invent an overlap. With no completion times the
  audit reports overlap as unknown and stalls / unfinished waves as not seen.
* ``audit_jobs.csv`` — three made-up jobs in the simulation's column order: 7 is clean with
  the 90 % hand-over, 8 stalls after wave 1 (wave 2 finished all batches, never marked
  completed; wave 3 pending), 9 has a sub-second burst, three waves active, a duplicate
  dispatch (``dispatch_count`` 2) and a 155 s gap; one row at dependency_level 0.
* ``audit_per_dispatch.jsonl`` — JSON Lines, one row per dispatch (wave 2 twice), mixing an
  offset, naive MySQL times and a blank line.
* ``audit_bad_rows.csv`` — one bad row of each kind, with two good rows around them.
"""

from __future__ import annotations

from pathlib import Path

from audit.checks import SECOND, Burst, Duplicate, JobAudit, Limits, Overlap, Stall, Unfinished
from audit.parse import parse_time, read_history
from audit.render import check_results
from audit.report import Report, audit_history

FIXTURES = Path(__file__).parent / "fixtures"
HEADER = "job_id,wave_number,dependency_level,status,total_batches,completed_batches,dispatched_at,completed_at\n"


def t(text: str) -> int:
    return parse_time(text)


def audit_file(name: str, limits: Limits | None = None) -> Report:
    history = read_history((FIXTURES / name).read_text(), name=name)
    return audit_history(history, file=name, limits=limits or Limits())


def audit_text(text: str, limits: Limits | None = None) -> JobAudit:
    (job,) = audit_history(read_history(HEADER + text, name="x.csv"), file="x.csv", limits=limits or Limits()).jobs
    return job


def jobs(report: Report) -> dict[str, JobAudit]:
    return {job.job_id: job for job in report.jobs}


def test_the_writeup_bursts_are_flagged_each_in_its_own_second() -> None:
    report = audit_file("writeup_dispatches.csv")
    (job,) = report.jobs
    assert job.bursts == (
        Burst(start=t("2025-09-30 13:13:57"), end=t("2025-09-30 13:13:57"), peak=2, waves=(3, 4)),
        Burst(start=t("2025-09-30 13:13:58"), end=t("2025-09-30 13:13:58"), peak=30, waves=tuple(range(5, 35))),
        Burst(start=t("2025-09-30 13:20:51"), end=t("2025-09-30 13:20:51"), peak=2, waves=(36, 37)),
    )
    assert job.most_in_window == job.bursts[1]
    assert report.violations() == ("bursts",)
    assert report.exit_code == 1


def test_the_writeup_says_what_it_cannot_tell_without_completion_times() -> None:
    (job,) = audit_file("writeup_dispatches.csv").jobs
    assert job.missing_waves == (1,)
    assert job.completed_time_unknown == tuple(range(2, 38))
    assert job.overlap.measured == ()
    assert job.overlap.unknown == tuple(range(2, 38))
    assert (job.stalls, job.never_completed, job.duplicates) == ((), (), ())
    assert check_results(job) == {"bursts": "violated", "overlap": "unknown", "stalls": "not seen",
                                  "duplicates": "ok", "never_completed": "not seen"}


def test_a_two_second_window_joins_the_writeup_bursts_at_57_and_58() -> None:
    (job,) = audit_file("writeup_dispatches.csv", Limits(window=2 * SECOND)).jobs
    assert [(b.peak, b.waves) for b in job.bursts] == [(32, tuple(range(3, 35))), (2, (36, 37))]


def test_a_higher_burst_limit_keeps_only_the_30_wave_burst() -> None:
    (job,) = audit_file("writeup_dispatches.csv", Limits(burst_limit=2)).jobs
    assert [b.waves for b in job.bursts] == [tuple(range(5, 35))]


def test_a_clean_job_with_the_threshold_hand_over() -> None:
    report = audit_file("audit_jobs.csv")
    job = jobs(report)["7"]
    assert job.violations() == ()
    assert job.overlap == Overlap(peak=2, peak_waves=(1, 2), peak_start=t("2025-09-30T10:00:27Z"),
                                  peak_duration=6 * SECOND, overlap_duration=6 * SECOND, measured=(1, 2, 3), unknown=())
    assert report.other_levels == {0: 1}
    assert report.rows_audited == 11


def test_sub_second_dispatches_overlaps_stalls_and_duplicates() -> None:
    job = jobs(audit_file("audit_jobs.csv"))["9"]
    assert job.bursts == (Burst(start=t("2025-09-30T12:00:30.2Z"), end=t("2025-09-30T12:00:31.5Z"), peak=2,
                                waves=(2, 3, 4)),)
    assert job.overlap == Overlap(peak=3, peak_waves=(2, 3, 4), peak_start=t("2025-09-30T12:00:31.5Z"),
                                  peak_duration=38_500_000, overlap_duration=49_300_000, measured=(1, 2, 3, 4, 5),
                                  unknown=())
    assert job.stalls == (Stall(start=t("2025-09-30T12:01:25Z"), end=t("2025-09-30T12:04:00Z"), completed_wave=4,
                                pending_wave=5, ongoing=False),)
    assert job.duplicates == (Duplicate(wave=2, dispatches=2, times=(t("2025-09-30T12:00:30.2Z"),)),)
    assert job.violations() == ("bursts", "stalls", "duplicates")


def test_overlap_is_judged_only_against_a_given_limit() -> None:
    assert jobs(audit_file("audit_jobs.csv"))["9"].violations() == ("bursts", "stalls", "duplicates")
    limited = jobs(audit_file("audit_jobs.csv", Limits(max_active=2)))
    assert limited["9"].violations() == ("bursts", "overlap", "stalls", "duplicates")
    assert limited["7"].violations() == ()
    assert jobs(audit_file("audit_jobs.csv", Limits(max_active=1)))["7"].violations() == ("overlap",)


def test_a_stall_at_the_end_needs_now() -> None:
    job = jobs(audit_file("audit_jobs.csv"))["8"]
    assert job.stalls == ()
    assert job.never_completed == (Unfinished(wave=2, status="processing"), Unfinished(wave=3, status="pending"))
    job = jobs(audit_file("audit_jobs.csv", Limits(now=t("2025-09-30T11:02:00Z"))))["8"]
    assert job.stalls == (Stall(start=t("2025-09-30T11:00:30Z"), end=t("2025-09-30T11:02:00Z"), completed_wave=1,
                                pending_wave=3, ongoing=True),)
    assert job.violations() == ("stalls", "never_completed")


def test_a_stall_shorter_than_the_limit_is_not_one() -> None:
    now = t("2025-09-30T11:01:30Z")
    assert jobs(audit_file("audit_jobs.csv", Limits(now=now)))["8"].stalls == ()
    assert len(jobs(audit_file("audit_jobs.csv", Limits(now=now, stall_after=59 * SECOND)))["8"].stalls) == 1


def test_no_stall_is_claimed_while_a_wave_may_still_be_working() -> None:
    rows = ("1,1,-1,completed,,,2025-09-30 10:00:00,2025-09-30 10:00:30\n"
            "1,2,-1,processing,,,2025-09-30 10:00:27,\n"
            "1,3,-1,pending,,,,\n")
    limits = Limits(now=t("2025-09-30 11:00:00"))
    assert audit_text(rows, limits).stalls == ()
    finished = rows.replace("processing,,,", "processing,50,50,")
    assert [(s.completed_wave, s.pending_wave) for s in audit_text(finished, limits).stalls] == [(1, 3)]
    unknown = rows.replace("1,2,-1,processing,,,2025-09-30 10:00:27,", "1,2,-1,completed,,,2025-09-30 10:00:27,")
    assert audit_text(unknown, limits).stalls == ()


def test_an_open_active_wave_overlaps_to_the_end_of_the_history() -> None:
    rows = ("1,1,-1,processing,,,2025-09-30 10:00:00,\n"
            "1,2,-1,completed,,,2025-09-30 10:00:10,2025-09-30 10:00:20\n")
    job = audit_text(rows, Limits(now=t("2025-09-30 10:01:00")))
    assert (job.overlap.peak, job.overlap.peak_duration, job.overlap.measured) == (2, 10 * SECOND, (1, 2))
    assert job.end == t("2025-09-30 10:01:00")
    assert job.end_from_now


def test_one_row_per_dispatch_counts_as_a_duplicate() -> None:
    report = audit_file("audit_per_dispatch.jsonl")
    (job,) = report.jobs
    assert job.duplicates == (Duplicate(wave=2, dispatches=2, times=(t("2025-09-30 13:00:37"),
                                                                     t("2025-09-30 13:00:39"))),)
    assert job.waves[1].completed_at == t("2025-09-30 13:01:20")
    assert report.violations() == ("duplicates",)


def test_other_dependency_levels_are_audited_only_when_asked() -> None:
    history = read_history((FIXTURES / "audit_jobs.csv").read_text(), name="audit_jobs.csv")
    report = audit_history(history, file="audit_jobs.csv", limits=Limits(), level=0)
    assert [j.job_id for j in report.jobs] == ["7"]
    assert report.other_levels == {-1: 11}
    assert report.exit_code == 0
