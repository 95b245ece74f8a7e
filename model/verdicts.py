"""Each checked property's verdict, read off a search: violated when found, holds when the search was
complete, undecided otherwise (a budget stopped it). Shared by the write-up's checker and the spec checker."""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["Verdicts"]


class Verdicts:
    """A mixin for a search result with ``found`` (violations by name), ``complete`` and ``checked``."""

    __slots__ = ()
    found: Mapping[str, object]
    complete: bool
    checked: tuple[str, ...]

    def holds(self, name: str) -> bool | None:
        if name in self.found:
            return False
        return True if self.complete else None

    @property
    def decided(self) -> bool:
        return all(self.holds(n) is not None for n in self.checked)

    @property
    def undecided(self) -> tuple[str, ...]:
        return tuple(n for n in self.checked if self.holds(n) is None)
