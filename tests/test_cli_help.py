"""What ``--help`` tells a user who brings a spec file: each command's options for a SPEC first, the
write-up's coordinator's own apart, the rules a value must follow where a value is refused by them."""

from __future__ import annotations

import re
from pathlib import Path

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


#: the commands that take a SPEC file or run the write-up's coordinator
SPEC_COMMANDS = ("check", "replay", "demo", "run", "compare", "sweep", "faults")
RQ = str(Path(__file__).resolve().parent.parent / "examples" / "rq_dependents.py")


def sections(text: str) -> tuple[str, str]:
    """The help before the write-up's heading (usage, description, the options a spec takes) and after it."""
    before, _, after = text.partition(" Options of the write-up's coordinator only")
    if not after:
        before, _, after = text.partition(" Options for a trace of the write-up's coordinator only")
    assert after, "no section of the write-up's options"
    return before, after.split(" Exit codes (docs/exit-codes.md):")[0]


@pytest.mark.parametrize("name", SPEC_COMMANDS)
def test_each_command_speaks_to_a_spec_first_and_puts_the_write_ups_options_apart(name: str) -> None:
    text = help_of(name)
    description = text.split(" Options: ")[0]
    first = re.split(r"\[SPEC\] |\] FILE ", description, maxsplit=1)[1]
    assert "spec" in first.split(".")[0].lower(), first  # the first sentence says what it does for a spec
    mine, writeup = sections(text)
    for option in ("--waves", "--wave-size", "--workers", "--preset", "--policy", "--simulate"):
        if f"{option} " in text:
            assert f"{option} " in writeup and f" {option} " not in mine.split(" Options: ", 1)[1], option
    for option in ("--scope", "--dialect", "--db", "--expect-violation"):
        if f"{option} " in text:
            assert f"{option} " in mine, option
    assert "one connection per handler run" not in text
    assert "what one policy does as batches finish" not in text


@pytest.mark.parametrize("name", ["check", "demo", "run", "compare", "sweep", "faults"])
def test_the_switch_help_is_generic_and_says_where_a_spec_lists_its_own(name: str) -> None:
    text = help_of(name)
    switch = text.split("--switch NAME=VALUE ", 1)[1][:600]  # its help and what follows it
    assert "'wavesim check SPEC --list' lists them" in switch
    assert "catchup_entry" not in switch and "fused_push" not in switch  # not every switch of the write-up's


def test_check_list_names_a_specs_scope_switches_faults_and_properties() -> None:
    result = CliRunner().invoke(main, ["check", RQ, "--list"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    for line in ("  dependents=1", "  workers=1", "  fix=none|pr-742 (default none): ", "  crash=0: ",
                 "  duplicate=0: ", "  no_dependent_behind_a_finished_job (always): ",
                 "  every_job_performed (eventually): ", "  perform (queue default, 1 tries, ack step)"):
        assert f"\n{line}" in out, line
    assert "checked on postgresql READ COMMITTED, queue order fifo" in out
    refused = CliRunner().invoke(main, ["check", "--list"])
    assert (refused.exit_code, refused.stderr) == (2, "error: --list is for a spec file: give its path as SPEC\n")
