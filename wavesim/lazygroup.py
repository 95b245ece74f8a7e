"""A click group that imports a command's module only when that command runs.

``wavesim --help`` and ``wavesim --version`` should not pay for numpy, SimPy,
SQLAlchemy, matplotlib and the model: the group knows each command by its
import path and its one-line summary, and imports the module on first use
(a test holds every summary to its command's own docstring).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

import click

from userio.errors import OneLineGroup

__all__ = ["LazyCommand", "LazyGroup"]


class LazyCommand:
    """Where a command lives (``"package.module:attribute"``) and its one-line summary."""

    __slots__ = ("path", "summary")

    def __init__(self, path: str, summary: str) -> None:
        self.path = path
        self.summary = summary

    def load(self) -> click.Command:
        module, _, attribute = self.path.partition(":")
        command = getattr(importlib.import_module(module), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{self.path} is not a click command")
        return command


class LazyGroup(OneLineGroup):
    """``OneLineGroup`` whose commands are imported when they are looked up to run."""

    def __init__(self, *args: Any, lazy: Mapping[str, LazyCommand], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy:
            self.add_command(self.lazy[cmd_name].load(), cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list of ``--help``, from the summaries: nothing is imported to print it."""
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = []
        for name in names:
            if name in self.commands:
                rows.append((name, self.commands[name].get_short_help_str(limit)))
            else:
                # shortened as click shortens a loaded command's help
                rows.append((name, click.Command(name, help=self.lazy[name].summary).get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)
