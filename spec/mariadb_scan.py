"""MariaDB's (InnoDB's) locking statements: the records an UPDATE, a DELETE or a SELECT FOR UPDATE scans, the row,
gap and next-key locks it takes, and where it waits.

- REPEATABLE READ: plain SELECTs read a snapshot taken at the transaction's first plain read (``spec.reads``);
  UPDATE, DELETE and FOR UPDATE read the latest committed version (current read), lock every row they
  scan, keep those locks, and take gap locks that block other sessions' inserts into the scanned range
  (SKIP LOCKED passes a held row and takes neither it nor the gap below it).
  They scan the keys fixed by ``=`` or ``IN``, else the range of the key the WHERE bounds (``spec.keyrange``:
  ``id < 3``, and in a FOR UPDATE ``n + 0 > id AND n = 0`` as ``id < 0``) and the first record past it, else
  the whole table.
- READ COMMITTED: every statement sees the latest committed rows; it scans the same records as at
  REPEATABLE READ; locks are kept on matching rows only (and the records past a descending range); an UPDATE
  scanning a range or the table (its key not fixed by ``=`` or ``IN``) that meets a locked row reads
  its latest committed version and waits only if that matches (semi-consistent read; a row not committed
  yet does not match); DELETE, an UPDATE by key and FOR UPDATE wait for every locked row they meet; a FOR
  UPDATE by ``key = c`` keeps its row locked even when the rest of the WHERE fails.

A statement that must wait keeps the rows it locked (or inserted) before the one it waits for, and resumes
its scan at that row. A committed DELETE leaves a marked record until purge, which the model does not time:
a REPEATABLE READ locking read locks the ones it passes, and one that meets another's finds it there (it
waits) or purged. The scan stands apart from PostgreSQL's (``spec.postgres_scan``): the two engines share no
step of it.
"""

from __future__ import annotations

from spec.dialects import REPEATABLE_READ
from spec.errors import LOCK_NOT_AVAILABLE
from spec.evaluation import is_true
from spec.keyrange import key_ranges, open_below, propagated_false, reads
from spec.state import DbState, Row, by_key, table_writes
from spec.statements import Delete, Insert, Plan, Select, Update, impossible
from spec.stops import EngineError, Marked, Wait
from spec.writes import Writes

__all__ = ["MariaDBScan"]


class MariaDBScan(Writes):
    """A mixin of ``spec.executor.Engine``: MariaDB's choice of plan and its scan of a locking statement's rows."""

    __slots__ = ()

    def may_read_table(self, plan: Plan) -> bool:
        """MariaDB: a locking statement whose WHERE bounds the key, for which the optimizer may read the table
        instead of the ranges, by statistics the model does not keep. MariaDB 10.11 read the table for three
        keys or more on tables of up to four rows (four on tables of six to ten), and the ranges for two, on
        tables of up to thirty; for ranges wider than a key only when ``full_scan_for_ranges`` says so."""
        if self.dialect.name != "mysql" or isinstance(plan, Insert):
            return False
        if isinstance(plan, Select) and not plan.for_update:
            return False
        ranges = key_ranges(plan.where, self.schema.tables[plan.table], self.dialect,
                            propagate=isinstance(plan, Select))
        if not ranges:  # the table already, or nothing
            return False
        # one key is a lookup, which leaves the optimizer no choice
        return len(ranges) >= 3 or (self.dialect.full_scan_for_ranges and any(r.point is None for r in ranges))

    def _scan_mariadb(self, state: DbState, s: int, plan: Select | Update | Delete, ranged: bool = True
                      ) -> tuple[list[tuple[Row, Row]], frozenset[tuple[int, int]],
                                 frozenset[tuple[int, int | None, int | None]]]:
        """InnoDB: scan the key's records, its range of PRIMARY (``ranged``, ``spec.keyrange``) or the whole table
        in key order, current read, lock as it goes."""
        d, spec = self.dialect, self.schema.tables[plan.table]
        session = state.sessions[s]
        rr = session.level == REPEATABLE_READ
        current = self._current(state, s, plan.table)
        committed = by_key(state.tables[plan.table], spec.key)
        present = set(committed) | {k for other in state.sessions for k, _ in table_writes(other, plan.table)} | {
            k for other in state.sessions for t, k in other.locks if t == plan.table}  # a waiting INSERT's rows
        # REPEATABLE READ: the scan passes (and locks) records marked deleted that purge may not have removed
        ghosts = {k for t, k in state.marked if t == plan.table and not any(
            j == k for other in state.sessions for j, _ in table_writes(other, plan.table))} if rr else set()
        ranges = key_ranges(plan.where, spec, d, propagate=isinstance(plan, Select)) if ranged else None
        reads_none = impossible(plan.where, spec, null_checks=isinstance(plan, Select)) or (
            isinstance(plan, Select) and propagated_false(plan.where, d)) or ranges == ()
        key_order = isinstance(plan, Select) and bool(plan.order_by) and _by_key(plan, spec.key)
        limit = plan.offset + plan.limit if isinstance(plan, Select) and key_order and plan.limit is not None else None
        # a range scan runs in ORDER BY order; a table scan in key order unless a LIMIT stops it in ORDER BY order
        descending = isinstance(plan, Select) and key_order and plan.order_by[0][1] and (
            ranges is not None or limit is not None)
        parts = [] if reads_none else reads(present | ghosts, ranges, descending, ghosts)
        records = sorted(present | ghosts)
        # a FOR UPDATE of one key (``const`` in EXPLAIN) keeps its row at READ COMMITTED even when it does not match
        const = isinstance(plan, Select) and ranges is not None and len(ranges) == 1 and ranges[0].point is not None
        resume = session.resume if session.resume and session.resume[0] == plan.table else None
        taken: list[tuple[Row, Row]] = []
        locks: set[tuple[int, int]] = set()
        gaps: set[tuple[int, int | None, int | None]] = set()
        skipped: list[int] = []  # SKIP LOCKED: held records passed over, each with no lock on it or its gap
        kept: frozenset[tuple[int, int | None, int | None]] = frozenset()  # the gaps of the parts read before
        for part in parts:
            if limit is not None and len(taken) >= limit:
                break  # the LIMIT is met: the next range is not started
            # a record skipped leaves its gap open in its own part only: the next may lock that gap on its own
            kept |= open_below(frozenset(gaps), skipped, records)
            gaps, skipped = set(), []

            def gap(stop: int | None, start: int | None = part.start) -> tuple[int, int | None, int | None]:
                """The gap from where the part started up to the record ``stop`` (``None``: the end of the index)."""
                if descending:  # each record read locks the gap below it
                    below = None if stop is None else max((k for k in records if k < stop), default=None)
                    return plan.table, below, start
                return plan.table, start, stop

            first_taken = len(taken)
            for k in part.keys:
                if limit is not None and len(taken) >= limit:
                    break
                if resume is not None and (k > resume[1] if descending else k < resume[1]) \
                        and (plan.table, k) not in session.locks:
                    continue  # behind the cursor of a statement resumed after a wait: InnoDB does not go back
                holders = self._holders(state, s, plan.table, k)
                if holders:
                    if isinstance(plan, Select) and plan.skip_locked:
                        if rr and part.lookup:  # InnoDB's unique search goes on to the next record: its gap
                            gaps.add((plan.table, k, min((r for r in records if r > k), default=None)))
                        else:
                            skipped.append(k)
                        continue
                    waited_here = resume is not None and k == resume[1]
                    if not rr and isinstance(plan, Update) and not part.lookup and not waited_here and (
                            k in part.past or not (k in committed and is_true(plan.where, committed[k], d))):
                        continue  # semi-consistent read: the latest committed version (if any) does not match
                    # (only an UPDATE that scans reads semi-consistently: DELETE and a key lookup wait; a statement
                    # already queued for this row stays queued behind whoever was granted it first)
                    if rr and not part.lookup and not descending:  # next-key locks up to the row, the waiting one
                        gaps.add(gap(k))  # too: InnoDB stops an insert into the gap before that row
                    nowait = isinstance(plan, Select) and plan.nowait
                    event: Wait | EngineError = (
                        EngineError(LOCK_NOT_AVAILABLE, f"row {k} is locked") if nowait
                        else Wait(holders, frozenset(locks), kept | frozenset(gaps), (plan.table, k)))
                    raise Marked((plan.table, k), event) if k in ghosts else event
                row = current.get(k)
                if k in ghosts:
                    locks.add((plan.table, k))  # a record marked deleted: locked, never matched
                if row is None:
                    if rr and part.lookup and k in ghosts:  # a unique search meeting a record marked deleted
                        # takes a next-key lock: the record and the gap below it, not the gap above (InnoDB)
                        gaps.add((plan.table, max((r for r in records if r < k), default=None), k))
                    elif rr and part.lookup and k not in present:
                        lower = max((p for p in present if p < k), default=None)
                        upper = min((p for p in present if p > k), default=None)
                        gaps.add((plan.table, lower, upper))
                    continue
                # RC too keeps the row it waited for, matching or not, and the one row a FOR UPDATE reads by
                # ``key = c`` (MariaDB 10.11 reads that row before the rest of the WHERE, and keeps it); MariaDB
                # 10.11 at READ COMMITTED releases the record past an ascending range, not one past a descending one
                if rr or (resume is not None and k == resume[1]) or const or (descending and k in part.past):
                    locks.add((plan.table, k))
                if k not in part.past and is_true(plan.where, row, d):
                    locks.add((plan.table, k))
                    self._check_row(plan, row, frozenset(locks))
                    taken.append((row, row))
            if not rr or part.lookup:
                continue
            if limit is None or len(taken) < limit or (descending and part.span is None):  # read to its end: the
                gaps.add(gap(part.end))  # record past its range (a table scan, or a range to the end: the gap above)
            elif len(taken) > first_taken:  # the LIMIT is met: no row read after its last, whose gap beyond stays open
                last = taken[-1][0][spec.key]
                assert isinstance(last, int), "a table's key is an integer (spec/schema.py)"
                gaps.add(gap(last))
        return taken, frozenset(locks), kept | open_below(frozenset(gaps), skipped, records)



def _by_key(plan: Select, key: int) -> bool:
    expr = plan.order_by[0][0]
    return len(plan.order_by) == 1 and getattr(expr, "index", None) == key and type(expr).__name__ == "Col"
