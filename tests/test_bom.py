"""Input files that start with a UTF-8 byte order mark (Windows editors, spreadsheet exports) are read."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from sim.scenario import load_scenario_toml
from userio.files import read_text
from wavesim.cli import main

BOM = "\ufeff"


def test_a_scenario_file_with_a_byte_order_mark_is_read_whole(tmp_path: Path) -> None:
    settings = "workers = 3\nwaves = 2\nwave_size = 4\n"
    scenario = tmp_path / "s.toml"
    scenario.write_text(BOM + settings, encoding="utf-8")
    assert scenario.read_bytes().startswith(b"\xef\xbb\xbf")
    result = CliRunner().invoke(main, ["run", "--scenario", str(scenario), "--json"])
    assert result.exit_code in (0, 1), result.output  # 1: a property the run reports as violated
    ran = json.loads(result.output)["scenario"]
    assert (ran["workers"], ran["waves"], ran["wave_size"]) == (3, 2, 4)


def test_the_toml_reader_and_the_file_reader_drop_the_mark_and_nothing_else(tmp_path: Path) -> None:
    assert load_scenario_toml(BOM + "workers = 3\n").workers == 3
    marked = tmp_path / "history.csv"
    marked.write_text(BOM + "job_id,wave\n" + BOM, encoding="utf-8")
    assert read_text(marked) == "job_id,wave\n" + BOM  # only a leading mark is an encoding signature
