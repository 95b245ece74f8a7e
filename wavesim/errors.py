"""Bad input: one clear line, exit code 2, never a traceback."""

from __future__ import annotations

import click

__all__ = ["BadInput"]


class BadInput(click.ClickException):
    """Input that wavesim cannot use; the message names the value and what is allowed."""

    exit_code = 2

    def show(self, file: object = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)
