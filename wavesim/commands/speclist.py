"""``wavesim check SPEC --list``: what a spec file offers the commands, without checking it.

Its scope entries (``--scope``), switches with their choices and defaults (``--switch``), fault budgets
(``--fault``), properties (``--property``), job types and metrics, and the engine, isolation level and queue
order it is checked under by default. Read from the loaded ``Spec``, so it is the spec's own, also for the
write-up's coordinator (``coordinator/writeup.py``).
"""

from __future__ import annotations

from spec.declarations import FAULTS
from spec.dialects import dialect
from spec.lang import Spec

__all__ = ["spec_listing"]


def _first_line(text: str) -> str:
    return " ".join(text.strip().split("\n\n")[0].split())


def spec_listing(spec: Spec) -> str:
    """The spec's scope, switches, faults, properties, jobs and metrics, one line each."""
    engine = dialect(spec.dialect)
    lines = [f"spec {spec.name} ({spec.source})",
             f"checked on {spec.dialect} {spec.level or engine.default_level}, queue order {spec.order} "
             f"(--dialect, --isolation, --order)",
             "queues and their workers (a number, or a scope entry): "
             + ", ".join(f"{q}={n}" for q, n in spec.queues.items()),
             "", "scope (--scope NAME=VALUE):"]
    lines += [f"  {name}={value}" for name, value in spec.scope.items()] or ["  (none)"]
    lines += ["", "switches (--switch NAME=VALUE):"]
    for switch in spec.switches.values():
        lines.append(f"  {switch.name}={'|'.join(switch.choices)} (default {switch.default}): "
                     f"{_first_line(switch.doc)}")
    if not spec.switches:
        lines.append("  (none)")
    lines += ["", "faults (--fault NAME=N; default budget):"]
    lines += [f"  {name}={spec.faults.get(name, 0)}: {what}" for name, what in FAULTS.items()]
    lines += ["", "properties (--property NAME):"]
    lines += [f"  {p.name} ({p.kind}): {_first_line(p.doc)}" for p in spec.properties.values()]
    lines += ["", "jobs:"]
    lines += [f"  {j.name} (queue {j.queue}, {j.tries} tries, ack {j.ack})" for j in spec.jobs.values()]
    if spec.metrics:
        lines += ["", "metrics (run, compare, sweep):"]
        lines += [f"  {m.name}: {_first_line(m.doc)}" for m in spec.metrics.values()]
    return "\n".join(lines)
