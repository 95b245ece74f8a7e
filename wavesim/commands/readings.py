"""``wavesim readings``: which readings of the write-up its own evidence supports."""

from __future__ import annotations

import json
from pathlib import Path

import click

from coordinator import ConfigError
from userio.errors import BadInput
from userio.exitcodes import HOLDS, VIOLATED
from userio.files import check_output
from userio.progress import progress_bar, wanted
from wavesim.commands.outputs import write_output

__all__ = ["readings_command"]


def _grid(specs: tuple[str, ...]) -> dict[str, list[object]]:
    from readings.grid import READINGS

    out: dict[str, list[object]] = {}
    for spec in specs:
        name, sep, values = spec.partition("=")
        name = name.strip().replace("-", "_")
        if not sep or name not in READINGS or not values.strip():
            raise BadInput(f"--only {spec!r} must look like READING=V1,V2 with a reading of: {', '.join(READINGS)}")
        out[name] = [v.strip() for v in values.split(",") if v.strip()]
    return out


@click.command("readings")
@click.option("--seeds", type=click.IntRange(min=1, max=1000), default=8, show_default=True,
              help="Seeds per combination and policy.")
@click.option("--jobs", type=click.IntRange(min=1, max=256), default=1, show_default=True,
              help="Local processes (the result is the same for any number).")
@click.option("--only", "only", multiple=True, metavar="READING=V1,V2",
              help="Narrow one reading to these values (repeatable); default: every value of every reading.")
@click.option("--no-checker", is_flag=True, help="Skip the checker's verdicts on the fitting combinations.")
@click.option("--calibration", "show_calibration", is_flag=True,
              help="Only audit the incident preset's simulated history next to the write-up's timestamps.")
@click.option("--json", "as_json", is_flag=True, help="Print the table as JSON.")
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="Also write the JSON to this .json.")
def readings_command(seeds: int, jobs: int, only: tuple[str, ...], no_checker: bool, show_calibration: bool,
                     as_json: bool, out: str | None) -> None:
    """Run every combination of readings against the write-up's evidence; verdicts for those that fit.

    What it judges is the fit, not the policies (the write-up's policies break properties by design):
    exit 0 when at least one combination reproduces every observation, 1 when none does.
    --calibration only measures: exit 0.
    """
    from readings.calibration import calibration, calibration_text
    from readings.grid import combinations, run_readings
    from readings.render import to_dict, to_text

    check_output(out, (".json",), "--out")
    if show_calibration:
        cal = calibration(range(seeds))
        text = json.dumps(cal, indent=2) + "\n"
        if out is not None:
            write_output(out, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
        click.echo(text if as_json else calibration_text(cal), nl=False)
        return
    try:
        grid = _grid(only)
        total = len(combinations(grid))
    except ConfigError as err:
        raise BadInput(str(err)) from None
    with progress_bar(total * seeds * 2, desc="readings: runs", enabled=wanted(as_json=as_json)) as bar:
        result = run_readings(grid=grid, seeds=range(seeds), jobs=jobs, checker=not no_checker,
                              progress=lambda n: bar.update(n - bar.n))
    data = json.dumps(to_dict(result), indent=2) + "\n"
    if out is not None:
        write_output(out, lambda tmp: Path(tmp).write_text(data, encoding="utf-8"))
    click.echo(data if as_json else to_text(result), nl=False)
    fits = any(result.fits(i) for i in range(len(result.combos)))
    if not fits:
        click.echo("no combination of readings reproduces every observation of the write-up", err=True)
    click.get_current_context().exit(HOLDS if fits else VIOLATED)
