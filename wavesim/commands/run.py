"""``wavesim run``: simulate one import and report what it measured.

The scenario options shared with ``wavesim compare`` live here too:
``scenario_options`` adds them to a command and ``build_scenario`` turns a
preset, the environment's ``WAVE_SIZE`` and ``WAVE_COMPLETION_THRESHOLD``, an
optional TOML file and the given options into one ``Scenario`` (later wins:
preset, environment, file, options).
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, overload

import click

from coordinator import POLICIES, PROPERTY_NAMES, ConfigError
from sim.export import rows_csv
from sim.replaycmd import replay_command
from sim.run import RunResult, run_one
from sim.scenario import DISTRIBUTIONS, LISTENERS, PRESETS, Scenario, load_scenario_toml
from userio.errors import BadInput
from userio.exitcodes import Expected, Verdicts, expect_option, finish, properties_held
from userio.files import check_output, read_text
from wavesim.commands.outputs import write_output
from wavesim.commands.specsim import (
    OWN,
    READ,
    READ_MEANING,
    SHARED,
    refuse_spec_options,
    run_spec_command,
    spec_options,
)
from wavesim.envdefaults import env_settings, env_source
from wavesim.helpsections import SpecFirstCommand
from wavesim.switches import check_read, parse_specs, switch_option

__all__ = ["build_scenario", "run", "run_verdicts", "scenario_options", "summary_lines"]

F = TypeVar("F", bound=Callable[..., Any])

#: option name -> (Scenario field, click type, help)
SETTINGS: dict[str, tuple[str, Any, str]] = {
    "--waves": ("waves", int, "Main waves in the import."),
    "--wave-size": ("wave_size", int, "Batch jobs per wave."),
    "--threshold": ("threshold", int, "Completion threshold, percent of a wave's batches."),
    "--workers": ("workers", int, "Queue workers."),
    "--listener": ("listener", click.Choice(LISTENERS), "BatchJobCompleted listener: in the worker, or queued."),
    "--batch-distribution": ("batch_distribution", click.Choice(DISTRIBUTIONS), "Batch duration distribution."),
    "--batch-mean-s": ("batch_mean_s", float, "Mean batch duration, seconds."),
    "--batch-sigma": ("batch_sigma", float, "Lognormal shape of batch durations (heavier tail when larger)."),
    "--db-read-ms": ("db_read_ms", float, "Median latency of one DB read, ms."),
    "--db-write-ms": ("db_write_ms", float, "Median latency of one DB write, ms."),
    "--auto-trigger-delay-s": ("auto_trigger_delay_s", float, "Delay of the auto-trigger job, seconds."),
    "--horizon-s": ("horizon_s", float, "Stop the run at this simulated time, seconds."),
    "--max-events": ("max_events", int, "Event budget: stop the run (outcome 'budget') after this many events."),
    "--db-sigma": ("db_sigma", float, "Lognormal shape of DB latencies."),
    "--enqueue-ms-per-job": ("enqueue_ms_per_job", float, "Time to push one job to the queue, ms."),
    # faults (all off by default; see sim/faultsettings.py)
    "--crash-rate": ("crash_rate", float, "Fault: share of batch jobs whose worker crashes."),
    "--retry-after-s": ("retry_after_s", float, "A crashed worker's job comes back this long after it was reserved."),
    "--event-duplicate-rate": ("event_duplicate_rate", float, "Fault: share of completion events delivered twice."),
    "--event-loss-rate": ("event_loss_rate", float, "Fault: share of completion events lost."),
    "--replica-lag-ms": ("replica_lag_ms", float, "Fault: median lag of the read replica, ms."),
    "--batch-failure-rate": ("batch_failure_rate", float, "Fault: share of batch tries that fail."),
    "--batch-tries": ("batch_tries", int, "Tries of a batch job before it is recorded failed."),
    "--trigger-loss-rate": ("trigger_loss_rate", float, "Fault: share of auto-trigger jobs lost."),
    "--clock-skew-s": ("clock_skew_s", float, "Fault: std. deviation of the scheduling worker's clock error, s."),
    "--handler-death-rate": ("handler_death_rate", float, "Fault: chance a handler run dies before each write."),
}


@overload
def scenario_options(command: F, *, default: str = ...) -> F: ...


@overload
def scenario_options(command: None = ..., *, default: str = ...) -> Callable[[F], F]: ...


def scenario_options(command: F | None = None, *, default: str = "incident") -> Any:
    """Add ``--preset``, ``--scenario`` and every scenario setting to ``command``; ``default`` says in
    ``--help`` what runs without ``--preset`` (``@scenario_options(default=...)`` when it is not ``incident``)."""
    if command is None:
        return lambda c: scenario_options(c, default=default)
    for flag, (field, kind, text) in reversed(SETTINGS.items()):
        spec = f" With SPEC: {READ_MEANING[field]}." if field in READ_MEANING else ""
        source = "the preset, or for a SPEC docs/spec-simulation.md#settings" if field in READ else "the preset"
        command = click.option(flag, field, type=kind, default=None,
                               help=f"{text}{spec} [default: from {source}]")(command)
    command = switch_option(command)
    command = click.option("--swarm/--no-swarm", "swarm", default=None,
                           help="Fault swarm: the seed turns on a random subset of faults. [default: off]")(command)
    command = click.option("--scenario", "scenario_file", type=click.Path(dir_okay=True), default=None,
                           help="TOML file of settings (keys as in the JSON 'scenario'; may name a preset).")(command)
    command = click.option("--preset", type=click.Choice(list(PRESETS)), default=None,
                           help=f"Start from this named scenario. [default: {default}]")(command)
    return command


def build_scenario(preset: str | None, scenario_file: str | None, settings: dict[str, Any],
                   defaults: dict[str, Any] | None = None, policies: list[str] | None = None) -> Scenario:
    """Preset (with a command's own ``defaults`` on it), then the environment's ``WAVE_SIZE`` and
    ``WAVE_COMPLETION_THRESHOLD`` (``wavesim.envdefaults``), then the TOML file, then the options given.

    ``--switch`` values go on top of the file's ``[switches]``; a switch that the
    scenario's policy (or, for a command that runs several, every one of
    ``policies``) would not read is refused."""
    settings = dict(settings)
    given_switches = parse_specs(settings.pop("switch_specs", ()) or ())
    env = env_settings()
    try:
        base = PRESETS[preset or "incident"].with_settings(**(defaults or {}))
        if scenario_file is None:
            base = base.with_settings(**env)
        else:
            text = read_text(scenario_file)
            loaded = load_scenario_toml(text, source=scenario_file, base=base.with_settings(**env))
            if preset is not None and loaded.preset != preset:
                raise BadInput(f"--preset {preset} conflicts with preset = {loaded.preset!r} in {scenario_file}")
            in_file = set(tomllib.loads(text))  # valid TOML: load_scenario_toml read it
            base = loaded.with_settings(**{k: v for k, v in env.items() if k not in in_file})
        options = {k: v for k, v in settings.items() if v is not None}
        if given_switches:
            options["switches"] = {**dict(base.switches), **given_switches}
        scenario = base.with_settings(**options)
    except ConfigError as err:
        raise BadInput(_with_source(str(err), env)) from None
    check_read(dict(scenario.switches), policies or [scenario.policy])
    return scenario


def _with_source(message: str, env: dict[str, Any]) -> str:
    """Name the environment variable when the bad value came from it (e.g. a wave size too big for a preset)."""
    for setting in env:
        source = env_source(setting)
        if source is not None and message.startswith(f"{setting} "):
            return f"{message} (from {source})"
    return message


def summary_lines(result: RunResult) -> list[str]:
    """A short human summary of one run."""
    m, s = result.metrics, result.scenario
    end = f"stalled at wave {m['stall_wave']}" if m["stalled"] else result.outcome
    lines = [
        f"{s.preset} / {s.policy} / seed {s.seed}: {end} at {m['makespan_s']:.3f} s",
        f"  waves completed {m['waves_completed']}/{m['waves_total']}, dispatched {m['waves_dispatched']}, "
        f"duplicate dispatches {m['duplicate_dispatches']}",
        f"  peak queue depth {m['peak_queue_depth']} ready batch jobs; most dispatches in 1 s: "
        f"{m['max_dispatches_in_1s']}",
        f"  max active waves {m['max_active_waves']}, max active below threshold {m['max_waves_below_threshold']}",
        "properties:",
    ]
    for name, v in result.properties.items():
        at = "" if v["holds"] else f" at {v['first_violation_s']:.3f} s"
        lines.append(f"  {name:26s} {'holds' if v['holds'] else 'FAILS'}{at}: {v['detail']}")
    return lines


def run_verdicts(results: list[RunResult]) -> Verdicts:
    """Per (policy, property): held in every one of ``results``, or violated in at least one."""
    out: dict[tuple[str, str], bool | None] = {}
    for r in results:
        for key, held in properties_held(r.scenario.policy, r.properties).items():
            out[key] = out.get(key, True) and held
    return out


def _write_text(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


@click.command(cls=SpecFirstCommand, spec_takes=SHARED)
@spec_options
@scenario_options
@click.option("--policy", type=click.Choice(list(POLICIES)), default=None,
              help="Coordinator policy. [default: from the preset]")
@click.option("--seed", type=click.IntRange(min=0), default=None,
              help="Random seed: one seed reproduces a run exactly. [default: 0, or the scenario file's]")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON (scenario, metrics, properties).")
@click.option("--plot", type=click.Path(dir_okay=False), default=None,
              help="Write queue depth and active waves over time to this .png/.svg/.pdf.")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False), default=None,
              help="Write the final wave_coordination rows to this .csv.")
@expect_option
def run(preset: str | None, scenario_file: str | None, policy: str | None, seed: int | None, as_json: bool,
        plot: str | None, csv_path: str | None, expected: Expected, **settings: Any) -> None:
    """Simulate a spec file (or one import of the write-up's coordinator) and report its metrics and properties.

    Give a SPEC file to simulate your own coordinator (docs/spec-simulation.md): --scope sets its
    sizes and --switch its switches ('wavesim check SPEC --list' lists them). Without SPEC it runs
    the write-up's (--policy), whose own options are listed last. Exit 1 when a property fails, a stall included.
    """
    spec, own = settings.pop("spec"), {k: settings.pop(k) for k in OWN}
    if spec is not None:
        run_spec_command({**settings, **own, "spec": spec, "seed": seed, "as_json": as_json, "plot": plot,
                          "csv_path": csv_path, "policy": policy}, expected)
        return
    refuse_spec_options()
    if policy is not None:
        settings["policy"] = policy
    if seed is not None:
        settings["seed"] = seed
    scenario = build_scenario(preset, scenario_file, settings)
    check_output(plot, (".png", ".svg", ".pdf"), "--plot")
    check_output(csv_path, (".csv",), "--csv")
    expected.require((scenario.policy, name) for name in PROPERTY_NAMES)
    result = run_one(scenario)
    if plot is not None:
        from sim.plots import run_figure, save

        fig = run_figure(result)
        write_output(plot, lambda tmp: save(fig, str(tmp)))
    if csv_path is not None:
        text = rows_csv(result.table)
        write_output(csv_path, lambda tmp: _write_text(tmp, text))
    if as_json:
        click.echo(result.to_json(), nl=False)
    else:
        click.echo("\n".join(summary_lines(result)))
        if not all(v["holds"] for v in result.properties.values()):
            click.echo(f"replay: {replay_command(result.scenario)}")
    finish(run_verdicts([result]), expected)
