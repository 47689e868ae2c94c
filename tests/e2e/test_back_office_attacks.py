"""Attacks on the back office and on monitoring from outside the money path (issue 16's second look)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from soberpay.adapters.clock import ManualClock
from soberpay.config import Settings
from tests.e2e.web_support import CASHIER, Venue, login, register, sqlite_container, topup, venue


@pytest.fixture
def v(tmp_path: Path) -> Venue:
    return venue(sqlite_container(Settings(data_dir=tmp_path / "var", env="test"), ManualClock()))


@pytest.mark.parametrize(
    "params",
    [
        {"day": "9999-12-31"},  # the next day overflows
        {"day": "0001-01-01"},
        {"start": "0001-01-01T00:00:00+14:00", "end": "0001-01-02T00:00:00"},  # UTC is before year 1
        {"start": "9999-12-31T23:00:00-14:00", "end": "9999-12-31T23:59:00-14:00"},  # UTC is after 9999
        {"start": "2016-01-01T00:00:00", "end": "2026-01-01T00:00:00"},  # ten years
    ],
)
def test_report_ranges_out_of_bounds_are_a_clear_400(v: Venue, params: dict[str, str]) -> None:
    with v.client() as client, TestClient(v.app, raise_server_exceptions=False) as till:
        login(client)
        for url in ("/api/admin/report", "/api/admin/report.csv", "/staff/admin/reports"):
            r = client.get(url, params=params)
            assert r.status_code == 400, (url, r.status_code, r.text)
            assert r.json()["error"] == "invalid_input"
        # a cashier is refused before the report is computed (no 500, no work)
        login(till, CASHIER)
        assert till.get("/staff/admin/reports", params=params).status_code == 403
    year = {"start": "2025-01-01T00:00:00", "end": "2026-01-01T00:00:00"}
    with v.client() as client:
        login(client)
        assert client.get("/api/admin/report", params=year).status_code == 200  # a year's report still works


def test_invented_http_methods_add_no_metric_series(v: Venue) -> None:
    with v.client() as client:
        for i in range(20):
            assert client.request(f"X{i}", "/healthz").status_code == 405
            assert client.request(f"X{i}", f"/no/such/{i}").status_code == 404
        scrape = client.get("/metrics").text
    requests = [line for line in scrape.splitlines() if line.startswith("soberpay_http_request_seconds_count")]
    assert not [line for line in requests if 'method="X' in line]
    assert any('method="other",route="/healthz",status="405"' in line for line in requests)
    assert len(requests) <= 4  # other+405, other+404 (unmatched), GET /metrics has no count yet


def test_camera_passwords_reach_neither_cashiers_nor_the_audit_log(v: Venue) -> None:
    secret = "rtsp://viewer:S3cret-pw@192.168.1.64:554/user=admin_password=S3cret-pw_channel=1?password=S3cret-pw"
    with v.client() as client, TestClient(v.app) as till:
        csrf = login(client)
        body = {"name": "Room One", "camera_source": secret, "thermal_camera_source": secret}
        assert client.put("/api/admin/rooms/r1", json=body, headers=csrf).status_code == 200
        assert client.get("/api/admin/rooms").json()[0]["camera_source"] == secret  # the manager edits it
        assert next(r for r in client.get("/api/rooms").json() if r["room_id"] == "r1")["camera_source"] == secret
        login(till, CASHIER)
        rooms = till.get("/api/rooms")
        assert rooms.status_code == 200 and "S3cret" not in rooms.text
        r1 = next(r for r in rooms.json() if r["room_id"] == "r1")
        assert r1["camera_source"] == r1["thermal_camera_source"] == "rtsp://192.168.1.64:554/…"
        audit = till.get("/api/staff/audit", params={"action": "room."})
        assert audit.status_code == 200 and "room.changed" in audit.text and "S3cret" not in audit.text
        for url in ("/staff", "/api/staff/rooms/overview", "/metrics"):
            assert "S3cret" not in till.get(url).text, url


# --- who may write: the existing route-table test covers cashiers and room devices -----------------

WRITES = [
    ("POST", "/api/admin/menu", {"sku": "x1", "name_en": "X", "category": "drink", "price_fen": 1, "alcohol": False}),
    ("PUT", "/api/admin/menu/cola", {"name_en": "pwned", "category": "drink", "price_fen": 1, "alcohol": False}),
    ("PATCH", "/api/admin/staff/2", {"role": "manager"}),
    ("POST", "/api/admin/staff/1/password", {"password": "attacker-pass-1"}),
    ("PUT", "/api/admin/rooms/r1", {"name": "pwned"}),
]


def _untouched(client: TestClient) -> None:
    assert "pwned" not in client.get("/api/admin/menu").text + client.get("/api/admin/rooms").text
    assert {a["username"]: a["role"] for a in client.get("/api/admin/staff").json()}["till"] == "cashier"


def test_admin_writes_need_the_csrf_token_and_refuse_guest_tokens(v: Venue) -> None:
    with v.client() as client:
        csrf = login(client)
        staff = {a["username"]: a["id"] for a in client.get("/api/admin/staff").json()}
        assert staff == {"boss": 1, "till": 2}  # the ids WRITES names
        g = client.post(
            "/api/guests",
            json={"name": "Eve", "phone": "13800009999", "national_id": "11010519491231002X", "password": "pw-123456",
                  "consents": ["face_payment"]},
        )
        guest_token = g.json().get("guest_token", "x") if g.status_code == 201 else "x"
        for method, url, body in WRITES:
            for headers in ({}, {"X-CSRF-Token": "wrong"}):
                r = client.request(method, url, json=body, headers=headers)
                assert r.status_code == 403 and r.json()["error"] == "csrf_failed", (method, url, r.text)
            with TestClient(v.app) as stranger:
                r = stranger.request(method, url, json=body, headers={"X-Guest-Token": guest_token})
                assert r.status_code == 401, (method, url, r.text)
        _untouched(client)
        assert client.get("/api/auth/me", headers=csrf).status_code == 200  # the manager is still signed in


def test_a_disabled_or_demoted_manager_keeps_no_manager_power(v: Venue) -> None:
    with v.client() as boss, TestClient(v.app) as other:
        csrf = login(boss)
        v.app.state.web.auth.create_staff("deputy", "deputy-pass-1", "manager")
        deputy = login(other, ("deputy", "deputy-pass-1"))
        deputy_id = next(a["id"] for a in boss.get("/api/admin/staff").json() if a["username"] == "deputy")
        assert boss.patch(f"/api/admin/staff/{deputy_id}", json={"role": "cashier"}, headers=csrf).status_code == 200
        for method, url, body in WRITES:  # the open session now has a cashier's rights
            assert other.request(method, url, json=body, headers=deputy).status_code == 403, (method, url)
        assert other.get("/staff/admin/staff").status_code == 403
        body = {"role": "manager", "disabled": None}
        assert boss.patch(f"/api/admin/staff/{deputy_id}", json=body, headers=csrf).status_code == 200
        assert other.get("/api/admin/staff").status_code == 200  # promoted again: the same session
        assert boss.patch(f"/api/admin/staff/{deputy_id}", json={"disabled": True}, headers=csrf).status_code == 200
        for method, url, body in WRITES:
            assert other.request(method, url, json=body, headers=deputy).status_code == 401, (method, url)
        assert other.get("/staff/admin/reports", follow_redirects=False).status_code == 303
        _untouched(boss)


@pytest.mark.parametrize(
    "change",
    [
        {"price_fen": 0},
        {"price_fen": -100},
        {"price_fen": 10**9 + 1},
        {"price_fen": 12.5},
        {"price_fen": "1e3"},
        {"price_fen": True},
        {"name_en": "x" * 81},
        {"name_en": "   "},
        {"name_zh": "酒" * 81},
        {"category": "weapons"},
        {"abv_percent": 101},
        {"volume_ml": -1},
        {"extra": 1},
    ],
)
def test_bad_menu_input_is_a_clear_error_and_changes_nothing(v: Venue, change: dict[str, Any]) -> None:
    with v.client() as client:
        csrf = login(client)
        before = client.get("/api/admin/menu").json()
        cola = next(i for i in before if i["sku"] == "cola")
        body = {k: cola[k] for k in cola if k != "sku"} | change
        r = client.put("/api/admin/menu/cola", json=body, headers=csrf)
        assert r.status_code in (400, 422) and r.json()["error"] == "invalid_input", r.text
        assert client.get("/api/admin/menu").json() == before


XSS = '</script><img src=x onerror=alert(2)>"\'&'  # fits a room name (64)


def test_html_in_menu_and_room_names_is_text_everywhere_it_is_shown(v: Venue) -> None:
    container = v.app.state.web.container
    with v.client() as client:
        csrf = login(client)
        cola = next(i for i in client.get("/api/admin/menu").json() if i["sku"] == "cola")
        body = {k: cola[k] for k in cola if k != "sku"} | {"name_en": XSS, "name_zh": XSS}
        assert client.put("/api/admin/menu/cola", json=body, headers=csrf).status_code == 200
        room = {"name": XSS, "name_zh": XSS, "camera_source": 'rtsp://h/"><script>alert(3)</script>'}
        assert client.put("/api/admin/rooms/r1", json=room, headers=csrf).status_code == 200
        g = register(client, "Ann", 1)
        topup(client, csrf, g["guest_id"])
        assert client.post(f"/api/staff/guests/{g['guest_id']}/checkin", json={"room_id": "r1"}, headers=csrf)
        order = container.payments.purchase(g["guest_id"], "cola", 1, "xss-1-key", actor="staff:boss")
        pages = ["/staff/admin/menu", "/staff/admin/rooms", "/staff/admin/reports", "/staff", "/", "/room/r1",
                 f"/staff/guests/{g['guest_id']}", f"/staff/guests/{g['guest_id']}/receipt",
                 f"/staff/deliveries/{order.order_id}/ticket", "/staff/deliveries"]
        for lang in ("en", "zh-CN"):
            for url in pages:
                r = client.get(url, headers={"Accept-Language": lang})
                assert r.status_code == 200, (url, r.status_code)
                assert "<img src=x" not in r.text and "<script>alert" not in r.text, url
            # the room tablet (a paired device) carries the menu as JSON inside a <script> element
            tablet = client.get("/room/r1", headers={**v.room("r1"), "Accept-Language": lang})
            assert tablet.status_code == 200 and 'id="menu-data"' in tablet.text
            assert "<img src=x" not in tablet.text
            data = tablet.text.split('<script id="menu-data" type="application/json">', 1)[1].split("</script>", 1)[0]
            assert next(m for m in json.loads(data) if m["id"] == "cola")["name"] == XSS  # the tablet shows it as text
        csv_text = client.get("/api/admin/report.csv").content.decode("utf-8-sig")
        assert "<script>" in csv_text or XSS not in csv_text  # CSV is data (text/csv, attachment), not HTML
        assert client.get("/api/admin/report.csv").headers["content-disposition"].startswith("attachment")


def test_a_price_change_reaches_a_second_process_at_its_next_charge(v: Venue, tmp_path: Path) -> None:
    from soberpay.bootstrap import Container
    from tests.fakes import FakeAnalyser, FakePresence

    first = v.app.state.web.container
    second = Container(first.settings, clock=first.clock, analyser=FakeAnalyser(), presence=FakePresence())
    second.open(migrate=False)
    try:
        with v.client() as client:
            csrf = login(client)
            g = register(client, "Ann", 1)
            topup(client, csrf, g["guest_id"])
            charge = second.payments.purchase
            assert charge(g["guest_id"], "cola", 1, "p2-old-key", actor="staff:boss").charged_fen == 1000
            cola = next(i for i in client.get("/api/admin/menu").json() if i["sku"] == "cola")
            body = {k: cola[k] for k in cola if k != "sku"} | {"price_fen": 1234}
            assert client.put("/api/admin/menu/cola", json=body, headers=csrf).status_code == 200
            assert charge(g["guest_id"], "cola", 1, "p2-new-key", actor="staff:boss").charged_fen == 1234
    finally:
        second.close()


@pytest.mark.parametrize("name", ["=1+2", "+1+2", "-1+2", "@SUM(A1)", " =cmd|' /C calc'!A0", "\t=1", "\r\n=1"])
def test_no_room_name_reaches_the_csv_as_a_formula(v: Venue, name: str) -> None:
    with v.client() as client:
        csrf = login(client)
        r = client.put("/api/admin/rooms/r1", json={"name": name, "name_zh": name}, headers=csrf)
        if r.status_code != 200:
            assert r.status_code in (400, 422)  # refused outright is fine too
            return
        g = register(client, "Ann", 1)
        topup(client, csrf, g["guest_id"])
        client.post(f"/api/staff/guests/{g['guest_id']}/checkin", json={"room_id": "r1"}, headers=csrf)
        v.app.state.web.container.payments.purchase(g["guest_id"], "cola", 1, "csv-inj-1", actor="staff:boss")
        for lang in ("en", "zh-CN"):
            raw = client.get("/api/admin/report.csv", headers={"Accept-Language": lang}).content.decode("utf-8-sig")
            cells = [c for row in csv.reader(io.StringIO(raw)) for c in row]
            assert any(name.strip() in c for c in cells), cells  # the room's revenue line is there
            assert not [c for c in cells if c[:1] in ("=", "+", "@", "\t", "\r")]
            # "-" may only start a negative amount
            assert not [c for c in cells if c.startswith("-") and not c[1:].replace(".", "").isdigit()]
