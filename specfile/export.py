"""A counterexample written as something a user runs: a pytest file, or a SQL script per session.

The pytest file holds the trace and replays it on a real database (``WAVESIM_REPLAY_URL``, else a
temporary SQLite file) with ``specfile.replay.replay_trace``. It asserts that the property holds
in the real rows, so it fails while the bug is there and passes once the fix is in the spec: a
regression test, as Hypothesis prints a failing example.

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

from model.specmodel import Model
from model.specmodel.trace import sql_dialect
from userio.errors import BadInput

__all__ = ["export_text"]

_PYTEST = '''"""{prop} in spec {name}: a counterexample found by `wavesim check`, as a test.

It replays the steps below on a real database and fails while the property is violated there.
Run it with:  pytest {file}
Database:     WAVESIM_REPLAY_URL (default: a temporary SQLite file). wavesim creates its own tables
              under the prefix wavesim_ and drops them after; it never touches yours.

{steps}
"""

import json
import os
from pathlib import Path

from specfile.replay import replay_trace

TRACE = json.loads(r"""
{trace}
""")
# the spec, found from this file (move both together), as the check saw it: same scope, switches, faults
TRACE["spec"] = str((Path(__file__).parent / {spec!r}).resolve())


def test_{function}(tmp_path):
    url = os.environ.get("WAVESIM_REPLAY_URL", f"sqlite:///{{tmp_path / 'replay.db'}}")
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
    """CREATE TABLE and the initial rows, for the trace's engine."""
    dialect = sql_dialect(model.engine.dialect.name)
    lines = []
    for table in model.spec.metadata.sorted_tables:
        lines.append(str(sa.schema.CreateTable(table).compile(dialect=dialect)).strip() + ";")
    for name, rows in model.spec.initial_rows(model.scope).items():
        table = model.spec.metadata.tables[name]
        for row in rows:
            insert = sa.insert(table).values(dict(row))
            lines.append(str(insert.compile(dialect=dialect, compile_kwargs={"literal_binds": True})) + ";")
    return lines


def export_text(trace: dict[str, Any], path: str, model: Model) -> str:
    """The file for ``path``: a pytest module (``.py``) or a SQL script (``.sql``)."""
    suffix = Path(path).suffix
    if suffix == ".py":
        function = re.sub(r"\W", "_", trace["property"])
        spec = os.path.relpath(trace["spec"], start=Path(path).resolve().parent)
        return _PYTEST.format(prop=trace["property"], name=trace["spec_name"], file=Path(path).name,
                              steps="\n".join(_steps_text(trace)), trace=json.dumps(trace, indent=2),
                              function=function, spec=spec)
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
