"""Policies: the four named presets (``coordinator.POLICIES``) and their switches."""

from __future__ import annotations

import pytest

from coordinator import POLICIES, ConfigError, CurrentWaveRule, Policy, policy_named

ALL_OFF = {
    "reconcile_active_guard": False,
    "reconcile_threshold_guard": False,
    "normal_active_guard": False,
    "catchup_active_guard": False,
    "catchup_threshold_guard": False,
    "auto_trigger": False,
    "atomic_advance": False,
    "distinct_progress": False,
    "reconciler_period_s": None,
    "max_waves_in_flight": None,
    "fused_push": False,
    "relay_lease_s": 10.0,
    # the readings the write-up's evidence supports best (docs/readings.md)
    "current_wave_rule": "completed-else-active",
    "completion_check": "before-guard",
    "catchup_entry": "successor-not-pending",
    "batch_wave_check": "after-decision",
    "final_write": "plain",
    "normal_threshold": "checked",
    "reconcile_else": "fall-through",
    "failed_batch_fires": False,
}
THE_THREE_GUARD_FIXES = {
    "reconcile_active_guard": True,
    "reconcile_threshold_guard": True,
    "normal_active_guard": True,
    "catchup_active_guard": True,
    "catchup_threshold_guard": True,
}


@pytest.mark.parametrize(
    ("name", "switched_on"),
    [
        ("original", {}),
        ("guarded", THE_THREE_GUARD_FIXES),
        ("seed-fix", {**THE_THREE_GUARD_FIXES, "auto_trigger": True}),
        ("atomic", {"atomic_advance": True, "distinct_progress": True, "reconciler_period_s": 5.0,
                    "max_waves_in_flight": 2}),
    ],
)
def test_each_named_policy_is_its_documented_switches(name, switched_on):
    assert policy_named(name).switches() == {"name": name, **ALL_OFF, **switched_on}


def test_the_named_policies_are_the_four_of_the_design():
    assert list(POLICIES) == ["original", "guarded", "seed-fix", "atomic"]
    assert all(policy.name == name for name, policy in POLICIES.items())


def test_an_unknown_policy_name_lists_the_known_ones():
    with pytest.raises(ConfigError) as raised:
        policy_named("fixed")
    assert str(raised.value) == "unknown policy 'fixed'; choose one of: original, guarded, seed-fix, atomic"


def test_with_switches_changes_only_the_named_switches_and_the_name():
    policy = policy_named("guarded").with_switches(auto_trigger=True)
    assert policy.switches() == {**policy_named("seed-fix").switches(), "name": "custom"}
    assert policy_named("guarded").with_switches(name="mine").name == "mine"


@pytest.mark.parametrize("limit", [0, -1, True, 1.5])
def test_max_waves_in_flight_must_be_a_whole_number_of_at_least_one(limit):
    with pytest.raises(ConfigError, match="max_waves_in_flight must be a whole number of at least 1"):
        policy_named("atomic").with_switches(max_waves_in_flight=limit)


def test_with_switches_refuses_an_unknown_switch():
    with pytest.raises(ConfigError) as raised:
        policy_named("original").with_switches(active_guard=True)
    assert str(raised.value) == (
        "unknown policy switch 'active_guard'; known: atomic_advance, auto_trigger, batch_wave_check, "
        "catchup_active_guard, catchup_entry, catchup_threshold_guard, completion_check, current_wave_rule, "
        "distinct_progress, failed_batch_fires, final_write, fused_push, max_waves_in_flight, "
        "normal_active_guard, normal_threshold, reconcile_active_guard, reconcile_else, "
        "reconcile_threshold_guard, reconciler_period_s, relay_lease_s"
    )


def test_a_current_wave_rule_given_by_its_value_becomes_the_rule():
    policy = policy_named("original").with_switches(current_wave_rule="lowest-active")
    assert policy.current_wave_rule is CurrentWaveRule.LOWEST_ACTIVE
    assert policy == Policy(name="custom", current_wave_rule=CurrentWaveRule.LOWEST_ACTIVE)


def test_an_unknown_current_wave_rule_is_refused():
    with pytest.raises(ConfigError) as raised:
        Policy(current_wave_rule="newest")  # type: ignore[arg-type]
    assert str(raised.value) == (
        "current_wave_rule must be one of: lowest-active, highest-not-pending, highest-completed, "
        "completed-else-active, latest-started; got 'newest'"
    )


@pytest.mark.parametrize("period", [0, -5.0, float("nan")])
def test_a_reconciler_period_must_be_positive(period):
    with pytest.raises(ConfigError, match=r"reconciler_period_s must be more than 0 \(or None for off\), got"):
        policy_named("atomic").with_switches(reconciler_period_s=period)
