from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from soberpay.domain.bac import BacEstimate
from soberpay.domain.risk import (
    ConsumptionSignals,
    RiskLevel,
    RiskPolicy,
    RiskRecord,
    RiskState,
    SobrietyObservation,
    TagSource,
    new_visit,
    staff_tag,
    staff_untag,
    step,
)
from soberpay.domain.spending import SpendingCheck
from soberpay.errors import InvalidInput

T0 = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)
POLICY = RiskPolicy(
    drunk_probability=0.7,
    sober_probability=0.3,
    recovery_similarity=0.9,
    recovery_dwell_seconds=300,
    min_lock_seconds=600,
)
SOBER = SobrietyObservation(0.05, False, 0.97)
DRUNK = SobrietyObservation(0.85, False, 0.5)
POSTURE = SobrietyObservation(0.2, True, 0.7)
SPIKE = ConsumptionSignals(spending=SpendingCheck(True, ("order_amount",), ("order ¥500 > own threshold ¥180",)))


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def tagged_record() -> RiskRecord:
    return step(RiskRecord("g"), T0, DRUNK, None, POLICY).record


def test_drunk_judgement_tags() -> None:
    s = step(RiskRecord("g"), T0, DRUNK, None, POLICY)
    assert s.record.state is RiskState.TAGGED and s.record.tag_source is TagSource.SOBRIETY
    assert s.newly_tagged and s.record.level is RiskLevel.HIGH
    assert "fused sobriety score" in s.explain()


def test_tracker_verdict_wins_over_raw_probability() -> None:
    s = step(RiskRecord("g"), T0, SobrietyObservation(0.5, False, 0.6, judged_drunk=True), None, POLICY)
    assert s.record.state is RiskState.TAGGED
    spike = step(RiskRecord("g"), T0, SobrietyObservation(0.8, False, 0.6, judged_drunk=False), None, POLICY)
    assert spike.record.state is RiskState.NORMAL  # a momentary spike the tracker has not confirmed


def test_abstaining_tracker_is_not_the_same_as_no_tracker() -> None:
    # No tracker (a scripted or external reading): a high P(drunk) decides by itself.
    assert step(RiskRecord("g"), T0, SobrietyObservation(0.9, False, 0.6), None, POLICY).record.tagged
    # The tracker ran and abstained (debounce not over, colour alone): P(drunk) alone must not tag.
    doubt = SobrietyObservation(0.9, False, 0.6, abstained=True)
    s = step(RiskRecord("g"), T0, doubt, None, POLICY)
    assert s.record.state is RiskState.NORMAL and not s.drunk
    with pytest.raises(InvalidInput):
        SobrietyObservation(0.9, False, 0.6, judged_drunk=True, abstained=True)


def test_abstaining_tracker_end_to_end_through_the_service_conversion() -> None:
    from soberpay.domain.sobriety import Evidence, Observation, SobrietyPolicy, SobrietyTracker
    from soberpay.services.sobriety import risk_observation

    # Facial flush only: P(drunk) 0.95 for a minute, nothing else abnormal -> the tracker abstains.
    tracker = SobrietyTracker(SobrietyPolicy(enter_seconds=10.0))
    flush = (Evidence("colour_change", 0.9, flagged=True),)
    rec = RiskRecord("g")
    for i in range(60):
        j = tracker.observe(Observation(float(i), 0.95, 0.6, False, flush))
        rec = step(rec, at(i), risk_observation(j), None, POLICY).record
    assert j.p_drunk is not None and j.p_drunk > 0.9
    assert rec.state is RiskState.NORMAL


def test_warning_needs_consumption_and_posture_together() -> None:
    only_spend = step(RiskRecord("g"), T0, SOBER, SPIKE, POLICY)
    assert only_spend.record.state is RiskState.NORMAL and only_spend.record.level is RiskLevel.ELEVATED
    assert not only_spend.warning
    only_posture = step(RiskRecord("g"), T0, POSTURE, ConsumptionSignals(), POLICY)
    assert only_posture.record.state is RiskState.NORMAL and only_posture.record.level is RiskLevel.ELEVATED
    both = step(RiskRecord("g"), T0, POSTURE, SPIKE, POLICY)
    assert both.warning and both.record.state is RiskState.TAGGED and both.record.tag_source is TagSource.WARNING
    assert any("order ¥500" in line for line in both.signals)


@pytest.mark.parametrize(
    "consumption",
    [
        ConsumptionSignals(bac=BacEstimate(0.09, 60, 0.55, 55, ()), bac_abnormal=True),
        ConsumptionSignals(behaviour_score=0.93, behaviour_abnormal=True),
    ],
)
def test_bac_or_behaviour_model_counts_as_abnormal_consumption(consumption: ConsumptionSignals) -> None:
    assert consumption.abnormal
    assert step(RiskRecord("g"), T0, POSTURE, consumption, POLICY).record.state is RiskState.TAGGED


def test_no_reading_keeps_state() -> None:
    rec = tagged_record()
    s = step(rec, at(10_000), None, None, POLICY)
    assert s.record.state is RiskState.TAGGED and not s.transitions


def test_recovery_needs_dwell_and_minimum_lock() -> None:
    rec = tagged_record()
    s1 = step(rec, at(60), SOBER, None, POLICY)
    assert s1.record.state is RiskState.RECOVERING
    s2 = step(s1.record, at(300), SOBER, None, POLICY)  # dwell 240 s < 300
    assert s2.record.state is RiskState.RECOVERING and not s2.unlocked
    s3 = step(s2.record, at(400), SOBER, None, POLICY)  # dwell 340 s ok, locked 400 s < 600
    assert s3.record.state is RiskState.RECOVERING
    s4 = step(s3.record, at(600), SOBER, None, POLICY)
    assert s4.record.state is RiskState.NORMAL and s4.unlocked
    assert s4.record.tag_reason == "" and s4.record.tagged_at is None


def test_hysteresis_similarity_below_threshold_resets_dwell() -> None:
    rec = step(tagged_record(), at(700), SOBER, None, POLICY).record
    assert rec.state is RiskState.RECOVERING
    dip = step(rec, at(800), SobrietyObservation(0.1, False, 0.85), None, POLICY)
    assert dip.record.state is RiskState.TAGGED and dip.transitions[0].trigger == "relapse"
    back = step(dip.record, at(900), SOBER, None, POLICY)
    assert back.record.state is RiskState.RECOVERING
    assert step(back.record, at(1100), SOBER, None, POLICY).record.state is RiskState.RECOVERING  # dwell restarted
    assert step(back.record, at(1200), SOBER, None, POLICY).record.state is RiskState.NORMAL


def test_recovery_also_needs_low_probability_and_normal_posture() -> None:
    rec = tagged_record()
    middling = step(rec, at(60), SobrietyObservation(0.5, False, 0.95), None, POLICY)
    assert middling.record.state is RiskState.TAGGED  # 0.5 is above the sober band (0.3): hysteresis
    bad_posture = step(rec, at(60), SobrietyObservation(0.1, True, 0.95), None, POLICY)
    assert bad_posture.record.state is RiskState.TAGGED


def _bac(value: float) -> ConsumptionSignals:
    return ConsumptionSignals(bac=BacEstimate(value, 100.0, 0.68, 80.0, ()), bac_abnormal=value >= 0.08)


def test_recovery_is_blocked_while_the_bac_estimate_is_above_the_limit() -> None:
    """The walkthrough case: face back to normal at eBAC 0.25 g/dL must not unlock the bottle."""
    rec = tagged_record()
    high = step(rec, at(60), SOBER, _bac(0.25), POLICY)
    assert high.record.state is RiskState.TAGGED
    assert "estimated BAC 0.250 g/100 mL must be < 0.050" in " ".join(high.signals)
    late = step(high.record, at(4000), SOBER, _bac(0.25), POLICY)
    assert late.record.state is RiskState.TAGGED and not late.unlocked
    # once the estimate is below the limit, the usual dwell and minimum lock apply
    low = step(late.record, at(4100), SOBER, _bac(0.04), POLICY)
    assert low.record.state is RiskState.RECOVERING
    assert step(low.record, at(4400), SOBER, _bac(0.04), POLICY).record.state is RiskState.NORMAL


def test_rising_bac_during_recovery_resets_it() -> None:
    rec = step(tagged_record(), at(700), SOBER, _bac(0.02), POLICY).record
    assert rec.state is RiskState.RECOVERING
    reset = step(rec, at(800), SOBER, _bac(0.06), POLICY)
    assert reset.record.state is RiskState.TAGGED and reset.transitions[0].trigger == "relapse"


def test_bac_limit_is_configurable_and_unknown_drinks_do_not_block() -> None:
    rec = tagged_record()
    lenient = RiskPolicy(recovery_dwell_seconds=0, min_lock_seconds=0, recovery_bac_limit=0.3)
    assert step(rec, at(60), SOBER, _bac(0.25), lenient).record.state is RiskState.NORMAL
    no_drinks = ConsumptionSignals()  # nothing alcoholic bought this visit: no estimate, no gate
    assert step(rec, at(60), SOBER, no_drinks, POLICY).record.state is RiskState.RECOVERING


def test_retrigger_while_tagged_restarts_minimum_lock() -> None:
    rec = tagged_record()
    again = step(rec, at(500), DRUNK, None, POLICY).record
    assert again.last_trigger_at == at(500) and again.tagged_at == T0
    r = step(again, at(520), SOBER, None, POLICY).record
    assert step(r, at(1000), SOBER, None, POLICY).record.state is RiskState.RECOVERING  # 500 s since trigger
    assert step(r, at(1100), SOBER, None, POLICY).record.state is RiskState.NORMAL


def test_zero_dwell_zero_lock_recovers_in_one_step() -> None:
    fast = RiskPolicy(recovery_dwell_seconds=0, min_lock_seconds=0)
    s = step(step(RiskRecord("g"), T0, DRUNK, None, fast).record, at(1), SOBER, None, fast)
    assert [t.trigger for t in s.transitions] == ["similarity_high", "recovered"]
    assert s.record.state is RiskState.NORMAL


def test_staff_tag_is_sticky_and_needs_reason() -> None:
    with pytest.raises(InvalidInput):
        staff_tag(RiskRecord("g"), T0, "  ", "amy")
    s = staff_tag(RiskRecord("g"), T0, "slurring, fell over", "amy")
    assert s.record.state is RiskState.TAGGED and s.record.sticky and "amy" in s.record.tag_reason
    later = step(s.record, at(5000), SOBER, None, POLICY)
    assert later.record.state is RiskState.TAGGED  # only staff remove a staff tag


def test_staff_untag_clears_and_pauses_automatic_tagging() -> None:
    s = staff_untag(tagged_record(), at(30), "checked in person: fine", "bob", pause_seconds=600)
    assert s.record.state is RiskState.NORMAL and s.unlocked
    still_drunk = step(s.record, at(100), DRUNK, None, POLICY)
    assert still_drunk.record.state is RiskState.NORMAL and "paused" in " ".join(still_drunk.signals)
    assert step(s.record, at(700), DRUNK, None, POLICY).record.state is RiskState.TAGGED


def test_new_visit_carries_recent_tag_but_clears_old_one() -> None:
    rec = tagged_record()
    assert new_visit(rec, at(3600), carryover_hours=12).record.state is RiskState.TAGGED
    old = new_visit(rec, at(13 * 3600), carryover_hours=12)
    assert old.record.state is RiskState.NORMAL and old.transitions[0].trigger == "tag_expired"


def test_observation_bounds() -> None:
    with pytest.raises(InvalidInput):
        SobrietyObservation(1.5, False, 0.5)
    with pytest.raises(InvalidInput):
        SobrietyObservation(0.5, False, -0.1)
