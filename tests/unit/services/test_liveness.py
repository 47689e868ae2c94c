"""LivenessService: challenges are single use and expire; the active layer needs the challenged order."""

from __future__ import annotations

import random
from collections.abc import Sequence

from soberpay.adapters.clock import ManualClock
from soberpay.adapters.vision.liveness_store import MemoryChallengeStore
from soberpay.config import LivenessSettings
from soberpay.domain.liveness import ChallengeAction, ClipMeasurements, FrameSignals
from soberpay.ports import ImageBGR, PresenceCheck
from soberpay.services.liveness import LivenessService

OPEN = FrameSignals(0.0, 0.3, 1.0)
LEFT = FrameSignals(0.2, 0.3, 1.0)
RIGHT = FrameSignals(-0.2, 0.3, 1.0)


class FakeSensor:
    """Returns a prepared measurement (a live 3-D head performing ``frames``)."""

    def __init__(self) -> None:
        self.frames: tuple[FrameSignals, ...] = (OPEN,) * 10
        self.residual = 0.1

    def measure(self, frames: Sequence[ImageBGR]) -> ClipMeasurements:
        return ClipMeasurements(len(frames), self.frames, self.residual, 0.2, 1.7)


def service(clock: ManualClock, sensor: FakeSensor) -> LivenessService:
    settings = LivenessSettings(challenge_actions=["turn_left", "turn_right"], challenge_length=2, challenge_ttl_s=30)
    return LivenessService(
        sensor=sensor, challenges=MemoryChallengeStore(clock.now), clock=clock, settings=settings, rng=random.Random(3)
    )


def performing(actions: Sequence[ChallengeAction]) -> tuple[FrameSignals, ...]:
    pose = {ChallengeAction.TURN_LEFT: LEFT, ChallengeAction.TURN_RIGHT: RIGHT}
    return (OPEN,) * 3 + tuple(f for a in actions for f in (pose[a],) * 3 + (OPEN,) * 3)


def test_is_the_presence_check_port() -> None:
    assert isinstance(service(ManualClock(), FakeSensor()), PresenceCheck)


def test_passive_only_without_challenge() -> None:
    sensor = FakeSensor()
    svc = service(ManualClock(), sensor)
    assert svc.check([], None).live
    sensor.residual = 0.01  # moves like a flat picture
    assert svc.check([], None).reasons == ("planar_motion",)


def test_challenge_performed_in_order_passes_once() -> None:
    sensor = FakeSensor()
    svc = service(ManualClock(), sensor)
    c = svc.issue()
    sensor.frames = performing(c.actions)
    assert svc.check([], c.id).live
    again = svc.check([], c.id)  # single use
    assert not again.live and again.reasons == ("challenge_unknown_or_used",)


def test_wrong_order_fails_and_burns_the_challenge() -> None:
    sensor = FakeSensor()
    svc = service(ManualClock(), sensor)
    c = svc.issue()
    sensor.frames = performing(tuple(reversed(c.actions)))
    assert svc.check([], c.id).reasons == ("challenge_not_performed",)
    sensor.frames = performing(c.actions)
    assert svc.check([], c.id).reasons == ("challenge_unknown_or_used",)


def test_challenge_expires() -> None:
    clock, sensor = ManualClock(), FakeSensor()
    svc = service(clock, sensor)
    c = svc.issue()
    sensor.frames = performing(c.actions)
    clock.advance(seconds=31)
    assert svc.check([], c.id).reasons == ("challenge_expired",)


def test_unknown_challenge() -> None:
    assert service(ManualClock(), FakeSensor()).check([], "nope").reasons == ("challenge_unknown_or_used",)
