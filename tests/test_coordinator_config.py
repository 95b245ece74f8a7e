"""``WaveConfig``: its defaults, its validation, and reading the environment.

Every refusal is a ``ConfigError`` whose message names the setting (or the
environment variable), the bad value as given and what is allowed.
"""

from __future__ import annotations

import math

import pytest

from coordinator import ConfigError, WaveConfig


def test_defaults_are_the_write_ups():
    config = WaveConfig()
    assert (config.wave_size, config.completion_threshold, config.auto_trigger_delay_s) == (50, 90, 2.0)
    assert config.threshold_count == 45


@pytest.mark.parametrize(
    ("size", "threshold", "count"),
    [(50, 90, 45), (4, 75, 3), (4, 50, 2), (3, 90, 3), (10, 1, 1), (10, 100, 10), (7, 50, 4)],
)
def test_threshold_count_is_the_fewest_finished_batches_that_reach_the_threshold(size, threshold, count):
    config = WaveConfig(wave_size=size, completion_threshold=threshold)
    assert config.threshold_count == count
    assert count * 100 >= threshold * size > (count - 1) * 100


def test_whole_floats_and_numeric_strings_are_normalised():
    config = WaveConfig(wave_size=4.0, completion_threshold="75", auto_trigger_delay_s=0)  # type: ignore[arg-type]
    assert config == WaveConfig(wave_size=4, completion_threshold=75, auto_trigger_delay_s=0.0)
    assert (type(config.wave_size), type(config.completion_threshold), type(config.auto_trigger_delay_s)) == (
        int, int, float,
    )


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"wave_size": 0}, "wave_size must be at least 1, got 0"),
        ({"wave_size": -3}, "wave_size must be at least 1, got -3"),
        ({"wave_size": 2.5}, "wave_size must be a whole number, got 2.5"),
        ({"wave_size": True}, "wave_size must be a number, got True"),
        ({"wave_size": "many"}, "wave_size must be a number, got 'many'"),
        ({"wave_size": None}, "wave_size must be a number, got None"),
        ({"completion_threshold": 0}, "completion_threshold must be between 1 and 100, got 0"),
        ({"completion_threshold": 101}, "completion_threshold must be between 1 and 100, got 101"),
        ({"completion_threshold": math.nan}, "completion_threshold must be a finite number, got nan"),
        ({"auto_trigger_delay_s": -0.5}, "auto_trigger_delay_s must be 0 or more, got -0.5"),
        ({"auto_trigger_delay_s": math.inf}, "auto_trigger_delay_s must be a finite number, got inf"),
        ({"auto_trigger_delay_s": "soon"}, "auto_trigger_delay_s must be a number, got 'soon'"),
    ],
)
def test_bad_fields_are_refused_with_the_field_the_value_and_the_range(fields, message):
    with pytest.raises(ConfigError) as raised:
        WaveConfig(**fields)
    assert str(raised.value) == message


def test_from_env_reads_both_variables_and_keeps_the_other_defaults():
    config = WaveConfig.from_env({"WAVE_SIZE": " 20 ", "WAVE_COMPLETION_THRESHOLD": "80", "PATH": "/bin"})
    assert config == WaveConfig(wave_size=20, completion_threshold=80, auto_trigger_delay_s=2.0)


def test_from_env_without_the_variables_is_the_default():
    assert WaveConfig.from_env({}) == WaveConfig()


def test_from_env_accepts_a_whole_number_written_as_a_float():
    assert WaveConfig.from_env({"WAVE_SIZE": "50.0"}).wave_size == 50


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"WAVE_SIZE": "0"}, "WAVE_SIZE must be at least 1, got '0'"),
        ({"WAVE_SIZE": "-5"}, "WAVE_SIZE must be at least 1, got '-5'"),
        ({"WAVE_SIZE": "2.5"}, "WAVE_SIZE must be a whole number, got '2.5'"),
        ({"WAVE_SIZE": "fifty"}, "WAVE_SIZE must be a number, got 'fifty'"),
        ({"WAVE_SIZE": ""}, "WAVE_SIZE must be a number, got ''"),
        ({"WAVE_SIZE": "NaN"}, "WAVE_SIZE must be a finite number, got 'NaN'"),
        ({"WAVE_SIZE": "inf"}, "WAVE_SIZE must be a finite number, got 'inf'"),
        ({"WAVE_COMPLETION_THRESHOLD": "0"}, "WAVE_COMPLETION_THRESHOLD must be between 1 and 100, got '0'"),
        ({"WAVE_COMPLETION_THRESHOLD": "101"}, "WAVE_COMPLETION_THRESHOLD must be between 1 and 100, got '101'"),
        ({"WAVE_COMPLETION_THRESHOLD": "90%"}, "WAVE_COMPLETION_THRESHOLD must be a number, got '90%'"),
        ({"WAVE_COMPLETION_THRESHOLD": "89.5"}, "WAVE_COMPLETION_THRESHOLD must be a whole number, got '89.5'"),
        ({"WAVE_COMPLETION_THRESHOLD": "nan"}, "WAVE_COMPLETION_THRESHOLD must be a finite number, got 'nan'"),
        # the first bad variable is reported
        ({"WAVE_SIZE": "0", "WAVE_COMPLETION_THRESHOLD": "0"}, "WAVE_SIZE must be at least 1, got '0'"),
    ],
)
def test_from_env_names_the_variable_the_value_and_the_range(environ, message):
    with pytest.raises(ConfigError) as raised:
        WaveConfig.from_env(environ)
    assert str(raised.value) == message
