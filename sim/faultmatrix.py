"""The fault matrix: policy x fault -> the share of runs in which each property held.

``fault_matrix(base, policies, faults, seeds)`` runs every policy under every
named fault (``sim.faultsettings.FAULT_PRESETS``) once per seed and keeps, per
cell and property, how many runs it held in and the seeds of the runs it failed
in, so each failure can be replayed (``FaultMatrix.replay``). Runs go to local
processes in chunks; the result does not depend on how many or in which order
they finish.

``MATRIX_BASE`` is the default scenario: the ``rapid-completions`` preset reduced to
8 waves of 20 batches with a heavier tail (lognormal, mean 0.1 s, sigma 1.5),
10 workers and sync listeners. It keeps the mechanisms (the burst under
``original``, the straggler stall under ``guarded``, the auto-trigger of
``seed-fix``, the reconciler of ``atomic``) at about a twentieth of the cost.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, fields
from typing import Any

from coordinator import PROPERTY_NAMES, ConfigError
from sim.faultsettings import FAULT_DEFAULTS, FAULT_PRESETS
from sim.replaycmd import replay_command
from sim.run import run_one
from sim.scenario import PRESETS, Scenario

__all__ = [
    "FAILING_SEEDS_KEPT", "MATRIX_BASE", "MATRIX_PRESET", "MATRIX_SETTINGS", "FaultMatrix", "fault_matrix",
    "run_cell_chunk",
]

#: what the default matrix scenario changes in the ``rapid-completions`` preset
MATRIX_SETTINGS: dict[str, Any] = {"waves": 8, "wave_size": 20, "batch_sigma": 1.5}
MATRIX_PRESET = "rapid-completions"
MATRIX_BASE = PRESETS[MATRIX_PRESET].with_settings(**MATRIX_SETTINGS)
#: failing seeds listed per cell and property in ``to_dict``
FAILING_SEEDS_KEPT = 10
#: short column names of the properties, in ``PROPERTY_NAMES`` order
SHORT = ("single_active", "one_below_thr", "threshold", "no_dup_claim", "no_dup_push", "queue_bounded", "no_stall",
         "completes")
_CHUNK = 25
#: what a header names when it differs from the preset (faults are the matrix's columns)
_NAMED = tuple(f.name for f in fields(Scenario) if f.name not in ("preset", "policy", "seed", "swarm", *FAULT_DEFAULTS))

Cell = tuple[str, str]  # (policy, fault)


def cell_scenario(base: Scenario, policy: str, fault: str, seed: int) -> Scenario:
    """The scenario of one run of the matrix."""
    return base.with_settings(policy=policy, seed=seed, **FAULT_PRESETS[fault])


def run_cell_chunk(base: Scenario, policy: str, fault: str, seeds: Sequence[int]) -> list[tuple[int, tuple[bool, ...]]]:
    """Run one cell's seeds; per seed, whether each property held (in ``PROPERTY_NAMES`` order)."""
    out = []
    for seed in seeds:
        props = run_one(cell_scenario(base, policy, fault, seed)).properties
        out.append((seed, tuple(bool(props[name]["holds"]) for name in PROPERTY_NAMES)))
    return out


def _scenario_name(s: Scenario) -> str:
    """The preset, and the settings (besides policy, seed and faults) in which the scenario differs from it."""
    base = PRESETS.get(s.preset)
    if base is None:
        return f"scenario {s.preset}"
    changed = [f"{name} {getattr(s, name):g}" if isinstance(getattr(s, name), float) else f"{name} {getattr(s, name)}"
               for name in _NAMED if getattr(s, name) != getattr(base, name)]
    return f"{s.preset} preset" + (f" with {', '.join(changed)}" if changed else "")


@dataclass(frozen=True, slots=True, kw_only=True)
class FaultMatrix:
    """Per (policy, fault) cell, the runs in which each property held and the seeds where it failed."""

    base: Scenario
    seeds: tuple[int, ...]
    policies: tuple[str, ...]
    faults: tuple[str, ...]
    #: policy -> fault -> property -> seeds of the runs in which it failed, ascending
    failing: dict[str, dict[str, dict[str, list[int]]]]

    def held(self, policy: str, fault: str, prop: str) -> float:
        """Share of runs in which ``prop`` held in that cell."""
        return 1.0 - len(self.failing[policy][fault][prop]) / len(self.seeds)

    def replay(self, policy: str, fault: str) -> tuple[int, tuple[str, ...], str] | None:
        """One failing run of a cell: its seed, the properties it fails, the command that replays it.

        The seed is the first failing run of the cell's rarest failure (the property that failed in
        the fewest runs), the one a user would otherwise have to hunt for; None when all held.
        A property that held in no run of the whole matrix (``never_held``) is left out: any seed
        replays it."""
        cell = self.failing[policy][fault]
        always = self.never_held()
        failed = [n for n in PROPERTY_NAMES if cell[n] and n not in always]
        if not failed:
            return None
        rarest = min(failed, key=lambda n: len(cell[n]))  # ties: the first in PROPERTY_NAMES
        seed = cell[rarest][0]
        fails = tuple(n for n in PROPERTY_NAMES if seed in cell[n])
        return seed, fails, replay_command(cell_scenario(self.base, policy, fault, seed))

    def never_held(self) -> tuple[str, ...]:
        """The properties that failed in every run of every cell."""
        return tuple(
            n for n in PROPERTY_NAMES
            if all(len(self.failing[p][f][n]) == len(self.seeds) for p in self.policies for f in self.faults)
        )

    def _notes(self) -> list[str]:
        always = self.never_held()
        if not always:
            return []
        return [f"{', '.join(always)} failed in every run of every cell (any seed replays that)."]

    def to_dict(self) -> dict[str, Any]:
        scenario = self.base.to_dict()
        scenario.pop("policy")
        scenario.pop("seed")
        cells = {
            p: {
                f: {
                    "runs": len(self.seeds),
                    "held": {n: round(self.held(p, f, n), 6) for n in PROPERTY_NAMES},
                    "failing_seeds": {n: self.failing[p][f][n][:FAILING_SEEDS_KEPT] for n in PROPERTY_NAMES},
                }
                for f in self.faults
            }
            for p in self.policies
        }
        switches = {p: self.base.with_settings(policy=p).resolved_policy.switches() for p in self.policies}
        return {"scenario": scenario, "seeds": [self.seeds[0], self.seeds[-1]], "policies": list(self.policies),
                "policy_switches": switches, "faults": list(self.faults), "cells": cells}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"

    def _head(self) -> str:
        s = self.base
        return (
            f"{_scenario_name(s)}: {s.waves} waves x {s.wave_size} batches, threshold {s.threshold}%, "
            f"{s.workers} workers, "
            f"{s.listener} listeners, {s.batch_distribution} batches (mean {s.batch_mean_s:g} s"
            + (f", sigma {s.batch_sigma:g}" if s.batch_distribution == "lognormal" else "")
            + f"); {len(self.seeds)} seeds ({self.seeds[0]}..{self.seeds[-1]}) per cell"
        )

    def _rows(self) -> list[tuple[str, ...]]:
        return [
            (p, f, *(f"{self.held(p, f, n):.0%}" for n in PROPERTY_NAMES))
            for p in self.policies for f in self.faults
        ]

    def _replays(self) -> list[tuple[str, str, int, tuple[str, ...], str]]:
        out = []
        for p in self.policies:
            for f in self.faults:
                found = self.replay(p, f)
                if found is not None:
                    out.append((p, f, *found))
        return out

    def table(self) -> str:
        """The matrix as plain text: one row per policy and fault, the share of runs each property held."""
        rows = self._rows()
        cols = ("policy", "fault", *SHORT)
        widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(cols)]

        def line(cells: Sequence[str]) -> str:
            return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

        body = [line(cols), line(["-" * w for w in widths])]
        for i, r in enumerate(rows):
            if i and r[0] != rows[i - 1][0]:
                body.append("")
            body.append(line(r))
        replays = [f"  {p} / {f}, seed {seed} ({', '.join(fails)} fail):\n    {cmd}"
                   for p, f, seed, fails, cmd in self._replays()]
        lines = [self._head(), "share of runs in which each property held:", "", *body]
        if replays:
            lines += ["", "replay one failing run of each cell (the first run of its rarest failure):", *replays]
        lines += ["", *self._notes()] if self._notes() else []
        return "\n".join(lines) + "\n"

    def to_markdown(self) -> str:
        """The matrix as a Markdown table, with the replay commands below it."""
        cols = ("policy", "fault", *(f"`{n}`" for n in PROPERTY_NAMES))
        lines = [self._head(), "", "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
        lines += ["| " + " | ".join(r) + " |" for r in self._rows()]
        replays = self._replays()
        if replays:
            lines += ["", "Replay one failing run of each cell (the first run of its rarest failure):", ""]
            lines += [f"- {p} / {f}, seed {seed} ({', '.join(fails)} fail): `{cmd}`"
                      for p, f, seed, fails, cmd in replays]
        lines += ["", *self._notes()] if self._notes() else []
        return "\n".join(lines) + "\n"


def fault_matrix(
    base: Scenario,
    policies: Sequence[str],
    faults: Sequence[str],
    seeds: Sequence[int],
    *,
    jobs: int = 1,
    progress: bool = False,
) -> FaultMatrix:
    """Run every policy under every named fault once per seed (``jobs`` local processes)."""
    unknown = [f for f in faults if f not in FAULT_PRESETS]
    if unknown:
        raise ConfigError(f"unknown fault {unknown[0]!r}; choose from: {', '.join(FAULT_PRESETS)}")
    if not policies or not faults or not seeds:
        raise ConfigError("a fault matrix needs at least one policy, one fault and one seed")
    policies, faults, seeds = tuple(dict.fromkeys(policies)), tuple(dict.fromkeys(faults)), tuple(seeds)
    for p in policies:  # validate every cell's scenario before any run
        for f in faults:
            cell_scenario(base, p, f, seeds[0])
    chunks = [(p, f, seeds[i : i + _CHUNK]) for p in policies for f in faults for i in range(0, len(seeds), _CHUNK)]
    failing: dict[str, dict[str, dict[str, list[int]]]] = {
        p: {f: {n: [] for n in PROPERTY_NAMES} for f in faults} for p in policies
    }
    from tqdm import tqdm

    with tqdm(total=len(policies) * len(faults) * len(seeds), desc="runs", unit="run", disable=not progress,
              file=sys.stderr, dynamic_ncols=True, leave=False) as bar:

        def take(p: str, f: str, rows: list[tuple[int, tuple[bool, ...]]]) -> None:
            for seed, holds in rows:
                for name, ok in zip(PROPERTY_NAMES, holds, strict=True):
                    if not ok:
                        failing[p][f][name].append(seed)
            bar.update(len(rows))

        if jobs <= 1:
            for p, f, chunk in chunks:
                take(p, f, run_cell_chunk(base, p, f, chunk))
        else:
            with ProcessPoolExecutor(max_workers=jobs) as pool:
                futures = {pool.submit(run_cell_chunk, base, p, f, chunk): (p, f) for p, f, chunk in chunks}
                for future in as_completed(futures):
                    take(*futures[future], future.result())
    for cells in failing.values():
        for props in cells.values():
            for seeds_failed in props.values():
                seeds_failed.sort()
    return FaultMatrix(base=base, seeds=seeds, policies=policies, faults=faults, failing=failing)
