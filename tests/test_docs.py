"""No number typed by hand: every generated block of the README and docs/ matches what ``wavesim docs`` writes,
and the check notices a block that drifted."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from docgen import ROOT, TABLES, DocError, blocks_in, doc_files, load_blocks, render_file
from wavesim.cli import COMMANDS, main
from wavesim.commands.docs import FIGURES
from wavesim.docblocks import REPORT, WRITEUP_FIXTURE
from wavesim.docs_specs import AUDIT_EXAMPLE

load_blocks()
PAGES = doc_files(ROOT)


def docs(*args: str):
    return CliRunner().invoke(main, ["docs", *args])


def test_every_committed_block_is_what_its_command_writes() -> None:
    result = docs("--check")
    assert (result.exit_code, result.stdout) == (0, "every generated block is up to date\n"), result.stdout


@pytest.mark.parametrize("name", sorted(TABLES))
def test_every_registered_block_is_used_and_matches(name: str) -> None:
    found = [(p, b) for p in PAGES for b in blocks_in(p.read_text(encoding="utf-8"), str(p)) if b.name == name]
    assert found, f"block {name!r} is registered but no page uses it"
    want = TABLES[name]().strip("\n") + "\n"
    for page, block in found:
        assert block.text == want, f"{page.name}: block {name!r} drifted; run 'wavesim docs'"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the pages, the report and the figures the docs copy."""
    for page in PAGES:
        target = tmp_path / page.relative_to(ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(page, target)
    data = [p.relative_to(ROOT) for p in sorted((ROOT / "docs").rglob("*.json*"))]  # readings, live results
    data += [p.relative_to(ROOT) for p in sorted((ROOT / "benchmarks" / "results").glob("*.*"))]  # benchmarks
    data += [p.relative_to(ROOT) for p in sorted((ROOT / "examples").glob("*.py"))]  # the tutorial's spec
    inputs = [rel for pair in FIGURES.items() for rel in pair] + [REPORT, WRITEUP_FIXTURE, *AUDIT_EXAMPLE, *data]
    for rel in inputs:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / rel, tmp_path / rel)
    return tmp_path


def test_a_new_report_makes_the_blocks_that_copy_it_drift(project: Path) -> None:
    report = project / REPORT
    text = report.read_text(encoding="utf-8")
    row = next(line for line in text.splitlines() if line.startswith("| imports completed |"))
    report.write_text(text.replace(row, row.rsplit("|", 2)[0] + "| 0/20 |"), encoding="utf-8")
    result = docs("--check", "--root", str(project))
    assert result.exit_code == 1
    assert result.stdout.splitlines()[:3] == ["drifted: README.md: findings", "drifted: docs/index.md: findings",
                                              "drifted: docs/simulation.md: report-before-after"]


def test_a_drifted_block_is_named_with_exit_1_and_rewritten_back(project: Path) -> None:
    readme = project / "README.md"
    original = readme.read_text(encoding="utf-8")
    edited = re.sub(r"(\| atomic \| )[^|]+", r"\g<1>999 ", original, count=1)
    assert edited != original
    readme.write_text(edited, encoding="utf-8")
    result = docs("--check", "--root", str(project))
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0] == "drifted: README.md: findings"
    assert readme.read_text(encoding="utf-8") == edited  # --check changes nothing
    result = docs("--root", str(project))
    assert (result.exit_code, result.stdout) == (0, "rewrote README.md: findings\n")
    assert readme.read_text(encoding="utf-8") == original


def test_a_stale_figure_copy_is_named_and_copied(project: Path) -> None:
    copy = next(iter(FIGURES))
    (project / copy).write_bytes(b"not the figure")
    assert docs("--check", "--root", str(project)).stdout.splitlines()[0] == (
        f"drifted: {copy} (copy of {FIGURES[copy]})")
    assert docs("--root", str(project)).exit_code == 0
    assert (project / copy).read_bytes() == (ROOT / FIGURES[copy]).read_bytes()


@pytest.mark.parametrize(("text", "message"), [
    ("<!-- wavesim:begin nobody -->\n<!-- wavesim:end nobody -->\n", "page:1: block 'nobody' is not registered"),
    ("<!-- wavesim:begin policies -->\n", "page: block 'policies' is never ended"),
    ("<!-- wavesim:end policies -->\n", "page:1: end of block 'policies' without its begin"),
    ("<!-- wavesim:begin policies -->\n<!-- wavesim:begin presets -->\n",
     "page:2: block 'presets' begins inside block 'policies'"),
])
def test_bad_markers_are_refused(text: str, message: str) -> None:
    with pytest.raises(DocError, match=re.escape(message)):
        blocks_in(text)


def test_a_bad_page_is_one_line_and_exit_2(project: Path) -> None:
    (project / "docs" / "extra.md").write_text("<!-- wavesim:begin nobody -->\n<!-- wavesim:end nobody -->\n")
    result = docs("--check", "--root", str(project))
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith("error: docs/extra.md:1: block 'nobody' is not registered")


def test_a_marker_quoted_in_prose_is_not_a_block() -> None:
    text = "Blocks sit between `<!-- wavesim:begin NAME -->` markers.\n<!-- wavesim:begin policies -->\nstale text\n" \
           "<!-- wavesim:end policies -->\n"
    new, changed = render_file(text)
    assert changed == ["policies"] and "| `atomic` |" in new and "stale text" not in new


def test_the_readme_is_short_and_names_every_command() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 250
    assert all(f"| `wavesim {name}` |" in readme for name in COMMANDS)


@pytest.mark.parametrize("page", ["README.md", "docs/index.md"])
def test_the_test_command_names_every_server_variable_the_tests_read_and_where_they_run(page: str) -> None:
    text = (ROOT / page).read_text(encoding="utf-8")
    start = text.index("pip install -e '.[test]' && python -m pytest")
    beside = text[start: text.index("\n## ", start)]  # up to the next section
    variables = {v for f in (ROOT / "tests").glob("*.py")
                 for v in re.findall(r"WAVESIM_(?:[A-Z]+_URL|REQUIRE_SERVERS)\b", f.read_text(encoding="utf-8"))}
    assert {"WAVESIM_POSTGRES_URL", "WAVESIM_MYSQL_URL", "WAVESIM_REDIS_URL"} <= variables
    assert [v for v in sorted(variables) if v not in beside] == []
    assert "from a clone" in beside
