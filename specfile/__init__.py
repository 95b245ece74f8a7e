"""A user's spec file and what the checker does with it beyond the search.

``load`` imports a spec file by path and finds its one ``Spec``; ``replay`` runs a spec's
counterexample on a real database, step by step, as the model ran it; ``export`` writes a
counterexample as a pytest file or a SQL script per session. The package imports none of them
itself: each is loaded by the command that needs it.
"""

__all__ = ["export", "load", "replay"]
