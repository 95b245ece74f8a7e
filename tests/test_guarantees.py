"""atomic's guarantees: the README, docs/checker.md and ``wavesim check`` say the same thing.

The README's table is a generated block (``wavesim docs``); these tests parse it back and
compare it with what the default check reports now, so that a change to the code, the default
scope or the default lease that moves a verdict fails here until the pages say it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from coordinator import PROPERTY_NAMES
from docgen import blocks_in, load_blocks
from docgen.guarantees import LEASE_SENSITIVE, lease_note
from wavesim.cli import main

ROOT = Path(__file__).resolve().parent.parent
BLOCK = "atomic-guarantees"
#: the table's verdict columns: the default check, then under the lease assumption
COLUMNS = ((), ("--relay-lease", "outlasts-claimer"))


def stated(page: str) -> dict[str, tuple[str, str]]:
    """The verdicts a page's guarantees block states, by property."""
    load_blocks()
    (block,) = [b for b in blocks_in((ROOT / page).read_text(encoding="utf-8")) if b.name == BLOCK]
    rows = [line.split(" | ") for line in block.text.splitlines() if line.startswith("| `")]
    return {cells[0].strip("| `"): (cells[1], cells[2]) for cells in rows}


def checked(*options: str) -> tuple[dict[str, str], str]:
    """``wavesim check --policy atomic`` (JSON verdicts, in the block's words) and its text report."""
    runner = CliRunner()
    report = json.loads(runner.invoke(main, ["check", "--policy", "atomic", *options, "--json"]).stdout)
    words = {True: "holds", False: "VIOLATED", None: "undecided"}
    text = runner.invoke(main, ["check", "--policy", "atomic", *options]).stdout
    return {n: words[v["holds"]] for n, v in report["properties"].items()}, text


@pytest.fixture(scope="module")
def reports() -> list[tuple[dict[str, str], str]]:
    return [checked(*options) for options in COLUMNS]


def test_the_readme_states_every_verdict_the_default_check_reports(reports: list[tuple[dict[str, str], str]]) -> None:
    readme = stated("README.md")
    assert list(readme) == list(PROPERTY_NAMES)
    for column, (verdicts, _) in enumerate(reports):
        assert {name: cells[column] for name, cells in readme.items()} == verdicts


def test_the_checker_page_shows_the_readmes_table() -> None:
    assert stated("docs/checker.md") == stated("README.md")


def test_the_check_names_exactly_the_verdicts_the_lease_changes(reports: list[tuple[dict[str, str], str]]) -> None:
    (default, text), (lease, lease_text) = reports
    assert tuple(n for n in PROPERTY_NAMES if default[n] != lease[n]) == LEASE_SENSITIVE
    assert lease_note() in text and "note: --relay-lease" not in lease_text
    guarded = CliRunner().invoke(main, ["check", "--policy", "guarded", "--property", "single_active_wave"]).stdout
    assert "note: --relay-lease" not in guarded  # no relay, no lease to assume
