"""A spec's predicates judged on worlds, memoised on the parts of the worlds each judgement read.

A property, a ``settled`` condition or a premise is a deterministic function of what it reads through its
``View``\\s (``View.reads``: the committed rows, the ghost counts, the queues, the runs, the failed jobs).
Two worlds that agree on every part one judgement read are judged alike, so the result is kept under the
values of those parts: a step that changes only a run or a session (most steps) is judged again by a
lookup. A judgement that reads other parts the next time is kept under those too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from model.specmodel.world import PARTS, View, World

__all__ = ["Judged"]

ReadSet = tuple[tuple[str, ...], ...]  # per world judged, the parts read


class Judged:
    """Memoised judgements; ``view(world)`` makes the views the predicates read."""

    def __init__(self, view: Callable[[World], View]) -> None:
        self._view = view
        #: per judgement's key, each set of parts it was seen to read, with its results by their values
        self._memo: dict[Any, list[tuple[ReadSet, dict[tuple[object, ...], object]]]] = {}

    def one(self, key: Any, worlds: tuple[World, ...], judge: Callable[..., object],
            fresh: Callable[[], None] | None = None) -> object:
        """``judge(*views)`` of ``worlds``, from the memo when worlds that agree on what it read were judged
        under ``key``; ``fresh`` runs when it is judged anew (the saturation's tests)."""
        known = self._memo.get(key)
        if known is None:
            known = self._memo[key] = []
        for seen, earlier in known:
            found = earlier.get(_parts(worlds, seen), _MISSING)
            if found is not _MISSING:
                return found
        views = tuple(self._view(w) for w in worlds)
        result = judge(*views)
        if fresh is not None:
            fresh()
        reads = tuple(tuple(sorted(v.reads)) for v in views)
        results = next((r for seen, r in known if seen == reads), None)
        if results is None:
            results = {}
            known.append((reads, results))
        results[_parts(worlds, reads)] = result
        return result


_MISSING = object()


def _parts(worlds: tuple[World, ...], reads: ReadSet) -> tuple[object, ...]:
    return tuple(PARTS[part](w) for w, names in zip(worlds, reads, strict=True) for part in names)
