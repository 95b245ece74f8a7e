"""One sweep run of a spec file: a simulated run (``sim.specrun``), flattened to one row.

The sweep's fixed part is a plain dict (``spec_base``: the spec's path and the settings), so that a run
can go to another process or a Dask worker, which loads the spec once. A grid point names the spec's scope
entries and switches, or settings of ``SpecSettings`` (``statement_ms``, ``retry_after_s`` ...). Each row
records what produced it (``settings`` and ``wavesim_version``), as the built-in sweep's rows do. It sits
beside the command rather than in ``sweep/`` because it loads a spec file (``specfile``), which ``sweep/``
may not import (``tests/test_layers.py``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import fields
from functools import cache
from pathlib import Path
from typing import Any

from sim.specrun import run_spec
from sim.specsettings import SpecSettings
from spec.lang import Spec
from specfile.load import load_spec
from sweep.grid import Task, point_key
from userio.version import __version__

__all__ = ["SPEC_ROW_METRICS", "SWEPT_SETTINGS", "spec_base", "spec_columns", "spec_row", "spec_run_settings"]

#: the scalar metrics of ``wavesim run SPEC --json`` that a row keeps (then the spec's own, as ``spec.NAME``)
SPEC_ROW_METRICS = ("makespan_s", "events", "statements", "peak_queue_depth", "lock_waits", "lock_wait_s",
                    "max_lock_wait_s", "deadlocks")
#: the settings a grid point may name besides the spec's scope and switches
SWEPT_SETTINGS = ("statement_ms", "push_ms", "db_sigma", "duration_s", "retry_after_s", "horizon_s", "max_events")


def spec_base(path: str, settings: SpecSettings) -> dict[str, Any]:
    return {"spec": path, "settings": settings.to_dict()}


def _spec(path: str) -> Spec:
    """The spec at ``path``, loaded once per process and text of the file."""
    return _loaded(path, _digest(path))


@cache
def _loaded(path: str, digest: str) -> Spec:
    return load_spec(path)


def _settings(base: dict[str, Any], point: dict[str, object]) -> SpecSettings:
    """The base's settings with the point's values: a setting by name, a scope entry or switch as text."""
    given = dict(base["settings"])
    plain = {f.name: given[f.name] for f in fields(SpecSettings) if f.name in given}  # dialect, level, order too
    for key in ("durations", "fault_rates", "budgets", "scope"):
        plain[key] = tuple(dict(given.get(key) or {}).items())
    scope = dict(plain["scope"])
    for name, value in point.items():
        if name in SWEPT_SETTINGS:
            plain[name] = value
        else:
            scope[name] = str(value).lower() if isinstance(value, bool) else str(value)
    plain["scope"] = tuple(scope.items())
    return SpecSettings(**plain)


def spec_run_settings(base: dict[str, Any], point: dict[str, object]) -> dict[str, Any]:
    """Every setting a row's numbers depend on but its seed: the spec's file and name, its resolved scope
    (switches included), the file's digest and the run's settings."""
    settings = _settings(base, point)
    spec = _spec(base["spec"])
    doc = settings.to_dict()
    del doc["seed"]
    return {"spec": base["spec"], "spec_name": spec.name, "spec_sha256": _digest(base["spec"]),
            "scope": dict(spec.scope_of(dict(settings.scope))), **doc}


def _digest(path: str) -> str:
    """The spec file's SHA-256: a row is reused only for the same text of the spec."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def spec_columns(params: list[str], spec: Spec) -> list[str]:
    """The output file's columns for a sweep of ``spec`` over ``params``."""
    return ["point", "seed", *params, "outcome", *SPEC_ROW_METRICS, *(f"spec.{m}" for m in spec.metrics),
            *(f"holds_{p}" for p in spec.properties), "settings", "wavesim_version"]


def spec_row(base: dict[str, Any], task: Task) -> dict[str, object]:
    """Run the base's spec with the task's point and seed; a row of metrics and verdicts."""
    point = dict(task.point)
    spec = _spec(base["spec"])
    result = run_spec(spec, _settings(base, point).but(seed=task.seed))
    row: dict[str, object] = {"point": point_key(point), "seed": task.seed, **point, "outcome": result.outcome}
    row.update({name: result.metrics[name] for name in SPEC_ROW_METRICS})
    row.update({f"spec.{name}": value for name, value in result.metrics["spec"].items()})
    row.update({f"holds_{name}": held for name, held in result.held().items()})
    row["settings"] = json.dumps(spec_run_settings(base, point), sort_keys=True)
    row["wavesim_version"] = __version__
    return row
