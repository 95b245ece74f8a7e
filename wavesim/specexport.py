"""A counterexample written as something a user runs: a pytest file, or a SQL script per session.

The pytest file holds the trace and replays it on a real database (``WAVESIM_REPLAY_URL``, else a
temporary SQLite file) with ``wavesim.specreplay.replay_trace``. It asserts that the property holds
in the real rows, so it fails while the bug is there and passes once the fix is in the spec: a
regression test, as Hypothesis prints a failing example.

The SQL script lists each step's statement under the worker (connection) that runs it, in the trace's
order: open one client per worker and paste the steps in turn to watch the race by hand.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from wavesim.errors import BadInput

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

from wavesim.specreplay import replay_trace

TRACE = json.loads(r"""
{trace}
""")


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


def export_text(trace: dict[str, Any], path: str) -> str:
    """The file for ``path``: a pytest module (``.py``) or a SQL script (``.sql``)."""
    suffix = Path(path).suffix
    if suffix == ".py":
        function = re.sub(r"\W", "_", trace["property"])
        return _PYTEST.format(prop=trace["property"], name=trace["spec_name"], file=Path(path).name,
                              steps="\n".join(_steps_text(trace)), trace=json.dumps(trace, indent=2),
                              function=function)
    if suffix == ".sql":
        lines = [f"-- {trace['property']} in spec {trace['spec_name']}: {trace['detail']}",
                 f"-- engine {trace['dialect']}; one client per worker; run the steps in this order.",
                 "-- Queue steps (take, push, ack) are comments: the queue is not in the database.",
                 "-- The tables are named as in the spec: run it on a scratch database that has them.", ""]
        for n, step in enumerate(trace["steps"], 1):
            if step["sql"] and not step["sql"].startswith("push "):
                lines.append(f"-- step {n}, {step['worker']} ({step['job']}): expect {step['outcome']}")
                lines.append(step["sql"] + ";")
            else:
                lines.append(f"-- step {n}, {step['worker']}: {step['sql'] or step['outcome']}")
        return "\n".join(lines) + "\n"
    raise BadInput(f"--export {path}: write a .py (pytest) or .sql file")
