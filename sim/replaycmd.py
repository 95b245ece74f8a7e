"""The exact ``wavesim run`` command that replays one run.

``replay_command(scenario)`` names the scenario's preset, policy and seed and
adds an option for every setting that differs from the preset. Option names
are the setting names with dashes (``batch_mean_s`` -> ``--batch-mean-s``),
as ``wavesim run`` spells them. A scenario made without a known preset (a TOML
file without ``preset``) is written against ``incident``, the command's
default. With ``swarm`` on, the seed decides the fault settings, so
``--swarm`` stands for all of them.
"""

from __future__ import annotations

import shlex
from dataclasses import fields

from sim.faultsettings import FAULT_DEFAULTS
from sim.scenario import PRESETS, Scenario

__all__ = ["option_name", "replay_command", "replay_options"]

_NOT_OPTIONS = ("preset", "policy", "seed", "switches")


def option_name(field: str) -> str:
    """The ``wavesim run`` option of a scenario setting."""
    return "--" + field.replace("_", "-")


def _value(value: object) -> str:
    if isinstance(value, float):
        return repr(value) if not value.is_integer() else str(int(value))
    return str(value)


def replay_options(scenario: Scenario) -> list[str]:
    """The command-line words that turn the preset into ``scenario`` (policy and seed included)."""
    base = PRESETS.get(scenario.preset, PRESETS["incident"])
    words = ["--preset", base.preset, "--policy", scenario.policy, "--seed", str(scenario.seed)]
    for f in fields(Scenario):
        name = f.name
        if name in _NOT_OPTIONS or (scenario.swarm and name in FAULT_DEFAULTS):
            continue
        value, default = getattr(scenario, name), getattr(base, name)
        if value == default:
            continue
        if isinstance(value, bool):
            words.append(option_name(name) if value else "--no-" + name.replace("_", "-"))
        else:
            words += [option_name(name), _value(value)]
    base_switches = dict(base.switches)
    for name, value in scenario.switches:
        if base_switches.get(name, _MISSING) != value:
            words += ["--switch", f"{name}={_switch_text(value)}"]
    return words


_MISSING = object()


def _switch_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "none" if value is None else _value(value)


def replay_command(scenario: Scenario) -> str:
    """``wavesim run ...`` that reproduces a run of ``scenario`` exactly."""
    return shlex.join(["wavesim", "run", *replay_options(scenario)])
