"""``wavesim run|compare|faults SPEC``: simulate a user's spec (``sim.specsim``) from the command line.

Each of the three commands takes a spec file as its first argument; the options they share with the
built-in run keep their meaning where it is the same (``--seed``, ``--seeds``, ``--first-seed``,
``--switch`` for the spec's switches, ``--db-read-ms`` for every statement's median latency,
``--enqueue-ms-per-job`` for a push's, ``--db-sigma``, ``--batch-mean-s`` for a job's mean duration,
``--retry-after-s``, ``--horizon-s``, ``--max-events``, ``--json``, ``--plot``, ``--csv``,
``--expect-violation``), and ``spec_options`` adds the spec's own: ``--scope``, ``--duration`` and
``--fault-rate``. Any other option of the built-in run is refused with one line.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import click

from sim.speccompare import CELLS, compare_spec, fault_matrix, label
from sim.specrun import run_spec, summary_lines
from sim.specsettings import SpecSettings
from spec.errors import Unsupported
from spec.lang import Spec
from specfile.load import given_options, job_durations, load_spec, pairs, policies_of
from userio.errors import BadInput
from userio.exitcodes import Expected, finish
from userio.files import check_output
from userio.progress import progress_bar, wanted
from wavesim.commands.outputs import write_output

__all__ = ["OWN", "READ", "READ_MEANING", "SHARED", "compare_spec_command", "faults_spec_command", "load_with_settings",
           "refuse_spec_options", "run_spec_command", "spec_options"]

F = TypeVar("F", bound=Callable[..., Any])

#: the built-in options a spec run reads, and the setting each one sets
READ: dict[str, str] = {"db_read_ms": "statement_ms", "db_write_ms": "write_ms", "enqueue_ms_per_job": "push_ms",
                        "db_sigma": "db_sigma", "batch_mean_s": "duration_s",
                        "batch_distribution": "duration_distribution", "batch_sigma": "duration_sigma",
                        "retry_after_s": "retry_after_s", "horizon_s": "horizon_s", "max_events": "max_events"}
#: what a built-in option a spec run reads sets there, where it is not what the built-in's help says
READ_MEANING = {"db_read_ms": "every statement's median latency", "enqueue_ms_per_job": "a push's median latency",
                "db_write_ms": "every INSERT, UPDATE and DELETE's median latency",
                "batch_mean_s": "a job's mean duration (see --duration)",
                "batch_distribution": "how every job's own work is drawn around its mean",
                "batch_sigma": "the lognormal shape of every job's own work",
                "retry_after_s": "how long after a crash the job comes back"}
#: the spec's own options (``spec_options``)
OWN = ("scope_texts", "duration_texts", "fault_rate_texts", "spec_dialect", "spec_isolation", "spec_order")
#: every option a spec run accepts
SHARED = {"spec", "seed", "seeds", "first_seed", "as_json", "plot", "csv_path", "out", "expected", "switch_specs",
          "fault_names", *READ, *OWN}


def spec_options(command: F) -> F:
    """Add the SPEC argument and the spec's own options to a simulation command."""
    for option in reversed([
        click.option("--scope", "scope_texts", multiple=True, metavar="NAME=VALUE",
                     help="SPEC only: a scope size of the spec (repeatable); --switch sets its switches."),
        click.option("--duration", "duration_texts", multiple=True, metavar="JOB=SECONDS",
                     help="SPEC only: the mean duration of a job type's own work (repeatable). "
                          "[default: the spec's durations, else --batch-mean-s, else 0.05]"),
        click.option("--fault-rate", "fault_rate_texts", multiple=True, metavar="FAULT=P",
                     help="SPEC only: the chance of a fault (crash, throw, duplicate, lose_delayed) at each "
                          "opportunity, up to the spec's budget per run (no cap when the spec has none). "
                          "[default: 0.05 for each fault the spec budgets]"),
        click.option("--dialect", "spec_dialect", type=click.Choice(["postgresql", "mysql", "sqlite"]), default=None,
                     help="SPEC only: the engine whose SQL, isolation and locks the database follows (mysql is "
                          "MariaDB). [default: the spec's]"),
        click.option("--isolation", "spec_isolation", default=None, metavar="LEVEL",
                     help="SPEC only: the isolation level, e.g. 'READ COMMITTED'. [default: the spec's, else the "
                          "engine's]"),
        click.option("--order", "spec_order", type=click.Choice(["fifo", "any"]), default=None,
                     help="SPEC only: the order a queue delivers jobs in. [default: the spec's]"),
    ]):
        command = option(command)
    return click.argument("spec", required=False, is_eager=True, metavar="[SPEC]")(command)


def refuse_spec_options() -> None:
    """Refuse a spec's own option given without a spec (one line)."""
    wrong = [n for n in OWN if n in given_options()]
    if wrong:
        flag = {"scope_texts": "--scope", "duration_texts": "--duration", "fault_rate_texts": "--fault-rate",
                "spec_dialect": "--dialect", "spec_isolation": "--isolation", "spec_order": "--order"}
        raise BadInput(f"{flag[wrong[0]]} is for a spec file: give its path as SPEC")


def _refuse_builtin(extra: Iterable[str] = ()) -> None:
    wrong = sorted(n for n in given_options() if n not in SHARED | set(extra))
    if wrong:
        raise BadInput(f"--{wrong[0].replace('_', '-')} is for the write-up's coordinator (--policy); a spec sets "
                       "its sizes with --scope NAME=VALUE and its choices with --switch NAME=VALUE")


def _settings(o: dict[str, Any], spec: Spec) -> SpecSettings:
    chosen = {field: o[name] for name, field in READ.items() if o.get(name) is not None}
    durations = job_durations(spec, o.get("duration_texts", ()))
    given = pairs(o.get("fault_rate_texts", ()), "--fault-rate")
    rates = {f: _number(t, f"--fault-rate {f}") for f, t in given.items()}
    try:
        return SpecSettings(seed=o.get("seed") or 0, durations=tuple(durations.items()),
                            fault_rates=tuple(rates.items()),
                            scope=tuple(pairs(o.get("scope_texts", ()), "--scope").items()),
                            dialect=o.get("spec_dialect"), level=o.get("spec_isolation"), order=o.get("spec_order"),
                            **chosen)
    except ValueError as err:
        raise BadInput(str(err)) from None


def _number(text: str, what: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise BadInput(f"{what}={text}: expected a number") from None


def _variants(spec: Spec, settings: SpecSettings, texts: Iterable[str]) -> list[tuple[tuple[str, str], ...]]:
    """The switch variants: every combination of the choices given (a switch named twice gives two)."""
    chosen: dict[str, list[str]] = {}
    for text in texts:
        name, value = next(iter(pairs([text], "--switch").items()))
        if name not in spec.switches:
            known = ", ".join(spec.switches) or "none"
            raise BadInput(f"--switch {name}: the spec has no switch {name!r} (its switches: {known})")
        chosen.setdefault(name, [])
        if value not in chosen[name]:
            chosen[name].append(value)
    variants = [tuple(zip(chosen, combo, strict=True)) for combo in itertools.product(*chosen.values())]
    for variant in variants:
        try:
            spec.scope_of({**dict(settings.scope), **dict(variant)})
        except Unsupported as refused:
            raise BadInput(f"spec {spec.name}: {refused}") from None
    return variants


def load_with_settings(o: dict[str, Any], extra: Iterable[str] = ()) -> tuple[Spec, SpecSettings]:
    """The spec file ``o["spec"]`` and its run's settings from the options (``extra``: options besides
    ``SHARED`` the command accepts for a spec; any other given option is refused)."""
    _refuse_builtin((*extra, "policy", "policies"))
    spec = load_spec(o["spec"])
    o["switch_specs"] = (*o.get("switch_specs", ()), *_policy_switches(o, spec))
    return spec, _settings(o, spec)


def _policy_switches(o: dict[str, Any], spec: Spec) -> tuple[str, ...]:
    """``--policy NAME`` (each, where a command takes several) given with a spec: its ``policy`` switch, as
    ``--switch policy=NAME`` (the write-up's coordinator, ``coordinator/writeup.py``, has one)."""
    given = tuple(o.get("policies") or ()) + ((o["policy"],) if o.get("policy") else ())
    return tuple(f"policy={name}" for name in policies_of(spec, given))


def _guarded(path: str, work: Callable[[], Any]) -> Any:
    """``work()``, a spec's refusal (a statement outside the modelled SQL, a property that raises) one line."""
    try:
        return work()
    except Unsupported as refused:
        raise BadInput(f"spec {path}: {refused}") from None


def run_spec_command(o: dict[str, Any], expected: Expected) -> None:
    """``wavesim run SPEC``: one run, its summary or JSON, and its plot and CSV when asked."""
    spec, settings = load_with_settings(o)
    variants = _variants(spec, settings, o.get("switch_specs", ()))
    if len(variants) > 1:
        raise BadInput("run takes one choice per switch; 'wavesim compare SPEC' runs several side by side")
    settings = settings.but(scope=settings.scope + variants[0])
    check_output(o.get("plot"), (".png", ".svg", ".pdf"), "--plot")
    check_output(o.get("csv_path"), (".csv",), "--csv")
    expected.require((spec.name, name) for name in spec.properties)
    result = _guarded(o["spec"], lambda: run_spec(spec, settings))
    if o.get("plot"):
        from sim.plots import save
        from sim.specplots import spec_run_figure

        fig = spec_run_figure(result)
        write_output(o["plot"], lambda tmp: save(fig, str(tmp)))
    if o.get("csv_path"):
        text = result.rows_csv()
        write_output(o["csv_path"], lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
    click.echo(result.to_json() if o.get("as_json") else "\n".join(summary_lines(result)) + "\n", nl=False)
    finish({(spec.name, name): held for name, held in result.held().items()}, expected)


def compare_spec_command(o: dict[str, Any], expected: Expected) -> None:
    """``wavesim compare SPEC``: several seeds under each switch variant, side by side."""
    spec, settings = load_with_settings(o)
    variants = _variants(spec, settings, o.get("switch_specs", ()))
    check_output(o.get("plot"), (".png", ".svg", ".pdf"), "--plot")
    expected.require((label(v), name) for v in variants for name in spec.properties)
    seeds = range(o["first_seed"], o["first_seed"] + o["seeds"])
    with progress_bar(len(variants) * len(seeds), desc="runs", enabled=wanted(as_json=o.get("as_json", False))) as bar:
        result = _guarded(o["spec"], lambda: compare_spec(spec, settings, variants, seeds, progress=bar.update))
    if o.get("plot"):
        from sim.plots import save
        from sim.specplots import spec_comparison_figure

        fig = spec_comparison_figure(result)
        write_output(o["plot"], lambda tmp: save(fig, str(tmp)))
    click.echo(result.to_json() if o.get("as_json") else result.table(), nl=False)
    finish(result.held(), expected)


def faults_spec_command(o: dict[str, Any], expected: Expected) -> None:
    """``wavesim faults SPEC``: the spec's fault matrix, each fault alone, under each switch variant."""
    spec, settings = load_with_settings(o)
    variants = _variants(spec, settings, o.get("switch_specs", ()))
    cells = list(dict.fromkeys(o.get("fault_names", ()))) or list(CELLS)
    for cell in cells:
        if cell not in CELLS:
            raise BadInput(f"--fault {cell!r}: a spec's faults are {', '.join(CELLS)}")
    check_output(o.get("out"), (".json",), "--out")
    expected.require((label(v), name) for v in variants for name in spec.properties)
    seeds = range(o["first_seed"], o["first_seed"] + o["seeds"])
    total = len(variants) * len(cells) * len(seeds)
    with progress_bar(total, desc="runs", enabled=wanted(as_json=o.get("as_json", False))) as bar:
        matrix = _guarded(o["spec"], lambda: fault_matrix(spec, settings, variants, seeds, cells, progress=bar.update))
    if o.get("out"):
        text = matrix.to_json()
        write_output(o["out"], lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
    click.echo(matrix.to_json() if o.get("as_json") else matrix.table(), nl=False)
    finish(matrix.held(), expected)
