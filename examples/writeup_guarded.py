"""The write-up's ``guarded`` policy as a spec: an alias of the write-up's coordinator, ``coordinator/writeup.py``.

That one spec holds every policy (``--policy original|guarded|seed-fix|atomic``) and every switch of the
built-in; its default policy is ``guarded``, so ``wavesim check examples/writeup_guarded.py`` checks what
``wavesim check coordinator/writeup.py --policy guarded`` does. The spec is not repeated here.
"""

from coordinator.writeup import spec

__all__ = ["spec"]
