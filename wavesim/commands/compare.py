"""``wavesim compare``: several policies x several seeds on one scenario."""

from __future__ import annotations

from typing import Any

import click

from coordinator import POLICIES, PROPERTY_NAMES
from sim.compare import compare as run_comparison
from userio.exitcodes import Expected, expect_option, finish
from userio.files import check_output
from userio.progress import progress_bar, wanted
from wavesim.commands.outputs import write_output
from wavesim.commands.run import build_scenario, run_verdicts, scenario_options
from wavesim.commands.specsim import OWN, SHARED, compare_spec_command, refuse_spec_options, spec_options
from wavesim.helpsections import SpecFirstCommand

__all__ = ["compare"]


@click.command(cls=SpecFirstCommand, spec_takes=SHARED)
@spec_options
@scenario_options
@click.option("--policy", "policies", type=click.Choice(list(POLICIES)), multiple=True,
              help="A policy to compare; repeat for several. [default: all]")
@click.option("--seeds", type=click.IntRange(min=1, max=100_000), default=20, show_default=True,
              help="Runs per policy.")
@click.option("--first-seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Seeds are first-seed, first-seed + 1, ...")
@click.option("--json", "as_json", is_flag=True,
              help="Print per policy the metrics as distributions and the share of runs each property held.")
@click.option("--plot", type=click.Path(dir_okay=False), default=None,
              help="Write a side-by-side plot (first seed of each policy) to this .png/.svg/.pdf.")
@expect_option
def compare(preset: str | None, scenario_file: str | None, policies: tuple[str, ...], seeds: int,
            first_seed: int, as_json: bool, plot: str | None, expected: Expected, **settings: Any) -> None:
    """Compare a spec's switch variants (or the write-up's policies) over many seeds, side by side.

    With a SPEC file, each --switch choice given is a variant (a switch named twice gives two), and
    --expect-violation takes VARIANT:PROPERTY, e.g. 'fix=none:callback_at_most_once'. Without SPEC, it
    measures the write-up's success metrics for each --policy. Exit 0 only when every property held
    in every run of every policy or variant compared, or was violated in at least one run where
    --expect-violation says so (e.g. original:single_active_wave).
    """
    spec, own = settings.pop("spec"), {k: settings.pop(k) for k in OWN}
    if spec is not None:
        compare_spec_command({**settings, **own, "spec": spec, "seeds": seeds, "first_seed": first_seed,
                              "as_json": as_json, "plot": plot, "policies": policies}, expected)
        return
    refuse_spec_options()
    chosen = list(dict.fromkeys(policies)) or list(POLICIES)
    scenario = build_scenario(preset, scenario_file, settings, policies=chosen)
    check_output(plot, (".png", ".svg", ".pdf"), "--plot")
    expected.require((p, name) for p in chosen for name in PROPERTY_NAMES)
    # a progress bar on stderr, only when it is a terminal and not with --json
    with progress_bar(len(chosen) * seeds, desc="runs", enabled=wanted(as_json=as_json)) as bar:
        result = run_comparison(scenario, chosen, range(first_seed, first_seed + seeds),
                                progress=lambda _p, _s: bar.update())
    if plot is not None:
        from sim.plots import comparison_figure, save

        fig = comparison_figure(result)
        write_output(plot, lambda tmp: save(fig, str(tmp)))
    click.echo(result.to_json() if as_json else result.table(), nl=False)
    finish(run_verdicts([r for runs in result.runs.values() for r in runs]), expected)
