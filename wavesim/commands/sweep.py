"""``wavesim sweep``: a grid of scenario settings x seeds, one row per run."""

from __future__ import annotations

import json
import os
from typing import Any

import click

from coordinator import POLICIES, PROPERTY_NAMES
from coordinator.policy import SWITCHES
from sim.scenario import SWITCH_PREFIX, Scenario, with_point
from sweep.execute import RunFn, check_scheduler, run_grid
from sweep.grid import expand_grid, parse_param
from sweep.simrun import ROW_METRICS, columns, run_settings, sim_row
from sweep.summary import summarise
from userio.errors import BadInput
from userio.exitcodes import Expected, expect_option, finish
from userio.files import check_output
from userio.progress import wanted
from wavesim.commands.outputs import write_output, wrote
from wavesim.commands.run import build_scenario, scenario_options
from wavesim.commands.specsim import OWN, SHARED, refuse_spec_options, spec_options
from wavesim.commands.specsweep import SWEEP_OPTIONS
from wavesim.helpsections import SpecFirstCommand
from wavesim.switches import check_read

__all__ = ["sweep", "sweep_runs"]

SETTINGS = (*(name for name in Scenario.__dataclass_fields__ if name not in ("preset", "seed", "switches")),
            *(SWITCH_PREFIX + s.name for s in SWITCHES))


def sweep_runs(
    base: Scenario, params: list[tuple[str, list[object]]], seeds: list[int], out: str, *,
    jobs: int, scheduler: str | None = None, progress: bool = False, run: RunFn = sim_row, force: bool = False,
) -> list[dict[str, object]]:
    """Run every grid point x seed not yet in ``out``; return the per-point summaries.

    A row already in ``out`` is reused only if it was run with this sweep's settings
    (``check_resumable``); ``force`` starts ``out`` over instead."""
    names = [name for name, _ in params]
    for name, values in params:  # validate every value before the first run
        for value in values:
            try:
                point = with_point(base, {name: value})
                check_read(dict(point.switches), [point.policy])
            except BadInput as err:
                raise BadInput(f"--param {name}={value}: {err}") from None
            except (ValueError, TypeError) as err:
                raise BadInput(f"--param {name}={value}: {err}") from None
    tasks = expand_grid(params, seeds)
    rows = run_grid(tasks, out, columns(names), lambda task: run_settings(with_point(base, dict(task.point))), run,
                    base.to_dict(), jobs=jobs, scheduler=scheduler, progress=progress, force=force)
    switches = {t.key[0]: with_point(base, dict(t.point)).resolved_policy.switches() for t in tasks}
    return [{**s, "policy_switches": switches[str(s["point"])]} for s in summarise(rows, ROW_METRICS, PROPERTY_NAMES)]


def _table(summaries: list[dict[str, object]]) -> str:
    head = ["point", "runs", "makespan_s", "peak_queue", "dispatch_events_1s", "extra_dispatches", "stalled"]
    keys = ["makespan_s", "peak_queue_depth", "max_dispatches_in_1s", "duplicate_dispatches", "stalled"]
    rows = [head]
    for s in summaries:
        cells = [str(s["point"]) or "(base)", str(s["runs"])]
        for k in keys:
            stats = s[k]
            cells.append("-" if not isinstance(stats, dict)
                         else f"{stats['median']:.4g} [{stats['min']:.4g}-{stats['max']:.4g}]")
        rows.append(cells)
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    text = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    held = ["", "share of runs in which each property held:"]
    for s in summaries:
        shares = ", ".join(f"{p} {s[f'held_{p}']:.0%}" for p in PROPERTY_NAMES if s[f"held_{p}"] is not None)
        held.append(f"  {s['point'] or '(base)'}: {shares}")
    return "\n".join(text + held)


@click.command(cls=SpecFirstCommand, spec_takes=(*SHARED, *SWEEP_OPTIONS))
@spec_options
@scenario_options
@click.option("--policy", type=click.Choice(list(POLICIES)), default=None,
              help="Coordinator policy (or sweep it with --param policy=...). [default: from the preset]")
@click.option("--param", "param_specs", multiple=True, metavar="NAME=V1,V2",
              help="A setting and its values; repeat for a grid, e.g. --param workers=4,8,16; a policy switch "
                   "as switch.NAME, e.g. --param switch.current_wave_rule=lowest-active,latest-started.")
@click.option("--seeds", type=click.IntRange(min=1), default=20, show_default=True, help="Seeds per grid point.")
@click.option("--seed-start", type=click.IntRange(min=0), default=0, show_default=True, help="First seed.")
@click.option("--out", required=True, type=click.Path(dir_okay=False),
              help="One row per run: .csv or .jsonl. An existing file is resumed: its rows are reused only if "
                   "they were run with the same settings and wavesim version, else the sweep refuses.")
@click.option("--force", is_flag=True,
              help="Start --out over instead of resuming it (the old rows are discarded).")
@click.option("--jobs", type=click.IntRange(min=1), default=None, help="Local processes. [default: all cores]")
@click.option("--scheduler", metavar="ADDRESS", default=None,
              help="Run on this Dask distributed scheduler (e.g. tcp://127.0.0.1:8786) instead.")
@click.option("--plot", "plot_metric", default=None, metavar="METRIC",
              help=f"Draw METRIC against the first --param; one of: {', '.join(ROW_METRICS)}.")
@click.option("--plot-out", type=click.Path(dir_okay=False), default=None,
              help="Where --plot goes (.png/.svg). [default: beside --out]")
@click.option("--json", "as_json", is_flag=True, help="Print the per-point summaries as JSON.")
@expect_option
def sweep(preset: str | None, scenario_file: str | None, policy: str | None, param_specs: tuple[str, ...],
          seeds: int, seed_start: int, out: str, jobs: int | None, scheduler: str | None,
          plot_metric: str | None, plot_out: str | None, as_json: bool, force: bool, expected: Expected,
          **settings: Any) -> None:
    """Run a grid of a spec's (or the write-up's) settings x seeds and summarise each grid point.

    With a SPEC file, --param names the spec's scope entries, switches or settings
    (docs/spec-simulation.md; 'wavesim check SPEC --list' lists them), and --expect-violation
    takes POINT:PROPERTY. Exit 0 only when every property held in every run of every grid point
    (or was violated in at least one run of that policy where --expect-violation says so).
    """
    spec, own = settings.pop("spec"), {k: settings.pop(k) for k in OWN}
    if spec is not None:
        from wavesim.commands.specsweep import sweep_spec_command

        sweep_spec_command({**settings, **own, "spec": spec, "param_specs": param_specs, "seeds": seeds,
                            "seed_start": seed_start, "out": out, "jobs": jobs, "scheduler": scheduler,
                            "plot_metric": plot_metric, "plot_out": plot_out, "as_json": as_json, "force": force,
                            "policy": policy},
                           expected)
        return
    refuse_spec_options()
    if policy is not None:
        settings["policy"] = policy
    base = build_scenario(preset, scenario_file, settings)
    params = [parse_param(spec, SETTINGS) for spec in param_specs]
    policies = next(([str(v) for v in values] for name, values in params if name == "policy"), [base.policy])
    expected.require((p, name) for p in policies for name in PROPERTY_NAMES)
    if plot_metric is not None:
        if plot_metric not in ROW_METRICS:
            raise BadInput(f"--plot {plot_metric!r} is not a metric; choose one of: {', '.join(ROW_METRICS)}")
        if not params:
            raise BadInput("--plot needs at least one --param to draw against")
        plot_out = plot_out or os.path.splitext(out)[0] + f"_{plot_metric}.png"
        check_output(plot_out, (".png", ".svg", ".pdf"), "--plot-out")
    if scheduler is not None:
        check_scheduler(scheduler)
    summaries = sweep_runs(
        base, params, list(range(seed_start, seed_start + seeds)), out,
        jobs=jobs or os.cpu_count() or 1, scheduler=scheduler,
        progress=wanted(as_json=as_json), force=force,
    )
    if plot_metric is not None and plot_out is not None:
        from sweep.plot import sweep_figure

        fig = sweep_figure(summaries, plot_metric, params[0][0])
        write_output(plot_out, lambda tmp: fig.savefig(str(tmp), dpi=120, format=tmp.suffix.lstrip(".")))
    wrote(out)
    if as_json:
        click.echo(json.dumps(summaries, indent=2))
    else:
        click.echo(_table(summaries))
    finish(_verdicts(base, summaries), expected)


def _verdicts(base: Scenario, summaries: list[dict[str, object]]) -> dict[tuple[str, str], bool | None]:
    """Per (policy, property): held in every run of every grid point of that policy."""
    out: dict[tuple[str, str], bool | None] = {}
    for s in summaries:
        point = dict(part.split("=", 1) for part in str(s["point"]).split(";") if "=" in part)  # grid.point_key
        policy = point.get("policy", base.policy)
        for name in PROPERTY_NAMES:
            share = s[f"held_{name}"]
            if share is not None:
                out[(policy, name)] = bool(out.get((policy, name), True)) and share == 1
    return out
