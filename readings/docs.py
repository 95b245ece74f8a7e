"""The generated blocks of ``docs/readings.md`` (``docgen``).

* ``switches``: the one switch table (``coordinator.policy.SWITCHES``);
* ``readings``: the sensitivity table, from ``docs/readings.json`` (written by
  ``wavesim readings --jobs 2 --out docs/readings.json``, minutes of runs);
* ``calibration``: the incident preset's timeline next to the write-up's
  (seconds of runs, so it is recomputed whenever the page is checked).

``wavesim docs`` rewrites the page's blocks.
"""

from __future__ import annotations

import json
from pathlib import Path

from coordinator.policy import SWITCHES
from docgen import register
from readings.calibration import calibration, calibration_markdown
from readings.render import from_dict, to_markdown

__all__ = ["PAGE", "RESULT", "calibration_block", "readings_block", "switches_block"]

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "readings.md"
RESULT = ROOT / "docs" / "readings.json"


@register("switches")
def switches_block() -> str:
    head = "| switch | kind | values | default | write-up lines it reads | what it changes |\n|---|---|---|---|---|---|"
    rows = [f"| `{s.name}` | {s.kind} | {', '.join(f'`{v}`' for v in s.values)} | `{s.default}` | {s.lines} | "
            f"{s.changes} |" for s in SWITCHES]
    return "\n".join([head, *rows]) + "\n"


@register("readings")
def readings_block() -> str:
    return to_markdown(from_dict(json.loads(RESULT.read_text(encoding="utf-8"))))


@register("calibration")
def calibration_block() -> str:
    return calibration_markdown(calibration())
