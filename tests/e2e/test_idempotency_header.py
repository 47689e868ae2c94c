"""The standard ``Idempotency-Key`` header works like the body field (both given and different → 400),
and keys are kept at least 24 h: a retry a day later replays instead of charging again."""

from __future__ import annotations

from pathlib import Path

from soberpay.adapters.clock import ManualClock
from soberpay.config import Settings
from tests.e2e.web_support import GUEST_PASSWORD, enrol, identify, login, register, sqlite_container, venue


def test_idempotency_key_header(tmp_path: Path) -> None:
    clock = ManualClock()
    container = sqlite_container(Settings(data_dir=tmp_path / "var", env="test"), clock)
    v = venue(container)
    with v.client() as client:
        csrf = login(client)
        guest = register(client)
        enrol(client, guest, "alice")
        gid = guest["guest_id"]
        r = client.post(
            f"/api/staff/guests/{gid}/topup",
            json={"amount_fen": 50_000},
            headers={**csrf, "Idempotency-Key": "top-0001"},
        )
        assert r.status_code == 200, r.text
        again = client.post(
            f"/api/staff/guests/{gid}/topup",
            json={"amount_fen": 50_000, "idempotency_key": "top-0001"},
            headers={**csrf, "Idempotency-Key": "top-0001"},
        )
        assert again.json() == r.json()  # same key in both places: fine, and replayed
        clash = client.post(
            f"/api/staff/guests/{gid}/topup",
            json={"amount_fen": 50_000, "idempotency_key": "top-0002"},
            headers={**csrf, "Idempotency-Key": "top-0001"},
        )
        assert clash.status_code == 400 and clash.json()["field"] == "idempotency_key"
        missing = client.post(f"/api/staff/guests/{gid}/topup", json={"amount_fen": 50_000}, headers=csrf)
        assert missing.status_code == 400

        who = identify(client, v, "r1", "alice")
        buy = {"item_id": "beer-tsingtao", "password": GUEST_PASSWORD}  # every charge carries a fresh factor
        headers = {**v.room("r1"), "X-Guest-Token": who["guest_token"], "Idempotency-Key": "buy-0001"}
        first = client.post("/api/rooms/r1/purchases", data=buy, headers=headers)
        assert first.status_code == 200 and first.json()["outcome"] == "charged", first.text
        clock.advance(seconds=25 * 3600)  # a day later, the guest token renewed, the same retry
        who = identify(client, v, "r1", "alice")
        headers["X-Guest-Token"] = who["guest_token"]
        retry = client.post("/api/rooms/r1/purchases", data=buy, headers=headers)
        assert retry.status_code == 200 and retry.json()["replayed"] is True, retry.text
        assert retry.json()["order_id"] == first.json()["order_id"]
        both = client.post(
            "/api/rooms/r1/purchases",
            data={"item_id": "beer-tsingtao", "idempotency_key": "buy-0002", "password": GUEST_PASSWORD},
            headers=headers,
        )
        assert both.status_code == 400
    container.close()
