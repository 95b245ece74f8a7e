"""``wavesim demo`` reads like a counterexample of ``wavesim check``: numbered steps, the table after each."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from coordinator import POLICIES
from wavesim.cli import main
from wavesim.commands.demo import miniature, story

STEP = re.compile(r"^ *(\d+)\. (\S+) +(.*)$")


@pytest.mark.parametrize("policy", list(POLICIES))
def test_steps_are_numbered_in_order_and_every_operation_shows_the_table(policy: str) -> None:
    lines = miniature(policy)
    numbers = [int(m.group(1)) for line in lines if (m := STEP.match(line))]
    assert numbers == list(range(len(numbers)))
    for i, line in enumerate(lines):
        m = STEP.match(line)
        if m and " -> " in m.group(3):  # a DB operation and its result: the table follows
            assert lines[i + 1].startswith("     table 1:")
    assert not any("Decision(" in line for line in lines)


def test_the_burst_shows_under_original_and_not_under_atomic() -> None:
    ends = {p: [line.split(" ends: ")[1] for line in miniature(p) if " ends: " in line] for p in ("original", "atomic")}
    # under the default readings DB-RECONCILE drives the burst, as the write-up says it did
    assert ends["original"][:4] == ["db-reconcile dispatched wave 1", "normal dispatched wave 2",
                                    "db-reconcile dispatched wave 3", "db-reconcile dispatched wave 4"]
    # to the end of the story: each of atomic's five waves is dispatched once, one at a time past the threshold
    assert [e for e in ends["atomic"] if "dispatched" in e] == [f"advance dispatched wave {w}" for w in range(1, 6)]


def test_the_command_prints_the_miniature() -> None:
    result = CliRunner().invoke(main, ["demo", "--policy", "seed-fix"])
    lines, verdicts = story("seed-fix")
    assert result.output.splitlines() == lines
    assert result.exit_code == (0 if all(v["holds"] for v in verdicts.values()) else 1)


def test_a_switch_changes_what_the_demo_runs() -> None:
    def ends(lines: list[str]) -> list[str]:
        return [line.split(" ends: ")[1] for line in lines if " ends: " in line]

    switched = miniature("original", switches={"current_wave_rule": "lowest-active"})
    assert switched[0].startswith("policy original --switch current_wave_rule=lowest-active:")
    # with the lowest active wave current, wave 4 goes out through CATCH-UP instead of DB-RECONCILE
    assert ends(switched)[3] == "catch-up dispatched wave 4" != ends(miniature("original"))[3]
    result = CliRunner().invoke(main, ["demo", "--switch", "current_wave_rule=lowest-active"])
    assert result.exit_code == 1 and result.output.splitlines() == switched  # original's burst: exit 1
    refused = CliRunner().invoke(main, ["demo", "--policy", "atomic", "--switch", "completion_check=after-guard"])
    assert refused.exit_code == 2 and refused.output.startswith("error: switch completion_check=")


@pytest.mark.parametrize("policy", list(POLICIES))
def test_the_story_runs_to_its_end_and_the_summary_says_how_it_ended(policy: str) -> None:
    lines, verdicts = story(policy)
    (summary,) = [line for line in lines if line.startswith("summary: ")]
    completed = summary.startswith("summary: the import completed: all 5 waves")
    assert completed == verdicts["import_completes"]["holds"] == verdicts["no_stall"]["holds"]
    assert completed or summary.startswith("summary: the import stalled")
    shown = lines[lines.index("properties:") + 1:]
    assert [line.split()[0] for line in shown] == list(verdicts)
    for line, v in zip(shown, verdicts.values(), strict=True):
        assert line.split()[1] == ("holds:" if v["holds"] else "VIOLATED")


def test_guarded_ends_in_the_write_ups_stall_and_seed_fix_is_saved_by_its_trigger() -> None:
    lines, verdicts = story("guarded")
    last = [line for line in lines if line.startswith("     table ")][-1].split("table ")[1].split(" | ")
    # a wave completed, the next one pending, none active: no event is left to move it
    statuses = [cell.split(":")[1].split()[0] for cell in last]
    k = statuses.index("pending")
    assert k > 0 and statuses[k - 1] == "completed" and "processing" not in statuses
    assert not verdicts["no_stall"]["holds"]
    fixed, fixed_verdicts = story("seed-fix")
    assert any("the delayed auto-trigger fires" in line for line in fixed)
    assert fixed_verdicts["no_stall"]["holds"] and fixed_verdicts["import_completes"]["holds"]
    # without its trigger, seed-fix is guarded again: the same stall
    assert not story("seed-fix", switches={"auto_trigger": False})[1]["no_stall"]["holds"]


def test_original_bursts_then_completes() -> None:
    lines, verdicts = story("original")
    assert verdicts["import_completes"]["holds"]
    assert not verdicts["single_active_wave"]["holds"] and not verdicts["queue_bounded"]["holds"]
