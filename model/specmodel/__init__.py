"""The checker for any spec: its world, actions, breadth-first search and counterexamples.

``Model(spec, scope)`` is a spec in one scope; ``check_spec(model)`` explores it. ``spec/lang.py`` is the
language, ``docs/your-coordinator.md`` the guide.
"""

from model.specmodel.actions import FAULT_NAMES, Label, Model, Move
from model.specmodel.search import Found, SpecSearch, check_spec
from model.specmodel.world import Job, Run, View, World

__all__ = ["FAULT_NAMES", "Found", "Job", "Label", "Model", "Move", "Run", "SpecSearch", "View", "World", "check_spec"]
