"""A lease: a row taken by one run at one time, which another run may take over once the lease has run out.

A spec declares one with ``Spec.lease`` (``spec/lang.py``): a timestamp column the taking run sets to the
time it took the row, an owner column it sets to its run's id, and the lease's length. A program writes
``lease.taken()`` among an UPDATE's values and reads ``lease.expired(ctx.scope)`` in a WHERE; both are
SQLAlchemy Core elements, so the same statement runs everywhere, and each driver gives them its meaning:

- on a real engine (``wavesim live``, ``replay --db``) they compile to SQL (below): the engine's clock,
  UTC, and a timestamp column compared with the lease's length;
- in the simulation the model's engine is given the simulated time (``now``, in microseconds): a lease has
  run out once ``now - taken_at >= seconds``;
- in the checker there is no clock, so the expiry is a named assumption, the spec's switch
  ``lease_<name>`` (``READINGS``). An owner column holds the model's session, and once the run ends the
  model writes ``GONE`` there (``model/specmodel/leases.py``): a run that is gone holds nothing.

A lease is taken by an UPDATE (the checker needs the owner written by the session that takes it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import visitors
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal

from spec.errors import SourceLocation, Unsupported

__all__ = ["GONE", "READINGS", "Lease", "LeaseExpired", "LeaseNow", "LeaseOwner", "on_a_clock", "owned_by",
           "reads_clock"]

#: how the checker, which keeps no clock, reads ``expired()``; the first is the default
READINGS: dict[str, str] = {
    "expired": "every lease taken may have run out, even one a live run holds (a run may be paused longer than "
               "the lease): the default, since it offers every row the engine may return",
    "outlasts-owner": "the assumption that no run holds a lease longer than its length: a row whose owner run "
                      "is live has not run out; once that run is gone (it crashed, or ended without giving "
                      "the row up) it has",
}
#: the owner a row keeps in the checker once the run that took it has ended (a run id no live run has)
GONE = -1


@dataclass(frozen=True, eq=False)
class Lease:
    """A lease declared by ``Spec.lease``: ``taken_at`` (a DateTime column), ``owner`` (an Integer column of
    the same table), ``seconds`` (a number, a scope entry's name or a function of the scope)."""

    name: str
    taken_at: sa.Column[Any]
    owner: sa.Column[Any]
    seconds: float | str | Callable[[Any], float]
    where: SourceLocation

    @property
    def switch(self) -> str:
        """The spec switch that names the checker's reading of this lease."""
        return f"lease_{self.name}"

    def length(self, scope: Any) -> float:
        """The lease's length in ``scope``, in seconds."""
        n = self.seconds(scope) if callable(self.seconds) else (
            scope[self.seconds] if isinstance(self.seconds, str) else self.seconds)
        if isinstance(n, str):
            try:
                n = float(n)
            except ValueError:
                raise Unsupported(f"lease {self.name!r}: seconds must be a number, got {n!r}", self.where) from None
        if isinstance(n, bool) or not isinstance(n, int | float) or n < 0:
            raise Unsupported(f"lease {self.name!r}: seconds must be 0 or more, got {n!r}", self.where)
        return float(n)

    def taken(self) -> dict[str, Any]:
        """An UPDATE's values that take the lease: ``taken_at`` now, ``owner`` the running run."""
        return {self.taken_at.key: LeaseNow(self), self.owner.key: LeaseOwner(self)}

    def expired(self, scope: Any) -> LeaseExpired:
        """A WHERE condition: the row's lease was taken and has run out (``scope``: the program's
        ``ctx.scope``, which gives the length and the checker's reading)."""
        reading = str(scope[self.switch]) if self.switch in scope else next(iter(READINGS))
        return LeaseExpired(self, self.length(scope), reading)


class _LeaseElement(ColumnElement[Any]):
    """A lease's column, traversed as a child so that a copy of the statement (``replacement_traverse``)
    names the copy's columns."""

    inherit_cache = True
    _traverse_internals = [("column", InternalTraversal.dp_clauseelement),
                           ("other", InternalTraversal.dp_clauseelement)]

    def __init__(self, lease: Lease, column: sa.Column[Any], other: sa.Column[Any]) -> None:
        self.lease, self.column, self.other = lease, column, other

    def _copy_internals(self, **kw: Any) -> None:  # keep ``lease`` (not a clause) through a copy
        lease = self.lease
        super()._copy_internals(**kw)
        self.lease = lease


class LeaseNow(_LeaseElement):
    """The time a lease is taken: the engine's clock (UTC)."""

    inherit_cache = True
    type = sa.DateTime()

    def __init__(self, lease: Lease) -> None:
        super().__init__(lease, lease.taken_at, lease.owner)


class LeaseOwner(_LeaseElement):
    """The running run's id, written as the lease's owner; each driver binds it (``owned_by``)."""

    inherit_cache = True
    type = sa.Integer()

    def __init__(self, lease: Lease) -> None:
        super().__init__(lease, lease.owner, lease.taken_at)


class LeaseExpired(_LeaseElement):
    """``taken_at`` is set and at least ``seconds`` old (``reading``: the checker's assumption)."""

    inherit_cache = True
    type = sa.Boolean()
    _traverse_internals = [*_LeaseElement._traverse_internals, ("seconds", InternalTraversal.dp_plain_obj),
                           ("reading", InternalTraversal.dp_plain_obj)]

    def __init__(self, lease: Lease, seconds: float, reading: str) -> None:
        super().__init__(lease, lease.taken_at, lease.owner)
        if reading not in READINGS:
            raise Unsupported(f"lease {lease.name!r}: reading {reading!r} (known: {', '.join(READINGS)})",
                              lease.where)
        self.seconds, self.reading = seconds, reading


def reads_clock(statement: Any) -> bool:
    """Whether ``statement`` takes or reads a lease (its meaning then depends on the time it runs)."""
    return any(isinstance(e, LeaseNow | LeaseExpired) for e in visitors.iterate(statement))


def owned_by(statement: Any, owner: int, scale: float = 1.0) -> Any:
    """A copy of ``statement`` with ``owner`` written as every lease's owner and each lease's length times
    ``scale`` (a live run's wall seconds per scenario second); ``statement`` itself is left as it was."""
    if not any(isinstance(e, _LeaseElement) for e in visitors.iterate(statement)):
        return statement

    def bind(element: Any, **kw: Any) -> Any:
        if isinstance(element, LeaseOwner):
            return sa.literal(owner, sa.Integer())
        if isinstance(element, LeaseExpired) and scale != 1.0:
            return LeaseExpired(element.lease, element.seconds * scale, element.reading)
        return None
    return visitors.replacement_traverse(statement, {}, bind)


# -- real SQL: the engine's clock in UTC, a timestamp without a time zone ---------------------------------

@compiles(LeaseNow)
def _now_sqlite(element: LeaseNow, compiler: Any, **kw: Any) -> str:
    # SQLAlchemy's DateTime on SQLite is text, 'YYYY-MM-DD HH:MM:SS.ffffff': the same shape, so text order is
    # time order
    return "strftime('%Y-%m-%d %H:%M:%f000', 'now')"


@compiles(LeaseNow, "postgresql")
def _now_postgresql(element: LeaseNow, compiler: Any, **kw: Any) -> str:
    return "(statement_timestamp() AT TIME ZONE 'UTC')"


@compiles(LeaseNow, "mysql")
@compiles(LeaseNow, "mariadb")
def _now_mysql(element: LeaseNow, compiler: Any, **kw: Any) -> str:
    return "UTC_TIMESTAMP(6)"


@compiles(LeaseOwner)
def _owner(element: LeaseOwner, compiler: Any, **kw: Any) -> str:
    raise Unsupported(f"lease {element.lease.name!r}: its owner is bound by the driver running the statement "
                      "(spec.lease.owned_by)", element.lease.where)


def _column(element: LeaseExpired, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(element.column, **kw))


@compiles(LeaseExpired)
def _expired_sqlite(element: LeaseExpired, compiler: Any, **kw: Any) -> str:
    cutoff = compiler.process(sa.literal(f"-{element.seconds:.6f} seconds"), **kw)
    return f"({_column(element, compiler, **kw)} <= strftime('%Y-%m-%d %H:%M:%f000', 'now', {cutoff}))"


@compiles(LeaseExpired, "postgresql")
def _expired_postgresql(element: LeaseExpired, compiler: Any, **kw: Any) -> str:
    secs = compiler.process(sa.literal(element.seconds, sa.Float()), **kw)
    return (f"({_column(element, compiler, **kw)} <= (statement_timestamp() AT TIME ZONE 'UTC') - "
            f"make_interval(secs => {secs}))")


@compiles(LeaseExpired, "mysql")
@compiles(LeaseExpired, "mariadb")
def _expired_mysql(element: LeaseExpired, compiler: Any, **kw: Any) -> str:
    micros = compiler.process(sa.literal(round(element.seconds * 1_000_000), sa.Integer()), **kw)
    return f"({_column(element, compiler, **kw)} <= UTC_TIMESTAMP(6) - INTERVAL {micros} MICROSECOND)"


def on_a_clock(leases: Any, scope: Any, where: str) -> None:
    """Refuse a checker's reading other than the default for a run that has a clock (``where``: the
    simulation, a live run): there a lease runs out by its length, and an assumption would be ignored."""
    for declared in leases.values():
        reading = scope[declared.switch]
        if reading != next(iter(READINGS)):
            raise Unsupported(f"--switch {declared.switch}={reading} is the checker's assumption (it keeps no "
                              f"clock); {where} reads lease {declared.name!r} on its clock: leave the switch out",
                              declared.where)
