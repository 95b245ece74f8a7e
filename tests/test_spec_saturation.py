"""A spec's ``saturates`` declaration (the counter abstraction): a saturated column keeps every verdict and
shortest length in fewer states, and a declaration some reader contradicts stops the check (exit 2)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from click.testing import CliRunner

from model.specmodel import Model, check_spec
from model.specmodel.saturation import Saturation, SaturationBroken
from spec.lang import Spec
from specfile.load import load_spec
from wavesim.cli import main

HITS = Path(__file__).parent / "fixtures" / "specs" / "hits.py"


def _hits() -> Spec:
    return load_spec(HITS)


def _verdicts(spec: Spec, *, saturation: bool = True, **scope: str) -> tuple[int, dict[str, object]]:
    search = check_spec(Model(spec, spec.scope_of(scope), saturation=saturation), por=False, probe=False)
    assert search.complete or len(search.found) == len(search.checked)
    return search.states, {n: (search.holds(n), len(f.labels) if (f := search.found.get(n)) else None)
                           for n in search.checked}


def _at(spec: Spec, bound: int) -> Spec:
    spec.saturated = tuple(dataclasses.replace(d, at=bound) for d in spec.saturated)
    return spec


def test_a_saturated_counter_keeps_every_verdict_and_shortest_length_in_fewer_states() -> None:
    saturated, exact = _verdicts(_hits()), _verdicts(_hits(), saturation=False)
    assert saturated[1] == exact[1] == {"callback_at_most_once": (False, 18), "callback_runs": (True, None)}
    assert saturated[0] < exact[0]


def test_a_program_that_reads_the_whole_count_is_refused() -> None:
    with pytest.raises(SaturationBroken, match=r"counts\.hits = 3 .* instead of"):
        _verdicts(_hits(), read="whole")
    assert _verdicts(_hits(), saturation=False, read="whole")[1]["callback_runs"] == (True, None)


def test_a_bound_below_what_the_program_keeps_is_refused() -> None:
    with pytest.raises(SaturationBroken, match=r"keep\(\) gives the program 2 instead of 1"):
        _verdicts(_at(_hits(), 1))


def test_without_its_test_a_wrong_bound_changes_a_verdict(monkeypatch: pytest.MonkeyPatch) -> None:
    # the mechanism broken on purpose: statements are no longer tested on witnesses past the bound
    monkeypatch.setattr(Saturation, "check_statement", lambda self, *args: None)
    assert _verdicts(_at(_hits(), 1))[1]["callback_runs"] == (False, 28)  # a stall the spec does not have


def test_a_property_that_reads_past_the_bound_is_refused() -> None:
    spec = _hits()
    declared = spec.properties["callback_at_most_once"]
    spec.properties["callback_at_most_once"] = dataclasses.replace(
        declared, check=lambda world: world.rows("counts")[0]["hits"] <= 3)  # caught by the far witness
    with pytest.raises(SaturationBroken, match="property .callback_at_most_once. judges counts.hits = 1000002"):
        _verdicts(spec)


def test_a_declaration_on_a_text_column_or_without_a_reason_is_refused() -> None:
    import sqlalchemy as sa

    from spec.errors import Unsupported

    meta = sa.MetaData()
    table = sa.Table("t", meta, sa.Column("id", sa.Integer, primary_key=True), sa.Column("name", sa.String(8)),
                     sa.Column("n", sa.Integer))
    spec = Spec("t", meta)
    with pytest.raises(Unsupported, match="only an Integer column"):
        spec.saturates(table.c.name, at=1, why="no reader")
    with pytest.raises(Unsupported, match="say why"):
        spec.saturates(table.c.n, at=1, why=" ")


def test_the_check_command_refuses_a_wrong_declaration_in_one_line_exit_2() -> None:
    result = CliRunner().invoke(main, ["check", str(HITS), "--switch", "read=whole"])
    assert result.exit_code == 2, result.output
    assert "saturates(counts.hits)" in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
    fine = CliRunner().invoke(main, ["check", str(HITS), "--switch", "read=whole", "--no-saturation"])
    assert fine.exit_code == 1, fine.output  # callback_at_most_once is violated
