"""Golden files: the whole output of a few seeded runs, kept in files that one command rewrites.

A golden file holds every number one seed produces, so that any change in what the simulation
draws or decides is seen. The numbers mean nothing on their own; the tests beside each case
assert *why* the run ends as it does. When a golden test fails it names the fields that moved and
what kind of change that is. If the change was meant, rewrite the files from the repository root::

    python -m tests.golden --write

then read ``git diff tests/golden/`` and commit the files with the change that moved them.
``python -m tests.golden`` alone compares and prints the same explanation, writing nothing.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:  # run as ``python -m tests.golden``: see the helpers the tests see
    sys.path.insert(0, str(HERE.parent))

from coordinator_builders import PINNED_READINGS  # noqa: E402

from sim.run import run_one  # noqa: E402
from sim.scenario import Scenario  # noqa: E402
from sim.specrun import run_spec  # noqa: E402
from sim.specsettings import SpecSettings  # noqa: E402
from specfile.load import load_spec  # noqa: E402
from userio.files import atomic_write  # noqa: E402

__all__ = ["CASES", "REGENERATE", "SMALL_GUARDED", "SMALL_SPEC", "Case", "explain", "moved", "produce", "stored"]

#: the one command that rewrites every golden file
REGENERATE = "python -m tests.golden --write"

#: a small guarded run that stalls as the write-up's import did (4 waves of 5, threshold 60 %, 3 workers)
SMALL_GUARDED = Scenario(policy="guarded", seed=1, waves=4, wave_size=5, threshold=60, workers=3,
                         batch_mean_s=0.5, switches=tuple(PINNED_READINGS.items()))


def _run_document(scenario: Scenario) -> dict[str, Any]:
    """A run's JSON contract and its exported rows (``wavesim run --json`` and ``--csv``)."""
    result = run_one(scenario)
    return {"run": json.loads(result.to_json()), "rows_csv": result.rows_csv().splitlines()}


#: a small run of the tutorial's spec in which its race happens (8 jobs, 4 workers, seed 18)
SMALL_SPEC = SpecSettings(seed=18, scope=(("jobs", "8"), ("workers", "4")))


def _spec_document(path: str, settings: SpecSettings) -> dict[str, Any]:
    """A spec run's JSON contract and its exported rows (``wavesim run SPEC --json`` and ``--csv``)."""
    result = run_spec(load_spec(HERE.parent.parent / path), settings)
    return {"run": json.loads(result.to_json()), "rows_csv": result.rows_csv().splitlines()}


@dataclass(frozen=True)
class Case:
    """One golden file: its name, what it pins, and how to produce it again."""

    name: str
    pins: str
    make: Callable[[], dict[str, Any]]

    @property
    def path(self) -> Path:
        return HERE / f"{self.name}.json"


CASES = {c.name: c for c in [
    Case("sim-run-small-guarded", "wavesim run --json and --csv of SMALL_GUARDED (guarded, seed 1)",
         lambda: _run_document(SMALL_GUARDED)),
    Case("sim-spec-batch-counter", "wavesim run examples/batch_counter.py --json and --csv of SMALL_SPEC",
         lambda: _spec_document("examples/batch_counter.py", SMALL_SPEC)),
]}


def produce(name: str) -> dict[str, Any]:
    """What the code produces now for the case ``name``, as it would be stored."""
    doc: dict[str, Any] = json.loads(json.dumps(CASES[name].make()))
    return doc


def stored(name: str) -> dict[str, Any]:
    """The committed golden file of the case ``name``."""
    doc: dict[str, Any] = json.loads(CASES[name].path.read_text(encoding="utf-8"))
    return doc


def _flat(value: object, prefix: str = "") -> dict[str, object]:
    if isinstance(value, dict):
        out: dict[str, object] = {}
        for key, inner in value.items():
            out.update(_flat(inner, f"{prefix}.{key}" if prefix else str(key)))
        return out or {prefix: {}}
    if isinstance(value, list) and value:
        out = {}
        for i, inner in enumerate(value):
            out.update(_flat(inner, f"{prefix}[{i}]"))
        return out
    return {prefix: value}


_MISSING = "<absent>"


def moved(old: dict[str, Any], new: dict[str, Any]) -> dict[str, tuple[object, object]]:
    """Every field (a dotted path) whose value differs, with its old and new value."""
    a, b = _flat(old), _flat(new)
    return {k: (a.get(k, _MISSING), b.get(k, _MISSING)) for k in sorted(a.keys() | b.keys())
            if a.get(k, _MISSING) != b.get(k, _MISSING)}


#: what a change under each part of a run's document means, most telling first
_MEANINGS = (
    ("run.scenario", "the settings the run used changed (a setting added or removed, a default, a preset): "
                     "the same seed now runs another scenario"),
    ("run.policy_switches", "a policy switch or reading was added, removed or changed its default: the handlers "
                            "may follow other code paths"),
    ("run.properties", "a verdict or its first violation moved: what the run shows about the policy changed, "
                       "which is a finding, not noise"),
    ("run.metrics", "what the run measured moved: the draws (sim/rng.py), the latencies, the queue, or the "
                    "handlers' decisions changed, so one seed no longer gives the run it gave"),
    ("rows_csv", "the final wave_coordination rows or their export format changed"),
)


def explain(name: str, changes: dict[str, tuple[object, object]]) -> str:
    """A failure message: which fields moved, what that kind of change means, and what to do."""
    lines = [f"golden file {CASES[name].path.relative_to(HERE.parent.parent)} ({CASES[name].pins}) "
             f"differs in {len(changes)} field(s):"]
    def rank(path: str) -> int:  # the settings first: a moved setting explains the rest
        return next((i for i, (part, _) in enumerate(_MEANINGS) if path.startswith(part)), len(_MEANINGS))

    shown = sorted(changes, key=lambda path: (rank(path), path))[:20]
    lines += [f"  {path}: {changes[path][0]!r} -> {changes[path][1]!r}" for path in shown]
    if len(changes) > 20:
        lines.append(f"  ... and {len(changes) - 20} more")
    touched = [(part, meaning) for part, meaning in _MEANINGS if any(p.startswith(part) for p in changes)]
    lines += [f"meaning: {part}: {meaning}" for part, meaning in touched]
    lines.append(f"if the change is meant, run `{REGENERATE}`, review `git diff tests/golden/` and commit it "
                 "with the change; if not, the change broke what one seed reproduces")
    return "\n".join(lines)


def write(name: str) -> bool:
    """Rewrite the case's golden file; True if it changed."""
    text = json.dumps(produce(name), indent=2) + "\n"
    path = CASES[name].path
    before = path.read_text(encoding="utf-8") if path.exists() else None
    if before != text:
        def put(tmp: Path) -> None:
            tmp.write_text(text, encoding="utf-8")

        atomic_write(path, put)
    return before != text
