"""The generated blocks of docs/live.md: the committed live results, summarized.

A live run is not deterministic, so its numbers cannot be recomputed by the docs:
what is committed is the raw ``wavesim live --json`` output of the runs
(``docs/live-results/*.jsonl``, one document per import), and these blocks are
``wavesim live --summarize`` over those files. A test keeps the page and the
files in step; rerunning the commands on the page and replacing a file is how
the numbers change.
"""

from __future__ import annotations

from wavesim.commands.live import read_documents, summarize
from wavesim.docgen import project_root, register

__all__ = ["RESULTS", "fix_with_faults", "guards"]

RESULTS = "docs/live-results"


def _summary(*names: str) -> str:
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
