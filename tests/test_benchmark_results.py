"""The benchmarks' table (``docs/benchmarks.md``) is read from the committed result files: a changed figure makes
it drift, a goal's verdict follows the figures, a line that no longer reads as the table expects (or a file
without its machine line) stops ``wavesim docs`` with one line, and what each benchmark writes with ``--out``
is what the table reads."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from docgen import ROOT
from docgen.benchmarks import MACHINE, RESULTS
from wavesim.cli import main
from wavesim.commands.docs import FIGURES

PAGE = "docs/benchmarks.md"
SIM = RESULTS["bench_sim"]


def docs(project: Path, *args: str):
    return CliRunner().invoke(main, ["docs", "--root", str(project), *args])


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The benchmarks page, the result files it reads and the figure copies: all ``wavesim docs --root`` needs."""
    results = [p.relative_to(ROOT) for p in sorted((ROOT / "benchmarks" / "results").glob("*.txt"))]
    for rel in [Path(PAGE), *results, *map(Path, FIGURES), *map(Path, FIGURES.values())]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / rel, tmp_path / rel)
    assert docs(tmp_path, "--check").exit_code == 0  # the copy starts as committed: in step with its files
    return tmp_path


def edit(project: Path, rel: str, old: str, new: str, count: int = 1) -> None:
    path = project / rel
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, count), encoding="utf-8")


def table_row(project: Path, number: int) -> str:
    text = (project / PAGE).read_text(encoding="utf-8")
    return next(line for line in text.splitlines() if line.startswith(f"| {number} |"))


def test_a_changed_figure_makes_the_table_drift_and_docs_writes_it(project: Path) -> None:
    line = next(x for x in (project / SIM).read_text().splitlines() if x.startswith("[1] incident/original"))
    rate = re.search(r"harness ([\d,]+) ev/s", line).group(1)  # type: ignore[union-attr]
    edit(project, SIM, f"harness {rate} ev/s", "harness 123,456 ev/s")
    result = docs(project, "--check")
    assert (result.exit_code, result.stdout.splitlines()[0]) == (1, f"drifted: {PAGE}: benchmark-table")
    assert docs(project).exit_code == 0
    assert "123,456 ev/s (`original`" in table_row(project, 1)
    assert docs(project, "--check").exit_code == 0


@pytest.mark.parametrize(("ratio", "verdict"), [("0.50", ">= 0.5: met"), ("0.49", ">= 0.5: **missed**")])
def test_a_goal_is_judged_from_the_figures(project: Path, ratio: str, verdict: str) -> None:
    path = project / SIM
    path.write_text(re.sub(r"ratio [\d.]+ \(goal >= 0\.5\)", f"ratio {ratio} (goal >= 0.5)", path.read_text()))
    assert docs(project).exit_code == 0
    assert table_row(project, 1).endswith(f"| {ratio} and {ratio} | {verdict} |")


def _line_number(project: Path, rel: str, prefix: str) -> int:
    lines = (project / rel).read_text().splitlines()
    return next(n for n, line in enumerate(lines, 1) if line.startswith(prefix))


@pytest.mark.parametrize(("rel", "old", "new", "prefix"), [
    (SIM, " harness ", " simulated ", "[1] incident/original: "),
    (RESULTS["bench_startup"], "n=", "count=", "[6] wavesim --help: "),
    (RESULTS["bench_sweep"], "imports/s", "runs/s", "[3] sweep of "),
    (RESULTS["bench_live"], "SQLite: median", "SQLite: mean", "live import 20 x 20, 8 workers, atomic, SQLite: "),
])
def test_a_reworded_line_is_named_with_its_number_and_exit_2(project: Path, rel: str, old: str, new: str,
                                                             prefix: str) -> None:
    number = _line_number(project, rel, prefix)
    edit(project, rel, old, new)
    result = docs(project, "--check")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (f"error: {rel}:{number}: the line starting with {prefix!r} no longer reads as "
                             "docgen.benchmarks expects; change both together\n")


def test_a_missing_line_is_named_and_exit_2(project: Path) -> None:
    edit(project, SIM, "[4] spec coordinator/writeup.py", "[5] spec coordinator/writeup.py")
    result = docs(project, "--check")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (f"error: {SIM}: no line starts with '[4] spec coordinator/writeup.py '; "
                             "rerun its benchmark\n")


def test_a_file_without_its_machine_line_is_refused(project: Path) -> None:
    path = project / RESULTS["bench_live"]
    path.write_text(path.read_text().rstrip("\n").rsplit("\n", 1)[0] + "\n")
    result = docs(project, "--check")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {RESULTS['bench_live']}: its last line is not the machine line")


def test_the_table_names_each_file_its_command_and_its_machine(project: Path) -> None:
    text = (project / PAGE).read_text(encoding="utf-8")
    for name in ("bench_sim", "bench_sweep", "bench_live", "bench_startup"):
        machine = (project / RESULTS[name]).read_text().rstrip("\n").splitlines()[-1]
        assert MACHINE.fullmatch(machine)
        assert f"- `{RESULTS[name]}`: `python -m benchmarks.{name} --out {RESULTS[name]}`." in text
        assert f"Measured on {machine}." in text


@pytest.mark.parametrize(("name", "note", "row"), [
    ("bench_startup", "repetitions: 1, not the default 9", 6),
    ("bench_sim", "repetitions: 1, not the default 9", 2),
    ("bench_sweep", "seeds of each grid point: 1, not the default 24", 3),
])
def test_what_a_benchmark_writes_is_what_the_table_reads(project: Path, name: str, note: str, row: int) -> None:
    """A real run, at its smallest: its file replaces the committed one and the table reads it (the lines, the
    note that fewer ran than the default, the machine line). ``bench_live`` is left out: one import takes
    seconds even at its smallest."""
    out = project / RESULTS[name]
    subprocess.run([sys.executable, "-m", f"benchmarks.{name}", "1", "--out", str(out)], check=True, cwd=ROOT,
                   capture_output=True)
    assert docs(project).exit_code == 0
    text = (project / PAGE).read_text(encoding="utf-8")
    entry = next(line for line in text.splitlines() if line.startswith(f"- `{RESULTS[name]}`"))
    machine = out.read_text().rstrip("\n").splitlines()[-1]
    assert entry.endswith(f" {note}. Measured on {machine}.")
    fresh = "2 incident imports" if name == "bench_sweep" else "(median of 1;"  # 1 seed x 2 grid points
    assert fresh in table_row(project, row)
