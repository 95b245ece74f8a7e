"""``WAVE_SIZE`` and ``WAVE_COMPLETION_THRESHOLD``: the environment's defaults for wave size and threshold.

The write-up's ``config/waves.php`` reads them (``env('WAVE_SIZE', 50)``), so a
shell set up for the real import gives the same numbers to wavesim. Every
command with a wave size and a threshold (``run``, ``compare``, ``faults``,
``sweep``, ``check``) takes them as its defaults, with this precedence (later
wins)::

    preset (or a command's own default)  <  environment  <  --scenario file  <  option

A value the environment sets is a default, so a file or an option that names
the setting overrides it; a preset is a named starting point, so the
environment overrides it. A bad value is one line naming the variable and
exit 2, even when an option would have overridden it (a broken environment is
worth hearing about). ``report``, ``demo``, ``replay``, ``audit`` and ``docs``
ignore both: they reproduce fixed scenarios or read files.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from coordinator import ConfigError, WaveConfig
from userio.errors import BadInput

__all__ = ["ENV_SETTINGS", "env_settings", "env_source"]

#: environment variable -> the scenario setting it defaults
ENV_SETTINGS = {"WAVE_SIZE": "wave_size", "WAVE_COMPLETION_THRESHOLD": "threshold"}


def env_settings(environ: Mapping[str, str] | None = None) -> dict[str, int]:
    """The scenario settings the environment sets (``wave_size``, ``threshold``), validated as waves.php's
    values are (``coordinator.WaveConfig.from_env``); a bad value is ``BadInput``."""
    environ = os.environ if environ is None else environ
    try:
        config = WaveConfig.from_env(environ)
    except ConfigError as err:
        raise BadInput(f"{err} (from the environment)") from None
    values = {"wave_size": config.wave_size, "threshold": config.completion_threshold}
    return {setting: values[setting] for var, setting in ENV_SETTINGS.items() if var in environ}


def env_source(setting: str, environ: Mapping[str, str] | None = None) -> str | None:
    """``'WAVE_SIZE=50'`` when the environment set ``setting``, for messages; else None."""
    environ = os.environ if environ is None else environ
    for var, name in ENV_SETTINGS.items():
        if name == setting and var in environ:
            return f"{var}={environ[var]}"
    return None
