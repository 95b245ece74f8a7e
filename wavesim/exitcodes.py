"""The one exit-code contract every ``wavesim`` command keeps.

- ``HOLDS`` (0): every property asked for holds (in every run simulated, every
  interleaving searched, every row audited);
- ``VIOLATED`` (1): a property was violated, a run stalled (no progress), or a
  search stopped on a budget with a property still undecided: in each case
  "every property holds" was not shown, which is what a CI gate needs to know;
- ``BAD_INPUT`` (2): usage or input error, one ``error:`` line;
- ``INTERRUPTED`` (130): stopped by Ctrl-C (128 + SIGINT, as shells report it);
- ``INTERNAL`` (70, ``EX_SOFTWARE``): a bug in wavesim itself, one line asking
  for a report; never a verdict about the coordinator.
"""

from __future__ import annotations

__all__ = ["BAD_INPUT", "HOLDS", "INTERNAL", "INTERRUPTED", "VIOLATED"]

HOLDS = 0
VIOLATED = 1
BAD_INPUT = 2
INTERNAL = 70
INTERRUPTED = 130
