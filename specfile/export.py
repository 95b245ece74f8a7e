"""A counterexample written as something a user runs: a pytest file, or a SQL script per session.

The pytest file holds the trace and replays it with ``specfile.replay.replay_trace`` on the engine the
check followed, as ``wavesim replay --db`` does: a temporary SQLite file for a SQLite trace, the server
``URL_VARIABLES`` names for a PostgreSQL or MariaDB one (unset, the test is skipped with a reason naming
it). It asserts that the property holds in the real rows, so it fails while the bug is there and passes
once the fix is in the spec: a regression test, as Hypothesis prints a failing example. The spec is found
from the file's own folder when it sits beside or below it, else by its absolute path, so the test runs
from any folder.

The SQL script lists each step's statement under the worker (connection) that runs it, in the trace's
order: open one client per worker and paste the steps in turn to watch the race by hand.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from dbdriver.specdb import plain_key_copy
from model.specmodel import Model
from model.specmodel.trace import sql_dialect
from userio.errors import BadInput

__all__ = ["URL_VARIABLES", "export_text"]

#: the variable an exported test reads its server's URL from, per engine of the trace (a SQLite trace
#: replays on a temporary file); the names wavesim's own server tests read
URL_VARIABLES = {"postgresql": "WAVESIM_POSTGRES_URL", "mysql": "WAVESIM_MYSQL_URL"}

_PYTEST = '''"""{prop} in spec {name}: a counterexample found by `wavesim check`, as a test.

It replays the steps below on a real database and fails while the property is violated there.
Run it with:  pytest {file}
Database:     {database}
              The trace was checked for {dialect}: it replays on that engine only, as `wavesim replay --db`.
              wavesim creates its own tables under the prefix wavesim_ and drops them after; it never
              touches yours.
Spec:         {spec_where}

{steps}
"""

import json
import os
from pathlib import Path

import pytest

from specfile.replay import replay_trace

TRACE = json.loads(r"""
{trace}
""")
# the spec as the check saw it (same scope, switches, faults): {spec_comment}
TRACE["spec"] = {spec_code}


def test_{function}(tmp_path):
{url_code}
    done = replay_trace(TRACE, url)
    report = "\\n".join(done.lines)
    assert done.diverged is None, f"the engine did not follow the model at {{done.diverged}}:\\n{{report}}"
    assert done.violation is None, f"{{TRACE['property']}} violated in the real rows: {{done.violation}}\\n{{report}}"
'''


def _steps_text(trace: dict[str, Any]) -> list[str]:
    lines = []
    for n, step in enumerate(trace["steps"], 1):
        what = f"{step['sql']}  -> {step['outcome']}" if step["sql"] else step["outcome"]
        lines.append(f"{n:3d}. {step['worker']}{' ' + step['job'] if step['sql'] else ''}: {what}")
    return lines


def _schema_sql(model: Model) -> list[str]:
    """CREATE TABLE and the initial rows, for the trace's engine; each key a plain INTEGER PRIMARY KEY, as the
    tables ``replay --db`` creates (``dbdriver.specdb.plain_key_copy``)."""
    dialect = sql_dialect(model.engine.dialect.name)
    lines = []
    plain = sa.MetaData()
    for table in model.spec.metadata.sorted_tables:
        copy = plain_key_copy(table, plain, table.name)
        lines.append(str(sa.schema.CreateTable(copy).compile(dialect=dialect)).strip() + ";")
    for name, rows in model.spec.initial_rows(model.scope).items():
        table = model.spec.metadata.tables[name]
        for row in rows:
            insert = sa.insert(table).values(dict(row))
            lines.append(str(insert.compile(dialect=dialect, compile_kwargs={"literal_binds": True})) + ";")
    return lines


def _spec_reference(spec: str, path: str) -> tuple[str, str, str]:
    """How the exported file at ``path`` names ``spec``: the header's line, the code, its comment. Beside or
    below the file, relative to the file's own folder (move both together); elsewhere (the relative path would
    climb out of the file's folder), by its absolute path, so that the test finds it from any folder."""
    here = Path(path).resolve().parent
    try:
        relative = os.path.relpath(spec, start=here)
    except ValueError:  # another drive: no relative path
        relative = os.pardir
    if relative.split(os.sep)[0] == os.pardir:
        return (f"{spec} (its absolute path: it is not beside or below this file)", repr(spec),
                "by its absolute path, found from any folder while the spec stays there")
    return (f"{relative}, from this file's folder (move both together)",
            f"str((Path(__file__).parent / {relative!r}).resolve())",
            "found from this file's folder, from any working folder (move both together)")


def export_text(trace: dict[str, Any], path: str, model: Model) -> str:
    """The file for ``path``: a pytest module (``.py``) or a SQL script (``.sql``)."""
    suffix = Path(path).suffix
    if suffix == ".py":
        function = re.sub(r"\W", "_", trace["property"])
        dialect = trace["dialect"]
        variable = URL_VARIABLES.get(dialect)
        if variable is None:
            database = "a temporary SQLite file."
            url_code = "    url = f\"sqlite:///{tmp_path / 'replay.db'}\""
        else:
            database = f"the {dialect} server whose URL is in {variable} (unset: the test is skipped)."
            reason = f"set {variable} to a {dialect} server URL: the trace was checked for {dialect}"
            url_code = (f"    url = os.environ.get({variable!r})\n"
                        f"    if not url:\n"
                        f"        pytest.skip({reason!r})")
        where, code, comment = _spec_reference(trace["spec"], path)
        return _PYTEST.format(prop=trace["property"], name=trace["spec_name"], file=Path(path).name,
                              steps="\n".join(_steps_text(trace)), trace=json.dumps(trace, indent=2),
                              function=function, database=database, dialect=dialect, url_code=url_code,
                              spec_where=where, spec_code=code, spec_comment=comment)
    if suffix == ".sql":
        lines = [f"-- {trace['property']} in spec {trace['spec_name']}: {trace['detail']}",
                 f"-- For {trace['dialect']}, on a scratch database: the spec's tables and initial rows, then",
                 "-- each step in the trace's order, marked with the worker (client) that runs it: open one",
                 "-- client per worker and paste each step into its own. Queue steps (take, push, ack) are",
                 "-- comments: the queue is not in the database.", "", *_schema_sql(model), ""]
        for n, step in enumerate(trace["steps"], 1):
            if step["sql"] and not step["sql"].startswith("push "):
                lines.append(f"-- step {n}, {step['worker']} ({step['job']}): expect {step['outcome']}")
                lines.append(step["sql"] + ";")
            else:
                lines.append(f"-- step {n}, {step['worker']}: {step['sql'] or step['outcome']}")
        return "\n".join(lines) + "\n"
    raise BadInput(f"--export {path}: write a .py (pytest) or .sql file")
