"""A simulated spec's ``always`` properties, judged again only when something they read has changed.

A predicate's verdict depends only on what it reads through its view (as the checker's memo,
``model.specmodel.judged``, relies on too): so after each step ``AlwaysJudged.judge`` skips a property not
violated yet whose parts of the world (``SimWorld.part``) all have the values they had when it was last
judged, and the verdict it would give is the one it gave. A property that read the clock, or a part without
a value to compare, is judged every time. When no part has changed at all since a judging after which every
property left was known by its parts (``SimWorld.version``), none is looked at.
"""

from __future__ import annotations

from collections.abc import Callable

from sim.specworld import SimView, SimWorld
from spec.lang import Property
from spec.view import judge

__all__ = ["AlwaysJudged"]


class AlwaysJudged:
    """The ``always`` properties of one run; ``judge()`` after each step records each first violation (its time
    from ``clock``, its detail) in ``violations``."""

    def __init__(self, always: list[Property], world: SimWorld, view: SimView,
                 violations: dict[str, tuple[float, str]], clock: Callable[[], float]) -> None:
        self.always, self.world, self.view, self.violations, self.clock = always, world, view, violations, clock
        #: per property that held when last judged: the parts of the world it read, and their values then
        self._judged: dict[str, tuple[tuple[str, ...], tuple[object, ...]]] = {}
        self._unchanged: tuple[object, ...] | None = None  # the world's version when every property was known

    def judge(self) -> None:
        """Judge each ``always`` property not violated yet whose parts read last time have changed."""
        version = self.world.version()
        if version == self._unchanged:
            return
        view, world_part = self.view, self.world.part
        parts: dict[str, object] = {}  # each part's value, read once per call: judging changes no part

        def part(p: str) -> object:
            if p not in parts:
                parts[p] = world_part(p)
            return parts[p]

        for prop in self.always:
            name = prop.name
            if name in self.violations:
                continue
            last = self._judged.get(name)
            if last is not None:
                for p, was in zip(*last, strict=True):
                    now = part(p)
                    if now is not was and now != was:
                        break
                else:
                    continue
            view.reads = set()
            detail = judge(prop, view)
            if detail is not None:
                self.violations[name] = (self.clock(), detail)
                continue
            reads = tuple(sorted(view.reads))
            values = tuple(part(p) for p in reads)
            if None in values:
                self._judged.pop(name, None)
            else:
                self._judged[name] = (reads, values)
        known = all(p.name in self._judged or p.name in self.violations for p in self.always)
        self._unchanged = version if known else None
