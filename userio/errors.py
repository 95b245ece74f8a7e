"""Bad input: one clear line, exit code 2, never a traceback.

``BadInput`` is what commands raise. ``OneLineGroup`` is the ``wavesim`` group's
class: it turns click's own usage errors (``Usage: ... Try ... Error: ...``)
into the same one ``error:`` line, an unexpected exception into one line
``error: internal error: <type>: <message> (please report)`` with exit code 70
(``WAVESIM_DEBUG=1`` lets the exception and its traceback through instead), and
Ctrl-C into one line ``interrupted`` with exit code 130. Exit code 1 is left to
verdicts alone (``userio.exitcodes``).
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from userio.exitcodes import BAD_INPUT, EPILOG, INTERNAL, INTERRUPTED

__all__ = ["DEBUG_VARIABLE", "BadInput", "InternalError", "Interrupted", "OneLineGroup"]

#: Set this environment variable to 1 to see the traceback of an internal error.
DEBUG_VARIABLE = "WAVESIM_DEBUG"


class BadInput(click.ClickException):
    """Input that wavesim cannot use; the message names the value and what is allowed."""

    exit_code = BAD_INPUT

    def show(self, file: object = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


class InternalError(click.ClickException):
    """A bug: an exception no command expected. One line, exit code 70 (``EX_SOFTWARE``)."""

    exit_code = INTERNAL

    def __init__(self, err: BaseException) -> None:
        text = " ".join(str(err).split())
        super().__init__(f"internal error: {type(err).__name__}: {text} (please report)")

    def show(self, file: object = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


class Interrupted(click.ClickException):
    """Ctrl-C: one line, exit code 130. Output files are written whole or not at all (``atomic_write``)."""

    exit_code = INTERRUPTED

    def __init__(self) -> None:
        super().__init__("interrupted")

    def show(self, file: object = None) -> None:
        click.echo(self.format_message(), err=True)


def _usage_line(err: click.UsageError) -> str:
    text = " ".join(err.format_message().split())
    if isinstance(err, click.BadParameter) or err.ctx is None:
        return text  # it names the value and the allowed ones (a choice, a range, a type)
    return f"{text} See '{err.ctx.command_path} --help'."


@contextmanager
def _one_line() -> Iterator[None]:
    try:
        yield
    except click.exceptions.NoArgsIsHelpError:
        raise  # 'wavesim' alone prints the help
    except click.UsageError as err:
        raise BadInput(_usage_line(err)) from None
    except (click.ClickException, click.exceptions.Exit, click.Abort):
        raise
    except KeyboardInterrupt:
        raise Interrupted() from None
    except OSError as err:
        if err.errno == errno.EPIPE or os.environ.get(DEBUG_VARIABLE) == "1":
            raise  # click ends quietly on a closed pipe
        raise InternalError(err) from err
    except Exception as err:
        if os.environ.get(DEBUG_VARIABLE) == "1":
            raise
        raise InternalError(err) from err


class OneLineGroup(click.Group):
    """A click group whose every error is one ``error:`` line on stderr."""

    def make_context(self, info_name: str | None, args: list[str], parent: click.Context | None = None,
                     **extra: Any) -> click.Context:
        with _one_line():
            return super().make_context(info_name, args, parent, **extra)

    def invoke(self, ctx: click.Context) -> Any:
        with _one_line():
            return super().invoke(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """Every command's ``--help`` ends with the exit-code contract."""
        command = super().get_command(ctx, cmd_name)
        if command is not None and command.epilog is None:
            command.epilog = EPILOG
        return command
