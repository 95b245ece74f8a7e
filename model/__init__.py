"""wavesim's formal model: the coordinated system as a spec, and its checkers.

``state`` holds the variables, ``actions`` the Next relation (one pure function
per action, each running the core's handler programs one DB operation at a
time), ``invariants`` the properties (taken from ``coordinator.properties``),
``checker`` the exhaustive BFS, ``liveness`` the trap search on its graph,
``search`` random and PCT walks for larger scopes, and ``trace`` readable,
replayable counterexamples. ``scope`` holds the constants.
"""

from model.actions import Spec, next_states
from model.checker import REDUCTIONS, Found, Search, check, reductions
from model.scope import Scope
from model.search import walk_search
from model.state import State, canonical, init
from model.trace import ReplayError, TraceStep, from_json, render, replay, steps_of, to_interleaving, to_json

__all__ = [
    "REDUCTIONS", "Found", "ReplayError", "Scope", "Search", "Spec", "State", "TraceStep", "canonical", "check",
    "from_json", "init", "next_states", "reductions", "render", "replay", "steps_of", "to_interleaving", "to_json",
    "walk_search",
]
