"""Fuzzing the two ways in: scenario files and the command line.

* ``load_scenario_toml`` on generated TOML (real settings and junk keys; values
  of every TOML type, NaN, infinities, huge and negative numbers, arrays, tables,
  and plain junk text) returns a valid ``Scenario`` or raises ``ConfigError``.
* ``wavesim run`` with generated argument lists (its real options with random
  values, plus junk words) exits 0, or 2 with one ``error:`` line; never a traceback.

Derandomized, so a CI run sees the same examples every time.
"""

from __future__ import annotations

import contextlib
import json
import math
import tempfile
import tomllib
from dataclasses import fields, replace
from pathlib import Path

import click
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coordinator import POLICIES, ConfigError
from sim.scenario import DISTRIBUTIONS, LISTENERS, PRESETS, Scenario, load_scenario_toml
from wavesim.cli import main
from wavesim.commands.run import run as run_command

FIELDS = tuple(f.name for f in fields(Scenario))
WORDS = (*POLICIES, *PRESETS, *LISTENERS, *DISTRIBUTIONS, "", "custom", "nan")
#: settings the fault options never rewrite (``swarm`` rewrites the fault ones)
PLAIN = ("policy", "seed", "waves", "wave_size", "threshold", "workers", "db_read_ms", "horizon_s", "max_events")

FUZZ = settings(deadline=None, derandomize=True, database=None, max_examples=150,
                suppress_health_check=[HealthCheck.too_slow])


# -- TOML ----------------------------------------------------------------------------------------

def toml_value(value: object) -> str:
    """``value`` as TOML (strings may come out invalid: that is one more thing to fuzz)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    assert isinstance(value, dict)
    return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + "}"


scalars = st.one_of(
    st.integers(-5, 200),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=-1e3, max_value=1e5),
    st.booleans(),
    st.sampled_from(WORDS),
    st.text(max_size=8),
)
nested = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=6,
)
#: mostly plain values, so that some documents are valid scenarios
values = st.one_of(st.integers(1, 100), st.floats(0, 100), st.sampled_from(WORDS), scalars, nested)
keys = st.one_of(st.sampled_from(FIELDS), st.sampled_from(PLAIN), st.sampled_from(FIELDS).map(str.upper),
                 st.text(min_size=1, max_size=6))


@st.composite
def toml_documents(draw: st.DrawFn) -> str:
    entries = draw(st.lists(st.tuples(keys, values), max_size=8, unique_by=lambda e: e[0]))
    lines = [f"{json.dumps(k, ensure_ascii=False) if k not in FIELDS else k} = {toml_value(v)}" for k, v in entries]
    if draw(st.integers(0, 7)) == 0:  # sometimes a section: a table where a value belongs, or junk
        lines.append(f"[{draw(st.sampled_from(FIELDS))}]")
        lines.append(f"x = {toml_value(draw(scalars))}")
    if draw(st.integers(0, 9)) == 0:
        lines.append(draw(st.text(max_size=20)))  # junk text: mostly a syntax error
    return "\n".join(lines) + "\n"


def check_loader(doc: str) -> None:
    try:
        scenario = load_scenario_toml(doc, source="fuzz.toml")
    except ConfigError as err:
        assert "\n" not in str(err)  # one line
        return
    assert isinstance(scenario, Scenario)
    assert replace(scenario) == scenario  # every setting passes validation again
    data = tomllib.loads(doc)
    for name in PLAIN:
        if name in data:
            assert getattr(scenario, name) == data[name], name


@FUZZ
@given(toml_documents())
def test_scenario_loader_returns_a_scenario_or_a_config_error(doc: str) -> None:
    check_loader(doc)


@settings(FUZZ, max_examples=200)
@given(st.text(max_size=60))
def test_scenario_loader_on_any_text(doc: str) -> None:
    check_loader(doc)


@settings(FUZZ, max_examples=100)
@given(st.fixed_dictionaries({}, optional={name: scalars for name in PLAIN}))
def test_scenario_loader_on_plain_settings(data: dict[str, object]) -> None:
    check_loader("".join(f"{k} = {toml_value(v)}\n" for k, v in data.items()))


# -- the command line ------------------------------------------------------------------------------

JUNK = st.sampled_from(["", "abc", "-1", "0", "nan", "inf", "-inf", "1e400", "--", "-x", "3.5", "１"])
SMALL_INTS = st.integers(-2, 40).map(str)
FLOATS = st.floats(allow_nan=True, allow_infinity=True).map(repr) | st.floats(0, 50).map(repr)
PATHS = st.sampled_from(["w.csv", "w.txt", "missing/w.csv", ".", "good.toml", "bad.toml", "absent.toml",
                         "p.gif", "missing/p.png"])


def option_values(option: click.Option) -> st.SearchStrategy[list[str]]:
    """The words of one real option of ``wavesim run`` with a random value."""
    flag = option.opts[0]
    if option.is_flag:
        return st.just([flag])
    kind = option.type
    if isinstance(kind, click.Choice):
        value = st.one_of(st.sampled_from([str(c) for c in kind.choices]), JUNK)
    elif isinstance(kind, click.types.IntParamType):
        value = st.one_of(st.integers(1, 12).map(str), SMALL_INTS, JUNK)
    elif isinstance(kind, click.types.FloatParamType):
        value = st.one_of(st.floats(0, 1).map(repr), st.floats(0.01, 20).map(repr), FLOATS, JUNK)
    else:  # paths: scenario file, --csv, --plot (no valid plot path: drawing would be slow)
        value = PATHS
    return value.map(lambda v: [flag, v])


OPTIONS = [p for p in run_command.params if isinstance(p, click.Option)]
WORDS_OF_ONE = st.one_of(st.one_of(*[option_values(o) for o in OPTIONS]),
                         st.sampled_from([["--bogus"], ["--waves"], ["extra"], ["-1"], ["--"]]))


@settings(FUZZ, max_examples=120)
@given(st.lists(WORDS_OF_ONE, max_size=5))
def test_run_command_line_exits_0_1_or_2_without_a_traceback(words: list[list[str]]) -> None:
    # the event budget last (later wins), so every run is small however the dice fall
    args = ["run", *[w for group in words for w in group], "--max-events", "3000"]
    with tempfile.TemporaryDirectory() as folder, contextlib.chdir(folder):
        Path("good.toml").write_text('preset = "light"\nwaves = 3\nwave_size = 2\n')
        Path("bad.toml").write_text("waves = [\n")
        result = CliRunner().invoke(main, args)
    assert "Traceback" not in result.output, args
    assert result.exception is None or isinstance(result.exception, SystemExit), (args, result.exception)
    assert result.exit_code in (0, 1, 2), (args, result.output)  # holds, violated, bad input
    if result.exit_code == 2:
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), (args, result.stderr)
        assert result.stdout == ""
    else:
        assert result.stderr == "" and result.stdout, args
