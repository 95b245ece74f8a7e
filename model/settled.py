"""States from which no open property can be broken any more (the ``settled`` reduction).

Two safety properties can only be broken by something that stops happening:

* ``threshold_respected`` is broken only by a wave *leaving* ``pending`` while
  its predecessor is pending or below the threshold. Once the predecessor of
  every pending wave is out of ``pending`` and at the threshold, no later
  transition can break it.
* ``one_wave_below_threshold`` needs two active waves each below the threshold
  in distinct finished batches. Once at most one wave (whatever its status) is
  below it, no later state can break it.

Both rest on two facts about every step of the core: no operation writes
``pending`` (a wave leaves it once), and a wave's distinct finished batches
never decrease. ``check_step`` checks both on every step a search with the
reduction takes, and raises ``PremiseBroken`` on a step against either, so a
new operation that breaks them stops the search rather than skewing it.

A state in which every property still undecided is settled is stored and
judged like any other but not expanded: every state after it is settled too,
so no violation of an open property lies behind it. Every other property is
never settled: the liveness properties are judged on the whole graph, and the
rest can be broken from any state. So the reduction prunes nothing while any of
them is open, and prunes the tail of a search whose other verdicts are already
in. It is exact for every verdict, and for shortest counterexamples (a
shortest path to a violation passes only through states from which the
violation is still reachable).
"""

from __future__ import annotations

from collections.abc import Callable

from coordinator import PROPERTY_NAMES, Status, WaveConfig
from model.state import Row

__all__ = ["SETTLED", "PremiseBroken", "check_step", "settled"]


class PremiseBroken(RuntimeError):
    """A step wrote ``pending`` or lowered a wave's distinct finished batches: the ``settled``
    reduction's premise does not hold for this policy (check with ``--without settled``)."""


def _finished(row: Row) -> int:
    return row[3].bit_count()  # finished_mask: the distinct batches finished


def _need(row: Row, config: WaveConfig) -> int:
    return min(config.threshold_count, row[5])


def _every_pending_wave_may_leave(rows: tuple[Row, ...], config: WaveConfig) -> bool:
    return all(
        prev[0] is not Status.PENDING and _finished(prev) >= _need(prev, config)
        for prev, row in zip(rows, rows[1:], strict=False) if row[0] is Status.PENDING
    )


def _one_wave_left_below(rows: tuple[Row, ...], config: WaveConfig) -> bool:
    return sum(1 for row in rows if _finished(row) < _need(row, config)) <= 1


#: For each property that can be settled, when it is.
SETTLED: dict[str, Callable[[tuple[Row, ...], WaveConfig], bool]] = {
    "threshold_respected": _every_pending_wave_may_leave,
    "one_wave_below_threshold": _one_wave_left_below,
}

assert set(SETTLED) <= set(PROPERTY_NAMES)


def settled(rows: tuple[Row, ...], config: WaveConfig) -> frozenset[str]:
    """The properties no state after one with these rows can break."""
    return frozenset(name for name, rule in SETTLED.items() if rule(rows, config))


def check_step(before: tuple[Row, ...], after: tuple[Row, ...], what: object) -> None:
    """Raise ``PremiseBroken`` when the step ``what`` from ``before`` to ``after`` breaks the premise."""
    for wave, (old, new) in enumerate(zip(before, after, strict=True), start=1):
        if new[0] is Status.PENDING and old[0] is not Status.PENDING:
            raise PremiseBroken(f"{what} wrote wave {wave} back to pending, so the settled reduction cannot be "
                                "used: rerun with --without settled")
        if _finished(new) < _finished(old):
            raise PremiseBroken(f"{what} lowered wave {wave}'s distinct finished batches, so the settled "
                                "reduction cannot be used: rerun with --without settled")
