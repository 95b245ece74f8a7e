"""The generated blocks of "Check your own coordinator" (docs/your-coordinator.md).

The tutorial's spec is shown from its file, and what ``wavesim check`` prints for it is computed by the
checker itself (without the timings, so that the page is the same on every machine).
"""

from __future__ import annotations

from model.specmodel import Model
from wavesim.commands.speccheck import run_spec_check, spec_report_text
from wavesim.docgen import project_root, register
from wavesim.specfile import load_spec

__all__ = ["check_block"]

TUTORIAL = "examples/batch_counter.py"


def check_block(path: str, *overrides: str) -> str:
    """``wavesim check PATH --switch ...`` and what it prints, as a console block."""
    spec = load_spec(project_root() / path)
    given = dict(o.split("=", 1) for o in overrides)
    run = run_spec_check(Model(spec, spec.scope_of(given)), properties=None, max_states=None, time_limit=60.0)
    flags = "".join(f" --switch {o}" for o in overrides)
    return f"```console\n$ wavesim check {path}{flags}\n{spec_report_text(run, timings=False)}\n```"


@register("spec-tutorial-file")
def tutorial_file() -> str:
    text = (project_root() / TUTORIAL).read_text(encoding="utf-8").rstrip("\n")
    return f"```python\n{text}\n```"


@register("spec-tutorial-check")
def tutorial_check() -> str:
    return check_block(TUTORIAL)


@register("spec-tutorial-fixed")
def tutorial_fixed() -> str:
    return check_block(TUTORIAL, "fix=returning")
