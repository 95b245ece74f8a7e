"""What ``atomic`` guarantees, as the default check reports it, and what each verdict rests on.

The README and docs/checker.md show one generated block (``atomic-guarantees``): for every
property, the verdict of ``wavesim check --policy atomic`` at its default scope, the verdict
under ``--relay-lease outlasts-claimer``, and the assumption it rests on. The verdicts are
computed; only the assumptions are words, and a test holds the words to the verdicts
(``LEASE_SENSITIVE`` names exactly the properties whose verdict the lease changes).
"""

from __future__ import annotations

from coordinator import POLICIES, PROPERTY_NAMES
from docgen import register

__all__ = ["LEASE_NOTE", "LEASE_SENSITIVE", "RESTS_ON", "guarantees_table", "lease_note"]

#: the properties whose default verdict (``--relay-lease expired``) differs from the one under
#: ``--relay-lease outlasts-claimer``: a relay that takes a live claimer's wave pushes it twice
LEASE_SENSITIVE = ("no_duplicate_push", "queue_bounded")

_ATOMIC = POLICIES["atomic"]

#: What each verdict of the default check rests on (docs/checker.md, "The relay's lease").
RESTS_ON: dict[str, str] = {
    "single_active_wave": "not promised: the next wave is claimed once the one before it reaches the threshold, "
                          f"so waves overlap (`max_waves_in_flight` = {_ATOMIC.max_waves_in_flight}), as the "
                          "write-up's threshold intends",
    "one_wave_below_threshold": "the claim is one compare-and-set transaction that reads every active wave's "
                                "distinct finished batches",
    "threshold_respected": "the same claim: it takes a wave only while no active wave is below the threshold",
    "no_duplicate_claim": "the claim is the only write out of `pending`, and one transaction",
    "no_duplicate_push": (
        "the lease: a relay pushes a claimed, unmarked wave again once its claim is older than "
        f"`relay_lease_s` ({_ATOMIC.relay_lease_s:g} s), and nothing stops a claimer that takes longer (the push "
        "and the mark are not fenced). The model keeps no clock, so by default any claim may be that old; it holds "
        "if no live claimer takes longer than the lease between its claim and its mark. A claimer that dies between "
        "its push and its mark has its wave pushed twice under either lease (`--crashes 1 --crash-handlers`): batch "
        "jobs carry a job key and progress counts distinct batches"
    ),
    "queue_bounded": "as `no_duplicate_push`: a second push queues a second copy of the wave's jobs",
    "no_stall": "completion events alone, no reconciler tick: each step that can let a claim through is followed "
                "by a claim, a mark that completes its wave included. A lost event stalls it until the next tick "
                "(`--losses 1`)",
    "import_completes": "strong fairness of the fault-free steps (workers finish, listeners start); after a fault, "
                        "the reconciler's next tick",
}

assert set(RESTS_ON) == set(PROPERTY_NAMES)

#: The note ``wavesim check`` prints for a policy whose relay reads the lease, under the default lease.
LEASE_NOTE = (
    "note: --relay-lease expired (the default): with no clock, a relay may push a live claimer's wave again, so "
    "{names} are judged with no lease; --relay-lease outlasts-claimer assumes no claimer takes longer than "
    "relay_lease_s between its claim and its mark"
)


def lease_note() -> str:
    """``LEASE_NOTE`` with the properties it is about."""
    return LEASE_NOTE.format(names=" and ".join(LEASE_SENSITIVE))


def _verdict(holds: bool | None) -> str:
    return {True: "holds", False: "VIOLATED", None: "undecided"}[holds]


@register("atomic-guarantees")
def guarantees_table() -> str:
    """Each property's verdict under the default lease and under ``outlasts-claimer``, and what it rests on."""
    from model.checker import check
    from model.scope import Scope

    default, lease = Scope(), Scope(relay_lease="outlasts-claimer")
    runs = [check(scope, _ATOMIC) for scope in (default, lease)]
    rows = [
        "| property | `wavesim check --policy atomic` | with `--relay-lease outlasts-claimer` | rests on |",
        "|---|---|---|---|",
    ]
    for name in PROPERTY_NAMES:
        cells = " | ".join(_verdict(run.holds(name)) for run in runs)
        rows.append(f"| `{name}` | {cells} | {RESTS_ON[name]} |")
    return "\n".join(rows) + f"\n\nDefault scope: {default.label()}, no fault.\n"
