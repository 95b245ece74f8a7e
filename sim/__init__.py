"""wavesim's SimPy harness: the core's handler programs, driven with real timings.

Workers take jobs from a FIFO ``import`` queue with delayed jobs; batch jobs
run for sampled times; every DB operation a handler yields runs after a
sampled latency, so handlers interleave and races come from timing. The
harness never decides what the coordinator decides: it runs
``coordinator.program_for`` and ``coordinator.apply`` and judges each run with
``coordinator.properties``. ``run_one(scenario)`` is one run, ``compare`` many.
"""

from sim.compare import Comparison, compare
from sim.export import EPOCH, rows_csv, sim_time_to_iso
from sim.monitors import max_in_window, quiescent
from sim.run import METRICS, RunResult, run_many, run_one
from sim.scenario import PRESETS, Scenario, load_scenario_toml, preset

__all__ = [
    "EPOCH", "METRICS", "PRESETS", "Comparison", "RunResult", "Scenario", "compare", "load_scenario_toml",
    "max_in_window", "preset", "quiescent", "rows_csv", "run_many", "run_one", "sim_time_to_iso",
]
