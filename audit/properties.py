"""A spec's properties judged on exports of its tables: one moment of the real database.

The world judged (``ExportWorld``) is the properties' own view (``spec/view.py``) of committed tables that are
the exports, with no queue, no ghost counts, no runs and no failed jobs: an export holds none of them. A
property is judged when what it read is all in the exports; the view notes what a property reads
(``View.reads``), so one that read the ghost counts (``count``), the queue (``queued``, ``idle``), the runs
(``running``, ``idle``) or the failed jobs (``failed``), or a table no file was given for, is ``not judged``,
never ``holds``: it read a stand-in (nothing), not the real thing. A property that read only the exports is
judged exactly: its verdict depends on what it read alone. An ``eventually`` property is not judged (an
export is one moment, with no future to reach a goal in). A check that raises on the rows is a violation
whose detail names the error, as in a live run (``live/specview.py``): rows the property did not expect are
a finding about the table.

The JSON document (``schema: "wavesim.spec-audit/1"``)::

    {"schema", "spec", "spec_file", "scope": {name: value},
     "exports": [{"table", "file", "format", "rows", "ignored_columns": [...]}],
     "properties": {name: {"kind", "verdict": "holds" | "violated" | "not judged", "holds": true | false | null,
                           "detail", "reads": [...]}},
     "exit_code"}
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from audit.tables import TableExport
from spec.errors import Unsupported
from spec.lang import Scope, Spec
from spec.schema import Schema, Value
from spec.state import DbState
from spec.view import View, judge

__all__ = ["SCHEMA", "UNHELD", "ExportView", "ExportWorld", "Judged", "SpecAudit", "audit_exports", "to_json",
           "to_text"]

SCHEMA = "wavesim.spec-audit/1"
#: what a property may read that an export does not hold (``View.reads``), and the calls that read it
UNHELD = {"ghost": "ghost counts (count)", "queues": "the queue (queued, idle)", "slots": "runs (running, idle)",
          "failed": "failed jobs (failed)"}
EVENTUALLY = "an eventually goal: an export is one moment, no future to reach it in"


@dataclass(frozen=True, slots=True)
class ExportWorld:
    """A world (``spec/view.py``) whose committed tables are the exports: no queue, no runs, no ghost counts."""

    db: DbState
    queues: tuple[()] = ()
    slots: tuple[()] = ()
    ghost: tuple[()] = ()
    failed: tuple[()] = ()


class ExportView(View):
    """The properties' view of an export, noting each table read that no file holds."""

    def __init__(self, world: ExportWorld, schema: Schema, scope: Scope, exported: frozenset[str]) -> None:
        super().__init__(world, schema, scope)
        self.exported = exported
        self.absent: list[str] = []  # the tables read that no file holds

    def rows(self, table: str) -> list[dict[str, Value]]:
        if table in self._schema.names and table not in self.exported and table not in self.absent:
            self.absent.append(table)
        return super().rows(table)


@dataclass(frozen=True, slots=True)
class Judged:
    """One property on the exports: ``holds``, ``violated`` or ``not judged``, why, and what it read."""

    name: str
    kind: str
    verdict: str
    detail: str
    reads: tuple[str, ...] = ()

    @property
    def held(self) -> bool | None:
        """True held, False violated, None not judged."""
        return None if self.verdict == "not judged" else self.verdict == "holds"


@dataclass(frozen=True, slots=True)
class SpecAudit:
    """A spec's properties judged on exports of its tables, in the spec's order."""

    spec: Spec
    scope: Scope
    exports: tuple[TableExport, ...]
    judged: tuple[Judged, ...]

    def verdicts(self) -> dict[str, bool]:
        """Each judged property's verdict (True held, False violated); one not judged is left out."""
        return {j.name: j.held for j in self.judged if j.held is not None}


def audit_exports(spec: Spec, scope: Scope, exports: Sequence[TableExport]) -> SpecAudit:
    """Every property of ``spec`` on the tables of ``exports`` (a table without one is empty, and a property
    that reads it is not judged)."""
    by_table = {e.table: e.rows for e in exports}
    world = ExportWorld(DbState(tuple(by_table.get(name, ()) for name in spec.schema.names), ()))
    judged = []
    for prop in spec.properties.values():
        if prop.kind != "always":
            judged.append(Judged(prop.name, prop.kind, "not judged", EVENTUALLY))
            continue
        view = ExportView(world, spec.schema, scope, frozenset(by_table))
        try:
            detail = judge(prop, view)
        except Unsupported as raised:  # the check raised: judged below, unless it read what no export holds
            detail = f"the check raised: {raised.construct}"
        reads = tuple([f"table {t}" for t in view.absent] + [UNHELD[p] for p in UNHELD if p in view.reads])
        if reads:
            judged.append(Judged(prop.name, prop.kind, "not judged", f"reads {', '.join(reads)}, which no export "
                                 "holds", reads))
        else:
            judged.append(Judged(prop.name, prop.kind, "holds" if detail is None else "violated", detail or "-"))
    return SpecAudit(spec, scope, tuple(exports), tuple(judged))


def to_text(audit: SpecAudit, code: int) -> str:
    """The summary (spec, scope, each export), one note line for ignored columns, one line per property, and the
    result with its exit ``code``."""
    read = [f"{e.table} <- {e.file} ({e.format}, {len(e.rows)} row{'' if len(e.rows) == 1 else 's'})"
            for e in audit.exports]
    lines = [f"spec {audit.spec.name}; scope {repr(audit.scope) or '(none)'}", f"exports: {'; '.join(read)}"]
    ignored = [f"{e.file}: {', '.join(e.ignored)}" for e in audit.exports if e.ignored]
    if ignored:
        lines.append(f"note: columns the spec does not declare, ignored: {'; '.join(ignored)}")
    name_width = max(len(j.name) for j in audit.judged) + 2
    words = ["VIOLATED" if j.verdict == "violated" else j.verdict for j in audit.judged]
    width = max(len(w) for w in words)
    lines.append(f"  {'property':<{name_width}} {'verdict':<{width}} detail")
    lines.extend(f"  {j.name:<{name_width}} {w:<{width}} {j.detail}" for j, w in zip(audit.judged, words, strict=True))
    verdicts = audit.verdicts()
    broken = [name for name, held in verdicts.items() if not held]
    result = f"VIOLATED ({', '.join(broken)})" if broken else "holds"
    lines.append("")
    lines.append(f"result: {result}; {len(verdicts)} of {len(audit.judged)} properties judged; exit {code}")
    return "\n".join(lines) + "\n"


def to_json(audit: SpecAudit, code: int) -> dict[str, Any]:
    """The ``wavesim.spec-audit/1`` document."""
    return {
        "schema": SCHEMA,
        "spec": audit.spec.name,
        "spec_file": audit.spec.source,
        "scope": dict(audit.scope.items()),
        "exports": [{"table": e.table, "file": e.file, "format": e.format, "rows": len(e.rows),
                     "ignored_columns": list(e.ignored)} for e in audit.exports],
        "properties": {j.name: {"kind": j.kind, "verdict": j.verdict, "holds": j.held, "detail": j.detail,
                                "reads": list(j.reads)} for j in audit.judged},
        "exit_code": code,
    }
