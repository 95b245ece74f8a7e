"""The spec language's bulk push, ack with the last step, and listeners a job's success fires; the spec
model's memos."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
import sqlalchemy as sa

from model.specmodel import Model, check_spec
from model.specmodel.world import Job, World
from spec.errors import Unsupported
from spec.lang import Spec, bulk, keep, push

META = sa.MetaData()
COUNTER = sa.Table("counter", META, sa.Column("id", sa.Integer, primary_key=True),
                   sa.Column("n", sa.Integer, nullable=False))


def make(ack: str, listeners: tuple[str, ...] = ("done",), crashes: int = 0, event: Any = None) -> Model:
    spec = Spec("fan", META, scope={"jobs": 2}, queues={"default": 1, "listen": 1}, faults={"crash": crashes})
    spec.rows(lambda scope: {"counter": [{"id": 1, "n": 0}]})
    spec.start(lambda scope: [("fan",)])

    @spec.job("fan", ack=ack)
    def fan(ctx):  # type: ignore[no-untyped-def]
        yield bulk(*(push("work", i) for i in range(ctx.scope.jobs)))

    @spec.job("work", ack=ack, listeners=listeners, event=event)
    def work(ctx, i):  # type: ignore[no-untyped-def]
        yield sa.update(COUNTER).where(COUNTER.c.id == 1).values(n=COUNTER.c.n + 1)

    @spec.job("done", queue="listen", ack=ack)
    def done(ctx, *i):  # type: ignore[no-untyped-def]
        yield sa.select(COUNTER.c.n)

    spec.eventually("counted")(lambda view: view.rows("counter")[0]["n"] == view.scope.jobs and view.idle)
    return Model(spec, spec.scope_of())


def only(model: Model, world: World, kind: str) -> World:
    moves = [m for m in model.moves(world) if m.label[0] == kind and not m.fault]
    assert len(moves) == 1, [m.label for m in model.moves(world)]
    return moves[0].world


def test_a_bulk_push_is_one_step_and_with_last_step_leaves_no_ack() -> None:
    model = make("with_last_step")
    world = only(model, model.initial(), "take")
    world = only(model, world, "step")  # the bulk push, and the fan job's ack with it
    assert world.queues[0] == (Job("work", (0,)), Job("work", (1,)))
    assert world.slots == (None, None)
    world = only(model, only(model, world, "take"), "step")  # work(0): its UPDATE, its ack and its listener
    assert world.slots == (None, None)
    assert world.queues == ((Job("work", (1,)),), (Job("done", (0,)),))


def test_the_listeners_get_the_event_payload_when_one_is_given() -> None:
    model = make("with_last_step", event=lambda i: ("work", i + 10))
    world = only(model, only(model, model.initial(), "take"), "step")
    world = only(model, only(model, world, "take"), "step")
    assert world.queues[1] == (Job("done", ("work", 10)),)


def test_an_ack_of_its_own_fires_the_listeners_and_a_crash_before_it_fires_none() -> None:
    model = make("step", crashes=1)
    world = only(model, only(model, only(model, model.initial(), "take"), "step"), "ack")
    world = only(model, only(model, world, "take"), "step")  # work(0) updated, not yet acknowledged
    assert world.queues[1] == ()
    acked = only(model, world, "ack")
    assert acked.queues == ((Job("work", (1,)),), (Job("done", (0,)),))
    crashed = [m.world for m in model.moves(world) if m.label[0] == "crash"]
    assert [w.queues for w in crashed] == [((Job("work", (1,)), Job("work", (0,))), ())]


@pytest.mark.parametrize(("ack", "depth"), [("step", 15), ("with_last_step", 10)])
def test_the_whole_check_counts_the_ack_steps(ack: str, depth: int) -> None:
    """Five runs, each taken and stepped once: their five acks are steps of their own, or none."""
    search = check_spec(make(ack))
    assert search.complete and search.holds("counted")
    assert search.depth == depth


def test_an_unknown_ack_or_an_undeclared_listener_is_refused() -> None:
    with pytest.raises(Unsupported, match="ack must be one of"):
        make("later")
    with pytest.raises(Unsupported, match="listener 'nobody' is not declared"):
        make("step", listeners=("nobody",))
    with pytest.raises(Unsupported, match="bulk"):
        bulk()


def test_the_memos_find_the_same_graph(monkeypatch: pytest.MonkeyPatch) -> None:
    memo = check_spec(make("step", crashes=1))
    planned: list[Any] = []

    def plain(self: Model, db: Any, s: int, op: Any, nxt: Any, fn: Any = None) -> Any:
        planned.append(op)
        return self.engine.execute(db, s, op, nxt.where)

    monkeypatch.setattr(Model, "_execute", plain)
    bare = make("step", crashes=1)
    bare._slot_keys = None  # type: ignore[assignment]
    again = check_spec(bare)
    assert (memo.states, memo.transitions, memo.depth) == (again.states, again.transitions, again.depth)
    assert len(planned) > len({id(op) for op in planned})  # without the memo a statement is planned again


def test_a_statement_object_is_planned_once() -> None:
    model = make("step")
    check_spec(model)
    assert len(model._plans) == 4  # the UPDATE of work(0), work(1) and the SELECT of done(0), done(1)


def test_keep_sends_and_stores_only_what_the_program_keeps() -> None:
    spec = Spec("keep", META, queues={"default": 2})
    spec.rows(lambda scope: {"counter": [{"id": 1, "n": 0}, {"id": 2, "n": 5}]})
    spec.start(lambda scope: [("look",), ("look",)])
    seen: list[object] = []

    @spec.job("look")
    def look(ctx):  # type: ignore[no-untyped-def]
        big = yield keep(sa.select(COUNTER.c.n).order_by(COUNTER.c.id), lambda r: max(r.scalars()) > 1)
        seen.append(big)
        yield sa.update(COUNTER).where(COUNTER.c.id == 1).values(n=COUNTER.c.n + 1)

    spec.always("fine")(lambda view: True)
    model = Model(spec, spec.scope_of())
    world = only(model, model.initial(), "take")
    world = next(m.world for m in model.moves(world) if m.label[0] == "step")
    assert [r.history for r in world.slots if r is not None] == [(True,)]
    assert True in seen
    with pytest.raises(Unsupported, match="not a SQLAlchemy statement"):
        spec.jobs["look"] = replace(spec.jobs["look"], body=lambda ctx: (yield keep("SELECT 1", len)))
        list(Model(spec, spec.scope_of()).moves(only(model, model.initial(), "take")))


def test_a_worker_may_still_die_between_its_last_step_and_the_ack_it_comes_with() -> None:
    # the crash point the fused step would hide: the UPDATE committed, the ack not sent, the job redelivered
    model = make("with_last_step", crashes=1)
    world = only(model, only(model, model.initial(), "take"), "step")
    world = only(model, world, "take")
    crashed = [m for m in model.moves(world) if m.label[0] == "crash_after"]
    assert len(crashed) == 1
    after = crashed[0].world
    assert after.db.tables[0] == ((1, 1),) and after.slots == (None, None)
    assert Job("work", (0,)) in after.queues[0] and after.queues[1] == ()  # redelivered, no listener fired
    search = check_spec(model)
    assert search.holds("counted") is False  # the redelivered job counts twice
    assert search.holds("counted") is not check_spec(make("with_last_step", crashes=0)).holds("counted")
