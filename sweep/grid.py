"""The grid: ``--param name=v1,v2`` options expanded into tasks."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from userio.errors import BadInput

__all__ = ["Task", "expand_grid", "parse_param"]


@dataclass(frozen=True, slots=True)
class Task:
    """One run of a sweep: the grid point's settings and a seed."""

    point: tuple[tuple[str, object], ...]
    seed: int

    @property
    def key(self) -> tuple[str, int]:
        """What identifies a finished run in the output file."""
        return point_key(dict(self.point)), self.seed


def point_key(point: Mapping[str, object]) -> str:
    """A stable text key for a grid point, e.g. ``threshold=90;workers=8``."""
    return ";".join(f"{name}={point[name]}" for name in sorted(point))


def _value(raw: str) -> object:
    text = raw.strip()
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    return text


def parse_param(spec: str, allowed: Iterable[str]) -> tuple[str, list[object]]:
    """``"workers=4,8,16"`` -> ``("workers", [4, 8, 16])``; names must be in ``allowed``."""
    names = sorted(allowed)
    name, sep, values = spec.partition("=")
    name = name.strip().replace("-", "_")
    if not sep or not name or not values.strip():
        raise BadInput(f"--param {spec!r} must look like NAME=V1,V2,... (e.g. workers=4,8,16)")
    if name not in names:
        raise BadInput(f"--param {name!r} is not a scenario setting; choose one of: {', '.join(names)}")
    parsed = [_value(v) for v in values.split(",") if v.strip()]
    if not parsed:
        raise BadInput(f"--param {spec!r} has no values")
    return name, parsed


def expand_grid(params: Sequence[tuple[str, list[object]]], seeds: Sequence[int]) -> list[Task]:
    """Every combination of the parameters, each with every seed, in a fixed order."""
    seen: set[str] = set()
    for name, _ in params:
        if name in seen:
            raise BadInput(f"--param {name!r} is given twice")
        seen.add(name)
    names = [name for name, _ in params]
    combos = itertools.product(*(values for _, values in params)) if params else [()]
    return [
        Task(point=tuple(zip(names, combo, strict=True)), seed=seed)
        for combo in combos
        for seed in seeds
    ]
