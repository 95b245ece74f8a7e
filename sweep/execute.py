"""Where sweep runs execute: in this process, on local processes, or on Dask.

Every executor calls the same module-level ``run_chunk``, so a run's row does
not depend on where it ran: the row is a function of the task alone.
``run_grid`` is a whole sweep's run: resume the output file, run what is left,
and keep the rows asked for, whatever is swept (the built-in run or a spec).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from sweep.grid import Task
from sweep.resume import check_resumable
from sweep.store import RowStore
from userio.errors import BadInput
from userio.progress import progress_bar

__all__ = ["RunFn", "check_scheduler", "chunked", "execute", "run_grid"]

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


def run_grid(tasks: list[Task], out: str, header: list[str], settings_of: Callable[[Task], dict[str, Any]],
             run: RunFn, base: dict[str, Any], *, jobs: int, scheduler: str | None, progress: bool,
             force: bool) -> list[dict[str, object]]:
    """Run every task not yet in ``out`` (resuming it, ``check_resumable``) and return the rows of
    ``tasks``, in their order: the part of a sweep that does not depend on what is swept."""
    store = RowStore(out, header, fresh=force)
    check_resumable(store.path, store.rows, tasks, settings_of)
    store.begin()
    done = store.done()
    todo = [t for t in tasks if t.key not in done]
    with progress_bar(len(tasks), initial=len(tasks) - len(todo), desc="sweep", enabled=progress) as bar:
        for row in execute(run, base, todo, jobs=jobs, scheduler=scheduler):
            store.append(row)
            bar.update(1)
    keys = [t.key for t in tasks]
    store.finish(keys)
    wanted_keys = set(keys)  # a resumed file may hold rows of grid points no longer asked for
    return [r for r in store.rows if (str(r["point"]), int(str(r["seed"]))) in wanted_keys]


def check_scheduler(address: str, timeout_s: float = 10.0) -> None:
    """Connect once before the first run, so a bad address leaves no output file behind."""
    try:
        from distributed import Client
        from distributed.comm.addressing import parse_address
        from distributed.comm.registry import get_backend
    except ImportError:
        raise BadInput(f"--scheduler {address}: Dask is not installed (pip install 'wavesim[dist]')") from None
    try:
        scheme, location = parse_address(address)
        backend = get_backend(scheme)
        if scheme in ("tcp", "tls"):
            backend.get_address_host_port(location)
    except ValueError as err:
        raise BadInput(f"--scheduler {address}: {err}; give an address like tcp://127.0.0.1:8786") from None
    try:
        with Client(address, timeout=timeout_s):
            pass
    except (OSError, ValueError, TypeError) as err:
        reason = " ".join(str(err).split())
        raise BadInput(f"--scheduler {address}: cannot connect to a Dask scheduler there ({reason}); "
                       "give an address like tcp://127.0.0.1:8786") from None
