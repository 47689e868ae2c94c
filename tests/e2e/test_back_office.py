"""Back office: menu and prices, staff accounts, rooms, reports and CSV — and who may reach them."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from soberpay.adapters.clock import ManualClock
from soberpay.config import Settings
from soberpay.web.routes import admin
from tests.e2e.web_support import CASHIER, MANAGER, Venue, login, register, sqlite_container, topup, venue


@pytest.fixture
def v(tmp_path: Path) -> Venue:
    return venue(sqlite_container(Settings(data_dir=tmp_path / "var", env="test"), ManualClock()))


def _item(client: TestClient, sku: str) -> dict[str, Any]:
    return next(i for i in client.get("/api/admin/menu").json() if i["sku"] == sku)


def _guest_in_room(client: TestClient, v: Venue, csrf: dict[str, str], room: str = "r1") -> dict[str, Any]:
    g = register(client, "Ann", 1)
    topup(client, csrf, g["guest_id"])
    r = client.post(f"/api/staff/guests/{g['guest_id']}/checkin", json={"room_id": room}, headers=csrf)
    assert r.status_code == 204, r.text
    return g


def _charge(v: Venue, guest_id: str, sku: str, key: str) -> Any:
    return v.app.state.web.container.payments.purchase(guest_id, sku, 1, f"charge-{key}", actor="staff:boss")


def test_a_price_change_reaches_new_charges_only_and_is_audited(v: Venue) -> None:
    with v.client() as client:
        csrf = login(client)
        g = _guest_in_room(client, v, csrf)
        beer = _item(client, "beer-tsingtao")
        old = beer["price_fen"]
        assert _charge(v, g["guest_id"], "beer-tsingtao", "k-old").charged_fen == old
        body = {k: beer[k] for k in beer if k != "sku"} | {"price_fen": old + 700}
        r = client.put("/api/admin/menu/beer-tsingtao", json=body, headers=csrf)
        assert r.status_code == 200, r.text
        assert _charge(v, g["guest_id"], "beer-tsingtao", "k-new").charged_fen == old + 700
        lines = client.get(f"/api/staff/guests/{g['guest_id']}/bill").json()["lines"]
        assert sorted(x["amount_fen"] for x in lines) == [old, old + 700]  # the first order kept its price
        audit = client.get("/api/staff/audit", params={"action": "menu.item_changed"}).json()
        assert len(audit) == 1 and f"[{old}, {old + 700}]" in audit[0]["details"]


def test_an_item_switched_off_is_not_sold_but_never_deleted(v: Venue) -> None:
    with v.client() as client:
        csrf = login(client)
        g = _guest_in_room(client, v, csrf)
        _charge(v, g["guest_id"], "beer-tsingtao", "k1")
        beer = _item(client, "beer-tsingtao")
        body = {k: beer[k] for k in beer if k != "sku"} | {"available": False}
        assert client.put("/api/admin/menu/beer-tsingtao", json=body, headers=csrf).status_code == 200
        assert "beer-tsingtao" not in {m["id"] for m in client.get("/api/menu").json()}
        from soberpay.errors import PaymentRefused

        with pytest.raises(PaymentRefused, match="not available"):
            _charge(v, g["guest_id"], "beer-tsingtao", "k2")
        assert _item(client, "beer-tsingtao")["available"] is False
        assert len(client.get(f"/api/staff/guests/{g['guest_id']}/bill").json()["lines"]) == 1
        assert not any(r.methods & {"DELETE"} for r in admin.api.routes if isinstance(r, APIRoute))


def test_a_marked_high_price_item_is_held_and_a_new_item_sells(v: Venue) -> None:
    with v.client() as client:
        csrf = login(client)
        new = {
            "sku": "tea-pot",
            "name_en": "Pot of tea",
            "name_zh": "一壶茶",
            "category": "drink",
            "price_fen": 1800,
            "alcohol": False,
            "high_price": True,
        }
        assert client.post("/api/admin/menu", json=new, headers=csrf).status_code == 201
        assert client.post("/api/admin/menu", json=new, headers=csrf).status_code == 409
        menu = {m["id"]: m for m in client.get("/api/menu").json()}
        assert menu["tea-pot"]["high_price"] is True and menu["tea-pot"]["name_zh"] == "一壶茶"


def test_staff_list_disable_reset_and_role(v: Venue) -> None:
    with v.client() as client, TestClient(v.app) as till:
        csrf = login(client)
        login(till, CASHIER)
        accounts = {a["username"]: a for a in client.get("/api/admin/staff").json()}
        assert set(accounts) == {"boss", "till"}
        till_id, boss_id = accounts["till"]["id"], accounts["boss"]["id"]
        r = client.patch(f"/api/admin/staff/{till_id}", json={"disabled": True}, headers=csrf)
        assert r.status_code == 200 and r.json()["disabled"] is True
        assert till.get("/api/auth/me").status_code == 401  # the session ended at once
        assert till.post("/api/auth/login", json={"username": "till", "password": CASHIER[1]}).status_code == 401
        client.patch(f"/api/admin/staff/{till_id}", json={"disabled": False}, headers=csrf)
        r = client.post(f"/api/admin/staff/{till_id}/password", json={"password": "new-pass-123"}, headers=csrf)
        assert r.status_code == 204
        assert till.post("/api/auth/login", json={"username": "till", "password": CASHIER[1]}).status_code == 401
        assert till.post("/api/auth/login", json={"username": "till", "password": "new-pass-123"}).status_code == 200
        # the last manager can neither demote nor disable themselves
        for change in ({"role": "cashier"}, {"disabled": True}):
            r = client.patch(f"/api/admin/staff/{boss_id}", json=change, headers=csrf)
            assert r.status_code == 409, r.text
        assert client.get("/api/auth/me").json()["role"] == "manager"
        r = client.patch(f"/api/admin/staff/{till_id}", json={"role": "manager"}, headers=csrf)
        assert r.json()["role"] == "manager"
        assert client.patch(f"/api/admin/staff/{boss_id}", json={"role": "cashier"}, headers=csrf).status_code == 200
        logged = [e["action"] for e in client.get("/api/staff/audit", params={"action": "staff."}).json()]
        assert "staff.password_reset" in logged and "new-pass-123" not in str(client.get("/api/staff/audit").json())


def test_room_admin_names_and_cameras(v: Venue) -> None:
    with v.client() as client:
        csrf = login(client)
        body = {"name": "Room One", "name_zh": "一号包厢", "camera_source": "rtsp://cam1/stream"}
        r = client.put("/api/admin/rooms/r1", json=body, headers=csrf)
        assert r.status_code == 200 and r.json()["name_zh"] == "一号包厢"
        assert client.put("/api/admin/rooms/nope", json=body, headers=csrf).status_code == 404
        overview = client.get("/api/staff/rooms/overview", headers={"Accept-Language": "zh-CN"}).json()
        assert overview[0]["name"] == "一号包厢"
        assert client.get("/api/staff/rooms/overview").json()[0]["name"] == "Room One"
        assert "一号包厢" in client.get("/", headers={"Accept-Language": "zh-CN"}).text  # the room list
        assert "一号包厢" in client.get("/room/r1", headers={"Accept-Language": "zh-CN"}).text  # QR pairing page


# --- who may reach the back office ---------------------------------------------------------------

ROUTES = [
    (method, route.path)
    for router in (admin.api, admin.pages)
    for route in router.routes
    if isinstance(route, APIRoute)
    for method in sorted(route.methods)
]


def _fill(path: str) -> str:
    return path.replace("{sku}", "beer-tsingtao").replace("{staff_id}", "1").replace("{room_id}", "r1")


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_every_back_office_route_refuses_cashiers_and_room_devices(v: Venue, method: str, path: str) -> None:
    """Fails when a route here loses its manager check (the body is valid where one is needed)."""
    bodies = {
        "/api/admin/menu": {"sku": "x1", "name_en": "X", "category": "drink", "price_fen": 1, "alcohol": False},
        "/api/admin/menu/{sku}": {"name_en": "X", "category": "drink", "price_fen": 1, "alcohol": False},
        "/api/admin/staff/{staff_id}": {"role": "cashier"},
        "/api/admin/staff/{staff_id}/password": {"password": "attacker-pass-1"},
        "/api/admin/rooms/{room_id}": {"name": "pwned"},
    }
    url, body = _fill(path), bodies.get(path)
    with v.client() as cashier:
        csrf = login(cashier, CASHIER)
        r = cashier.request(method, url, json=body, headers=csrf, follow_redirects=False)
        if path == "/staff/admin":
            assert r.status_code == 303  # a bare redirect to the reports page, which checks
        else:
            assert r.status_code == 403, (method, path, r.status_code)
    with v.client() as device:
        r = device.request(method, url, json=body, headers=v.room("r1"), follow_redirects=False)
        assert r.status_code in (401, 303), (method, path, r.status_code)
        if r.status_code == 303:
            assert r.headers["location"] in ("/staff/login", "/staff/admin/reports")
    with v.client() as manager:
        login(manager, MANAGER)
        assert manager.get("/api/admin/menu").json()[0]["name_en"] != "pwned"


# --- reports ---------------------------------------------------------------------------------------


def _ledger_totals(v: Venue, start: str, end: str) -> dict[str, int]:
    """Sums of the ledger's postings by kind in [start, end), added up here rather than by the database."""
    from sqlalchemy import select

    from soberpay.adapters.db.payment_tables import PostingRow

    first, last = datetime.fromisoformat(start), datetime.fromisoformat(end)
    with v.app.state.web.container.session_factory() as s:
        rows = [
            (k, a)
            for k, a, at in s.execute(select(PostingRow.kind, PostingRow.amount_fen, PostingRow.at))
            if first <= at < last
        ]
    out: dict[str, int] = {}
    for kind, amount in rows:
        out[kind] = out.get(kind, 0) + amount
    return out


def test_daily_report_and_csv_match_the_ledger(v: Venue) -> None:
    with v.client() as client:
        csrf = login(client)
        r = client.post("/api/rooms", json={"room_id": "-1", "name": '=HYPERLINK("http://x")'}, headers=csrf)
        assert r.status_code == 201, r.text
        g = _guest_in_room(client, v, csrf, room="-1")
        pay = v.app.state.web.container.payments
        order = _charge(v, g["guest_id"], "beer-tsingtao", "k1")
        _charge(v, g["guest_id"], "fruit-small", "k2")
        pay.refund(order.order_id, 300, "flat beer", "boss", "refund-0001")
        report = client.get("/api/admin/report").json()
        ledger = _ledger_totals(v, report["start"], report["end"])
        assert {x["key"]: x["amount_fen"] for x in report["by_kind"]} == ledger
        assert report["revenue_fen"] == ledger["purchase"] and report["refunds_fen"] == 300
        assert sum(x["amount_fen"] for x in report["revenue_by_category"]) == ledger["purchase"]
        assert sum(x["amount_fen"] for x in report["topups_by_channel"]) == ledger["topup"]
        assert {x["key"] for x in report["events"]} >= {"payment.refund"}
        raw = client.get("/api/admin/report.csv").content
        assert raw.startswith("\ufeff".encode())
        rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
        by_kind = {row[1]: round(float(row[3]) * 100) for row in rows if row[0] == "ledger total"}
        assert by_kind == {"top-up": ledger["topup"], "purchase": ledger["purchase"], "refund": 300}
        cells = [c for row in rows for c in row]
        assert '\'=HYPERLINK("http://x")' in cells  # the room's name cannot run as a formula
        assert not any(c.startswith(("=", "+", "@")) for c in cells)
        zh = client.get("/api/admin/report.csv", headers={"Accept-Language": "zh-CN"}).content.decode("utf-8-sig")
        assert "按类别收入" in zh  # the venue's language


def test_shift_report_bounds_and_page(v: Venue) -> None:
    clock = v.app.state.web.container.clock
    with v.client() as client:
        csrf = login(client)
        g = _guest_in_room(client, v, csrf)
        start = clock.now()
        clock.advance(minutes=30)
        _charge(v, g["guest_id"], "beer-tsingtao", "k1")
        clock.advance(minutes=30)
        before = {"start": (start - timedelta(hours=1)).isoformat(), "end": (start + timedelta(minutes=1)).isoformat()}
        assert client.get("/api/admin/report", params=before).json()["revenue_fen"] == 0
        shift = {"start": start.isoformat(), "end": clock.now().isoformat()}
        assert client.get("/api/admin/report", params=shift).json()["revenue_fen"] > 0
        bad = {"start": clock.now().isoformat(), "end": start.isoformat()}
        assert client.get("/api/admin/report", params=bad).status_code == 400
        assert client.get("/api/admin/report", params={"start": start.isoformat()}).status_code == 400
        page = client.get("/staff/admin/reports")
        assert page.status_code == 200 and "<svg" in page.text and "report-csv" in page.text
        for path in ("/staff/admin/menu", "/staff/admin/staff", "/staff/admin/rooms"):
            assert client.get(path).status_code == 200, path
