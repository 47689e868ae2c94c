"""A web purchase is audited with its room and the room tablet as actor (not a bare ``guest``)."""

from __future__ import annotations

import json

from tests.e2e.web_support import Venue, buy, enrol, identify, login, register, topup
from tests.fakes import fake_image


def test_room_purchase_records_room_and_room_actor(v: Venue) -> None:
    with v.client() as client:
        csrf = login(client)
        guest = register(client)
        enrol(client, guest, "alice")
        topup(client, csrf, guest["guest_id"], 10_000)
        token = identify(client, v, "r2", "alice")["guest_token"]
        r = buy(client, v, "r2", token, "beer-tsingtao", "audit-key-0001")
        assert r.status_code == 200 and r.json()["outcome"] == "charged", r.text

        rows = client.get("/api/staff/audit", params={"guest_id": guest["guest_id"], "action": "payment."}).json()
        charged = [row for row in rows if row["action"] == "payment.charged"]
        assert len(charged) == 1
        assert charged[0]["actor"] == "room:r2"
        assert json.loads(charged[0]["details"])["room_id"] == "r2"
        opened = client.get("/api/staff/audit", params={"guest_id": guest["guest_id"], "action": "visit.opened"})
        assert [row["actor"] for row in opened.json()] == ["room:r2"]


def test_room_confirmation_of_a_pending_request_records_the_room_actor(v: Venue) -> None:
    with v.client() as client:
        csrf = login(client)
        guest = register(client, "Tina", 5)
        enrol(client, guest, "tina")
        topup(client, csrf, guest["guest_id"])
        override = f"/api/staff/guests/{guest['guest_id']}/override"
        client.post(override, json={"action": "tag", "reason": "staff observed"}, headers=csrf)
        token = identify(client, v, "r1", "tina")["guest_token"]
        pending_id = buy(client, v, "r1", token, "whisky-chivas-12", "audit-high-01").json()["pending_id"]
        client.post(override, json={"action": "untag", "reason": "recovered"}, headers=csrf)
        done = client.post(
            f"/api/rooms/r1/pending/{pending_id}/confirm",
            data={"idempotency_key": "audit-conf-01"},
            files={"face": ("face.jpg", fake_image("tina", 3), "image/jpeg")},
            headers={**v.room("r1"), "X-Guest-Token": token},
        )
        assert done.json()["outcome"] == "charged", done.text
        rows = client.get("/api/staff/audit", params={"guest_id": guest["guest_id"], "action": "pending."}).json()
        assert [(row["action"], row["actor"]) for row in rows] == [("pending.confirmed", "room:r1")]
