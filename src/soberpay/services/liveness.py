"""Liveness use cases: issue an active challenge; check a clip (passive always, active with a challenge).

``LivenessService`` implements the ``PresenceCheck`` port, so account actions, enrolment and
purchases share one checker. Which layers an action needs is :func:`required_layers` (venue policy
in ``Settings.liveness``); callers pass a ``challenge_id`` exactly when the active layer is required.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Sequence

from soberpay.config import LivenessSettings
from soberpay.domain.liveness import (
    Challenge,
    ChallengeAction,
    LivenessThresholds,
    PadPurpose,
    actions_performed,
    challenge_satisfied,
    issue_challenge,
    passive_reasons,
    required_layers,
)
from soberpay.ports import ChallengeStore, ClipSensor, Clock, ImageBGR, PresenceResult

__all__ = ["LivenessService", "thresholds_from"]


def thresholds_from(s: LivenessSettings) -> LivenessThresholds:
    return LivenessThresholds(
        min_face_frames=s.min_face_frames,
        blink_ear=s.blink_ear,
        open_ear=s.open_ear,
        turn_yaw=s.turn_yaw,
        smile_gain=s.smile_gain,
        min_motion=s.min_motion,
        min_planar_residual=s.min_planar_residual,
    )


class LivenessService:
    def __init__(
        self,
        *,
        sensor: ClipSensor,
        challenges: ChallengeStore,
        clock: Clock,
        settings: LivenessSettings,
        rng: random.Random | None = None,
    ) -> None:
        self._sensor = sensor
        self._challenges = challenges
        self._clock = clock
        self._settings = settings
        self._thresholds = thresholds_from(settings)
        # Challenge order must not be predictable by an attacker preparing a replay.
        self._rng = rng or random.SystemRandom()

    def issue(self) -> Challenge:
        s = self._settings
        challenge = issue_challenge(
            secrets.token_urlsafe(16),
            self._clock.now(),
            s.challenge_ttl_s,
            s.challenge_length,
            [ChallengeAction(a) for a in s.challenge_actions],
            self._rng,
        )
        self._challenges.put(challenge)
        return challenge

    def required(self, purpose: PadPurpose, *, tagged: bool = False, high_price: bool = False) -> tuple[bool, bool]:
        s = self._settings
        return required_layers(
            purpose,
            tagged=tagged,
            high_price=high_price,
            active_when_tagged=s.active_when_tagged,
            active_when_high_price=s.active_when_high_price,
        )

    def check(self, frames: Sequence[ImageBGR], challenge_id: str | None) -> PresenceResult:
        """Passive layer always; the active layer when ``challenge_id`` is given (the challenge is consumed
        first, so a failed attempt cannot be retried with the same challenge)."""
        challenge = None
        if challenge_id is not None:
            challenge = self._challenges.take(challenge_id)
            if challenge is None:
                return PresenceResult(False, ("challenge_unknown_or_used",))
            if challenge.expired(self._clock.now()):
                return PresenceResult(False, ("challenge_expired",))
        m = self._sensor.measure(frames)
        reasons = list(passive_reasons(m, self._thresholds))
        if challenge is not None and not challenge_satisfied(challenge, actions_performed(m.frames, self._thresholds)):
            reasons.append("challenge_not_performed")
        return PresenceResult(not reasons, tuple(reasons))
