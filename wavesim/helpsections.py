"""``--help`` for a command that takes a SPEC file or runs the write-up's coordinator.

A user who brings a spec reads the options a spec takes first, under "Options"; the options of the
write-up's coordinator alone (its waves, workers, handler runs, scenario presets) follow under their own
heading, so that they are not taken for the spec's. A command says which of its parameters a spec takes;
the help of every other parameter goes under ``WRITEUP_HEADING``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

import click

__all__ = ["WRITEUP_HEADING", "SpecFirstCommand"]

#: the heading of the options a spec file does not take
WRITEUP_HEADING = "Options of the write-up's coordinator only (--policy, no SPEC)"


class SpecFirstCommand(click.Command):
    """A command whose ``--help`` lists the options a SPEC takes, then those of the write-up's coordinator.

    ``spec_takes``: the names of the parameters a spec accepts, or a function of the command's parameter
    names giving them (for commands that build their options from shared tables); ``writeup_heading``: the
    heading of the others."""

    def __init__(self, *args: Any, spec_takes: Collection[str] | Callable[[list[str]], Collection[str]] = (),
                 writeup_heading: str = WRITEUP_HEADING, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.spec_takes = spec_takes
        self.writeup_heading = writeup_heading

    def taken_by_spec(self) -> frozenset[str]:
        names = [p.name for p in self.params if p.name is not None]
        taken = self.spec_takes(names) if callable(self.spec_takes) else self.spec_takes
        return frozenset(taken)

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        spec = self.taken_by_spec()
        mine: list[tuple[str, str]] = []
        writeup: list[tuple[str, str]] = []
        for param in self.get_params(ctx):
            if not isinstance(param, click.Option):
                continue  # the SPEC argument is in the usage line
            record = param.get_help_record(ctx)
            if record is not None:
                helps = param is self.get_help_option(ctx)
                (mine if helps or param.name in spec else writeup).append(record)
        if mine:
            with formatter.section("Options"):
                formatter.write_dl(mine)
        if writeup:
            with formatter.section(self.writeup_heading):
                formatter.write_dl(writeup)
