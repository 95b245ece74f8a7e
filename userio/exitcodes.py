"""The one exit-code contract every ``wavesim`` command keeps.

- ``HOLDS`` (0): every property asked for holds (in every run simulated, every
  interleaving searched, every row audited);
- ``VIOLATED`` (1): a property was violated, a run stalled (no progress), or a
  search stopped on a budget with a property still undecided: in each case
  "every property holds" was not shown, which is what a CI gate needs to know;
- ``BAD_INPUT`` (2): usage or input error, one ``error:`` line;
- ``INTERRUPTED`` (130): stopped by Ctrl-C (128 + SIGINT, as shells report it);
- ``INTERNAL`` (70, ``EX_SOFTWARE``): a bug in wavesim itself, one line asking
  for a report; never a verdict about the coordinator.

A judging command collects its verdicts as ``{(policy, property): held}``, where
held is True (held everywhere it was judged), False (violated at least once) or
None (undecided: a budget ran out, or the driver cannot see the property), and
ends with ``finish(verdicts, expected)``. ``--expect-violation [POLICY:]PROPERTY``
(``expect_option``) names a violation the user expects, as for the write-up's
own policies: then that property must be violated for exit 0, and every other
one asked must hold. An expected violation that did not happen is a surprise
too, so the gate works both ways. ``docs/exit-codes.md`` says it per command.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import click

__all__ = [
    "BAD_INPUT", "EPILOG", "HOLDS", "INTERNAL", "INTERRUPTED", "NO_EXPECTATION", "VIOLATED", "Expected", "Verdicts",
    "expect_option", "finish", "judge", "properties_held", "surprises",
]

HOLDS = 0
VIOLATED = 1
BAD_INPUT = 2
INTERNAL = 70
INTERRUPTED = 130

#: (policy, property) -> True held, False violated, None undecided
Verdicts = Mapping[tuple[str, str], "bool | None"]

#: The contract in every command's ``--help`` (``\b``: click keeps the lines as written).
EPILOG = """\b
Exit codes (docs/exit-codes.md):
  0    every property asked for holds
  1    a property was violated, a run stalled, or a search budget ran out
       with a property undecided; with --expect-violation, an expected
       violation that did not happen counts too
  2    usage or input error (one 'error:' line)
  70   internal error: a bug in wavesim (please report)
  130  interrupted (Ctrl-C)"""

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True, slots=True)
class Expected:
    """The violations a user expects: (policy or None for every policy, property)."""

    items: tuple[tuple[str | None, str], ...] = ()

    def covers(self, policy: str, prop: str) -> bool:
        return any(p in (None, policy) and q == prop for p, q in self.items)

    def require(self, judged: Iterable[tuple[str, str]], *, why: str = "") -> None:
        """Refuse (exit 2, as every usage error) an expectation naming a policy or property this command
        does not judge: it could never be checked, so it is a mistake, not a pass."""
        pairs = set(judged)
        for policy, prop in self.items:
            if not any(p == policy or policy is None for p, q in pairs if q == prop):
                name = f"{policy}:{prop}" if policy else prop
                raise click.BadParameter(f"{name}: this command does not judge {prop}"
                                         f"{f' under {policy}' if policy else ''}{why}",
                                         param_hint="'--expect-violation'")


#: No violation expected: every property asked must hold.
NO_EXPECTATION = Expected()


def _judges_a_spec(ctx: click.Context) -> bool:
    """Whether the command judges a spec's own properties: its SPEC argument is given, it replays a trace (of
    either kind), or it audits a spec's tables (``audit SPEC EXPORT...``: the first path is a spec)."""
    from userio.files import is_spec_path  # userio.files -> userio.errors -> this module

    paths: tuple[str, ...] = ctx.params.get("paths") or ()
    return bool(ctx.params.get("spec")) or ctx.command.name == "replay" or bool(paths) and is_spec_path(paths[0])


def _parse(ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]) -> Expected:
    from coordinator import POLICIES, PROPERTY_NAMES

    items: list[tuple[str | None, str]] = []
    for value in values:
        policy, _, prop = value.rpartition(":")
        if _judges_a_spec(ctx):  # a spec's names: checked by Expected.require
            items.append((policy or None, prop))
            continue
        if prop not in PROPERTY_NAMES or (policy and policy not in POLICIES):
            raise click.BadParameter(
                f"{value!r} is not [POLICY:]PROPERTY with a policy of {', '.join(POLICIES)} "
                f"and a property of {', '.join(PROPERTY_NAMES)}", param_hint="'--expect-violation'")
        items.append((policy or None, prop))
    return Expected(tuple(dict.fromkeys(items)))


def expect_option(command: F) -> F:
    """Add ``--expect-violation [POLICY:]PROPERTY`` (repeatable) as the parameter ``expected``."""
    return click.option(
        "--expect-violation", "expected", multiple=True, metavar="[POLICY:]PROPERTY", callback=_parse,
        help="This property is expected to be violated (under POLICY, or under every policy judged; for a spec, "
             "its own property, optionally as SPEC-NAME:PROPERTY); repeatable. "
             "Exit 0 only when each expected violation happens and every other property asked holds.",
    )(command)


def properties_held(policy: str, properties: Mapping[str, Mapping[str, Any]]) -> dict[tuple[str, str], bool]:
    """Per (policy, property): whether it held, read off one run's ``properties`` (``{name: {"holds": ...}}``)."""
    return {(policy, name): bool(v["holds"]) for name, v in properties.items()}


def judge(verdicts: Verdicts, expected: Expected = NO_EXPECTATION) -> int:
    """``HOLDS`` when every verdict is as expected (violated where expected, held elsewhere), else ``VIOLATED``."""
    return VIOLATED if surprises(verdicts, expected) else HOLDS


def surprises(verdicts: Verdicts, expected: Expected = NO_EXPECTATION) -> list[str]:
    """One line per verdict that is not what was expected (an undecided one is never what was expected)."""
    out = []
    for (policy, prop), held in verdicts.items():
        wanted = not expected.covers(policy, prop)
        if held is wanted:
            continue
        seen = "undecided" if held is None else "held" if held else "violated"
        out.append(f"{policy}: {prop} {seen}, expected {'to hold' if wanted else 'a violation'}")
    return out


def finish(verdicts: Verdicts, expected: Expected = NO_EXPECTATION) -> None:
    """End the command by the contract: exit 1 on a surprise (each named on stderr when the user gave
    ``--expect-violation``; otherwise the report already shows it), return (exit 0) when none."""
    lines = surprises(verdicts, expected)
    if not lines:
        return
    if expected.items:
        for line in lines:
            click.echo(f"not as expected: {line}", err=True)
    click.get_current_context().exit(VIOLATED)
