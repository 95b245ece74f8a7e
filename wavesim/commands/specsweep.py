"""``wavesim sweep SPEC``: a grid of a spec's scope entries, switches and settings x seeds, one row per run,
locally or on Dask, as the built-in sweep (``wavesim.sweep``)."""

from __future__ import annotations

import json
import os
from typing import Any

import click

from sim.specsettings import SpecSettings
from spec.errors import Unsupported
from spec.lang import Spec
from sweep.execute import check_scheduler, run_grid
from sweep.grid import expand_grid, parse_param, point_key
from sweep.summary import summarise
from userio.errors import BadInput
from userio.exitcodes import Expected, finish
from userio.files import check_output
from userio.progress import wanted
from wavesim.commands.outputs import write_output, wrote
from wavesim.commands.specrow import (
    SPEC_ROW_METRICS,
    SWEPT_SETTINGS,
    spec_base,
    spec_columns,
    spec_row,
    spec_run_settings,
)
from wavesim.commands.specsim import load_with_settings

__all__ = ["sweep_spec_command"]

#: the sweep's own options a spec sweep accepts
SWEEP_OPTIONS = ("param_specs", "seed_start", "out", "force", "jobs", "scheduler", "plot_metric", "plot_out")


def _check_point(spec: Spec, settings: SpecSettings, name: str, value: object) -> None:
    """Refuse a grid value before the first run (one line)."""
    try:
        if name in SWEPT_SETTINGS:
            settings.but(**{name: value})
        else:
            spec.scope_of({**dict(settings.scope), name: str(value).lower() if isinstance(value, bool) else str(value)})
    except (Unsupported, ValueError, TypeError) as err:
        raise BadInput(f"--param {name}={value}: {err}") from None


def _table(summaries: list[dict[str, Any]], metrics: list[str], properties: list[str]) -> str:
    lines = ["| point | runs | " + " | ".join(metrics) + " | " + " | ".join(f"{p} held" for p in properties) + " |",
             "|---|---|" + "---|" * (len(metrics) + len(properties))]
    for s in summaries:
        cells = [str(s["point"]) or "(base)", str(s["runs"])]
        for m in metrics:
            stats = s[m]
            cells.append("-" if not isinstance(stats, dict)
                         else f"{stats['median']:.4g} [{stats['min']:.4g}-{stats['max']:.4g}]")
        cells += ["-" if s[f"held_{p}"] is None else f"{s[f'held_{p}']:.0%}" for p in properties]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def sweep_spec_command(o: dict[str, Any], expected: Expected) -> None:
    """Run the grid, write one row per run to ``--out``, print each point's summary."""
    spec, settings = load_with_settings(o, SWEEP_OPTIONS)
    settings = settings.but(scope=settings.scope + tuple(_switches(spec, o.get("switch_specs", ()))))
    allowed = [*spec.scope, *spec.switches, *SWEPT_SETTINGS]
    params = [parse_param(text, allowed) for text in o["param_specs"]]
    for name, values in params:
        for value in values:
            _check_point(spec, settings, name, value)
    tasks = expand_grid(params, list(range(o["seed_start"], o["seed_start"] + o["seeds"])))
    points = dict.fromkeys(point_key(dict(t.point)) or spec.name for t in tasks)
    expected.require((point, p) for point in points for p in spec.properties)
    metrics = [*SPEC_ROW_METRICS, *(f"spec.{m}" for m in spec.metrics)]
    plot, plot_out = o.get("plot_metric"), o.get("plot_out")
    if plot is not None:
        if plot not in metrics:
            raise BadInput(f"--plot {plot!r} is not a metric; choose one of: {', '.join(metrics)}")
        if not params:
            raise BadInput("--plot needs at least one --param to draw against")
        plot_out = plot_out or os.path.splitext(o["out"])[0] + f"_{plot}.png"
        check_output(plot_out, (".png", ".svg", ".pdf"), "--plot-out")
    if o.get("scheduler") is not None:
        check_scheduler(o["scheduler"])
    base = spec_base(str(spec.source), settings)
    try:
        rows = run_grid(tasks, o["out"], spec_columns([n for n, _ in params], spec),
                        lambda task: spec_run_settings(base, dict(task.point)), spec_row, base,
                        jobs=o.get("jobs") or os.cpu_count() or 1, scheduler=o.get("scheduler"),
                        progress=wanted(as_json=o.get("as_json", False)), force=o.get("force", False))
    except Unsupported as refused:
        raise BadInput(f"spec {o['spec']}: {refused}") from None
    summaries = summarise(rows, metrics, list(spec.properties))
    if plot is not None and plot_out is not None:
        from sweep.plot import sweep_figure

        fig = sweep_figure(summaries, plot, params[0][0])
        write_output(plot_out, lambda tmp: fig.savefig(str(tmp), dpi=120, format=tmp.suffix.lstrip(".")))
    wrote(o["out"])
    click.echo(json.dumps(summaries, indent=2) + "\n" if o.get("as_json")
               else _table(summaries, metrics, list(spec.properties)), nl=False)
    verdicts: dict[tuple[str, str], bool | None] = {}
    for s in summaries:
        for p in spec.properties:
            share = s[f"held_{p}"]
            verdicts[(str(s["point"]) or spec.name, p)] = None if share is None else share == 1
    finish(verdicts, expected)


def _switches(spec: Spec, texts: Any) -> list[tuple[str, str]]:
    """``--switch`` choices, one per switch (a sweep varies a switch with ``--param NAME=A,B``)."""
    out: dict[str, str] = {}
    for text in texts:
        name, _, value = str(text).partition("=")
        if name in out and out[name] != value:
            raise BadInput(f"--switch {name} given twice: a sweep varies a switch with --param {name}=A,B")
        if name not in spec.switches:
            raise BadInput(f"--switch {name}: the spec has no switch {name!r}")
        out[name] = value
    return list(out.items())
