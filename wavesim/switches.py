"""``--switch NAME=VALUE``: the policy switches on every command, from the one table.

``switch_option`` adds the repeatable option (its help says where a spec's
switches are listed, and names one of ``coordinator.policy.SWITCHES`` as an example); ``parse_specs`` reads what
was given; ``check_read`` refuses a switch that none of the policies a command
runs would read, with one line naming the switch and the policy.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import click

from coordinator import ConfigError, Policy
from coordinator.policy import SWITCHES, parse_switch, policy_named, with_given
from userio.errors import BadInput

__all__ = [
    "check_read", "parse_specs", "switch_help", "switch_option", "switched",
]

F = TypeVar("F", bound=Callable[..., Any])


def switch_help() -> str:
    """The help of ``--switch``: a spec's switches are its own, so it names where they are listed and gives one
    of the write-up's coordinator's as an example."""
    example = SWITCHES[0]
    return ("A switch of the SPEC, NAME=VALUE (repeatable): a spec's switches are its own, and 'wavesim check "
            "SPEC --list' lists them with their values and defaults. With --policy: a switch of the write-up's "
            f"coordinator on top of the named policy, e.g. {example.name}={example.values[0]} ('wavesim check "
            "coordinator/writeup.py --list' lists them; docs/readings.md says what each reads).")


def switch_option(command: F) -> F:
    """Add ``--switch NAME=VALUE`` (repeatable) to ``command``."""
    return click.option("--switch", "switch_specs", multiple=True, metavar="NAME=VALUE", help=switch_help())(command)


def parse_specs(specs: Iterable[str]) -> dict[str, object]:
    """``--switch`` texts -> {name: value}; a bad one is one line, exit 2."""
    out: dict[str, object] = {}
    for spec in specs:
        try:
            name, value = parse_switch(spec)
        except ConfigError as err:
            raise BadInput(str(err)) from None
        out[name] = getattr(value, "value", value)
    return out


def check_read(given: dict[str, object], policies: Iterable[str]) -> None:
    """Refuse a switch that none of ``policies`` would read (one line naming both)."""
    names = list(policies)
    for name, value in given.items():
        errors = []
        for p in names:
            try:
                with_given(policy_named(p), {name: value})
            except ConfigError as err:
                errors.append(str(err))
        if len(errors) == len(names) and errors:
            raise BadInput(errors[0])


def switched(policy: str, given: dict[str, object]) -> Policy:
    """The named policy with the given switches (one it would not read is refused)."""
    try:
        return with_given(policy_named(policy), given)
    except ConfigError as err:
        raise BadInput(str(err)) from None
