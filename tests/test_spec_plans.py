"""Plans kept by SQLAlchemy's cache key (``spec.plans``): planned once per structure, and exactly the plan
compiling the statement itself would give."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa

import spec
from spec import plans
from spec.errors import Unsupported
from spec.statements import compile_statement

META = sa.MetaData()
T = sa.Table("t", META, sa.Column("id", sa.Integer, primary_key=True), sa.Column("n", sa.Integer),
             sa.Column("s", sa.String(3)))
SCHEMA = spec.Schema.of(META)
ROWS = {"t": [{"id": 1, "n": 5, "s": "a"}, {"id": 2, "n": 7, "s": "b"}, {"id": 3, "n": 1, "s": "c"}]}


def start(dialect: str = "postgresql") -> tuple[spec.Engine, spec.DbState]:
    return spec.Engine.of(SCHEMA, dialect), spec.initial(SCHEMA, ROWS, 1)


def result(engine: spec.Engine, state: spec.DbState, statement: Any) -> list[tuple[object, ...]]:
    (_, outcome), = engine.execute(state, 0, statement)
    assert isinstance(outcome, spec.Done), outcome
    return outcome.result.all()


def test_statements_differing_in_a_bound_value_share_one_plan_and_each_get_their_own_result() -> None:
    engine, state = start()
    decrement = lambda key: sa.update(T).where(T.c.id == key).values(n=T.c.n - 1).returning(T.c.n)  # noqa: E731
    assert result(engine, state, decrement(1)) == [(4,)]
    assert result(engine, state, decrement(2)) == [(6,)]  # the second id bound in, not the first's kept
    assert result(engine, state, decrement(3)) == [(0,)]
    assert engine.plans.planned == 1
    result(engine, state, sa.update(T).where(T.c.id == 1).values(n=T.c.n + 1).returning(T.c.n))
    assert engine.plans.planned == 2  # another structure (+ for -) is planned
    result(engine, state, sa.select(T.c.n).where(T.c.id == 2))
    assert engine.plans.planned == 3


def test_a_bound_value_is_checked_as_compiling_checks_it() -> None:
    engine, state = start()
    result(engine, state, sa.select(T.c.n).where(T.c.id == 1))
    with pytest.raises(Unsupported, match="beyond postgresql's 32-bit INTEGER"):
        engine.plan(sa.select(T.c.n).where(T.c.id == 1 << 40))


#: pairs of statements of one structure; the values differ where compiling reads more than their type
PAIRS: dict[str, Callable[[Any], Any]] = {
    "where": lambda v: sa.select(T.c.id, T.c.n).where(T.c.n > v),
    "set": lambda v: sa.update(T).values(n=v).where(T.c.id == 1).returning(T.c.n),
    "returning": lambda v: sa.delete(T).where(T.c.id == v).returning(T.c.n + v),
    "a string": lambda v: sa.select(T.c.id).where(T.c.s == ("a" * v)),  # checked against the column's length
    "an IN list": lambda v: sa.select(T.c.id).where(T.c.id.in_(list(range(v)))),
    "a LIMIT": lambda v: sa.select(T.c.id).order_by(T.c.id).limit(v),
    "an INSERT's values": lambda v: sa.insert(T).values(id=10 + v, n=v),
    "a GROUP BY's constants": lambda v: sa.select(T.c.n + v, sa.func.count()).group_by(T.c.n + 1),
    "a boolean": lambda v: sa.select(T.c.id).where((T.c.n > 0) == sa.literal(v == 1)),
    "an integer, then a boolean": lambda v: sa.select(T.c.id).where(  # equal as Python values, not in SQL
        T.c.n == sa.bindparam("p", True if v == 2 else v, type_=sa.Integer)),
    "a string set": lambda v: sa.update(T).values(s="a" * v).where(T.c.id == 1),  # checked against its length
    "a key lookup or not": lambda v: sa.select(T.c.id).where(T.c.id == v).limit(1),
}


@pytest.mark.parametrize("name", PAIRS)
@pytest.mark.parametrize("dialect", ["postgresql", "mysql", "sqlite"])
def test_a_kept_plan_is_the_plan_of_the_statement_itself(name: str, dialect: str) -> None:
    engine, _ = start(dialect)
    fresh = spec.Engine.of(SCHEMA, dialect)
    for value in (1, 2, 4, 1, 2):
        statement = PAIRS[name](value)
        try:
            expected: object = compile_statement(statement, SCHEMA, fresh.dialect)
        except Unsupported as refused:
            expected = str(refused)
        try:
            got: object = engine.plan(statement)
        except Unsupported as refused:
            got = str(refused)
        assert got == expected, (name, value)


def test_the_checks_that_read_a_value_keep_it_in_the_key() -> None:
    engine, _ = start()
    engine.plan(sa.select(T.c.id).where(T.c.s == "aaa"))
    with pytest.raises(Unsupported, match="longer than t.s's 3 characters"):
        engine.plan(sa.insert(T).values(id=9, s="aaaa"))  # an INSERT's value is checked on the value
    engine.plan(sa.select(T.c.n + 1, sa.func.count()).group_by(T.c.n + 1))
    with pytest.raises(Unsupported, match="neither grouped nor aggregated"):
        compile_statement(sa.select(T.c.n + 2, sa.func.count()).group_by(T.c.n + 1), SCHEMA, engine.dialect)
    with pytest.raises(Unsupported, match="neither grouped nor aggregated"):  # not bound into the kept plan
        engine.plan(sa.select(T.c.n + 2, sa.func.count()).group_by(T.c.n + 1))


def test_the_cache_starts_again_past_its_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plans, "PLANS_KEPT", 2)
    engine, state = start()
    for key in (1, 2, 3, 1):
        assert result(engine, state, sa.select(T.c.n).where(T.c.id == key)) == [(ROWS["t"][key - 1]["n"],)]
    assert engine.plans.planned == 2  # 1, 2 kept; 3 found the cache full and cleared it; 1 planned again
