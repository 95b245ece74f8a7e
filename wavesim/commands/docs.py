"""``wavesim docs``: rewrite the generated blocks of README.md and docs/*.md (``--check``: only compare)."""

from __future__ import annotations

from pathlib import Path

import click

from docgen import ROOT, DocError, doc_files, drifted
from userio.errors import BadInput
from userio.exitcodes import VIOLATED
from userio.files import atomic_write, writes

__all__ = ["FIGURES", "docs", "stale_figures"]

#: figures the docs site shows, copied from where the command that draws them writes them (docs/ must be
#: self-contained for ``mkdocs build --strict``)
FIGURES = {"docs/img/headline.png": "reports/headline.png"}


def stale_figures(root: Path) -> list[str]:
    """The copied figures that are missing or differ from their source."""
    out = []
    for copy, source in FIGURES.items():
        src, dst = root / source, root / copy
        if not src.is_file():
            raise BadInput(f"{source} is missing: run 'wavesim report' first")
        if not dst.is_file() or dst.read_bytes() != src.read_bytes():
            out.append(copy)
    return out


@click.command("docs")
@click.option("--check", "check_only", is_flag=True,
              help="Change nothing; exit 1 naming every block (and copied figure) that differs from what "
                   "this command would write.")
@click.option("--root", type=click.Path(file_okay=False, exists=True), default=None,
              help="The project folder holding README.md, docs/ and reports/. [default: wavesim's own]")
def docs(check_only: bool, root: str | None) -> None:
    """Rewrite the generated tables of README.md and docs/*.md from the report and the code.

    A generated block sits between the lines <!-- wavesim:begin NAME --> and
    <!-- wavesim:end NAME -->; NAME is registered in docgen.
    With --check, exit 1 means the committed copy differs (no property is judged).
    """
    base = Path(root).resolve() if root is not None else ROOT
    if not (base / "README.md").is_file() and not (base / "docs").is_dir():
        raise BadInput(f"{base} has no README.md and no docs/: pass --root with the project folder")
    try:
        changed = drifted(doc_files(base), base)
    except (DocError, LookupError) as err:
        raise BadInput(str(err)) from None
    figures = stale_figures(base)
    names = [f"{path.relative_to(base)}: {', '.join(blocks)}" for path, (_, blocks) in changed.items()]
    if check_only:
        if names or figures:
            for line in names:
                click.echo(f"drifted: {line}")
            for copy in figures:
                click.echo(f"drifted: {copy} (copy of {FIGURES[copy]})")
            click.echo("run 'wavesim docs' to rewrite them")
            click.get_current_context().exit(VIOLATED)  # the committed copy differs: see docs/exit-codes.md
        click.echo("every generated block is up to date")
        return
    for path, (text, _) in changed.items():
        atomic_write(path, writes(text))
    for copy in figures:
        data = (base / FIGURES[copy]).read_bytes()
        (base / copy).parent.mkdir(parents=True, exist_ok=True)
        atomic_write(base / copy, writes(data))
    for line in names + [f"{copy} (copied from {FIGURES[copy]})" for copy in figures]:
        click.echo(f"rewrote {line}")
    if not names and not figures:
        click.echo("every generated block is up to date")
