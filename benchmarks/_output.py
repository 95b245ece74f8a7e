"""What a benchmark prints, and ``--out FILE``: the same lines written whole to a file, closed by the machine line.

The machine line says what the figures above it were measured on: the Python version, the cores, the load
average when the benchmark started and when it ended (the machine is shared, so a figure means little without
it), and the date. ``docgen.benchmarks`` reads it back from the committed result files, so its format is a
contract: change it here and there together (``tests/test_benchmark_results.py`` notices when they part).
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
from collections.abc import Sequence
from pathlib import Path

__all__ = ["Output", "arguments", "count_note", "finish_table", "load_average", "machine_line"]


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, as the machine line prints them."""
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


def machine_line(start_load: str) -> str:
    """Python, cores, the load at the start (``start_load``) and now, and the date: the last line of a result."""
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (f"Python {platform.python_version()}, {os.cpu_count()} cores, {platform.machine()}; load average at the "
            f"start {start_load}, at the end {load_average()} (1, 5, 15 min); {now}")


def finish_table(lines: list[str], footer: list[str], path: str | None) -> None:
    """Print the ``footer`` after a blank line and, given a ``path``, write the whole table there (a whole
    table or none)."""
    lines += ["", *footer]
    print("\n".join(lines[-len(footer) - 1:]))
    if path is None:
        return
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(out.suffix + ".tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tmp.replace(out)


class Output:
    """The lines a benchmark prints as it goes, kept so that ``finish`` can write all of them to ``--out``."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.start_load = load_average()  # read before the first measurement

    def say(self, line: str) -> None:
        print(line, flush=True)
        self.lines.append(line)

    def finish(self, path: str | None, notes: Sequence[str] = ()) -> None:
        """Print ``notes`` and the machine line after a blank line; given a ``path``, write everything there."""
        finish_table(self.lines, [*notes, machine_line(self.start_load)], path)


def arguments(doc: str | None, *, count: int, what: str) -> argparse.Namespace:
    """The options of a timing benchmark: how many repetitions (``count`` by default; positional, as before
    ``--out`` existed) and ``--out FILE``. ``args.default`` keeps ``count``, so the result can say when fewer
    were run."""
    parser = argparse.ArgumentParser(description=(doc or "").splitlines()[0])
    parser.add_argument("count", nargs="?", type=int, default=count, help=f"{what} (default {count})")
    parser.add_argument("--out", default=None, metavar="FILE",
                        help="also write the whole output, closed by the machine line, to FILE")
    args = parser.parse_args()
    if args.count < 1:
        parser.error(f"{what} must be at least 1")
    args.default = count
    return args


def count_note(args: argparse.Namespace, what: str) -> list[str]:
    """A note for the result when fewer (or more) ``what`` ran than the default, else nothing."""
    if args.count == args.default:
        return []
    return [f"{what}: {args.count}, not the default {args.default}"]
