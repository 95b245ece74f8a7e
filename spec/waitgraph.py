"""The wait-for graph among sessions: whom a blocked statement waits for, and whether its wait closes a cycle.

Pure functions of a ``DbState``: ``spec.outcomes`` asks them when a statement blocks, to find the
transactions a deadlock may abort. They stand apart from the engine because they read only the sessions'
waits and locks, never a statement or a dialect's rules.
"""

from __future__ import annotations

from spec.state import DbState

__all__ = ["chain_may_end", "cycle_through", "waits_for"]


def waits_for(state: DbState, node: int) -> frozenset[int]:
    """The sessions ``node``'s blocked statement waits for: those it met, and (MariaDB) whoever holds the row
    its scan waits at now (another waiter may have been granted it)."""
    session = state.sessions[node]
    if session.resume is None:
        return session.waiting
    held = {o for o, other in enumerate(state.sessions)
            if o != node and (session.resume in other.locks or session.resume in other.shared)}
    return session.waiting | held


def chain_may_end(state: DbState, start: int) -> bool:
    """Whether following one blocker per waiter from ``start`` can end at a session that waits for none. MariaDB
    follows the owner of the first conflicting lock in the row's queue, an order the model does not keep, so
    any blocker may be the one; only a waiter with two or more blockers can lead off a cycle. A blocker that no
    longer holds a lock (a victim rolled back, a transaction ended) is none: the engine moved the wait on."""
    seen, todo = {start}, [start]
    while todo:
        blockers = frozenset(b for b in waits_for(state, todo.pop()) if state.sessions[b].locks
                             or state.sessions[b].gaps or state.sessions[b].shared)
        if not blockers:
            return True
        todo.extend(blockers - seen)
        seen |= blockers
    return False


def cycle_through(state: DbState, start: int) -> tuple[int, ...]:
    """The sessions on a wait-for cycle through ``start`` (empty when its wait closes none)."""
    path: list[int] = []

    def walk(node: int, seen: frozenset[int]) -> bool:
        for nxt in sorted(waits_for(state, node)):
            if nxt == start:
                return True
            if nxt not in seen:
                path.append(nxt)
                if walk(nxt, seen | {nxt}):
                    return True
                path.pop()
        return False

    return (start, *path) if walk(start, frozenset({start})) else ()
