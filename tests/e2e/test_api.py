"""The HTTP API end to end (FastAPI TestClient, SQLite, fake face analyser): every endpoint's happy path,
bad input that must give a clear 4xx and change nothing, staff auth + CSRF, and room-token scoping."""

from __future__ import annotations

from fastapi.testclient import TestClient

from soberpay.bootstrap import Container
from tests.e2e.web_support import (
    CASHIER,
    GUEST_PASSWORD,
    Venue,
    buy,
    enrol,
    identify,
    login,
    register,
    topup,
    venue,
)
from tests.fakes import fake_image


def assert_error(r, status: int, code: str | None = None) -> None:  # type: ignore[no-untyped-def]
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) >= {"error", "message"} and body["message"]
    if code is not None:
        assert body["error"] == code, body


def audit_count(v: Venue) -> int:
    from sqlalchemy import func, select

    from soberpay.adapters.db.identity_tables import AuditRow

    with v.app.state.web.container.session_factory() as session:
        return int(session.scalar(select(func.count()).select_from(AuditRow)) or 0)


def tagged_guest(client: TestClient, v: Venue) -> tuple[dict[str, str], dict, str]:  # type: ignore[type-arg]
    csrf = login(client)
    guest = register(client, "Tina", 5)
    enrol(client, guest, "tina")
    topup(client, csrf, guest["guest_id"])
    r = client.post(
        f"/api/staff/guests/{guest['guest_id']}/override",
        json={"action": "tag", "reason": "slurred speech, staff observed"},
        headers=csrf,
    )
    assert r.status_code == 200 and r.json()["state"] == "tagged", r.text
    token = identify(client, v, "r1", "tina")["guest_token"]
    return csrf, guest, token


# --- health, metrics, schema --------------------------------------------------------------------


def test_health_ready_metrics_and_openapi(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"]["database"] == "ok"
    metrics = client.get("/metrics")
    assert metrics.status_code == 200 and "soberpay_http_request_seconds" in metrics.text
    paths = client.get("/openapi.json").json()["paths"]
    assert "/api/rooms/{room_id}/purchases" in paths and "/api/guests" in paths


def test_metrics_show_where_a_face_decision_spends_its_time(client: TestClient, v: Venue) -> None:
    enrol(client, register(client, "Ada", 31), "ada")
    identify(client, v, "r1", "ada")
    text = client.get("/metrics").text
    for stage in ("search", "database"):  # the fake analyser reports no model stages; the real one does
        assert f'soberpay_decision_stage_seconds_count{{stage="{stage}"}}' in text, stage


def test_unknown_route_and_method_are_json_errors(client: TestClient) -> None:
    assert_error(client.get("/api/nope"), 404, "not_found")
    assert_error(client.put("/api/menu"), 405, "method_not_allowed")


# --- staff auth and CSRF --------------------------------------------------------------------------


def test_login_wrong_password_unknown_user_and_rate_limit(client: TestClient) -> None:
    assert_error(client.post("/api/auth/login", json={"username": "boss", "password": "nope-nope"}), 401, "auth_failed")
    assert_error(client.post("/api/auth/login", json={"username": "ghost", "password": "nope-nope"}), 401)
    assert_error(
        client.post("/api/auth/login", content=b"{not json", headers={"content-type": "application/json"}), 422
    )
    codes = [
        client.post("/api/auth/login", json={"username": "boss", "password": "wrong-again"}).status_code
        for _ in range(12)
    ]
    assert 429 in codes  # token bucket per IP + username
    assert client.get("/api/auth/me").status_code == 401


def test_staff_endpoints_need_a_session_and_csrf(client: TestClient) -> None:
    assert_error(client.get("/api/staff/alerts"), 401, "unauthenticated")
    csrf = login(client)
    assert client.get("/api/auth/me").json()["username"] == "boss"
    # State-changing request without the CSRF token: refused, nothing created.
    assert_error(client.post("/api/rooms", json={"room_id": "r9", "name": "Nine"}), 403, "csrf_failed")
    assert_error(client.post("/api/rooms", json={"room_id": "r9", "name": "Nine"}, headers={"X-CSRF-Token": "x"}), 403)
    assert [r["room_id"] for r in client.get("/api/rooms").json()] == ["r1", "r2"]
    r = client.post("/api/rooms", json={"room_id": "r9", "name": "Nine"}, headers=csrf)
    assert r.status_code == 201
    assert_error(client.post("/api/rooms", json={"room_id": "r9", "name": "Nine"}, headers=csrf), 409, "conflict")
    assert client.post("/api/auth/logout", headers=csrf).status_code == 204
    assert client.get("/api/rooms").status_code == 401


def test_cashier_cannot_do_manager_things(client: TestClient) -> None:
    csrf = login(client, CASHIER)
    assert_error(client.post("/api/rooms", json={"room_id": "r7", "name": "x"}, headers=csrf), 403, "forbidden")
    assert_error(client.post("/api/rooms/r1/tokens", headers=csrf), 403)
    assert_error(
        client.post(
            "/api/staff/accounts", json={"username": "x1y", "password": "12345678", "role": "manager"}, headers=csrf
        ),
        403,
    )
    assert client.get("/api/rooms").status_code == 200


def test_manager_creates_staff_and_device_tokens_and_revokes(client: TestClient, v: Venue) -> None:
    csrf = login(client)
    r = client.post(
        "/api/staff/accounts", json={"username": "newbie", "password": "long-enough", "role": "cashier"}, headers=csrf
    )
    assert r.status_code == 201
    assert_error(
        client.post(
            "/api/staff/accounts",
            json={"username": "newbie", "password": "long-enough", "role": "cashier"},
            headers=csrf,
        ),
        409,
    )
    assert_error(
        client.post(
            "/api/staff/accounts", json={"username": "ab", "password": "short", "role": "cashier"}, headers=csrf
        ),
        422,  # the schema states both limits, so the request is refused before the handler
    )
    tok = client.post("/api/rooms/r1/tokens", headers=csrf).json()
    assert tok["token"].startswith("sprt_")
    client.cookies.clear()
    bearer = {"Authorization": "Bearer " + tok["token"]}
    assert client.get("/api/rooms/r1/state", headers=bearer).status_code == 200
    csrf = login(client)
    assert client.delete(f"/api/rooms/r1/tokens/{tok['token_id']}", headers=csrf).status_code == 204
    client.cookies.clear()
    assert_error(client.get("/api/rooms/r1/state", headers=bearer), 401)


# --- guests: registration, consent, enrolment, quality, erase --------------------------------------


def test_register_grants_only_the_consents_ticked(client: TestClient) -> None:
    texts = client.get("/api/consents/texts").json()
    assert set(texts["purposes"]) == {"face_payment", "sobriety_monitoring", "behaviour_profiling"}
    g = register(client, consents=())
    assert g["consents"] == [] and g["templates"] == 0
    assert g["phone_masked"] == "138****0001" and "*" in g["national_id_masked"]
    h = {"X-Guest-Token": g["guest_token"]}
    r = client.post(f"/api/guests/{g['guest_id']}/consents", json={"purpose": "sobriety_monitoring"}, headers=h)
    assert [c["purpose"] for c in r.json()["consents"]] == ["sobriety_monitoring"]
    # Revoking is an account action: the kiosk token alone is not enough; a manager with a reason is.
    assert_error(client.delete(f"/api/guests/{g['guest_id']}/consents/sobriety_monitoring", headers=h), 401)
    csrf = login(client)
    r = client.request(
        "DELETE",
        f"/api/guests/{g['guest_id']}/consents/sobriety_monitoring",
        data={"reason": "guest asked at the desk"},
        headers=csrf,
    )
    assert r.json()["consents"][0]["revoked_at"] is not None
    assert_error(client.delete(f"/api/guests/{g['guest_id']}/consents/astrology", headers=csrf), 400)


# 422: the schema states the rule (pattern, length); 400: only the handler can tell (the ID's check digit).
BAD_REGISTRATIONS = [
    ({"name": "A", "phone": "12345", "national_id": "11010519491231002X", "password": "123456"}, 422),
    ({"name": "A", "phone": "13800000009", "national_id": "110105194912310021", "password": "123456"}, 400),
    ({"name": "A", "phone": "13800000009", "national_id": "11010519491231002X", "password": "12ab56"}, 422),
    ({"name": "", "phone": "13800000009", "national_id": "11010519491231002X", "password": "123456"}, 422),
    ({"name": "A", "phone": "13800000009", "national_id": "11010519491231002X", "password": "123456", "x": 1}, 422),
    (
        {
            "name": "A",
            "phone": "13800000009",
            "national_id": "11010519491231002X",
            "password": "123456",
            "consents": ["marketing"],
        },
        422,
    ),
    ({"name": "A"}, 422),
]


def test_register_bad_input_changes_nothing(client: TestClient, v: Venue) -> None:
    before = audit_count(v)
    for body, status in BAD_REGISTRATIONS:
        assert_error(client.post("/api/guests", json=body), status)
    assert audit_count(v) == before
    login(client)
    assert client.get("/api/staff/guests").json() == []


def test_register_malformed_json_and_duplicate_phone(client: TestClient) -> None:
    assert_error(client.post("/api/guests", content=b'{"name": ', headers={"content-type": "application/json"}), 422)
    first = register(client, seq=1)
    # A taken number is not revealed: the same 201-shaped answer, nothing stored, staff notified.
    r = client.post(
        "/api/guests",
        json={"name": "Bob", "phone": "+86 138-0000-0001", "national_id": "11010519491231002X", "password": "123456"},
    )
    assert r.status_code == 201 and set(r.json()) == set(first) and r.json()["guest_id"] != first["guest_id"]
    login(client)
    assert len(client.get("/api/staff/guests").json()) == 1
    alerts = client.get("/api/staff/alerts").json()
    assert any(a["kind"] == "registration_taken_phone" for a in alerts)


def test_enrol_checks_token_consent_and_images(client: TestClient) -> None:
    a = register(client, "Alice", 1)
    b = register(client, "Bob", 2, consents=())
    files = [("files", ("0.jpg", fake_image("alice", 0), "image/jpeg"))]
    assert_error(client.post(f"/api/guests/{a['guest_id']}/face", files=files), 401)
    # Bob's token cannot enrol (or read) Alice.
    hb = {"X-Guest-Token": b["guest_token"]}
    assert_error(client.post(f"/api/guests/{a['guest_id']}/face", files=files, headers=hb), 403, "forbidden")
    assert_error(client.get(f"/api/guests/{a['guest_id']}", headers=hb), 403)
    # Bob gave no face_payment consent.
    assert_error(client.post(f"/api/guests/{b['guest_id']}/face", files=files, headers=hb), 403, "consent_required")
    ha = {"X-Guest-Token": a["guest_token"]}
    corrupt = [("files", ("0.jpg", b"\x89PNG garbage", "image/jpeg")), *files]
    assert_error(client.post(f"/api/guests/{a['guest_id']}/face", files=corrupt, headers=ha), 400, "bad_image")
    assert_error(
        client.post(f"/api/guests/{a['guest_id']}/face", files=[("files", ("e.jpg", b"", "image/jpeg"))], headers=ha),
        400,
    )
    assert_error(
        client.post(
            f"/api/guests/{a['guest_id']}/face", files=[("files", ("n.jpg", b"noface", "image/jpeg"))], headers=ha
        ),
        422,
        "no_face",
    )
    assert client.get(f"/api/guests/{a['guest_id']}", headers=ha).json()["templates"] == 0
    enrol(client, a, "alice")
    assert client.get(f"/api/guests/{a['guest_id']}", headers=ha).json()["templates"] == 3
    # Bob cannot enrol a face already enrolled under Alice.
    c = register(client, "Carol", 3)
    hc = {"X-Guest-Token": c["guest_token"]}
    assert_error(client.post(f"/api/guests/{c['guest_id']}/face", files=files, headers=hc), 409, "conflict")


def test_enrol_from_video(client: TestClient) -> None:
    a = register(client, "Alice", 1)
    r = client.post(
        f"/api/guests/{a['guest_id']}/face/video",
        files={"file": ("v.avi", b"person=alice;shot=1|noface|person=alice;shot=2", "video/x-msvideo")},
        headers={"X-Guest-Token": a["guest_token"]},
    )
    assert r.status_code == 200, r.text
    assert r.json()["templates_stored"] == 2 and r.json()["rejected"] == {"no_face": 1}


def test_face_quality_feedback(client: TestClient) -> None:
    ok = client.post("/api/face/quality", files={"file": ("f.jpg", fake_image("x"), "image/jpeg")}).json()
    assert ok["ok"] is True and ok["reason"] == "ok"
    bad = client.post("/api/face/quality", files={"file": ("f.jpg", b"twofaces", "image/jpeg")}).json()
    assert bad["ok"] is False and bad["reason"] == "multiple_faces"
    assert_error(
        client.post("/api/face/quality", files={"file": ("f.jpg", b"\xff\xd8broken", "image/jpeg")}), 400, "bad_image"
    )
    assert_error(client.post("/api/face/quality"), 422)


def test_erase_by_a_manager_with_a_reason_and_not_by_a_cashier(client: TestClient) -> None:
    a = register(client, "Alice", 1)
    b = register(client, "Bob", 2)
    csrf = login(client, CASHIER)
    assert_error(client.request("DELETE", f"/api/guests/{b['guest_id']}", data={"reason": "asked"}, headers=csrf), 403)
    client.cookies.clear()
    csrf = login(client)
    assert_error(client.delete(f"/api/guests/{a['guest_id']}", headers=csrf), 400)  # no reason
    r = client.request("DELETE", f"/api/guests/{a['guest_id']}", data={"reason": "guest asked"}, headers=csrf)
    assert r.status_code == 204
    assert_error(client.get(f"/api/guests/{a['guest_id']}", headers=csrf), 404, "not_found")


# --- purchases -----------------------------------------------------------------------------------


def test_identify_and_pay_with_idempotency(client: TestClient, v: Venue) -> None:
    csrf = login(client)
    g = register(client)
    enrol(client, g, "alice")
    topup(client, csrf, g["guest_id"], 10_000)
    client.cookies.clear()
    menu = client.get("/api/menu").json()
    assert any(m["id"] == "beer-tsingtao" and not m["high_price"] for m in menu)
    who = identify(client, v, "r1", "alice")
    assert who["guest_id"] == g["guest_id"] and who["risk_state"] == "normal"
    r = buy(client, v, "r1", who["guest_token"], "beer-tsingtao", "key-0000001", quantity=2)
    assert r.status_code == 200 and r.json()["outcome"] == "charged" and r.json()["balance_fen"] == 10_000 - 3600
    again = buy(client, v, "r1", who["guest_token"], "beer-tsingtao", "key-0000001", quantity=2).json()
    assert again["replayed"] is True and again["balance_fen"] == 10_000 - 3600
    assert_error(buy(client, v, "r1", who["guest_token"], "cola", "key-0000001"), 409, "conflict")
    # Bad input: unknown item, bad quantity, short key, no guest token, corrupt face: 4xx, no charge.
    assert_error(buy(client, v, "r1", who["guest_token"], "caviar", "key-0000002"), 404)
    assert buy(client, v, "r1", who["guest_token"], "cola", "key-0000003", quantity=0).status_code == 422
    assert buy(client, v, "r1", who["guest_token"], "cola", "short").status_code == 422
    assert_error(buy(client, v, "r1", "", "cola", "key-0000004"), 401)
    assert_error(buy(client, v, "r1", "forged.token.x", "cola", "key-0000005"), 401)
    assert_error(buy(client, v, "r1", who["guest_token"], "cola", "key-0000006", face=b"garbage"), 400, "bad_image")
    me = client.get("/api/rooms/r1/me", headers={**v.room("r1"), "X-Guest-Token": who["guest_token"]}).json()
    assert me["state"] == "normal"
    csrf = login(client)
    bill = client.get(f"/api/staff/guests/{g['guest_id']}/bill").json()
    assert bill["total_fen"] == 3600 and len(bill["lines"]) == 1 and bill["balance_fen"] == 6400
    books = client.get("/api/staff/ledger", params={"guest_id": g["guest_id"]}).json()
    assert books["trial_balance"] == 0 and books["guest_balances"][g["guest_id"]] == 6400
    assert len(books["postings"]) == 2  # top-up + purchase (the replay charged nothing)
    assert_error(client.get("/api/staff/ledger", params={"guest_id": "nobody"}), 404)


def test_identify_unknown_face_corrupt_image_and_phone(client: TestClient, v: Venue) -> None:
    g = register(client)
    enrol(client, g, "alice")
    room = v.room("r1")
    assert_error(
        client.post(
            "/api/rooms/r1/identify/face", files={"file": ("f.jpg", fake_image("mallory"), "image/jpeg")}, headers=room
        ),
        401,
        "auth_failed",
    )
    assert_error(
        client.post("/api/rooms/r1/identify/face", files={"file": ("f.jpg", b"\x00\x01", "image/jpeg")}, headers=room),
        400,
        "bad_image",
    )
    assert_error(
        client.post("/api/rooms/r1/identify/face", files={"file": ("f.jpg", fake_image("alice"), "image/jpeg")}), 401
    )
    r = client.post("/api/rooms/r1/identify/phone", json={"phone": "13800000001", "password": "000000"}, headers=room)
    assert_error(r, 401, "auth_failed")
    r = client.post(
        "/api/rooms/r1/identify/phone", json={"phone": "13999999999", "password": GUEST_PASSWORD}, headers=room
    )
    assert_error(r, 401, "auth_failed")  # unknown phone looks like a wrong password
    r = client.post(
        "/api/rooms/r1/identify/phone", json={"phone": "13800000001", "password": GUEST_PASSWORD}, headers=room
    )
    assert r.status_code == 200 and r.json()["guest_id"] == g["guest_id"]


def test_dual_verification_wrong_then_right_password(client: TestClient, v: Venue) -> None:
    _, guest, token = tagged_guest(client, v)
    face = fake_image("tina", 11)
    r = buy(client, v, "r1", token, "lemon-tea-jug", "dual-0000001").json()  # password only
    assert r["outcome"] == "verification_required" and set(r["requires"]) == {"face"}
    r = buy(client, v, "r1", token, "lemon-tea-jug", "dual-0000001", face=face, password="999999").json()
    assert r["outcome"] == "password_rejected" and r["charged_fen"] == 0
    r = buy(
        client, v, "r1", token, "lemon-tea-jug", "dual-0000001", face=fake_image("mallory"), password=GUEST_PASSWORD
    ).json()
    assert r["outcome"] == "face_rejected"
    r = buy(client, v, "r1", token, "lemon-tea-jug", "dual-0000001", face=face, password=GUEST_PASSWORD).json()
    assert r["outcome"] == "charged" and r["rule"] == "dual_verified"


def test_locked_high_price_item_is_suspended_then_confirmed_after_recovery(client: TestClient, v: Venue) -> None:
    csrf, guest, token = tagged_guest(client, v)
    gh = {**v.room("r1"), "X-Guest-Token": token}
    r = buy(client, v, "r1", token, "whisky-chivas-12", "high-0000001").json()
    assert r["outcome"] == "suspended" and r["charged_fen"] == 0 and r["pending_id"]
    pending = client.get("/api/rooms/r1/pending", headers=gh).json()
    assert [p["id"] for p in pending] == [r["pending_id"]]
    assert [p["id"] for p in client.get("/api/staff/suspended").json()] == [r["pending_id"]]
    face = ("face.jpg", fake_image("tina", 3), "image/jpeg")
    still = client.post(
        f"/api/rooms/r1/pending/{r['pending_id']}/confirm",
        data={"idempotency_key": "conf-0000001"},
        files={"face": face},
        headers=gh,
    ).json()
    assert still["outcome"] == "refused" and still["rule"] == "still_tagged"
    # Staff override needs a reason; then the guest is back to normal and confirms.
    assert_error(
        client.post(
            f"/api/staff/guests/{guest['guest_id']}/override", json={"action": "untag", "reason": ""}, headers=csrf
        ),
        422,
    )
    ok = client.post(
        f"/api/staff/guests/{guest['guest_id']}/override",
        json={"action": "untag", "reason": "walked the line fine"},
        headers=csrf,
    )
    assert ok.json()["state"] == "normal"
    done = client.post(
        f"/api/rooms/r1/pending/{r['pending_id']}/confirm",
        data={"idempotency_key": "conf-0000002"},
        files={"face": face},
        headers=gh,
    ).json()
    assert done["outcome"] == "charged" and done["charged_fen"] == 68800
    assert client.get("/api/rooms/r1/pending", headers=gh).json() == []
    audit = client.get("/api/staff/audit", params={"q": "walked the line"}).json()
    assert audit and audit[0]["action"] == "staff.untag"


def test_discard_pending_and_checkout_bill(client: TestClient, v: Venue) -> None:
    csrf, guest, token = tagged_guest(client, v)
    gh = {**v.room("r1"), "X-Guest-Token": token}
    pid = buy(client, v, "r1", token, "room-vip-1h", "high-0000002").json()["pending_id"]
    assert_error(client.post("/api/rooms/r1/pending/nope/discard", headers=gh), 404)
    d = client.post(f"/api/rooms/r1/pending/{pid}/discard", headers=gh)
    assert d.status_code == 200 and d.json()["status"] == "discarded"
    co = client.post(f"/api/staff/guests/{guest['guest_id']}/checkout", headers=csrf)
    assert co.status_code == 200 and co.json()["closed"] is True
    assert_error(client.post(f"/api/staff/guests/{guest['guest_id']}/checkout", headers=csrf), 404)


def test_staff_views_alerts_sse_timeline_plot(client: TestClient, v: Venue) -> None:
    csrf, guest, token = tagged_guest(client, v)
    buy(client, v, "r1", token, "whisky-jw-red", "high-0000003")
    alerts = client.get("/api/staff/alerts").json()
    suspended = next(a for a in alerts if a["kind"] == "suspended")
    assert suspended["acknowledged"] is False
    assert client.post(f"/api/staff/alerts/{suspended['id']}/ack", headers=csrf).status_code == 204
    assert next(a for a in client.get("/api/staff/alerts").json() if a["id"] == suspended["id"])["acknowledged"]
    assert_error(client.post("/api/staff/alerts/999999/ack", headers=csrf), 404)
    with client.stream("GET", "/api/staff/alerts/stream", params={"max_seconds": 0}) as s:
        text = "".join(s.iter_text())
    assert "event: alert" in text and "suspended" in text
    tl = client.get(f"/api/staff/guests/{guest['guest_id']}/timeline").json()
    assert tl["risk"]["state"] == "tagged" and any(e["action"] == "staff.tag" for e in tl["events"])
    png = client.get(f"/api/staff/guests/{guest['guest_id']}/sobriety.png")
    assert png.status_code == 200 and png.headers["content-type"] == "image/png" and png.content[:4] == b"\x89PNG"
    guests = client.get("/api/staff/guests").json()
    assert guests[0]["state"] == "tagged"
    assert_error(client.get("/api/staff/guests/unknown/risk"), 404)
    assert_error(
        client.post("/api/staff/guests/unknown/override", json={"action": "tag", "reason": "because"}, headers=csrf),
        404,
    )
    assert_error(
        client.post(
            f"/api/staff/guests/{guest['guest_id']}/override",
            json={"action": "explode", "reason": "because"},
            headers=csrf,
        ),
        422,
    )


def test_purchase_flow_on_every_database(fake_container: Container) -> None:
    """The main money path on SQLite and (under the postgres marker) PostgreSQL."""
    v = venue(fake_container)
    with v.client() as client:
        csrf = login(client)
        g = register(client)
        enrol(client, g, "alice")
        topup(client, csrf, g["guest_id"], 5_000)
        who = identify(client, v, "r1", "alice")
        r = buy(client, v, "r1", who["guest_token"], "cola", "pg-00000001").json()
        assert r["outcome"] == "charged" and r["balance_fen"] == 4_000
        assert buy(client, v, "r1", who["guest_token"], "cola", "pg-00000001").json()["replayed"] is True
        assert client.get(f"/api/staff/guests/{g['guest_id']}/bill").json()["total_fen"] == 1_000


# --- room token scoping ---------------------------------------------------------------------------


def test_room_token_cannot_read_another_room_or_guest(client: TestClient, v: Venue) -> None:
    a = register(client, "Alice", 1)
    enrol(client, a, "alice")
    b = register(client, "Bob", 2)
    enrol(client, b, "bob")
    r1 = v.room("r1")
    assert client.get("/api/rooms/r1/state", headers=r1).json()["present"] is None  # no guest ids for devices
    assert_error(client.get("/api/rooms/r2/state", headers=r1), 403, "forbidden")
    assert_error(
        client.post(
            "/api/rooms/r2/identify/face", files={"file": ("f.jpg", fake_image("alice"), "image/jpeg")}, headers=r1
        ),
        403,
    )
    tok_a = identify(client, v, "r1", "alice")["guest_token"]
    # A guest token from room 1 is refused in room 2, even with room 2's own device token.
    assert_error(client.get("/api/rooms/r2/me", headers={**v.room("r2"), "X-Guest-Token": tok_a}), 403)
    assert_error(buy(client, v, "r2", tok_a, "cola", "scope-000001"), 403)
    # A room token alone reads no guest data, no staff data and no guest record.
    assert_error(client.get("/api/rooms/r1/me", headers=r1), 401)
    assert_error(client.get("/api/rooms/r1/pending", headers=r1), 401)
    assert_error(client.get("/api/staff/guests", headers=r1), 401)
    assert_error(client.get("/api/rooms", headers=r1), 401)
    assert_error(client.get(f"/api/guests/{b['guest_id']}", headers=r1), 401)
    # Alice's room token cannot read Bob's record.
    assert_error(client.get(f"/api/guests/{b['guest_id']}", headers={"X-Guest-Token": tok_a}), 403)
    assert_error(client.get("/api/rooms/r1/state", headers={"Authorization": "Bearer sprt_forged"}), 401)


# --- pages ----------------------------------------------------------------------------------------


def test_pages_render_and_room_pairing(client: TestClient, v: Venue) -> None:
    for path in ("/", "/kiosk", "/staff/login"):
        r = client.get(path)
        assert r.status_code == 200 and "<html" in r.text
    client.cookies.set("sp_lang", "zh")
    assert "同意" in client.get("/kiosk").text
    client.cookies.delete("sp_lang")
    assert client.get("/staff", follow_redirects=False).status_code == 303
    assert client.get("/nope-page").status_code == 404
    pair = client.get("/room/r1")
    assert 'action="/room/r1/pair"' in pair.text
    wrong = client.post("/room/r1/pair", data={"token": v.tokens["r2"]}, follow_redirects=False)
    assert wrong.status_code == 403  # r2's token does not pair r1
    ok = client.post("/room/r1/pair", data={"token": v.tokens["r1"]}, follow_redirects=False)
    assert ok.status_code == 303 and "sp_room" in ok.cookies
    page = client.get("/room/r1")
    assert 'data-room="r1"' in page.text and "beer-tsingtao" in page.text
    # The room cookie is a room principal too: CSRF applies to its state-changing calls.
    assert_error(
        client.post("/api/rooms/r1/identify/phone", json={"phone": "13800000001", "password": "123456"}),
        403,
        "csrf_failed",
    )
    assert client.get("/api/rooms/r1/state").status_code == 200
    assert_error(client.get("/api/rooms/r2/state"), 403)  # the r1 cookie means nothing for r2
    login(client)
    assert client.get("/staff").status_code == 200 and client.get("/staff/audit?q=room").status_code == 200
    assert client.get("/lang/zh?next=/kiosk", follow_redirects=False).headers["location"] == "/kiosk"
    assert client.get("/lang/en?next=//evil.example", follow_redirects=False).headers["location"] == "/"


def test_room_thermal_camera_setting_and_face_state_on_the_guest_page(client: TestClient, v: Venue) -> None:
    from soberpay.domain.thermal import ViewScore, assess

    csrf = login(client)
    r = client.post(
        "/api/rooms", json={"room_id": "r7", "name": "Seven", "thermal_camera_source": "rtsp://cam/ir"}, headers=csrf
    )
    assert r.status_code == 201 and r.json()["thermal_camera_source"] == "rtsp://cam/ir"
    rooms = {x["room_id"]: x for x in client.get("/api/rooms").json()}
    assert rooms["r7"]["thermal_camera_source"] == "rtsp://cam/ir" and rooms["r1"]["thermal_camera_source"] is None
    guest = register(client, "Tom", 7, consents=("face_payment", "sobriety_monitoring"))
    page = client.get(f"/staff/guests/{guest['guest_id']}")
    assert page.status_code == 200 and "thermal-face-state" not in page.text  # no thermal camera: nothing shown
    sobriety = v.app.state.web.container.sobriety
    sobriety.record_thermal(guest["guest_id"], assess((ViewScore("f", 2.5),), 0.35, 0.65), "r7")
    page = client.get(f"/staff/guests/{guest['guest_id']}")
    assert 'id="thermal-face-state"' in page.text and "abnormal" in page.text
    assert "severe" in page.text and "whole face (front)" in page.text  # degree and type of the anomaly
