"""The readings page's table, split in two so that it fits a 1280 px screen, loses nothing.

The Markdown (docs and the report) carries the readings and the evidence as two
tables joined by a row number; together they hold exactly the cells of the one
plain-text table the terminal prints.
"""

from __future__ import annotations

import json

from readings.docs import RESULT
from readings.render import READINGS, collapse, from_dict, to_markdown, to_text
from wavesim.docblocks import markdown_table


def test_the_two_markdown_tables_join_by_row_into_the_terminals_table() -> None:
    readings = from_dict(json.loads(RESULT.read_text(encoding="utf-8")))
    text = to_markdown(readings)
    first = markdown_table(text)
    second = markdown_table(text[text.index("Each row against the evidence"):])
    assert first[0][0] == second[0][0] == "row"
    assert first[0][1:] == [*READINGS, "combos"]  # every reading, and nothing but the readings, in the first
    joined = [a[1:] + b[1:] for a, b in zip(first[1:], second[1:], strict=True)]
    assert [a[0] for a in first[1:]] == [b[0] for b in second[1:]] == [str(k) for k in range(1, len(joined) + 1)]
    terminal = [line.split() for line in to_text(readings).splitlines()]
    start = next(k for k, cells in enumerate(terminal) if cells[:1] == [READINGS[0]])
    head, rows = terminal[start], terminal[start + 2: start + 2 + len(collapse(readings))]
    assert [*first[0][1:], *second[0][1:]] == head
    assert [" ".join(cells).split() for cells in joined] == rows
