"""What ``--help`` tells a user who brings a spec file: each command's options for a SPEC first, the
write-up's coordinator's own apart, the rules a value must follow where a value is refused by them."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from dbdriver import DatabaseError
from dbdriver.database import PREFIX_RULE, check_prefix
from wavesim.cli import main


def help_of(*command: str) -> str:
    result = CliRunner().invoke(main, [*command, "--help"])
    assert result.exit_code == 0, result.output
    return " ".join(result.stdout.split())  # unwrapped: a rule reads as one line


def takes_prefix(name: str) -> bool:
    command = main.get_command(click.Context(main), name)
    return command is not None and any("--prefix" in getattr(p, "opts", ()) for p in command.params)


@pytest.mark.parametrize("name", main.list_commands(click.Context(main)))
def test_every_prefix_option_states_the_rule_it_is_refused_by(name: str) -> None:
    if not takes_prefix(name):
        return
    assert PREFIX_RULE in help_of(name)
    with pytest.raises(DatabaseError, match=PREFIX_RULE):
        check_prefix("nu_")


def test_replay_is_one_command_that_takes_a_prefix() -> None:
    assert takes_prefix("replay")
