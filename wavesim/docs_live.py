"""The generated blocks of docs/live.md: the committed live results, summarized.

A live run is not deterministic, so its numbers cannot be recomputed by the docs:
what is committed is the raw ``wavesim live --json`` output of the runs
(``docs/live-results/*.jsonl``, one document per import), and these blocks are
``wavesim live --summarize`` over those files. A test keeps the page and the
files in step; rerunning the commands on the page and replacing a file is how
the numbers change.
"""

from __future__ import annotations

import dataclasses
from contextlib import ExitStack
from importlib.resources import as_file

from docgen import ROOT, project_root, register
from live import settings as live_settings
from report.data import shipped
from wavesim.commands.live import read_documents, summarize
from wavesim.docs_specs import homes_table

__all__ = ["FIX_COMMANDS", "GUARDS_COMMANDS", "RESULTS", "VIA_SPEC", "defaults", "fix_commands", "fix_with_faults",
           "guards", "guards_commands", "via_spec", "via_spec_homes"]

RESULTS = "docs/live-results"

#: the commands that wrote each committed file (one copy: the page and the report show these)
GUARDS_COMMANDS = """\
wavesim live --db postgresql+psycopg://postgres@127.0.0.1:5432/wavesim_guards --policy guarded \\
    --policy seed-fix --repeat 10 --waves 10 --wave-size 10 --workers 8 --json > guards-pg.jsonl
wavesim live --db mysql+pymysql://root@127.0.0.1:3306/wavesim_guards --policy guarded \\
    --policy seed-fix --repeat 10 --waves 10 --wave-size 10 --workers 8 --json > guards-my.jsonl
cat guards-pg.jsonl guards-my.jsonl > docs/live-results/guards.jsonl"""
FIX_COMMANDS = """\
for i in $(seq 0 9); do wavesim live --db URL/wavesim_live200_$i --policy atomic --repeat 20 \\
    --seed $((i*20)) --waves 5 --wave-size 8 --workers 4 --retry-after-s 20 --faults \\
    --deadline-s 180 --json > postgresql-$i.jsonl; done     # four at a time; then, in order of i:
cat postgresql-?.jsonl > docs/live-results/atomic-faults-postgresql.jsonl   # -mariadb for MariaDB"""


def _summary(*names: str) -> str:
    with ExitStack() as files:
        if project_root() == ROOT:  # the copies shipped with the package, so the report works from any install
            paths = tuple(str(files.enter_context(as_file(shipped(f"live-results/{name}")))) for name in names)
        else:  # wavesim docs --root DIR: that folder's own files
            paths = tuple(str(project_root() / RESULTS / name) for name in names)
        lines = summarize(read_documents(paths))
    return "```\n" + "\n".join(lines) + "\n```"


@register("live-guards")
def guards() -> str:
    """``guarded`` and ``seed-fix`` on PostgreSQL and MariaDB, no faults."""
    return _summary("guards.jsonl")


@register("live-fix-faults")
def fix_with_faults() -> str:
    """``atomic`` on PostgreSQL and MariaDB with every fault on."""
    return _summary("atomic-faults-postgresql.jsonl", "atomic-faults-mariadb.jsonl")


@register("live-guards-commands")
def guards_commands() -> str:
    """The commands behind ``live-guards``."""
    return "```\n" + GUARDS_COMMANDS + "\n```"


@register("live-fix-faults-commands")
def fix_commands() -> str:
    """The commands behind ``live-fix-faults``."""
    return "```\n" + FIX_COMMANDS + "\n```"


#: the committed comparisons of the built-in live worker and the spec's live run
#: (``python -m benchmarks.bench_live_spec``), each with the options that wrote it
VIA_SPEC = {
    "benchmarks/results/live_spec.txt": "",
    "benchmarks/results/live_spec-postgresql.txt": " --db postgresql+psycopg://postgres@127.0.0.1:5432/wavesim_livespec",
    "benchmarks/results/live_spec-mariadb.txt": " --db mysql+pymysql://root@127.0.0.1:3306/wavesim_livespec",
}


@register("live-via-spec")
def via_spec() -> str:
    """Each committed comparison, as measured, under the command that wrote it."""
    blocks = []
    for path, options in VIA_SPEC.items():
        text = (project_root() / path).read_text(encoding="utf-8").rstrip("\n")
        blocks.append(f"```\n$ python -m benchmarks.bench_live_spec{options} --out {path}\n{text}\n```")
    return "\n\n".join(blocks)


@register("live-via-spec-homes")
def via_spec_homes() -> str:
    """Where each live setting goes in the spec's run, and what the spec's run refuses."""
    from live.settingsspec import HOMES, REFUSED

    return homes_table("live setting", "in the spec's run", HOMES, REFUSED)


@register("live-defaults")
def defaults() -> str:
    """Every live setting's default, and the reasons ``live/settings.py`` gives for them (one copy: its docstring)."""
    text = live_settings.__doc__ or ""
    reasons = text.split("Defaults and why:", 1)[1].strip()
    defaults = ", ".join(f"`{f.name}` {f.default!r}" for f in dataclasses.fields(live_settings.LiveSettings)
                         if f.name not in ("switches", "kill_at", "kill_at_times"))
    return f"{reasons}\n\nEvery default: {defaults}."
