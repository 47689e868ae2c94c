"""Guest self-service at the kiosk (issue 13): phone + password finds the account and shows its consents;
revoking one or erasing needs the payment password AND a live face capture every time. Each test fails
when its protection is removed (see docs/identity.md, "Self-service at the kiosk")."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.e2e.web_support import GUEST_PASSWORD, Venue, enrol, register
from tests.fakes import fake_image

ALICE_PHONE = "13800000001"


def _find(client: TestClient, password: str = GUEST_PASSWORD) -> Any:
    return client.post("/api/guests/self-service", json={"phone": "+86 138-0000-0001", "password": password})


def _alice(client: TestClient) -> tuple[str, dict[str, str]]:
    alice = register(client, "Alice", 1, consents=("face_payment", "sobriety_monitoring"))
    enrol(client, alice, "alice")
    r = _find(client)
    assert r.status_code == 200, r.text
    return alice["guest_id"], {"X-Guest-Token": r.json()["guest_token"]}


def _face(person: str, shots: tuple[int, ...]) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("face", (f"{k}.jpg", fake_image(person, s), "image/jpeg")) for k, s in enumerate(shots)]


def _active(client: TestClient, gid: str, h: dict[str, str]) -> list[str]:
    return [c["purpose"] for c in client.get(f"/api/guests/{gid}", headers=h).json()["consents"] if not c["revoked_at"]]


def test_phone_and_password_find_the_account_and_the_token_only_reads_it(client: TestClient, v: Venue) -> None:
    gid, h = _alice(client)
    r = client.get(f"/api/guests/{gid}", headers=h)
    assert r.status_code == 200 and r.json()["name"] == "Alice", r.text
    assert _active(client, gid, h) == ["face_payment", "sobriety_monitoring"]
    # A wrong password and an unknown number get one answer.
    wrong, unknown = (
        _find(client, "000000"),
        client.post("/api/guests/self-service", json={"phone": "13900000009", "password": GUEST_PASSWORD}),
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["message"] == unknown.json()["message"]
    # The self-service token changes nothing by itself: no consent, no face, no purchase, no room.
    r = client.post(f"/api/guests/{gid}/consents", json={"purpose": "behaviour_profiling"}, headers=h)
    assert r.status_code == 403, r.text
    r = client.post(f"/api/guests/{gid}/faces", files=_face("alice", (40, 41)), headers=h)
    assert r.status_code == 401, r.text
    r = client.get("/api/rooms/r1/me", headers={**h, **v.room("r1")})
    assert r.status_code == 403, r.text
    # It may fetch a liveness challenge for the capture; nobody else without a device token may.
    assert client.post("/api/liveness/challenge", headers=h).status_code == 200
    assert client.post("/api/liveness/challenge").status_code == 401
    kiosk = {"X-Guest-Token": register(client, "Bob", 2)["guest_token"]}
    assert client.post("/api/liveness/challenge", headers=kiosk).status_code == 401


def test_self_service_cannot_act_without_the_password_or_with_a_still_photo(client: TestClient) -> None:
    gid, h = _alice(client)
    url = f"/api/guests/{gid}/consents/sobriety_monitoring"
    live = _face("alice", (30, 31, 32))
    # No password: the token and a live face are not enough.
    assert client.request("DELETE", url, files=live, headers=h).status_code == 401
    assert client.request("DELETE", f"/api/guests/{gid}", files=live, headers=h).status_code == 401
    # A wrong password with a live face.
    r = client.request("DELETE", url, data={"password": "135799"}, files=live, headers=h)
    assert r.status_code == 401, r.text
    # The right password without a face, with one photo, with one photo sent three times.
    assert client.request("DELETE", url, data={"password": GUEST_PASSWORD}, headers=h).status_code == 400
    for still in (_face("alice", (5,)), _face("alice", (5, 5, 5))):
        r = client.request("DELETE", url, data={"password": GUEST_PASSWORD}, files=still, headers=h)
        assert r.status_code == 403 and r.json()["reason"] == "not_live", r.text
        r = client.request("DELETE", f"/api/guests/{gid}", data={"password": GUEST_PASSWORD}, files=still, headers=h)
        assert r.status_code == 403 and r.json()["reason"] == "not_live", r.text
    # Someone else's live face with the right password.
    r = client.request("DELETE", url, data={"password": GUEST_PASSWORD}, files=_face("mallory", (1, 2)), headers=h)
    assert r.status_code == 403 and r.json()["reason"] == "face_mismatch", r.text
    assert _active(client, gid, h) == ["face_payment", "sobriety_monitoring"]  # nothing changed
    # The guest's own proof: revoke one consent, then erase.
    r = client.request("DELETE", url, data={"password": GUEST_PASSWORD}, files=live, headers=h)
    assert r.status_code == 200, r.text
    assert _active(client, gid, h) == ["face_payment"]
    r = client.request("DELETE", f"/api/guests/{gid}", data={"password": GUEST_PASSWORD}, files=live, headers=h)
    assert r.status_code == 204, r.text
    assert _find(client).status_code == 401  # the account is gone


def test_guessing_the_password_at_the_kiosk_locks_the_account(client: TestClient) -> None:
    gid, h = _alice(client)
    statuses = [_find(client, f"{i:06d}").status_code for i in range(6)]
    assert statuses[:4] == [401] * 4 and statuses[4:] == [423] * 2, statuses
    assert _find(client).status_code == 423  # the right password too, while locked
    # The lockout is the guest's one lockout: the account actions are refused as well.
    r = client.request(
        "DELETE", f"/api/guests/{gid}", data={"password": GUEST_PASSWORD}, files=_face("alice", (1, 2)), headers=h
    )
    assert r.status_code == 423, r.text
