"""The ``incident`` preset through the built-in simulation and through the write-up's spec, on the same seeds.

Not a test. Run from the repository root:

    python -m benchmarks.bench_incident                                  # 20 seeds, every policy the spec takes
    python -m benchmarks.bench_incident --seeds 3 --policies original    # a part of it
    python -m benchmarks.bench_incident --out benchmarks/results/incident.json   # keep it for the docs

Per policy and seed, ``sim.viaspec.compare_via_spec`` runs ``wavesim run --preset incident`` and the same
scenario as ``coordinator/writeup.py`` (``sim.scenariospec.spec_settings_for``), then prints, figure by figure,
which agree in every seed and which moved, and why; then each property's verdicts on both sides.
Every policy runs: ``atomic``'s reconciler ticks on the simulated clock and its relay reads its lease there.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from coordinator import POLICIES, ConfigError
from coordinator.writeup import spec
from sim.scenario import preset
from sim.scenariospec import spec_settings_for
from sim.viaspec import compare_via_spec, via_spec_table

OUT = "benchmarks/results/incident.json"


def taken(policies: list[str]) -> list[str]:
    """The policies the spec path takes (the others are refused with their reason, on stderr)."""
    out = []
    for p in policies:
        try:
            spec_settings_for(preset("incident").with_settings(policy=p))
            out.append(p)
        except ConfigError as err:
            print(f"left out: {err}", file=sys.stderr)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20, help="seeds per policy, from 0 (default 20)")
    parser.add_argument("--policies", nargs="*", default=list(POLICIES), help="policies (default: all)")
    parser.add_argument("--out", default=None, help=f"also write the JSON here (e.g. {OUT})")
    args = parser.parse_args()
    result = compare_via_spec(spec, preset("incident"), taken(args.policies), range(args.seeds),
                              progress=lambda: print(".", end="", file=sys.stderr, flush=True))
    print(file=sys.stderr)
    if args.out:
        Path(args.out).write_text(result.to_json(), encoding="utf-8")
    print(via_spec_table(result.to_dict()), end="")


if __name__ == "__main__":
    main()
