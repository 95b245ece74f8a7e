"""The SQL of every DB operation the handlers yield, stated once, as plain text.

One entry per effect in ``OPERATIONS``: the Laravel Query Builder call that
sends it (for the write-up's policies), and the statements a driver runs for
it, in order, for PostgreSQL, MariaDB/MySQL and SQLite. A transaction's
statements start with ``begin`` and end with ``commit``; every other statement
autocommits, as Laravel's do outside ``DB::transaction``. ``dbdriver`` runs
exactly these texts, and the docs print them from here (``render``), so there
is no second copy. Table names carry the driver's prefix: ``{p}`` below.

Isolation: the fix's transactions run at READ COMMITTED on PostgreSQL and
MariaDB/MySQL, made safe by a locking read of the import's rows first (one
claimer per import at a time), and under ``BEGIN IMMEDIATE`` on SQLite (one
writer per database). Plain statements see the latest committed rows. This
module holds text only: it imports no database client.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CURRENT_WAVE", "DIALECTS", "OPERATIONS", "SCHEMA", "TABLES", "Operation", "render", "statement"]

DIALECTS = ("postgresql", "mysql", "sqlite")

#: wavesim's tables, without the prefix: the ownership marker first, created first, dropped last.
TABLES = ("owner", "wave_coordination", "wave_batches", "dispatches", "claims")

_ACTIVE = "('dispatching', 'processing')"

#: A wave row's ghost ``owners_told``: the handler runs told they own it (the claims log).
_OWNERS_TOLD = ("(SELECT count(*) FROM {p}claims c WHERE c.job_id = w.job_id AND c.wave_number = w.wave_number) "
                "AS owners_told")


def _main(pick: str, statuses: str) -> str:
    """A subquery: ``pick(wave_number)`` over the import's main waves whose status is IN ``statuses``."""
    return ("(SELECT " + pick + "(wave_number) FROM {p}wave_coordination WHERE job_id = :job_id "
            "AND dependency_level = -1 AND status IN " + statuses + ")")


#: ``ReadCurrentWave``'s statement per rule (``CurrentWaveRule`` value). Each is the in-memory table's
#: reading (``coordinator.table._current_wave``): a wave number, 0 when no wave qualifies. The statuses
#: are listed, never ``!= 'pending'``, so a value outside the lifecycle counts for no rule.
CURRENT_WAVE: dict[str, str] = {
    "lowest-active": "read_current_lowest_active",
    "completed-else-active": "read_current_completed_else_active",
    "highest-not-pending": "read_current_highest_not_pending",
    "highest-completed": "read_current_highest_completed",
    "latest-started": "read_current_latest_started",
}

#: Statements by name; a str is the same on every engine, a dict gives it per dialect.
_SQL: dict[str, str | dict[str, str]] = {
    # transaction boundaries
    "begin": {
        "postgresql": "BEGIN ISOLATION LEVEL READ COMMITTED",
        "mysql": "START TRANSACTION",  # after set_read_committed
        "sqlite": "BEGIN IMMEDIATE",
    },
    "set_read_committed": {"mysql": "SET TRANSACTION ISOLATION LEVEL READ COMMITTED"},
    # a session whose user set its own level (``wavesim live --isolation``): the transaction runs at it
    "begin_at_session_level": {
        "postgresql": "BEGIN",
        "mysql": "START TRANSACTION",
        "sqlite": "BEGIN IMMEDIATE",
    },
    "commit": "COMMIT",
    "rollback": "ROLLBACK",
    # one claimer per import: lock its rows before reading the predicate (SQLite: BEGIN IMMEDIATE did)
    "lock_import": {
        "postgresql": "SELECT wave_number FROM {p}wave_coordination WHERE job_id = :job_id ORDER BY wave_number "
                      "FOR UPDATE",
        "mysql": "SELECT wave_number FROM {p}wave_coordination WHERE job_id = :job_id ORDER BY wave_number "
                 "FOR UPDATE",
    },
    # ReadCurrentWave, one statement per rule (CURRENT_WAVE)
    "read_current_lowest_active": (  # the lowest active wave; with none active, the highest completed one
        "SELECT COALESCE(" + _main("min", _ACTIVE) + ", " + _main("max", "('completed')") + ", 0)"),
    "read_current_completed_else_active": (  # the highest completed; before the first, the lowest active
        "SELECT COALESCE(" + _main("max", "('completed')") + ", " + _main("min", _ACTIVE) + ", 0)"),
    "read_current_highest_not_pending": (
        "SELECT COALESCE(" + _main("max", "('dispatching', 'processing', 'completed')") + ", 0)"),
    "read_current_highest_completed": "SELECT COALESCE(" + _main("max", "('completed')") + ", 0)",
    "read_current_latest_started": "SELECT COALESCE(" + _main("max", "('processing', 'completed')") + ", 0)",
    # one statement, so the row, its distinct finished batches and its push count are one snapshot
    "read_wave": (
        "SELECT w.wave_number, w.status, w.total_batches, w.completed_batches, w.failed_batches, " + _OWNERS_TOLD
        + ", w.dispatched_at, w.completed_at, "
        "(SELECT count(*) FROM {p}dispatches d WHERE d.job_id = w.job_id AND d.wave_number = w.wave_number) "
        "AS dispatch_count, b.batch "
        "FROM {p}wave_coordination w LEFT JOIN {p}wave_batches b "
        "ON b.job_id = w.job_id AND b.wave_number = w.wave_number "
        "WHERE w.job_id = :job_id AND w.dependency_level = -1 AND w.wave_number = :wave ORDER BY b.batch"
    ),
    "read_table": (
        "SELECT w.wave_number, w.status, w.total_batches, w.completed_batches, w.failed_batches, " + _OWNERS_TOLD
        + ", w.dispatched_at, w.completed_at, "
        "(SELECT count(*) FROM {p}dispatches d WHERE d.job_id = w.job_id AND d.wave_number = w.wave_number) "
        "AS dispatch_count, b.batch "
        "FROM {p}wave_coordination w LEFT JOIN {p}wave_batches b "
        "ON b.job_id = w.job_id AND b.wave_number = w.wave_number "
        "WHERE w.job_id = :job_id AND w.dependency_level = -1 ORDER BY w.wave_number, b.batch"
    ),
    "read_lowest_pending": (
        "SELECT wave_number FROM {p}wave_coordination WHERE job_id = :job_id AND dependency_level = -1 "
        "AND status = 'pending' ORDER BY wave_number ASC LIMIT 1"
    ),
    "read_next_main": (
        "SELECT wave_number FROM {p}wave_coordination WHERE job_id = :job_id AND dependency_level = -1 "
        "AND wave_number = :wave AND status = 'pending' LIMIT 1"
    ),
    # the write-up's guard: no orderBy, so ->value() returns whichever active row the engine finds first
    "read_active_other": (
        "SELECT wave_number FROM {p}wave_coordination WHERE job_id = :job_id AND wave_number != :exclude "
        f"AND status IN {_ACTIVE} LIMIT 1"
    ),
    # CATCH-UP's guard (Fix #3): the same query without the wave_number filter
    "read_active_any": f"SELECT wave_number FROM {{p}}wave_coordination WHERE job_id = :job_id AND status IN {_ACTIVE} "
                       "LIMIT 1",
    "set_status": (
        "UPDATE {p}wave_coordination SET status = :status WHERE job_id = :job_id AND wave_number = :wave"
    ),
    "set_status_dispatching": (
        "UPDATE {p}wave_coordination SET status = 'dispatching', "
        "dispatched_at = COALESCE(dispatched_at, :now) WHERE job_id = :job_id AND wave_number = :wave"
    ),
    "set_status_completed": (
        "UPDATE {p}wave_coordination SET status = 'completed', completed_at = :now "
        "WHERE job_id = :job_id AND wave_number = :wave"
    ),
    # the claim's predicate, read under the lock: the lowest pending wave, if no active wave is below
    # threshold (distinct finished batches) and fewer than :max_active are active
    "claim_candidate": (
        "SELECT min(w.wave_number) FROM {p}wave_coordination w "
        "WHERE w.job_id = :job_id AND w.dependency_level = -1 AND w.status = 'pending' "
        "AND NOT EXISTS (SELECT 1 FROM {p}wave_coordination a WHERE a.job_id = :job_id AND a.dependency_level = -1 "
        f"AND a.status IN {_ACTIVE} "
        "AND (SELECT count(*) FROM {p}wave_batches b WHERE b.job_id = a.job_id AND b.wave_number = a.wave_number) "
        "< CASE WHEN :threshold < a.total_batches THEN :threshold ELSE a.total_batches END)"
    ),
    "claim_candidate_limited": (
        "SELECT min(w.wave_number) FROM {p}wave_coordination w "
        "WHERE w.job_id = :job_id AND w.dependency_level = -1 AND w.status = 'pending' "
        "AND NOT EXISTS (SELECT 1 FROM {p}wave_coordination a WHERE a.job_id = :job_id AND a.dependency_level = -1 "
        f"AND a.status IN {_ACTIVE} "
        "AND (SELECT count(*) FROM {p}wave_batches b WHERE b.job_id = a.job_id AND b.wave_number = a.wave_number) "
        "< CASE WHEN :threshold < a.total_batches THEN :threshold ELSE a.total_batches END) "
        "AND (SELECT count(*) FROM {p}wave_coordination a WHERE a.job_id = :job_id AND a.dependency_level = -1 "
        f"AND a.status IN {_ACTIVE}) < :max_active"
    ),
    # the fused comparison only: a claimed wave whose jobs the dispatch log never saw
    "claim_unpushed": (
        "SELECT min(w.wave_number) FROM {p}wave_coordination w WHERE w.job_id = :job_id "
        "AND w.dependency_level = -1 AND w.status = 'dispatching' AND NOT EXISTS "
        "(SELECT 1 FROM {p}dispatches d WHERE d.job_id = w.job_id AND d.wave_number = w.wave_number)"
    ),
    # the claim's write: its run owns the wave only when this changed exactly one row
    "claim_update": (
        "UPDATE {p}wave_coordination SET status = 'dispatching', "
        "dispatched_at = COALESCE(dispatched_at, :now) "
        "WHERE job_id = :job_id AND wave_number = :wave AND status = 'pending'"
    ),
    # not the coordinator's: wavesim's record that a run was told it owns a wave (the ghost state
    # no_duplicate_claim judges); a claim writes it in its own transaction, a plain write right after
    "tell_owner": (
        "INSERT INTO {p}claims (job_id, wave_number, run, told_at) VALUES (:job_id, :wave, :run, :now)"
    ),
    # the relay's read: the claimed, not yet pushed-and-marked wave is the outbox entry
    "read_claimed": (
        "SELECT wave_number FROM {p}wave_coordination WHERE job_id = :job_id AND dependency_level = -1 "
        "AND status = 'dispatching' AND (dispatched_at IS NULL OR dispatched_at <= :now - :lease) "
        "ORDER BY wave_number ASC LIMIT 1"
    ),
    "mark_pushed": (
        "UPDATE {p}wave_coordination SET status = 'processing' "
        "WHERE job_id = :job_id AND wave_number = :wave AND status = 'dispatching'"
    ),
    # the mark's second statement: a wave whose batches all finished before its mark is completed
    # here, since its last completion event found it still dispatching
    "complete_marked": (
        "UPDATE {p}wave_coordination SET status = 'completed', completed_at = :now "
        "WHERE job_id = :job_id AND wave_number = :wave AND status = 'processing' "
        "AND (SELECT count(*) FROM {p}wave_batches b WHERE b.job_id = :job_id AND b.wave_number = :wave) "
        ">= total_batches"
    ),
    "finished_waves": {
        "mysql": "SELECT w.wave_number FROM {p}wave_coordination w WHERE w.job_id = :job_id "
                 "AND w.dependency_level = -1 AND w.status = 'processing' AND (SELECT count(*) FROM {p}wave_batches b "
                 "WHERE b.job_id = w.job_id AND b.wave_number = w.wave_number) >= w.total_batches "
                 "ORDER BY w.wave_number FOR UPDATE",
    },
    # PostgreSQL and SQLite: one conditional UPDATE with RETURNING; MySQL has no UPDATE ... RETURNING,
    # so it locks the finished rows (finished_waves) and updates them by number in one transaction
    "complete_finished": {
        "postgresql": "UPDATE {p}wave_coordination w SET status = 'completed', completed_at = :now "
                      "WHERE w.job_id = :job_id AND w.dependency_level = -1 AND w.status = 'processing' "
                      "AND (SELECT count(*) FROM {p}wave_batches b WHERE b.job_id = w.job_id "
                      "AND b.wave_number = w.wave_number) >= w.total_batches RETURNING wave_number",
        "sqlite": "UPDATE {p}wave_coordination AS w SET status = 'completed', completed_at = :now "
                  "WHERE w.job_id = :job_id AND w.dependency_level = -1 AND w.status = 'processing' "
                  "AND (SELECT count(*) FROM {p}wave_batches b WHERE b.job_id = w.job_id "
                  "AND b.wave_number = w.wave_number) >= w.total_batches RETURNING wave_number",
        "mysql": "UPDATE {p}wave_coordination SET status = 'completed', completed_at = :now "
                 "WHERE job_id = :job_id AND wave_number = :wave AND status = 'processing'",
    },
    # a batch report: check the row (locked), record the batch by its key, bump the counter
    "record_lock": {
        "postgresql": "SELECT status, total_batches FROM {p}wave_coordination WHERE job_id = :job_id "
                      "AND wave_number = :wave FOR UPDATE",
        "mysql": "SELECT status, total_batches FROM {p}wave_coordination WHERE job_id = :job_id "
                 "AND wave_number = :wave FOR UPDATE",
        "sqlite": "SELECT status, total_batches FROM {p}wave_coordination WHERE job_id = :job_id "
                  "AND wave_number = :wave",
    },
    "record_batch": {
        "postgresql": "INSERT INTO {p}wave_batches (job_id, wave_number, batch) VALUES (:job_id, :wave, :batch) "
                      "ON CONFLICT DO NOTHING",
        "mysql": "INSERT IGNORE INTO {p}wave_batches (job_id, wave_number, batch) VALUES (:job_id, :wave, :batch)",
        "sqlite": "INSERT OR IGNORE INTO {p}wave_batches (job_id, wave_number, batch) VALUES (:job_id, :wave, :batch)",
    },
    "count_completed": (
        "UPDATE {p}wave_coordination SET completed_batches = completed_batches + 1 "
        "WHERE job_id = :job_id AND wave_number = :wave"
    ),
    "count_failed": (
        "UPDATE {p}wave_coordination SET failed_batches = failed_batches + 1 "
        "WHERE job_id = :job_id AND wave_number = :wave"
    ),
    # a push's record on the queue side (Bus::batch()->dispatch() writes a job_batches row): no coordination row
    "log_push": (
        "INSERT INTO {p}dispatches (job_id, wave_number, pushed_at) SELECT job_id, wave_number, :now "
        "FROM {p}wave_coordination WHERE job_id = :job_id AND wave_number = :wave"
    ),
    # the fused comparison: read the row and its pushes (locked), then log the push and mark it processing
    "fused_lock": {
        "postgresql": "SELECT status, (SELECT count(*) FROM {p}dispatches d WHERE d.job_id = w.job_id "
                      "AND d.wave_number = w.wave_number) FROM {p}wave_coordination w WHERE w.job_id = :job_id "
                      "AND w.wave_number = :wave FOR UPDATE",
        "mysql": "SELECT status, (SELECT count(*) FROM {p}dispatches d WHERE d.job_id = w.job_id "
                 "AND d.wave_number = w.wave_number) FROM {p}wave_coordination w WHERE w.job_id = :job_id "
                 "AND w.wave_number = :wave FOR UPDATE",
        "sqlite": "SELECT status, (SELECT count(*) FROM {p}dispatches d WHERE d.job_id = w.job_id "
                  "AND d.wave_number = w.wave_number) FROM {p}wave_coordination w WHERE w.job_id = :job_id "
                  "AND w.wave_number = :wave",
    },
    "create_wave": (
        "INSERT INTO {p}wave_coordination (job_id, wave_number, dependency_level, status, total_batches) "
        "VALUES (:job_id, :wave, -1, 'pending', :batches)"
    ),
    "wave_exists": "SELECT count(*) FROM {p}wave_coordination WHERE job_id = :job_id",
    "read_owners_told": "SELECT wave_number, run FROM {p}claims WHERE job_id = :job_id ORDER BY wave_number, id",
    "max_job": "SELECT COALESCE(max(job_id), 0) FROM {p}wave_coordination",
    "owner_read": "SELECT tool, token FROM {p}owner",
    "owner_write": "INSERT INTO {p}owner (tool, token) VALUES ('wavesim', :token)",
}


# SetStatus with only_from (``... WHERE status = :only_from``): the same UPDATE, changing the row only
# when the wave is in that status; the driver reads the rows changed (1 or 0)
for _name in ("set_status", "set_status_dispatching", "set_status_completed"):
    _plain = _SQL[_name]
    assert isinstance(_plain, str)
    _SQL[_name + "_from"] = _plain + " AND status = :only_from"

_ID = {"postgresql": "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY", "mysql": "BIGINT AUTO_INCREMENT PRIMARY KEY",
       "sqlite": "INTEGER PRIMARY KEY AUTOINCREMENT"}
_ENGINE = {"postgresql": "", "mysql": " ENGINE=InnoDB", "sqlite": ""}


def _schema(dialect: str) -> tuple[str, ...]:
    e = _ENGINE[dialect]
    return (
        # the ownership marker: present only in a prefix wavesim created; its row says so
        "CREATE TABLE {p}owner (tool VARCHAR(32) NOT NULL PRIMARY KEY, token VARCHAR(64) NOT NULL)" + e,
        # the write-up's columns
        "CREATE TABLE {p}wave_coordination (job_id BIGINT NOT NULL, wave_number INTEGER NOT NULL, "
        "dependency_level INTEGER NOT NULL DEFAULT -1, status VARCHAR(16) NOT NULL DEFAULT 'pending', "
        "total_batches INTEGER NOT NULL, completed_batches INTEGER NOT NULL DEFAULT 0, "
        "failed_batches INTEGER NOT NULL DEFAULT 0, "
        "dispatched_at DOUBLE PRECISION NULL, completed_at DOUBLE PRECISION NULL, "
        "PRIMARY KEY (job_id, wave_number))" + e,
        # every handler query filters job_id + status (+ dependency_level) and wants the lowest wave_number
        "CREATE INDEX {p}wc_job_status ON {p}wave_coordination (job_id, dependency_level, status, wave_number)",
        # distinct finished batches: the key makes a redelivered batch's second report a no-op
        "CREATE TABLE {p}wave_batches (job_id BIGINT NOT NULL, wave_number INTEGER NOT NULL, "
        "batch INTEGER NOT NULL, PRIMARY KEY (job_id, wave_number, batch))" + e,
        # one row per push of a wave's jobs, as the queue's batch record shows it
        "CREATE TABLE {p}dispatches (id " + _ID[dialect] + ", job_id BIGINT NOT NULL, "
        "wave_number INTEGER NOT NULL, pushed_at DOUBLE PRECISION NOT NULL)" + e,
        "CREATE INDEX {p}d_job_wave ON {p}dispatches (job_id, wave_number)",
        # ghost state, not the coordinator's: one row per handler run told it owns a wave (run: who)
        "CREATE TABLE {p}claims (id " + _ID[dialect] + ", job_id BIGINT NOT NULL, "
        "wave_number INTEGER NOT NULL, run VARCHAR(64) NOT NULL, told_at DOUBLE PRECISION NOT NULL)" + e,
        "CREATE INDEX {p}c_job_wave ON {p}claims (job_id, wave_number)",
    )


#: The DDL per dialect, with the ``{p}`` prefix placeholder.
SCHEMA: dict[str, tuple[str, ...]] = {d: _schema(d) for d in DIALECTS}


@dataclass(frozen=True, slots=True, kw_only=True)
class Operation:
    """How one effect reaches the database."""

    #: the Query Builder call of the write-up's code, or None for the fix's own operations; quoted
    #: where the write-up shows it, otherwise the call its names imply (the note says "not shown")
    laravel: str | None
    #: statement names in the order a driver may run them, per dialect
    statements: dict[str, tuple[str, ...]]
    #: why it is shaped so
    note: str = ""


def _same(*names: str) -> dict[str, tuple[str, ...]]:
    return {d: names for d in DIALECTS}


def _tx(*names: str, mysql_extra: tuple[str, ...] = ()) -> dict[str, tuple[str, ...]]:
    out = {}
    for d in DIALECTS:
        body = tuple(n for n in names if n != "lock_import" or d != "sqlite")
        head = ("set_read_committed", "begin") if d == "mysql" else ("begin",)
        out[d] = head + body + ("commit",)
    return out


_CLAIM = ("lock_import", "claim_candidate", "claim_candidate_limited", "claim_update", "tell_owner")

#: Every effect a handler yields -> its SQL.
OPERATIONS: dict[str, Operation] = {
    "ReadCurrentWave": Operation(
        laravel=None, statements=_same(*CURRENT_WAVE.values()),
        note="the write-up does not show how the current wave is found: one statement per "
             "Policy.current_wave_rule (CURRENT_WAVE)"),
    "ReadWave": Operation(
        laravel="->table('wave_coordination')->where('job_id', $jobId)->where('wave_number', $wave)->first()",
        statements=_same("read_wave"),
        note="checkWaveCompletion's read (not shown in the write-up)"),
    "ReadLowestPending": Operation(
        laravel="->where('job_id', $jobId)->where('dependency_level', -1)->where('status', 'pending')"
                "->orderBy('wave_number')->value('wave_number')",
        statements=_same("read_lowest_pending")),
    "ReadNextMainWave": Operation(
        laravel="->where('job_id', $jobId)->where('dependency_level', -1)->where('wave_number', $current + 1)"
                "->where('status', 'pending')->value('wave_number')",
        statements=_same("read_next_main"),
        note="$nextMainWave's query is not shown in the write-up; this is its name read literally"),
    "ReadActiveWave": Operation(
        laravel="->where('job_id', $jobId)->where('wave_number', '!=', $currentWave)"
                "->whereIn('status', ['dispatching', 'processing'])->value('wave_number')",
        statements=_same("read_active_other", "read_active_any"),
        note="Fix #1 and #2 quoted; CATCH-UP's guard (Fix #3, exclude=None) has no wave_number filter. "
             "No orderBy: any active wave may come back; the handlers only test it for null"),
    "SetStatus": Operation(
        laravel="->where('job_id', $jobId)->where('wave_number', $wave)->update(['status' => $status])",
        statements=_same("set_status", "set_status_dispatching", "set_status_completed", "set_status_from",
                         "set_status_dispatching_from", "set_status_completed_from", "tell_owner"),
        note="dispatchWave's and checkWaveCompletion's writes (not shown in the write-up). With only_from "
             "(Policy.final_write=conditional) it adds ->where('status', $onlyFrom): a *_from statement, whose "
             "rows changed (1 or 0) is the result. dispatchWave reads no row count and dispatches after its "
             "'dispatching' write, so a write that changed the row tells its run it owns the wave: wavesim "
             "records that (tell_owner, not the coordinator's)"),
    "RecordBatchFinished": Operation(
        laravel="->where('job_id', $jobId)->where('wave_number', $wave)->increment('completed_batches')",
        statements=_tx("record_lock", "record_batch", "count_completed", "count_failed"),
        note="not shown in the write-up (BatchJobCompleted's count); the keyed insert is the distinct progress "
             "the fix reads"),
    "EnqueueBatches": Operation(
        laravel="Bus::batch($jobs)->onQueue('import')->dispatch()",
        statements={d: ("log_push", *_tx("fused_lock", "log_push", "set_status")[d]) for d in DIALECTS},
        note="dispatchWave's push (not shown in the write-up). A plain push only logs it (log_push); once=True "
             "is the unbuildable fused step, whose queue push the caller makes after COMMIT"),
    "ScheduleTrigger": Operation(
        laravel="dispatch(function () use ($jobId) { (new WaveCoordinator())->checkAndTriggerNextWave($jobId); })"
                "->onQueue('import')->delay(now()->addSeconds(2))", statements=_same(),
        note="a queue push only: no SQL (the write-up's delay is 2 s; delay_s carries WaveConfig's)"),
    "CompleteFinishedWaves": Operation(
        laravel=None,
        statements={"postgresql": ("complete_finished",), "sqlite": ("complete_finished",),
                    "mysql": _tx("finished_waves", "complete_finished")["mysql"]}),
    "ClaimNextWave": Operation(
        laravel=None, statements={d: _tx(*_CLAIM, "claim_unpushed")[d] for d in DIALECTS},
        note="the lock makes claims on one import take turns, so the predicate reads what the last claim "
             "committed; the run owns the wave only when claim_update changed exactly one row, and then "
             "wavesim records that it was told so (tell_owner, not the coordinator's, in the same "
             "transaction); claim_unpushed belongs to the fused comparison only"),
    "ReadClaimedWave": Operation(laravel=None, statements=_same("read_claimed")),
    "MarkPushed": Operation(
        laravel=None, statements=_tx("mark_pushed", "complete_marked"),
        note="one transaction: the wave row stays locked from the mark to the completion, so a batch "
             "recorded meanwhile waits, and its completion event runs after the commit"),
}


def statement(name: str, dialect: str, prefix: str) -> str:
    """The text of one statement for ``dialect``, with the table prefix filled in."""
    entry = _SQL[name]
    text = entry if isinstance(entry, str) else entry[dialect]
    return text.replace("{p}", prefix)


def render(effect: str, dialect: str, prefix: str = "wavesim_") -> str:
    """An effect's statements as one SQL listing (for the docs)."""
    op = OPERATIONS[effect]
    lines = [f"-- {effect}" + (f": Laravel {op.laravel}" if op.laravel else "")]
    if op.note:
        lines.append(f"-- {op.note}")
    lines += [statement(n, dialect, prefix) + ";" for n in op.statements[dialect]]
    return "\n".join(lines)
