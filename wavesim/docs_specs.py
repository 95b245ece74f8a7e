"""The generated blocks of "Check your own coordinator" (docs/your-coordinator.md).

The tutorial's spec is shown from its file, and what ``wavesim check`` prints for it is computed by the
checker itself (without the timings, so that the page is the same on every machine).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from docgen import project_root, register
from model.specmodel import Model
from specfile.load import load_spec
from wavesim.commands.speccheck import run_spec_check, spec_report_text

__all__ = ["check_block", "homes_table"]

TUTORIAL = "examples/batch_counter.py"


def check_block(path: str, *overrides: str) -> str:
    """``wavesim check PATH --switch ...`` and what it prints, as a console block."""
    spec = load_spec(project_root() / path)
    given = dict(o.split("=", 1) for o in overrides)
    run = run_spec_check(Model(spec, spec.scope_of(given)), properties=None, max_states=None, time_limit=60.0,
                         shortest=True)
    flags = "".join(f" --switch {o}" for o in overrides)
    return f"```console\n$ wavesim check {path}{flags} --shortest\n{spec_report_text(run, timings=False)}\n```"


def _first_thread(text: str) -> str:
    import re

    found = re.search(r"https://github\.com/([\w.-]+/[\w.-]+)/(issues|pull)/(\d+)", text)
    if found is None:
        return "-"
    repo, kind, number = found.groups()
    return f"[{repo}#{number}]({found.group(0)})"


@register("spec-examples")
def examples_table() -> str:
    """Each shipped example: its thread, the bug the checker finds, and the landed fix's verdict."""
    return _examples_table(str(project_root()))


@cache  # a dozen checks: computed once per process and folder, as the checker's reductions table
def _examples_table(root: str) -> str:
    import runpy

    lines = ["| example | thread | found at the default scope (shortest) | landed fix | with it |",
             "|---|---|---|---|---|"]
    for path in sorted((Path(root) / "examples").glob("*.py")):
        if path.name.startswith("writeup_"):  # the write-up's own coordinator: docs/checker.md and benchmarks
            continue
        landed = runpy.run_path(str(path)).get("LANDED_FIX")
        spec = load_spec(path)
        found = run_spec_check(Model(spec, spec.scope_of({})), properties=None, max_states=None,
                               time_limit=60.0, shortest=True).search
        broken = ", ".join(f"{n} ({len(f.labels)} steps)" for n, f in found.found.items()) or "nothing"
        if landed is None:
            fix, verdict = "none landed", "-"
        else:
            fixed = run_spec_check(Model(spec, spec.scope_of({"fix": landed})), properties=None,
                                   max_states=None, time_limit=60.0).search
            fix = f"`fix={landed}`"
            verdict = "every property holds" if all(fixed.holds(n) for n in fixed.checked) else "VIOLATED"
        thread = _first_thread(path.read_text(encoding="utf-8"))
        lines.append(f"| `{path.name}` | {thread} | {broken} | {fix} | {verdict} |")
    return "\n".join(lines) + "\n"


#: the spec benchmark's committed table (``python -m benchmarks.bench_specs --out ...``)
SPEC_BENCHMARK = "benchmarks/results/specs.txt"


@register("spec-benchmark")
def benchmark_table() -> str:
    """The committed spec benchmark, as measured (wall clock: rerun it to measure your own)."""
    text = (project_root() / SPEC_BENCHMARK).read_text(encoding="utf-8").rstrip("\n")
    return f"```\n$ python -m benchmarks.bench_specs --out {SPEC_BENCHMARK}\n{text}\n```"


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


#: the one-spec benchmark's committed table (``python -m benchmarks.bench_onecore --out ...``)
ONECORE_BENCHMARK = "benchmarks/results/onecore.txt"


@register("onecore-benchmark")
def onecore_table() -> str:
    """The committed comparison of every policy, built-in against ``coordinator/writeup.py``, as measured."""
    text = (project_root() / ONECORE_BENCHMARK).read_text(encoding="utf-8").rstrip("\n")
    return f"```\n$ python -m benchmarks.bench_onecore --out {ONECORE_BENCHMARK}\n{text}\n```"


@register("writeup-switches")
def writeup_switches() -> str:
    """Each switch of the built-in (``coordinator.policy.SWITCHES``) as the spec's parameter (the same name, and
    ``policy`` for ``--policy``), the values the spec takes, and the value each policy's preset gives it; then
    the built-in's scope options as the spec's scope entries."""
    from coordinator.policy import POLICIES, SWITCHES
    from coordinator.writeup import spec

    names = list(POLICIES)
    lines = ["| switch (`--switch NAME=VALUE`, both checkers) | kind | values in the spec | "
             + " | ".join(f"`--policy {p}`" for p in names) + " |", "|---|---|---|" + "---|" * len(names)]
    for s in SWITCHES:
        choices = [c for c in spec.switches[s.name].choices if c != "policy"]
        presets = [_text(POLICIES[p].switches()[s.name]) for p in names]
        lines.append(f"| `{s.name}` | {s.kind} | {', '.join(choices)} | " + " | ".join(presets) + " |")
    lines += ["", "| built-in option | spec's scope entry |", "|---|---|"]
    for option, entry in (("--waves", "waves"), ("--wave-size", "wave_size"), ("--threshold", "threshold"),
                          ("--workers", "workers"), ("--handlers", "handlers")):
        lines.append(f"| `{option} N` | `--scope {entry}=N` (default {spec.scope[entry]}) |")
    return "\n".join(lines) + "\n"


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "none" if value is None else str(value)

#: the scope in which the tutorial's race shows in one simulated run (docs/spec-simulation.md)
SIM_SCOPE = ("jobs=40", "workers=8")


def sim_block(command: str, *flags: str) -> str:
    """``wavesim run|compare TUTORIAL`` in ``SIM_SCOPE`` with ``flags`` and what it prints, as a console block."""
    from click.testing import CliRunner

    from wavesim.cli import main

    args = [command, str(project_root() / TUTORIAL), *(a for s in SIM_SCOPE for a in ("--scope", s)), *flags]
    out = CliRunner().invoke(main, args).output.rstrip("\n")
    shown = " ".join([command, TUTORIAL, *(f"--scope {s}" for s in SIM_SCOPE), *flags])
    return f"```console\n$ wavesim {shown}\n{out}\n```"


@register("spec-sim-run")
def sim_run() -> str:
    return sim_block("run")


@register("spec-sim-compare")
def sim_compare() -> str:
    return sim_block("compare", "--seeds", "10", "--switch", "fix=none", "--switch", "fix=returning")


@register("spec-sim-settings")
def sim_settings() -> str:
    """Each setting of a spec's simulation, its default and the reason (``sim.specsettings.REASONS``)."""
    from sim.specsettings import REASONS

    lines = ["| setting | default and why |", "|---|---|"]
    lines += [f"| `{name}` | {why} |" for name, why in REASONS.items()]
    return "\n".join(lines) + "\n"


#: the spec and the exports of its tables that "Audit an export of your tables" audits (tests/test_spec_audit.py
#: holds the audit to them too)
AUDIT_EXAMPLE = ("tests/fixtures/specs/batches.py", "tests/fixtures/spec_audit/job_batches.csv",
                 "tests/fixtures/spec_audit/jobs.jsonl")


@register("spec-audit-example")
def audit_example() -> str:
    """``wavesim audit SPEC EXPORT...`` on the committed exports, as it prints (run in the project's folder, so
    that the paths shown are the ones typed)."""
    import contextlib

    from click.testing import CliRunner

    from wavesim.cli import main

    with contextlib.chdir(project_root()):
        result = CliRunner().invoke(main, ["audit", *AUDIT_EXAMPLE])
    if result.exit_code not in (0, 1):  # a verdict is the example; bad input would be a broken page
        raise LookupError(f"the audit example exits {result.exit_code}: {result.output.strip()}")
    out = result.output.rstrip("\n")
    return f"```console\n$ wavesim audit {' '.join(AUDIT_EXAMPLE)}\n{out}\n```"


#: the incident comparison's committed result (``python -m benchmarks.bench_incident --out ...``)
INCIDENT_VIA_SPEC = "benchmarks/results/incident.json"


@register("incident-homes")
def incident_homes() -> str:
    """Where each built-in scenario setting goes in the write-up spec's run, and what the spec path refuses."""
    from sim.scenariospec import HOMES, REFUSED

    return homes_table("scenario setting", "in the spec run", HOMES, REFUSED)


def homes_table(setting: str, home: str, homes: dict[str, str], refused: dict[str, str]) -> str:
    """Where each setting of a built-in run goes in the spec's run (``homes``), then what that run refuses and
    why (``refused``), as two Markdown tables headed by ``setting`` and ``home``."""
    lines = [f"| {setting} | {home} |", "|---|---|"]
    lines += [f"| `{name}` | {place} |" for name, place in homes.items()]
    lines += ["", "| refused | why |", "|---|---|"]
    lines += [f"| `{name}` | {why} |" for name, why in refused.items()]
    return "\n".join(lines) + "\n"


@register("incident-via-spec")
def incident_via_spec() -> str:
    """The committed comparison of the incident preset, built-in against the write-up spec, as measured."""
    import json

    from sim.viaspec import via_spec_table

    doc = json.loads((project_root() / INCIDENT_VIA_SPEC).read_text(encoding="utf-8"))
    return f"`python -m benchmarks.bench_incident --out {INCIDENT_VIA_SPEC}`:\n\n{via_spec_table(doc)}"
