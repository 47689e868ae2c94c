"""Pay by face from a clip over HTTP: challenge issue, clip identification, still images refused.

The face mesh is replaced by a fake sensor over the fake "images" (strings): a clip whose frames are
all the same shot is a still photo (no motion); different shots are a live guest turning left.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from fastapi.testclient import TestClient

from soberpay.adapters.clock import ManualClock
from soberpay.adapters.vision.liveness_store import MemoryChallengeStore
from soberpay.bootstrap import Container
from soberpay.config import Settings
from soberpay.domain.liveness import ClipMeasurements, FrameSignals
from soberpay.services.liveness import LivenessService
from tests.e2e.test_api import tagged_guest
from tests.e2e.web_support import GUEST_PASSWORD, Venue, enrol, register, sqlite_container, venue
from tests.fakes import fake_image


class FakeSensor:
    def measure(self, frames: Sequence[Any]) -> ClipMeasurements:
        moving = len({f.payload for f in frames}) > 1
        signals = [FrameSignals(0.0, 0.3, 1.0)] * 3 + [FrameSignals(0.3 if moving else 0.0, 0.3, 1.0)] * 3
        return ClipMeasurements(len(frames), tuple(signals), 0.1, 0.2 if moving else 0.0, 1.7)


@pytest.fixture
def v(settings: Settings, clock: ManualClock) -> Iterator[Venue]:
    container: Container = sqlite_container(settings, clock)
    container.__dict__["liveness"] = LivenessService(
        sensor=FakeSensor(),
        challenges=MemoryChallengeStore(clock.now),
        clock=clock,
        settings=container.settings.liveness.model_copy(
            update={"challenge_actions": ["turn_left"], "challenge_length": 1}
        ),
        rng=random.Random(0),
    )
    yield venue(container)
    container.close()


def clip(person: str, shots: Sequence[int]) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("frames", (f"{i}.jpg", fake_image(person, s), "image/jpeg")) for i, s in enumerate(shots)]


def test_pay_by_face_from_a_clip_with_a_challenge(client: TestClient, v: Venue) -> None:
    guest = register(client, "Ada", 11)
    enrol(client, guest, "ada")
    r = client.post("/api/liveness/challenge", headers=v.room("r1"))
    assert r.status_code == 200, r.text
    challenge = r.json()
    assert challenge["actions"] == ["turn_left"]
    data = {"challenge_id": challenge["challenge_id"]}
    r = client.post("/api/rooms/r1/identify/clip", files=clip("ada", range(8)), data=data, headers=v.room("r1"))
    assert r.status_code == 200, r.text
    assert r.json()["guest_id"] == guest["guest_id"] and r.json()["guest_token"]
    # the same challenge cannot be used twice
    r = client.post("/api/rooms/r1/identify/clip", files=clip("ada", range(8)), data=data, headers=v.room("r1"))
    assert r.status_code == 401 and "challenge_unknown_or_used" in r.json()["message"]


def test_photo_replay_clip_is_refused(client: TestClient, v: Venue) -> None:
    guest = register(client, "Ada", 12)
    enrol(client, guest, "ada")
    r = client.post("/api/rooms/r1/identify/clip", files=clip("ada", [3] * 8), headers=v.room("r1"))
    assert r.status_code == 401, r.text
    assert "too_still" in r.json()["message"]


def test_still_image_identification_is_off_by_default(client: TestClient, v: Venue) -> None:
    v.app.state.web.container.settings.liveness.allow_still_face = False
    guest = register(client, "Ada", 13)
    enrol(client, guest, "ada")
    r = client.post(
        "/api/rooms/r1/identify/face", files={"file": ("f.jpg", fake_image("ada"), "image/jpeg")}, headers=v.room("r1")
    )
    assert r.status_code == 403, r.text


def test_clip_bounds_and_auth(client: TestClient, v: Venue) -> None:
    assert client.post("/api/liveness/challenge").status_code == 401
    too_many = clip("ada", range(61))
    r = client.post("/api/rooms/r1/identify/clip", files=too_many, headers=v.room("r1"))
    assert r.status_code == 400, r.text
    r = client.post("/api/rooms/r1/identify/clip", files=clip("ada", range(3)), headers=v.room("r2"))
    assert r.status_code == 403, r.text


def test_tagged_guest_purchase_face_factor_needs_a_live_clip_with_a_challenge(client: TestClient, v: Venue) -> None:
    _, _, token = tagged_guest(client, v)  # identified while still images were allowed
    v.app.state.web.container.settings.liveness.allow_still_face = False
    headers = {**v.room("r1"), "X-Guest-Token": token}
    form = {"item_id": "cola", "idempotency_key": "cola-live-1", "password": GUEST_PASSWORD}
    still = {"face": ("f.jpg", fake_image("tina"), "image/jpeg")}
    assert client.post("/api/rooms/r1/purchases", data=form, files=still, headers=headers).status_code == 403
    r = client.post("/api/rooms/r1/purchases", data=form, files=clip("tina", range(6)), headers=headers)
    assert r.status_code == 401 and "challenge" in r.json()["message"], r.text  # tagged: active layer required
    c = client.post("/api/liveness/challenge", headers=v.room("r1")).json()
    photo = client.post(
        "/api/rooms/r1/purchases",
        data={**form, "challenge_id": c["challenge_id"]},
        files=clip("tina", [2] * 6),
        headers=headers,
    )
    assert photo.status_code == 401 and "too_still" in photo.json()["message"], photo.text
    c = client.post("/api/liveness/challenge", headers=v.room("r1")).json()
    r = client.post(
        "/api/rooms/r1/purchases",
        data={**form, "challenge_id": c["challenge_id"]},
        files=clip("tina", range(6)),
        headers=headers,
    )
    assert r.status_code == 200 and r.json()["outcome"] == "charged", r.text
