"""``wavesim faults``: the fault matrix, policy x fault -> share of runs each property held."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from coordinator import POLICIES, PROPERTY_NAMES, ConfigError
from sim.faultmatrix import MATRIX_PRESET, MATRIX_SETTINGS, fault_matrix
from sim.faultsettings import FAULT_PRESETS
from userio.errors import BadInput
from userio.exitcodes import Expected, expect_option, finish
from userio.files import check_output
from userio.progress import wanted
from wavesim.commands.outputs import write_output
from wavesim.commands.run import build_scenario, scenario_options
from wavesim.commands.specsim import OWN, SHARED, faults_spec_command, refuse_spec_options, spec_options
from wavesim.helpsections import SpecFirstCommand

__all__ = ["faults"]


def _write_text(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


@click.command(cls=SpecFirstCommand, spec_takes=SHARED)
@spec_options
@scenario_options(default="rapid-completions reduced to 8 waves x 20 batches, batch sigma 1.5")
@click.option("--policy", "policies", type=click.Choice(list(POLICIES)), multiple=True,
              help="A policy to run; repeat for several. [default: all]")
@click.option("--fault", "fault_names", multiple=True, metavar="FAULT",
              help=f"A named fault; repeat for several. One of: {', '.join(FAULT_PRESETS)}. [default: all]")
@click.option("--seeds", type=click.IntRange(min=1, max=100_000), default=200, show_default=True,
              help="Runs per policy and fault.")
@click.option("--first-seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Seeds are first-seed, first-seed + 1, ...")
@click.option("--jobs", type=click.IntRange(min=1, max=256), default=1, show_default=True,
              help="Local processes to run on.")
@click.option("--json", "as_json", is_flag=True, help="Print the matrix as JSON instead of a table.")
@click.option("--out", type=click.Path(dir_okay=False), default=None,
              help="Also write the matrix as JSON to this .json.")
@expect_option
def faults(preset: str | None, scenario_file: str | None, policies: tuple[str, ...], fault_names: tuple[str, ...],
           seeds: int, first_seed: int, jobs: int, as_json: bool, out: str | None, expected: Expected,
           **settings: Any) -> None:
    """Which spec switch variant (or write-up policy) survives which fault: the share of runs each property held.

    With a SPEC file, the rows are no fault and each of the spec's faults alone (--fault picks
    some), under each --switch variant. For the write-up's coordinator, without --preset or
    --scenario it runs the rapid-completions preset reduced to 8 waves x 20 batches with lognormal
    sigma 1.5 (any option overrides it);
    the first line of the output names the scenario it ran.
    Fault options (--crash-rate, ...) apply to every cell, on top of its named fault.
    Exit 0 only when every property held in every run of every cell, or was violated in at
    least one run of the policy's cells where --expect-violation says so.
    """
    spec, own = settings.pop("spec"), {k: settings.pop(k) for k in OWN}
    if spec is not None:
        faults_spec_command({**settings, **own, "spec": spec, "seeds": seeds, "first_seed": first_seed,
                             "as_json": as_json, "out": out, "fault_names": fault_names,
                             "policies": policies}, expected)
        return
    refuse_spec_options()
    for name in fault_names:
        if name not in FAULT_PRESETS:
            raise BadInput(f"--fault {name!r} is not a named fault; choose from: {', '.join(FAULT_PRESETS)}")
    matrix_defaults = MATRIX_SETTINGS if preset is None and scenario_file is None else None
    if matrix_defaults is not None:
        preset = MATRIX_PRESET
    chosen = list(dict.fromkeys(policies)) or list(POLICIES)
    base = build_scenario(preset, scenario_file, settings, defaults=matrix_defaults, policies=chosen)
    check_output(out, (".json",), "--out")
    expected.require((p, name) for p in chosen for name in PROPERTY_NAMES)
    names = list(dict.fromkeys(fault_names)) or list(FAULT_PRESETS)
    try:
        matrix = fault_matrix(base, chosen, names, range(first_seed, first_seed + seeds), jobs=jobs,
                              progress=wanted(as_json=as_json))
    except ConfigError as err:
        raise BadInput(str(err)) from None
    if out is not None:
        text = json.dumps(matrix.to_dict(), indent=2) + "\n"
        write_output(out, lambda tmp: _write_text(tmp, text))
    click.echo(matrix.to_json() if as_json else matrix.table(), nl=False)
    finish({(p, name): not any(matrix.failing[p][f][name] for f in matrix.faults)
            for p in matrix.policies for name in PROPERTY_NAMES}, expected)
