"""PAD decisions: challenge order, the passive verdict, the venue policy."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from soberpay.domain.liveness import (
    ChallengeAction,
    ClipMeasurements,
    FrameSignals,
    LivenessThresholds,
    PadPurpose,
    actions_performed,
    challenge_satisfied,
    issue_challenge,
    passive_reasons,
    required_layers,
)

T = LivenessThresholds()
NOW = datetime(2026, 11, 30, 20, 0, tzinfo=UTC)
A = ChallengeAction


def still(n: int, yaw: float = 0.0, ear: float = 0.3, smile: float = 1.0) -> list[FrameSignals]:
    return [FrameSignals(yaw, ear, smile)] * n


def clip(*parts: list[FrameSignals], residual: float = 0.1, motion: float = 0.2) -> ClipMeasurements:
    frames = tuple(f for p in parts for f in p)
    return ClipMeasurements(len(frames), frames, residual, motion, 1.7)


def test_challenge_is_random_distinct_and_time_limited() -> None:
    rng = random.Random(1)
    seen = set()
    for _ in range(30):
        c = issue_challenge("c", NOW, 30, 2, list(A), rng)
        assert len(set(c.actions)) == 2
        seen.add(c.actions)
    assert len(seen) > 5  # order and choice vary
    c = issue_challenge("c", NOW, 30, 2, list(A), rng)
    assert not c.expired(NOW + timedelta(seconds=29)) and c.expired(NOW + timedelta(seconds=30))


def test_actions_are_detected_in_order() -> None:
    frames = still(3) + still(3, yaw=-0.2) + still(2) + still(2, ear=0.1) + still(3)
    assert actions_performed(frames, T) == [A.TURN_RIGHT, A.BLINK]
    c = issue_challenge("c", NOW, 30, 2, [A.TURN_RIGHT, A.BLINK], random.Random(0))
    assert challenge_satisfied(c, [A.TURN_RIGHT, A.BLINK]) is (c.actions == (A.TURN_RIGHT, A.BLINK))
    assert not challenge_satisfied(c, [A.TURN_RIGHT])


def test_a_blink_needs_open_eyes_before_and_after() -> None:
    assert A.BLINK not in actions_performed(still(3, ear=0.1) + still(3), T)  # eyes closed from the start
    assert A.BLINK not in actions_performed(still(3) + still(3, ear=0.1), T)  # never reopened


def test_smile_and_left_turn() -> None:
    assert actions_performed(still(3) + still(3, smile=1.2) + still(3, yaw=0.2), T) == [A.SMILE, A.TURN_LEFT]


def test_passive_verdicts() -> None:
    assert passive_reasons(clip(still(10)), T) == ()
    assert passive_reasons(clip(still(10), residual=0.02), T) == ("planar_motion",)
    assert passive_reasons(clip(still(10), motion=0.01), T) == ("too_still",)
    assert passive_reasons(clip(still(2)), T) == ("too_few_face_frames",)


def test_policy() -> None:
    assert required_layers(PadPurpose.ENROLMENT) == (True, True)
    assert required_layers(PadPurpose.ACCOUNT_ACTION) == (True, True)
    assert required_layers(PadPurpose.PURCHASE) == (True, False)
    assert required_layers(PadPurpose.PURCHASE, tagged=True) == (True, True)
    assert required_layers(PadPurpose.PURCHASE, high_price=True) == (True, True)
    assert required_layers(PadPurpose.PURCHASE, high_price=True, active_when_high_price=False) == (True, False)
