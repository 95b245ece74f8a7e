"""Plans kept by SQLAlchemy's cache key: a statement built afresh with new values is planned once.

A program builds its statements anew on every run (``update(t).where(t.c.id == job_id)``), so a plan kept by
the statement object is found again only within one run. SQLAlchemy's compiled cache keys a statement by
its structure (``_generate_cache_key().key``) and binds its parameters (``.bindparams``, in the statement's
order) into the cached compilation; ``PlanCache`` does the same with the model's plans.

Exact: a bound plan equals the plan ``compile_statement`` makes of the statement itself
(``tests/test_spec_plans.py`` compares them). A parameter is bound in only where compiling read nothing of
its value but its type, and its value is checked again as compiling checks it (``expr.const``: the integer
width). That is an integer (``int``, not ``bool``) that the plan holds as a constant: one in a WHERE, a
SET, a RETURNING, a SELECT's columns. Every other parameter is part of the key by its value: strings (a
column's length is checked on the value), an IN's list, LIMIT and OFFSET (read as numbers), an INSERT's
values (the plan holds them as bare values in its rows), and every constant of a SELECT with GROUP BY (its
columns are matched to the GROUP BY by value). A statement SQLAlchemy cannot key is planned every time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

from spec.dialects import Dialect
from spec.expr import Const, const, recording_parameters
from spec.statements import Plan, Select

__all__ = ["PLANS_KEPT", "PlanCache"]

#: plans kept at most, over every structure; past it the cache starts again. A spec has a few statement
#: structures and a few values of each, so the bound only matters for a program that builds unbounded ones.
PLANS_KEPT = 4096


@dataclass(slots=True)
class _Template:
    """One statement structure (with its parameters' types) planned: where each bound parameter sits."""

    plan: Plan
    fixed: tuple[int, ...]  # parameters whose values are part of the key
    fixed_values: tuple[object, ...]  # their values when the template was planned
    bound: tuple[tuple[int, tuple[int, ...]], ...]  # (parameter, ids of the constants in ``plan`` made of it)
    spine: frozenset[int]  # ids of ``plan``'s nodes that hold a bound constant: what binding rebuilds
    plans: dict[tuple[object, ...], Plan]  # by (fixed values, bound values)


class PlanCache:
    """Plans by SQLAlchemy's cache key; ``plan(statement, compile, dialect)`` plans a structure once."""

    def __init__(self) -> None:
        self._templates: dict[tuple[object, ...], _Template] = {}
        self._kept = 0
        self.planned = 0  # statements compiled (not found and not bound): what tests count

    def plan(self, statement: Any, compile: Callable[[], Plan], dialect: Dialect) -> Plan:
        """``statement``'s plan: kept, bound from its structure's, or ``compile()`` (then kept)."""
        key = statement._generate_cache_key()
        if key is None:
            return self._compiled(compile)
        values = [p.effective_value for p in key.bindparams]
        try:
            shape = (key.key, *map(type, values))
            template = self._templates.get(shape)
            if template is None:
                return self._first(shape, key.bindparams, values, compile)
            chosen = (*[_frozen(values[i]) for i in template.fixed], *[values[i] for i, _ in template.bound])
            found = template.plans.get(chosen)
        except TypeError:  # an unhashable value: compiling will refuse it, or plan it uncached
            return self._compiled(compile)
        if found is None:
            if chosen[:len(template.fixed)] == template.fixed_values:
                found = _bind(template, values, dialect)
            else:
                found = self._compiled(compile)
            self._keep(template, chosen, found)
        return found

    def _compiled(self, compile: Callable[[], Plan]) -> Plan:
        self.planned += 1
        return compile()

    def _first(self, shape: tuple[object, ...], parameters: Any, values: list[Any],
               compile: Callable[[], Plan]) -> Plan:
        with recording_parameters() as recorded:
            plan = self._compiled(compile)
        if not set(recorded) <= {id(p) for p in parameters}:
            return plan  # a constant from a parameter SQLAlchemy does not key: nothing could be bound
        present = _spine(plan, set())[1]
        grouped = isinstance(plan, Select) and bool(plan.group_by)
        bound, fixed = [], []
        for i, p in enumerate(parameters):
            made = recorded.get(id(p), [])
            if type(values[i]) is int and made and not grouped and all(id(c) in present for c in made):
                bound.append((i, tuple(id(c) for c in made)))
            else:
                fixed.append(i)
        fixed_values = tuple(_frozen(values[i]) for i in fixed)
        spine = _spine(plan, {c for _, ids in bound for c in ids})[0]
        template = _Template(plan, tuple(fixed), fixed_values, tuple(bound), frozenset(spine), {})
        self._templates[shape] = template
        self._keep(template, (*fixed_values, *(values[i] for i, _ in bound)), plan)
        return plan

    def _keep(self, template: _Template, chosen: tuple[object, ...], plan: Plan) -> None:
        if self._kept >= PLANS_KEPT:
            self._templates.clear()
            self._kept = 0
            return
        template.plans[chosen] = plan
        self._kept += 1


def _frozen(value: object) -> object:
    """A parameter's value as a key: typed (``1`` and ``True`` are equal in Python, not in a plan), and a
    list (an IN's) as a tuple."""
    if isinstance(value, (list, tuple)):
        return tuple(_frozen(v) for v in value)
    return (type(value), value)


_FIELDS: dict[type, tuple[str, ...]] = {}


def _fields(node: object) -> tuple[str, ...]:
    names = _FIELDS.get(type(node))
    if names is None:
        names = _FIELDS[type(node)] = tuple(f.name for f in fields(node))  # type: ignore[arg-type]
    return names


def _spine(plan: Plan, slots: set[int]) -> tuple[set[int], set[int]]:
    """The ids of ``plan``'s nodes that hold one of the constants ``slots`` (those included), and of every
    constant in it."""
    spine: set[int] = set()
    present: set[int] = set()

    def walk(node: object) -> bool:
        if isinstance(node, Const):
            present.add(id(node))
            held = id(node) in slots
        elif isinstance(node, tuple):
            held = any([walk(item) for item in node])  # a list: every item is walked
        elif hasattr(node, "__dataclass_fields__"):
            held = any([walk(getattr(node, name)) for name in _fields(node)])
        else:
            return False
        if held:
            spine.add(id(node))
        return held

    walk(plan)
    return spine, present


def _bind(template: _Template, values: list[Any], dialect: Dialect) -> Plan:
    """The template's plan with each bound parameter's constants made of ``values`` instead."""
    new: dict[int, Const] = {}
    for i, ids in template.bound:
        made = const(values[i], dialect)
        for c in ids:
            new[c] = made
    spine = template.spine

    def rebuild(node: Any) -> Any:
        if id(node) not in spine:
            return node
        if isinstance(node, Const):
            return new[id(node)]
        if isinstance(node, tuple):
            return tuple(rebuild(item) for item in node)
        return type(node)(*(rebuild(getattr(node, name)) for name in _fields(node)))

    plan: Plan = rebuild(template.plan)
    return plan
