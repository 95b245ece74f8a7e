"""The core's domain errors."""

from __future__ import annotations

__all__ = ["ConfigError", "WaveError"]


class WaveError(ValueError):
    """A step that makes no sense for the table: an unknown wave, a bad count.

    The message names the wave, its status and the attempted step. The table is
    never changed by a step that raises this.
    """

    def __init__(self, *, wave: int, status: str, step: str, reason: str) -> None:
        self.wave = wave
        self.status = status
        self.step = step
        super().__init__(f"wave {wave} (status {status}): cannot {step}: {reason}")


class ConfigError(ValueError):
    """A configuration value outside its allowed range; the message names both."""
