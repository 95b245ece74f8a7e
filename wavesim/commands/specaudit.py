"""``wavesim audit SPEC EXPORT...``: a spec's properties judged on exports of its tables (``audit.tables``,
``audit.properties``).

Exit codes: 0 when every property judged holds, 1 when one is violated, 2 on bad input. A property that
cannot be judged on an export (it reads the ghost counts, the queue, the runs, or a table not given) does
not fail the audit, as a check the write-up's audit cannot see does not; when not one property can be
judged, the audit has shown nothing, which is bad input (2), as an export with no usable row is for the
write-up's audit: 0 would tell a gate "holds", and 1 is a verdict about the coordinator.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import click

from audit.parse import parse_zone
from audit.properties import SpecAudit, audit_exports, to_json, to_text
from audit.tables import read_exports, table_files
from spec.errors import Unsupported
from specfile.load import given_scope, load_spec
from userio.errors import BadInput
from userio.exitcodes import Expected, finish, judge

__all__ = ["audit_spec_command", "run_spec_audit"]


def run_spec_audit(spec_path: str, exports: Sequence[str], *, tables: Sequence[str] = (),
                   scope: Sequence[str] = (), switches: Sequence[str] = (), policy: str | None = None,
                   fmt: str = "auto", tz: str = "UTC") -> SpecAudit:
    """Load the spec, read each export as one of its tables and judge its properties on them; ``BadInput``
    (one line) for a spec, file, value or option that cannot be used."""
    zone = parse_zone(tz)
    spec = load_spec(spec_path)
    try:
        chosen = spec.scope_of(given_scope(spec, scope, switches, policy))
    except Unsupported as refused:
        raise BadInput(f"spec {spec.name}: {refused}") from None
    files = table_files(spec.schema, spec.name, exports, tables)
    return audit_exports(spec, chosen, read_exports(spec.schema, files, fmt=fmt, tz=zone))


def audit_spec_command(spec_path: str, exports: Sequence[str], *, tables: Sequence[str], scope: Sequence[str],
                       switches: Sequence[str], policy: str | None, fmt: str, tz: str, as_json: bool,
                       expected: Expected) -> None:
    """The ``audit`` command when its first argument is a spec file."""
    audit = run_spec_audit(spec_path, exports, tables=tables, scope=scope, switches=switches, policy=policy,
                           fmt=fmt, tz=tz)
    verdicts = {(audit.spec.name, name): held for name, held in audit.verdicts().items()}
    if not verdicts:
        why = "; ".join(f"{j.name}: {j.detail}" for j in audit.judged)
        raise BadInput(f"spec {audit.spec.name}: no property can be judged on these exports ({why})")
    expected.require(verdicts, why=f" on these exports (judged: {', '.join(name for _, name in verdicts)})")
    code = judge(verdicts, expected)
    click.echo(json.dumps(to_json(audit, code), indent=2) if as_json else to_text(audit, code), nl=as_json)
    finish(verdicts, expected)
