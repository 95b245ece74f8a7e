"""The generated blocks of docs/databases.md: schema, SQL per effect, the fix's verdicts."""

from __future__ import annotations

from typing import Any

from coordinator import POLICIES, PROPERTY_NAMES
from coordinator import sql as q
from docgen import register

__all__ = ["fix_verdicts", "schema", "sql_per_effect"]

_NAMES = {"postgresql": "PostgreSQL", "mysql": "MariaDB / MySQL", "sqlite": "SQLite"}


@register("db-schema")
def schema() -> str:
    out = []
    for dialect in q.DIALECTS:
        body = ";\n".join(s.replace("{p}", "wavesim_") for s in q.SCHEMA[dialect])
        out.append(f"{_NAMES[dialect]}:\n\n```sql\n{body};\n```\n")
    return "\n".join(out)


@register("db-sql")
def sql_per_effect() -> str:
    out = []
    for effect in q.OPERATIONS:
        out.append(f"### {effect}\n")
        for dialect in q.DIALECTS:
            if not q.OPERATIONS[effect].statements[dialect]:
                out.append(f"{_NAMES[dialect]}: no SQL (a queue push only).\n")
                continue
            out.append(f"{_NAMES[dialect]}:\n\n```sql\n{q.render(effect, dialect)}\n```\n")
    return "\n".join(out)


#: the scopes the fix is judged at: no fault, and one crash that may hit a handler run between any two steps
_SCOPES: tuple[tuple[dict[str, Any], str], ...] = (
    ({}, "no fault"), ({"crashes": 1, "crash_handlers": True}, "one crash, at any step boundary"))


@register("db-fix-verdicts")
def fix_verdicts() -> str:
    from model.checker import check
    from model.scope import Scope

    fused = POLICIES["atomic"].with_switches(fused_push=True, name="atomic, fused_push (unbuildable)")
    head = "| policy | scope | states | " + " | ".join(PROPERTY_NAMES) + " |"
    rows = [head, "|" + "---|" * (3 + len(PROPERTY_NAMES))]
    for policy in (POLICIES["atomic"], fused):
        for values, label in _SCOPES:
            search = check(Scope(**values), policy)
            marks = {True: "holds", False: "VIOLATED", None: "?"}
            cells = [marks[search.holds(n)] for n in PROPERTY_NAMES]
            rows.append(f"| {policy.name} | {label} | {search.states} | " + " | ".join(cells) + " |")
    cmd = "wavesim check --policy atomic --crashes 1 --crash-handlers"
    return "\n".join(rows) + f"\n\nRerun: `{cmd}` (default scope: 2 waves x 2 batches at 50 %, 2 workers, 2 handlers)."
