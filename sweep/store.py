"""The sweep's output file: one row per run, CSV or JSON Lines by its extension.

Rows are appended and flushed as runs finish, so an interrupted sweep keeps
every finished row; a torn last line (the process died mid-write) is dropped on
resume. Loading changes nothing on disk: ``begin()`` rewrites the file (without
a torn line, or empty when starting over), ``finish()`` rewrites it in grid
order; both atomically.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from userio.errors import BadInput
from userio.files import atomic_write

__all__ = ["RowStore"]

FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}


class RowStore:
    """Append-only rows keyed by ``(point, seed)``."""

    def __init__(self, path: str | Path, columns: Sequence[str], *, fresh: bool = False) -> None:
        """Load the rows already in ``path``, unless ``fresh`` (starting over)."""
        self.path = Path(path)
        kind = FORMATS.get(self.path.suffix.lower())
        if kind is None:
            raise BadInput(f"--out {self.path}: the extension must be one of {', '.join(FORMATS)}")
        if not self.path.parent.is_dir():
            raise BadInput(f"cannot write {self.path}: folder {self.path.parent} does not exist")
        self.kind = kind
        self.columns = list(columns)
        self.rows: list[dict[str, object]] = self._load() if self.path.exists() and not fresh else []

    def begin(self) -> None:
        """Write the rows kept so far (once the caller has decided to reuse them)."""
        self._rewrite()

    def done(self) -> set[tuple[str, int]]:
        """Keys of the runs already in the file."""
        return {(str(r["point"]), int(str(r["seed"]))) for r in self.rows}

    def append(self, row: Mapping[str, object]) -> None:
        self.rows.append(dict(row))
        with self.path.open("a", encoding="utf-8", newline="") as out:
            out.write(self._format([row], header=False))
            out.flush()

    def finish(self, order: Sequence[tuple[str, int]]) -> None:
        """Rewrite the file in the given key order (grid order), atomically."""
        rank = {key: i for i, key in enumerate(order)}
        self.rows.sort(key=lambda r: rank.get((str(r["point"]), int(str(r["seed"]))), len(rank)))
        self._rewrite()

    def _rewrite(self) -> None:
        text = self._format(self.rows, header=True)

        def write(tmp: Path) -> None:
            tmp.write_text(text, encoding="utf-8")

        atomic_write(self.path, write)

    def _format(self, rows: Sequence[Mapping[str, object]], *, header: bool) -> str:
        if self.kind == "jsonl":
            return "".join(json.dumps({c: r.get(c) for c in self.columns}) + "\n" for r in rows)
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=self.columns, lineterminator="\n", extrasaction="ignore")
        if header:
            writer.writeheader()
        writer.writerows(rows)
        return buffer.getvalue()

    def _load(self) -> list[dict[str, object]]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            raise BadInput(f"cannot resume from {self.path}: {err}") from None
        if text and not text.endswith("\n"):
            text = text[: text.rfind("\n") + 1]  # a torn last line: that run is redone
        if self.kind == "jsonl":
            rows = []
            for number, line in enumerate(text.splitlines(), start=1):
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError:
                    raise BadInput(f"cannot resume from {self.path}: line {number} is not JSON") from None
            return self._checked(rows)
        reader = csv.DictReader(io.StringIO(text))
        if text and reader.fieldnames != self.columns:
            raise BadInput(f"cannot resume from {self.path}: its columns are not this sweep's columns; "
                           "give --force to start the file over")
        return self._checked([dict(r) for r in reader])

    def _checked(self, rows: list[dict[str, object]]) -> list[dict[str, object]]:
        for number, row in enumerate(rows, start=1):
            if "point" not in row or "seed" not in row:
                raise BadInput(f"cannot resume from {self.path}: row {number} has no point or seed")
            if self.kind == "csv":
                row.update({k: _typed(v) for k, v in row.items()})
        return rows


def _typed(value: object) -> object:
    """CSV gives text back; numbers and booleans are restored so summaries can use them."""
    if not isinstance(value, str):
        return value
    if value in ("True", "False"):
        return value == "True"
    if value == "":
        return None
    for cast in (int, float):
        try:
            return cast(value)
        except ValueError:
            pass
    return value
