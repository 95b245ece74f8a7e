"""``WaveConfig``: the write-up's ``config/waves.php``, validated."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from coordinator.errors import ConfigError

__all__ = ["WaveConfig"]


def _number(name: str, value: object) -> float:
    if isinstance(value, bool):
        raise ConfigError(f"{name} must be a number, got {value!r}")
    if isinstance(value, (int, float)):
        number = float(value)
    else:
        try:
            number = float(str(value).strip())
        except ValueError:
            raise ConfigError(f"{name} must be a number, got {value!r}") from None
    if math.isnan(number) or math.isinf(number):
        raise ConfigError(f"{name} must be a finite number, got {value!r}")
    return number


def _whole(name: str, value: object) -> int:
    number = _number(name, value)
    if number != int(number):
        raise ConfigError(f"{name} must be a whole number, got {value!r}")
    return int(number)


def _wave_size(name: str, value: object) -> int:
    size = _whole(name, value)
    if size < 1:
        raise ConfigError(f"{name} must be at least 1, got {value!r}")
    return size


def _threshold(name: str, value: object) -> int:
    threshold = _whole(name, value)
    if not 1 <= threshold <= 100:
        raise ConfigError(f"{name} must be between 1 and 100, got {value!r}")
    return threshold


def _delay(name: str, value: object) -> float:
    delay = _number(name, value)
    if delay < 0:
        raise ConfigError(f"{name} must be 0 or more, got {value!r}")
    return delay


@dataclass(frozen=True, slots=True, kw_only=True)
class WaveConfig:
    """How waves are sized and when the next one may go out.

    ``completion_threshold`` is a percentage of a wave's batches that must have
    finished before the next wave is dispatched.
    """

    wave_size: int = 50
    completion_threshold: int = 90
    auto_trigger_delay_s: float = 2.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "wave_size", _wave_size("wave_size", self.wave_size))
        object.__setattr__(
            self, "completion_threshold", _threshold("completion_threshold", self.completion_threshold)
        )
        object.__setattr__(self, "auto_trigger_delay_s", _delay("auto_trigger_delay_s", self.auto_trigger_delay_s))

    @property
    def threshold_count(self) -> int:
        """The fewest finished batches that reach the threshold."""
        return -(-self.completion_threshold * self.wave_size // 100)

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> WaveConfig:
        """Read ``WAVE_SIZE`` and ``WAVE_COMPLETION_THRESHOLD`` as waves.php does.

        The caller passes the environment (``os.environ``): the core reads none.
        Each message names the variable, the bad value and what is allowed, e.g.
        ``WAVE_SIZE must be at least 1, got '0'``.
        """
        values: dict[str, int] = {}
        if "WAVE_SIZE" in environ:
            values["wave_size"] = _wave_size("WAVE_SIZE", environ["WAVE_SIZE"])
        if "WAVE_COMPLETION_THRESHOLD" in environ:
            raw = environ["WAVE_COMPLETION_THRESHOLD"]
            values["completion_threshold"] = _threshold("WAVE_COMPLETION_THRESHOLD", raw)
        return cls(**values)
