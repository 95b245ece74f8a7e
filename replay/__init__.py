"""A checker counterexample of the write-up's coordinator replayed in the timed simulation.

``scripted`` drives the simulation so that the counterexample's steps happen in its order;
``plot`` draws the replayed run. This is where ``model/`` and ``sim/`` meet: neither imports the other.
"""

__all__ = ["plot", "scripted"]
