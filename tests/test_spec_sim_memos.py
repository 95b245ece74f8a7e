"""What the spec simulation keeps between steps and between runs changes no result: runs of one spec share
their plans, a view keeps the dicts of rows a commit left alone, an idle session's plain SELECT keeps the
state, every item of an AND is still evaluated, and streams drawn in blocks give the single draws' values."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

import sim.specdb
from sim.rng import in_blocks
from sim.specrun import run_spec
from sim.specsettings import SpecSettings
from sim.specsim import SpecShell
from sim.specworld import SimView, SimWorld
from spec.errors import Unsupported
from spec.evaluation import _point, evaluate, is_true
from spec.executor import Engine
from spec.expr import Arith, Cmp, Col, Const, Logic
from spec.schema import Schema
from spec.state import initial
from spec.statements import Select
from specfile.load import load_spec

ROOT = Path(__file__).resolve().parent.parent
WRITEUP = ROOT / "coordinator/writeup.py"
SCOPE = (("waves", "3"), ("wave_size", "3"), ("policy", "original"))

META = sa.MetaData()
COUNTER = sa.Table("counter", META, sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
                   sa.Column("n", sa.Integer, nullable=False))
SCHEMA = Schema.of([COUNTER])


def test_the_runs_of_one_spec_share_its_plans_and_give_the_runs_of_fresh_engines() -> None:
    spec = load_spec(WRITEUP)
    sim.specdb._ENGINES.clear()
    first = SpecShell(spec, SpecSettings(seed=1, scope=SCOPE))
    first.run()
    planned = first.engine.plans.planned
    second = SpecShell(spec, SpecSettings(seed=1, scope=SCOPE))
    second.run()
    assert second.engine is first.engine and planned > 0
    assert second.engine.plans.planned == planned  # every structure was planned by the first run
    shared = [run_spec(spec, SpecSettings(seed=seed, scope=SCOPE)).to_json() for seed in range(3)]
    fresh = []
    for seed in range(3):
        sim.specdb._ENGINES.clear()
        fresh.append(run_spec(spec, SpecSettings(seed=seed, scope=SCOPE)).to_json())
    assert shared == fresh


def test_a_row_a_commit_left_alone_keeps_its_dict_and_a_changed_row_gets_a_new_one() -> None:
    engine = Engine.of(SCHEMA, "postgresql")
    world = SimWorld(initial(SCHEMA, {"counter": [{"id": 1, "n": 0}, {"id": 2, "n": 5}]}, sessions=1), [[]], [None])
    view = SimView(world, SCHEMA, {})  # type: ignore[arg-type]
    before = view.rows("counter")
    ((world.db, _),) = engine.execute(world.db, 0, sa.update(COUNTER).where(COUNTER.c.id == 2).values(n=6))
    after = view.rows("counter")
    assert after == [{"id": 1, "n": 0}, {"id": 2, "n": 6}]
    assert after[0] is before[0] and after[1] is not before[1]
    assert before[1] == {"id": 2, "n": 5}  # the dict of the row before the commit is left as it was


def test_a_plain_select_of_an_idle_session_keeps_the_state_it_was_given() -> None:
    engine = Engine.of(SCHEMA, "postgresql")
    state = initial(SCHEMA, {"counter": [{"id": 1, "n": 3}]}, sessions=2)
    ((after, outcome),) = engine.execute(state, 1, sa.select(COUNTER.c.n).where(COUNTER.c.id == 1))
    assert after is state and outcome.result.rows == ((3,),)  # type: ignore[union-attr]
    ((written, _),) = engine.execute(state, 1, sa.update(COUNTER).values(n=4))
    ((after, outcome),) = engine.execute(written, 0, sa.select(COUNTER.c.n))
    assert after is written and outcome.result.rows == ((4,),)  # type: ignore[union-attr]


def test_every_item_of_an_and_is_evaluated_so_an_overflow_after_a_false_item_is_still_refused() -> None:
    d = Engine.of(SCHEMA, "postgresql").dialect
    big = (1 << 31) - 1
    overflowing = Logic("and", (Cmp("=", Col(0, "int"), Const(1, "int")),
                                Cmp(">", Arith("+", Col(1, "int"), Const(big, "int")), Const(0, "int"))))
    with pytest.raises(Unsupported, match="beyond"):
        is_true(overflowing, (0, 1), d)
    assert evaluate(Logic("and", (Cmp("=", Col(0, "int"), Const(None, "null")),
                                  Cmp("=", Col(0, "int"), Const(1, "int")))), (0,), d) is False
    assert evaluate(Logic("or", (Cmp("=", Col(0, "int"), Const(None, "null")),
                                 Cmp("=", Col(0, "int"), Const(1, "int")))), (0,), d) is None


@pytest.mark.parametrize("draw", ["standard_normal", "standard_exponential", "random"])
def test_a_stream_drawn_in_blocks_gives_the_values_of_single_draws(draw: str) -> None:
    single = np.random.Generator(np.random.PCG64(7))
    blocked = np.random.Generator(np.random.PCG64(7))
    one_by_one = [float(getattr(single, draw)()) for _ in range(700)]
    taken = in_blocks(getattr(blocked, draw), 256).__next__
    assert [taken() for _ in range(700)] == one_by_one


def test_a_where_on_one_key_evaluates_only_that_row_unless_another_item_could_raise() -> None:
    engine = Engine.of(SCHEMA, "postgresql")
    big = (1 << 31) - 1
    state = initial(SCHEMA, {"counter": [{"id": 1, "n": 0}, {"id": 2, "n": big}]}, sessions=1)
    ((_, outcome),) = engine.execute(state, 0, sa.select(COUNTER.c.n).where((COUNTER.c.id == 1) & (COUNTER.c.n == 0)))
    assert outcome.result.rows == ((0,),)  # type: ignore[union-attr]
    plan = engine.plan(sa.select(COUNTER.c.n).where((COUNTER.c.id == 1) & (COUNTER.c.n == 0)))
    assert isinstance(plan, Select) and plan.where is not None and _point(plan.where, 0) == 1
    # row 2 overflows n + 1: the WHERE is evaluated on it (as on every row) and refused, key point or not
    with pytest.raises(Unsupported, match="beyond"):
        engine.execute(state, 0, sa.select(COUNTER.c.n).where((COUNTER.c.id == 1) & (COUNTER.c.n + 1 > 0)))
