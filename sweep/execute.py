"""Where sweep runs execute: in this process, on local processes, or on Dask.

Every executor calls the same module-level ``run_chunk``, so a run's row does
not depend on where it ran: the row is a function of the task alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from sweep.grid import Task

__all__ = ["RunFn", "chunked", "execute"]

#: A run: the sweep's fixed settings and one task -> one flat row.
RunFn = Callable[[dict[str, Any], Task], dict[str, object]]


def run_chunk(run: RunFn, base: dict[str, Any], tasks: Sequence[Task]) -> list[dict[str, object]]:
    return [run(base, task) for task in tasks]


def chunked(tasks: Sequence[Task], size: int) -> list[list[Task]]:
    return [list(tasks[i : i + size]) for i in range(0, len(tasks), size)]


def execute(
    run: RunFn,
    base: dict[str, Any],
    tasks: Sequence[Task],
    *,
    jobs: int,
    scheduler: str | None = None,
    chunk_size: int = 4,
) -> Iterator[dict[str, object]]:
    """Yield one row per task, as they finish (order varies; callers sort)."""
    if not tasks:
        return
    chunks = chunked(tasks, chunk_size)
    if scheduler is not None:
        yield from _on_dask(run, base, chunks, scheduler)
    elif jobs <= 1:
        for chunk in chunks:
            yield from run_chunk(run, base, chunk)
    else:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            for rows in pool.map(run_chunk, [run] * len(chunks), [base] * len(chunks), chunks):
                yield from rows


def _on_dask(
    run: RunFn, base: dict[str, Any], chunks: list[list[Task]], scheduler: str
) -> Iterator[dict[str, object]]:
    from distributed import Client, as_completed  # only a distributed sweep needs Dask

    with Client(scheduler) as client:
        futures = client.map(run_chunk, [run] * len(chunks), [base] * len(chunks), chunks, pure=False)
        for future in as_completed(futures):
            yield from future.result()
