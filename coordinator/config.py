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
        size = _whole("wave_size", self.wave_size)
        if size < 1:
            raise ConfigError(f"wave_size must be at least 1, got {self.wave_size!r}")
        threshold = _whole("completion_threshold", self.completion_threshold)
        if not 1 <= threshold <= 100:
            raise ConfigError(
                f"completion_threshold must be between 1 and 100, got {self.completion_threshold!r}"
            )
        delay = _number("auto_trigger_delay_s", self.auto_trigger_delay_s)
        if delay < 0:
            raise ConfigError(
                f"auto_trigger_delay_s must be 0 or more, got {self.auto_trigger_delay_s!r}"
            )
        object.__setattr__(self, "wave_size", size)
        object.__setattr__(self, "completion_threshold", threshold)
        object.__setattr__(self, "auto_trigger_delay_s", delay)

    @property
    def threshold_count(self) -> int:
        """The fewest finished batches that reach the threshold."""
        return -(-self.completion_threshold * self.wave_size // 100)

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> WaveConfig:
        """Read ``WAVE_SIZE`` and ``WAVE_COMPLETION_THRESHOLD`` as waves.php does.

        The caller passes the environment (``os.environ``): the core reads none.
        """
        values: dict[str, object] = {}
        if "WAVE_SIZE" in environ:
            values["wave_size"] = _env("WAVE_SIZE", environ["WAVE_SIZE"])
        if "WAVE_COMPLETION_THRESHOLD" in environ:
            values["completion_threshold"] = _env(
                "WAVE_COMPLETION_THRESHOLD", environ["WAVE_COMPLETION_THRESHOLD"]
            )
        return cls(**values)  # type: ignore[arg-type]


def _env(name: str, raw: str) -> int:
    try:
        return _whole(name, raw)
    except ConfigError as err:
        raise ConfigError(f"environment variable {err}") from None
