"""Pure sobriety domain: rules, baselines, pattern book, hysteresis, reject band, recovery."""

from __future__ import annotations

import itertools

import pytest

from soberpay.domain.sobriety import (
    AbnormalPatternBook,
    ActivityCues,
    Evidence,
    GuestBaseline,
    Observation,
    PostureBaseline,
    SobrietyPolicy,
    SobrietyState,
    SobrietyTracker,
    angle_change_rate,
    angle_rate_flags,
    classify_activity,
    compare_to_baseline,
    cosine_similarity,
    isolation_score,
    posture_abnormal,
    similarity_to_baseline,
    trunk_tilt_flag,
)


def test_tilt_rule_method_example() -> None:
    assert trunk_tilt_flag(5.0, 3.0)  # the patent's example: 5° > 3° → balance problem
    assert trunk_tilt_flag(-5.0, 3.0)  # leaning either way
    assert not trunk_tilt_flag(2.0, 3.0)


def test_angle_rate_method_example() -> None:
    # head 8°→10°, arm 18°→20°, leg 14°→15° in one second: 2, 2, 1 °/s, all under 3 °/s
    rates = {
        "head": angle_change_rate(8, 10, 1.0),
        "arm": angle_change_rate(18, 20, 1.0),
        "leg": angle_change_rate(14, 15, 1.0),
    }
    assert rates == {"head": 2.0, "arm": 2.0, "leg": 1.0}
    assert angle_rate_flags(rates, 3.0) == ()
    assert angle_rate_flags({"head": 5.0, "arm": 1.0, "leg": None}, 3.0) == ("head",)
    with pytest.raises(ValueError):
        angle_change_rate(0, 1, 0.0)


SPREAD = {"head_angle_rate_deg_s": 2.0, "arm_angle_rate_deg_s": 3.0, "trunk_tilt_deg": 2.0}


def _walker() -> PostureBaseline:
    """A sober walker's own normal: head 8-10 °/s, arms 12-16 °/s, a habitual 4° lean."""
    b = PostureBaseline(SPREAD, min_windows=5)
    for i in range(10):
        b.add(
            "walking",
            {"head_angle_rate_deg_s": 8.0 + i % 3, "arm_angle_rate_deg_s": 12.0 + i % 5, "trunk_tilt_deg": 4.0},
        )
    return b


def test_method_rules_are_reported_but_do_not_decide() -> None:
    b = _walker()
    # Every absolute rule fires (rates > 3 °/s, tilt > 3°) but this is the walker's normal.
    bad, ev = posture_abnormal("walking", {"head_angle_rate_deg_s": 9.0, "trunk_tilt_deg": 4.5}, b, 3.0, 3.0)
    assert not bad and not any(e.flagged for e in ev)
    notes = {e.signal: e.note for e in ev}
    assert "rule > 3°/s: over" in notes["head_angle_rate_deg_s"] and "rule |tilt| > 3°: over" in notes["trunk_tilt_deg"]
    assert "within own normal" in notes["head_angle_rate_deg_s"]


def test_posture_is_abnormal_against_the_guests_own_normal_for_the_activity() -> None:
    b = _walker()
    bad, ev = posture_abnormal("walking", {"head_angle_rate_deg_s": 30.0}, b, 3.0, 3.0)
    assert bad and ev[0].flagged and ev[0].deviation is not None and ev[0].deviation > 3.0
    assert ev[0].baseline == pytest.approx(9.0)
    # Tilt counts both ways away from the habitual lean; rates only when faster than normal.
    assert posture_abnormal("walking", {"trunk_tilt_deg": -6.0}, b, 3.0, 3.0)[0]
    assert not posture_abnormal("walking", {"head_angle_rate_deg_s": 0.0}, b, 3.0, 3.0)[0]
    # An activity without an own normal yet flags nothing, whatever the rules say.
    unknown, ev = posture_abnormal("dancing", {"head_angle_rate_deg_s": 60.0, "trunk_tilt_deg": 20.0}, b, 3.0, 3.0)
    assert not unknown and "no own normal" in ev[0].note
    # The isolation forest alone is evidence, not a verdict.
    iso, ev = posture_abnormal("walking", {"head_angle_rate_deg_s": 9.0}, b, 3.0, 3.0, isolation_flag=True)
    assert not iso and ev[-1].signal == "pose_anomaly" and not ev[-1].flagged
    iso, ev = posture_abnormal("walking", {"head_angle_rate_deg_s": 30.0}, b, 3.0, 3.0, isolation_flag=True)
    assert iso and ev[-1].flagged


def test_posture_baseline_round_trip_and_bounds() -> None:
    b = _walker()
    b2 = PostureBaseline(SPREAD, min_windows=5)
    b2.load(b.to_dict())
    assert b2.summary() == b.summary()
    med, spread, n = b.summary()["walking"]["head_angle_rate_deg_s"]
    assert med == 9.0 and spread >= 2.0 and n == 10
    small = PostureBaseline(SPREAD, min_windows=2, max_samples=3)
    for v in range(10):
        small.add("sitting", {"trunk_tilt_deg": float(v)})
    assert small.windows("sitting") == 3


@pytest.mark.parametrize(
    ("cues", "expected"),
    [
        (ActivityCues("sitting", mouth_motion=0.2, hand_at_mouth=True), "singing"),  # microphone + mouth moving
        (ActivityCues("standing", mouth_motion=0.08, hand_at_mouth=False), "standing"),  # talking a bit
        (ActivityCues("standing", mouth_motion=0.15), "singing"),  # mouth moving a lot, no microphone seen
        (ActivityCues("sitting", mouth_motion=0.01, hand_at_mouth=True), "sitting"),  # drinking, not singing
        (ActivityCues("walking", mouth_motion=0.3, hand_at_mouth=True), "walking"),  # the legs say walking
        (ActivityCues("standing", arm_rate_deg_s=60.0, sway_path_per_s=0.6), "dancing"),
        (ActivityCues("standing", arm_rate_deg_s=60.0, sway_path_per_s=0.1), "standing"),  # gesturing only
        (ActivityCues("unknown"), "unknown"),
    ],
)
def test_activity_states(cues: ActivityCues, expected: str) -> None:
    assert classify_activity(cues) == expected


def test_baseline_zscores_and_evidence() -> None:
    b = GuestBaseline(min_std={"perclos": 0.02})
    for v in (0.04, 0.05, 0.06, 0.05, 0.05):
        b.update({"perclos": v, "eye_openness": 0.8 + (v - 0.05)})
    b.freeze()
    b.update({"perclos": 1.0})  # frozen: ignored
    assert b.mean("perclos") == pytest.approx(0.05)
    assert b.zscore("perclos", 0.05) == pytest.approx(0.0)
    z = b.zscore("perclos", 0.15)
    assert z is not None and z == pytest.approx(0.10 / 0.02)  # std floored at 0.02
    ev = {e.signal: e for e in compare_to_baseline({"perclos": 0.15, "eye_openness": 0.8}, b)}
    assert ev["perclos"].flagged and not ev["eye_openness"].flagged
    assert "own baseline" in ev["perclos"].describe()
    # round trip through the persisted form
    b2 = GuestBaseline.from_dict(b.to_dict(), {"perclos": 0.02})
    assert b2.zscore("perclos", 0.15) == pytest.approx(z)


def test_similarity_to_baseline() -> None:
    b = GuestBaseline()
    for v in (1.0, 2.0, 3.0):
        b.update({"x": v})
    assert similarity_to_baseline({"x": 2.0}, b) == pytest.approx(1.0)
    far = similarity_to_baseline({"x": 2.0 + 6.0}, b)  # 6 std away
    assert far is not None and far < 0.2
    assert similarity_to_baseline({"y": 1.0}, b) is None


def test_cosine_and_isolation_score() -> None:
    assert cosine_similarity([1, 0], [1, 0]) == pytest.approx(1.0)
    assert cosine_similarity([1, 0], [0, 1]) == pytest.approx(0.0)
    assert cosine_similarity([0, 0], [1, 1]) == 0.0
    pts = [[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]
    # s_i = mean distance to the other points (the method's isolation degree)
    assert isolation_score([0.0, 0.0], pts[1:]) == pytest.approx(1.0)
    assert isolation_score([10.0, 10.0], pts) > 10.0


def test_pattern_book_reinforces_similar_and_adds_new() -> None:
    ids = (f"p{i}" for i in itertools.count())
    book = AbnormalPatternBook(0.9, lambda: next(ids))
    first = book.record([1.0, 0.0, 0.0])
    assert not first.reinforced and first.pattern_id == "p0" and len(book) == 1
    # cosine ≈ 0.995 ≥ 0.9 → reinforces the known pattern
    again = book.record([1.0, 0.1, 0.0])
    assert again.reinforced and again.pattern_id == "p0" and again.count == 2 and len(book) == 1
    # orthogonal → a new pattern
    other = book.record([0.0, 1.0, 0.0])
    assert not other.reinforced and other.pattern_id == "p1" and len(book) == 2
    assert other.similarity < 0.9
    with pytest.raises(ValueError):
        AbnormalPatternBook(1.5, lambda: "x")


# A non-colour signal flagged against the guest's own baseline: corroborates a drunk judgement.
_PERCLOS_HIGH = Evidence("perclos", 0.3, baseline=0.05, deviation=4.0, flagged=True)
_FLUSH = Evidence("colour_change", 0.8, flagged=True, note="vs own baseline")


def _obs(t: float, p: float | None, sim: float | None = None) -> Observation:
    return Observation(at=t, p_drunk=p, similarity_to_normal=sim, evidence=(_PERCLOS_HIGH,))


def test_facial_colour_alone_never_makes_a_guest_drunk() -> None:
    tr = SobrietyTracker(SobrietyPolicy(smoothing_seconds=0, enter_seconds=0))
    j = tr.observe(Observation(at=0, p_drunk=0.95, similarity_to_normal=0.5, evidence=(_FLUSH,)))
    assert j.state is SobrietyState.ABSTAIN and "colour never decides alone" in j.reason
    assert not tr.is_drunk
    j = tr.observe(Observation(at=1, p_drunk=0.95, similarity_to_normal=0.5, evidence=(_FLUSH, _PERCLOS_HIGH)))
    assert j.state is SobrietyState.DRUNK
    # posture alone corroborates too; the check can be switched off per venue policy
    assert (
        SobrietyTracker(SobrietyPolicy(smoothing_seconds=0, enter_seconds=0))
        .observe(Observation(at=0, p_drunk=0.95, posture_abnormal=True, evidence=(_FLUSH,)))
        .state
        is SobrietyState.DRUNK
    )
    assert (
        SobrietyTracker(SobrietyPolicy(smoothing_seconds=0, enter_seconds=0, require_corroboration=False))
        .observe(Observation(at=0, p_drunk=0.95, evidence=(_FLUSH,)))
        .state
        is SobrietyState.DRUNK
    )


def test_reject_band_abstains() -> None:
    tr = SobrietyTracker(SobrietyPolicy(smoothing_seconds=0, enter_seconds=0))
    assert tr.observe(_obs(0, 0.1)).state is SobrietyState.SOBER
    j = tr.observe(_obs(1, 0.5))
    assert j.state is SobrietyState.ABSTAIN and "reject band" in j.reason
    assert tr.observe(_obs(2, None)).state is SobrietyState.ABSTAIN  # no signal → abstain


def test_hysteresis_needs_sustained_high_probability() -> None:
    tr = SobrietyTracker(SobrietyPolicy(smoothing_seconds=0, enter_seconds=10))
    states = [tr.observe(_obs(t, 0.9)).state for t in range(0, 12)]
    assert states[:10] == [SobrietyState.ABSTAIN] * 10  # high, but not yet for 10 s
    assert states[10] is SobrietyState.DRUNK
    # a single spike does not flip it; a dip resets the timer
    tr2 = SobrietyTracker(SobrietyPolicy(smoothing_seconds=0, enter_seconds=3))
    for t, p in enumerate([0.9, 0.9, 0.1, 0.9, 0.9, 0.9]):
        j = tr2.observe(_obs(t, p))
    assert j.state is SobrietyState.ABSTAIN
    assert tr2.observe(_obs(6, 0.9)).state is SobrietyState.DRUNK
    # once drunk, corroboration is not needed again while P stays high
    assert tr2.observe(Observation(at=7, p_drunk=0.9, evidence=(_FLUSH,))).state is SobrietyState.DRUNK


def test_smoothing_damps_a_single_spike() -> None:
    tr = SobrietyTracker(SobrietyPolicy(smoothing_seconds=5, enter_seconds=0))
    tr.observe(_obs(0, 0.1))
    j = tr.observe(_obs(1, 1.0))
    assert j.p_drunk is not None and j.p_drunk < 0.5 and j.state is not SobrietyState.DRUNK


def test_the_tracker_does_not_latch_recovery_is_the_risk_machines() -> None:
    """DRUNK ends as soon as P leaves the drunk band; keeping the guest tagged until they recover is
    the payment risk machine's job (one hysteresis, see soberpay.domain.risk)."""
    tr = SobrietyTracker(SobrietyPolicy(smoothing_seconds=0, enter_seconds=0))
    assert tr.observe(_obs(0, 0.95)).state is SobrietyState.DRUNK
    j = tr.observe(_obs(1, 0.5, sim=0.5))
    assert j.state is SobrietyState.ABSTAIN and j.recovered and not tr.is_drunk
    assert not tr.observe(_obs(2, 0.1, sim=0.95)).recovered  # only the judgement where DRUNK ended
    assert not hasattr(SobrietyPolicy(), "recovery_dwell_seconds")


def test_drunk_ends_when_the_signal_is_gone() -> None:
    tr = SobrietyTracker(SobrietyPolicy(smoothing_seconds=0, enter_seconds=0))
    tr.observe(_obs(0, 0.95))
    j = tr.observe(_obs(1, None))
    assert j.state is SobrietyState.ABSTAIN and j.recovered


def test_policy_validation_and_time_order() -> None:
    with pytest.raises(ValueError):
        SobrietyPolicy(sober_probability=0.8, drunk_probability=0.7)
    tr = SobrietyTracker()
    tr.observe(_obs(5, 0.1))
    with pytest.raises(ValueError):
        tr.observe(_obs(4, 0.1))
