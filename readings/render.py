"""The sensitivity table as text, JSON and Markdown.

Combinations whose cells are all the same are one row: the readings that do
not change any measured number are shown as "any" (``collapse``), so the table
shows which readings the evidence actually separates.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from coordinator.policy import SWITCHES
from readings.evidence import Item
from readings.grid import READINGS, Readings, label

__all__ = ["collapse", "to_dict", "to_json", "to_markdown", "to_text"]


def _cell_text(cell: dict[str, Any], item: Item) -> str:
    value = cell["value"]
    shown = "-" if value is None else (f"{value:.0%}" if item.unit == "share" else f"{value:g}")
    return f"{'yes' if cell['reproduced'] else 'no'} ({shown})"


def collapse(r: Readings) -> list[tuple[dict[str, str], list[int]]]:
    """Rows of identical results: per row, each reading's values ('any' when all of them occur) and the indexes."""
    groups: dict[str, list[int]] = {}
    for i, cells in enumerate(r.cells):
        key = json.dumps({**cells, "verdicts": r.verdicts.get(i)}, sort_keys=True)
        groups.setdefault(key, []).append(i)
    rows = []
    for members in groups.values():
        shown: dict[str, str] = {}
        for k, name in enumerate(READINGS):
            values = sorted({str(r.combos[i][k][1]).lower() for i in members})
            everything = {str(v).lower() for v in next(s for s in SWITCHES if s.name == name).values}
            # "any" only when the group is the full product over this reading; "/" since "|" splits a Markdown cell
            shown[name] = "any" if set(values) == everything and _full(r, members, k) else "/".join(values)
        rows.append((shown, members))
    rows.sort(key=lambda row: (-r.score(row[1][0])[0], -r.score(row[1][0])[1], row[1][0]))
    return rows


def _full(r: Readings, members: Sequence[int], k: int) -> bool:
    rest = {tuple(v for j, v in enumerate(r.combos[i]) if j != k) for i in members}
    return len(rest) * len({r.combos[i][k] for i in members}) == len(members)


def _verdict_text(v: dict[str, Any] | None) -> str:
    if not v:
        return "-"
    sim = v["simulation"]
    parts = [f"completes {sim['import_completes']:.0%}", f"no duplicate claim {sim['no_duplicate_claim']:.0%}",
             f"no duplicate push {sim['no_duplicate_push']:.0%}",
             f"single active {sim['single_active_wave']:.0%}", f"queue bounded {sim['queue_bounded']:.0%}"]
    promises = "; ".join(f"{k} {'kept' if p['reproduced'] else 'broken'} ({p['value']:g})"
                         for k, p in v["promises"].items() if p["value"] is not None)
    checker = v["checker"]
    if checker is None:
        checked = "checker not run"
    else:
        broken = [n for n, held in checker.items() if held is False]
        checked = "checker: " + (("violates " + ", ".join(broken)) if broken else "holds all")
    return f"sim: {', '.join(parts)}; {promises}; {checked}"


def to_dict(r: Readings) -> dict[str, Any]:
    best = r.best()
    return {
        "scenario": r.scenario.to_dict(),
        "seeds": list(r.seeds),
        "evidence": [{"id": i.id, "policy": i.policy, "sentence": i.sentence, "measure": i.measure,
                      "low": i.low, "high": i.high} for i in r.items],
        "combinations": [
            {"readings": dict(c), "cells": r.cells[i], "fits": r.fits(i), "reproduced": r.score(i)[0],
             **({"verdicts": r.verdicts[i]} if i in r.verdicts else {})}
            for i, c in enumerate(r.combos)
        ],
        "best": {"readings": dict(r.combos[best]), "reproduced": r.score(best)[0], "of": len(r.items)},
        "fitting": [dict(r.combos[i]) for i in range(len(r.combos)) if r.fits(i)],
    }


def to_json(r: Readings) -> str:
    return json.dumps(to_dict(r), indent=2) + "\n"


def _table(r: Readings, rows: list[tuple[dict[str, str], list[int]]]) -> list[str]:
    """One plain-text table of every column (the terminal's)."""
    head = [*READINGS, "combos", *(i.id for i in r.items), "fits"]
    body = []
    for shown, members in rows:
        i = members[0]
        body.append([*(shown[n] for n in READINGS), str(len(members)),
                     *(_cell_text(r.cells[i][it.id], it) for it in r.items), "yes" if r.fits(i) else "no"])
    widths = [max(len(h), *(len(row[k]) for row in body)) for k, h in enumerate(head)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in body]
    return lines


def _summary(r: Readings) -> list[str]:
    best = r.best()
    fitting = [i for i in range(len(r.combos)) if r.fits(i)]
    lines = [f"best supported: {label(r.combos[best])} ({r.score(best)[0]} of {len(r.items)} observations)"]
    if not fitting:
        missed = [it.id for it in r.items if not any(r.cells[i][it.id]["reproduced"] for i in range(len(r.combos)))]
        lines.append("no combination reproduces every observation"
                     + (f"; none reproduces: {', '.join(missed)}" if missed else ""))
    else:
        lines.append(f"{len(fitting)} combination(s) reproduce every observation; verdicts:")
        for i in fitting:
            lines.append(f"  {label(r.combos[i])}")
            for policy, v in r.verdicts[i].items():
                lines.append(f"    {policy}: {_verdict_text(v)}")
    return lines


def to_text(r: Readings) -> str:
    s = r.scenario
    head = (f"readings x evidence: {len(r.combos)} combinations, {len(r.seeds)} seeds each, preset {s.preset} "
            f"({s.workers} workers, {s.listener} listeners, {s.batch_distribution} batches mean {s.batch_mean_s:g} s)")
    key = "cell = reproduced (measured: median over seeds; shares as a mean); 'any' = every value gives the same row"
    return "\n".join([head, key, "", *_table(r, collapse(r)), "", *_summary(r)]) + "\n"


def to_markdown(r: Readings) -> str:
    """The table and summary as Markdown (docs and the report)."""
    s = r.scenario
    intro = (f"{len(r.combos)} combinations of readings, {len(r.seeds)} seeds each, on the `{s.preset}` preset. "
             "A cell is *yes* when the measured number (the median over seeds; a share as a mean) is within the "
             "evidence item's bounds (`readings/evidence.toml`); rows with identical results are merged "
             "and a reading that changes nothing in them is shown as *any*.")
    items = [f"- `{i.id}` ({i.policy}): {i.measure}, reproduced within [{i.low:g}, {i.high:g}]. "
             f"Write-up: \"{i.sentence}\"" for i in r.items]
    return "\n".join([intro, "", *items, "", *_markdown_tables(r, collapse(r)), "",
                      *(f"- {line.strip()}" for line in _summary(r))]) + "\n"


def _markdown_tables(r: Readings, rows: list[tuple[dict[str, str], list[int]]]) -> list[str]:
    """Two tables joined by a row number, the readings and then the evidence: one table of every
    column would not fit a page beside the site's navigation."""
    readings = [[str(k), *(shown[n] for n in READINGS), str(len(members))]
                for k, (shown, members) in enumerate(rows, start=1)]
    evidence = [[str(k), *(_cell_text(r.cells[members[0]][it.id], it) for it in r.items),
                 "yes" if r.fits(members[0]) else "no"] for k, (_, members) in enumerate(rows, start=1)]
    return [*_pipe_table(["row", *READINGS, "combos"], readings), "",
            "Each row against the evidence (the same row numbers):", "",
            *_pipe_table(["row", *(i.id for i in r.items), "fits"], evidence)]


def _pipe_table(head: list[str], body: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(head) + " |", "|" + "---|" * len(head), *("| " + " | ".join(row) + " |" for row in body)]


def from_dict(data: dict[str, Any]) -> Readings:
    """A ``Readings`` back from ``to_dict`` (for the docs, which render the committed result)."""
    from readings.evidence import EVIDENCE
    from sim.scenario import Scenario

    by_id = {i.id: i for i in EVIDENCE.items}
    combos = tuple(tuple(c["readings"].items()) for c in data["combinations"])
    return Readings(
        scenario=Scenario(**data["scenario"]), seeds=tuple(data["seeds"]), combos=combos,
        items=tuple(by_id[e["id"]] for e in data["evidence"]),
        cells=tuple(c["cells"] for c in data["combinations"]),
        verdicts={i: c["verdicts"] for i, c in enumerate(data["combinations"]) if "verdicts" in c},
        checked=True,
    )
