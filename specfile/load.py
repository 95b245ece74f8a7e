"""Load a user's spec file: import it by path and find its one ``Spec``.

Every way a spec can be wrong to load is one line naming the file (and line, where there is one): a
missing file, a syntax error, an exception while it runs, no ``Spec`` or several, or a construct the
model refuses (``spec.Unsupported``).
"""

from __future__ import annotations

import importlib.util
import math
import sys
import traceback
from collections.abc import Iterable
from pathlib import Path

import click

from model.specmodel import Model
from model.specmodel.actions import FAULT_NAMES
from spec.errors import Unsupported
from spec.lang import Spec
from userio.errors import BadInput
from userio.files import is_spec_path

__all__ = ["given_options", "given_scope", "job_durations", "job_queues", "load_spec", "model_of", "pairs",
           "policies_of"]


def load_spec(path: str | Path) -> Spec:
    """The ``Spec`` defined in the Python file at ``path`` (the module's ``spec``, or its only ``Spec``)."""
    file = Path(path)
    if not file.is_file():
        raise BadInput(f"spec {path}: no such file")
    if not is_spec_path(path):
        raise BadInput(f"spec {path}: a spec is a Python file (.py)")
    name = f"wavesim_user_spec_{abs(hash(str(file.resolve())))}"
    loader = importlib.util.spec_from_file_location(name, file)
    if loader is None or loader.loader is None:
        raise BadInput(f"spec {path}: cannot be imported")
    module = importlib.util.module_from_spec(loader)
    folder = str(file.resolve().parent)
    sys.path.insert(0, folder)  # a spec may import modules that sit beside it
    try:
        sys.modules[name] = module
        loader.loader.exec_module(module)
    except Unsupported as refused:
        raise BadInput(f"spec {path}: {refused}") from None
    except SyntaxError as err:
        raise BadInput(f"spec {path}:{err.lineno}: syntax error: {err.msg}") from None
    except Exception as err:
        frame = next((f for f in reversed(traceback.extract_tb(err.__traceback__))
                      if Path(f.filename).resolve() == file.resolve()), None)
        at = f":{frame.lineno}" if frame else ""
        raise BadInput(f"spec {path}{at}: {type(err).__name__}: {err}") from None
    finally:
        if sys.path and sys.path[0] == folder:
            sys.path.pop(0)
    found = getattr(module, "spec", None)
    if not isinstance(found, Spec):
        specs = [v for v in vars(module).values() if isinstance(v, Spec)]
        if len(specs) != 1:
            what = "no Spec" if not specs else f"{len(specs)} Specs and none named 'spec'"
            raise BadInput(f"spec {path}: the file defines {what} (write `spec = Spec(...)`)")
        found = specs[0]
    try:
        found.check_declared()
    except Unsupported as refused:
        raise BadInput(f"spec {path}: {refused}") from None
    found.source = str(file.resolve())
    return found


def given_options() -> set[str]:
    """The options the user typed in the running command (not left at their defaults)."""
    ctx = click.get_current_context()
    return {name for name in ctx.params
            if ctx.get_parameter_source(name) not in (None, click.core.ParameterSource.DEFAULT)}


def pairs(texts: Iterable[str], option: str) -> dict[str, str]:
    """``NAME=VALUE`` texts as a dict; a text without ``=`` is one line, exit 2."""
    out: dict[str, str] = {}
    for text in texts:
        name, sep, value = text.partition("=")
        if not sep or not name.strip():
            raise BadInput(f"{option} {text!r}: expected NAME=VALUE")
        out[name.strip()] = value.strip()
    return out


def job_durations(spec: Spec, texts: Iterable[str]) -> dict[str, float]:
    """``--duration JOB=SECONDS`` texts (the mean of a job type's own work, exponential around it, as
    ``sim.specsettings`` draws it) as ``{job: seconds}``; a job type the spec has not, or a value that is not
    a finite number of seconds from 0 up, is one line, exit 2. ``wavesim run SPEC`` and ``wavesim live SPEC``
    read the option with this one parser."""
    out: dict[str, float] = {}
    for job, text in pairs(texts, "--duration").items():
        if job not in spec.jobs:
            raise BadInput(f"--duration {job}: the spec has no job type {job!r} (it has {', '.join(spec.jobs)})")
        try:
            mean = float(text)
        except ValueError:
            mean = math.nan
        if not (math.isfinite(mean) and mean >= 0):
            raise BadInput(f"--duration {job}={text}: expected a number of seconds, 0 or more")
        out[job] = mean
    return out


def job_queues(spec: Spec, texts: Iterable[str]) -> dict[str, str]:
    """``--queue-of JOB=QUEUE`` texts (the queue a job type runs on over the spec's: Laravel's ``onQueue`` is
    a deployment's choice) as ``{job: queue}``; a job type or queue the spec has not is one line, exit 2."""
    out = pairs(texts, "--queue-of")
    for job, queue in out.items():
        if job not in spec.jobs:
            raise BadInput(f"--queue-of {job}: the spec has no job type {job!r} (it has {', '.join(spec.jobs)})")
        if queue not in spec.queues:
            raise BadInput(f"--queue-of {job}={queue}: the spec has no queue {queue!r} (it has "
                           f"{', '.join(spec.queues)})")
    return out


def given_scope(spec: Spec, scope: Iterable[str], switches: Iterable[str], policy: str | None) -> dict[str, str]:
    """``--scope`` and ``--switch`` texts, and ``--policy NAME`` as the spec's ``policy`` switch (refused for a
    spec without one, and beside a ``--switch policy=`` that names another), as one ``{name: text}``."""
    given = pairs(scope, "--scope")
    given.update(pairs(switches, "--switch"))
    if policies_of(spec, [policy] if policy is not None else []):
        if given.get("policy", policy) != policy:
            raise BadInput(f"--policy {policy} and --switch policy={given['policy']} disagree: give one")
        given["policy"] = str(policy)
    return given


def model_of(spec: Spec, *, scope: dict[str, str], faults: dict[str, str], dialect: str | None = None,
             level: str | None = None, order: str | None = None, symmetry: bool = True,
             saturation: bool = True, wait_merge: bool = True) -> Model:
    """The spec in the scope the options name (every refusal one line)."""
    budgets = {}
    for name, text in faults.items():
        if name not in FAULT_NAMES:
            raise BadInput(f"--fault {name}: no such fault (faults: {', '.join(FAULT_NAMES)})")
        try:
            budgets[name] = int(text)
        except ValueError:
            raise BadInput(f"--fault {name}={text}: the budget is a whole number") from None
        if budgets[name] < 0:
            raise BadInput(f"--fault {name}={text}: the budget cannot be negative")
    try:
        return Model(spec, spec.scope_of(scope), dialect=dialect, level=level, budgets=budgets, order=order,
                     symmetry=symmetry, saturation=saturation, wait_merge=wait_merge)
    except Unsupported as refused:
        raise BadInput(f"spec {spec.name}: {refused}") from None


def policies_of(spec: Spec, names: Iterable[str]) -> tuple[str, ...]:
    """``--policy NAME`` (each given) with a spec: values of its ``policy`` switch (the write-up's
    coordinator, ``coordinator/writeup.py``, has one); refused in one line for a spec without it."""
    chosen = tuple(dict.fromkeys(names))
    if chosen and "policy" not in spec.switches:
        raise BadInput(f"--policy is for the write-up's coordinator; spec {spec.name} has no 'policy' switch "
                       "(set its switches with --switch NAME=VALUE)")
    return chosen
