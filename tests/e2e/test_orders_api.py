"""After payment over HTTP: the "to deliver" board, refunds and voids (manager only, idempotent, never
more than was charged), receipts (page and ESC/POS printer). Each attack test names the protection it
checks; removing that protection makes it fail (docs/guide/payments.md lists which)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from soberpay.adapters.clock import ManualClock
from soberpay.adapters.db.payment_tables import PostingRow
from soberpay.adapters.printer import CHINESE_ON, EscposPrinter, encode_zh
from soberpay.bootstrap import Container
from soberpay.config import Settings
from soberpay.venue_time import local_time
from tests.e2e.web_support import CASHIER, Venue, buy, enrol, identify, login, register, sqlite_container, venue


@pytest.fixture
def container(settings: Settings, clock: ManualClock) -> Iterator[Container]:
    settings.printer.url = "dummy"
    c = sqlite_container(settings, clock)
    yield c
    c.close()


@pytest.fixture
def v(container: Container) -> Venue:
    return venue(container)


@pytest.fixture
def client(v: Venue) -> Iterator[TestClient]:
    with v.client() as c:
        yield c


def paid_guest(client: TestClient, v: Venue, balance_fen: int = 50_000) -> tuple[dict[str, str], str, str]:
    """A manager's CSRF header, a checked-in guest with money, and their room guest token."""
    csrf = login(client)
    g = register(client, "Dora", 3)
    enrol(client, g, "dora")
    r = client.post(
        f"/api/staff/guests/{g['guest_id']}/topup",
        json={"amount_fen": balance_fen, "idempotency_key": "orders-topup-1"},
        headers=csrf,
    )
    assert r.status_code == 200, r.text
    assert client.post(f"/api/staff/guests/{g['guest_id']}/checkin", json={"room_id": "r1"}, headers=csrf).is_success
    return csrf, g["guest_id"], identify(client, v, "r1", "dora")["guest_token"]


def order_of(client: TestClient, v: Venue, token: str, item: str, key: str, quantity: int = 1) -> str:
    r = buy(client, v, "r1", token, item, key, quantity=quantity)
    assert r.status_code == 200 and r.json()["outcome"] == "charged", r.text
    return str(r.json()["order_id"])


def refund(client: TestClient, csrf: dict[str, str], order_id: str, key: str, **body: Any) -> Any:
    body.setdefault("reason", "flat beer")
    return client.post(f"/api/staff/orders/{order_id}/refund", json=body, headers={**csrf, "Idempotency-Key": key})


def refund_postings(v: Venue) -> int:
    with v.app.state.web.container.session_factory() as s:
        return int(s.scalar(select(func.count()).select_from(PostingRow).where(PostingRow.kind == "refund")) or 0)


def balance(client: TestClient, csrf: dict[str, str], guest_id: str) -> int:
    return int(client.get(f"/api/staff/guests/{guest_id}/bill", headers=csrf).json()["balance_fen"])


# --- deliveries ---------------------------------------------------------------------------------


def test_paid_items_that_need_serving_reach_the_board_and_move_along(client: TestClient, v: Venue) -> None:
    csrf, gid, token = paid_guest(client, v)
    cola = order_of(client, v, token, "cola", "orders-buy-cola", quantity=2)
    order_of(client, v, token, "song-1", "orders-buy-song")  # songs are not served
    board = client.get("/api/staff/deliveries", headers=csrf).json()
    assert [(d["order_id"], d["room_id"], d["quantity"], d["state"]) for d in board] == [(cola, "r1", 2, "new")]
    for state in ("preparing", "delivered"):
        r = client.post(f"/api/staff/deliveries/{cola}/state", json={"state": state}, headers=csrf)
        assert r.status_code == 200 and r.json()["state"] == state, r.text
    back = client.post(f"/api/staff/deliveries/{cola}/state", json={"state": "preparing"}, headers=csrf)
    assert back.status_code == 409  # delivered is final
    actions = [e["action"] for e in client.get(f"/api/staff/audit?guest_id={gid}", headers=csrf).json()]
    assert "delivery.preparing" in actions and "delivery.delivered" in actions


def test_the_board_streams_its_state(client: TestClient, v: Venue) -> None:
    csrf, _gid, token = paid_guest(client, v)
    beer = order_of(client, v, token, "beer-tsingtao", "orders-buy-beer")
    with client.stream("GET", "/api/staff/deliveries/stream?max_seconds=0", headers=csrf) as r:
        body = "".join(r.iter_text())
    assert "event: board" in body and beer in body


def test_ticket_and_board_pages(client: TestClient, v: Venue) -> None:
    csrf, _gid, token = paid_guest(client, v)
    cola = order_of(client, v, token, "cola", "orders-buy-cola")
    assert client.get("/staff/deliveries").status_code == 200
    page = client.get(f"/staff/deliveries/{cola}/ticket")
    assert page.status_code == 200 and "r1" in page.text and "Cola" in page.text


def test_a_staff_member_who_is_not_a_manager_can_move_but_not_cancel(client: TestClient, v: Venue) -> None:
    csrf, gid, token = paid_guest(client, v)
    cola = order_of(client, v, token, "cola", "orders-buy-cola")
    cashier = login(client, CASHIER)
    assert client.post(f"/api/staff/deliveries/{cola}/state", json={"state": "preparing"}, headers=cashier).is_success
    r = client.post(
        f"/api/staff/orders/{cola}/void",
        json={"reason": "guest changed mind"},
        headers={**cashier, "Idempotency-Key": "void-by-till"},
    )
    assert r.status_code == 403
    assert refund_postings(v) == 0


# --- refunds and voids --------------------------------------------------------------------------


def test_partial_refunds_show_on_the_bill_the_audit_and_the_ledger(client: TestClient, v: Venue) -> None:
    csrf, gid, token = paid_guest(client, v, 50_000)
    beer = order_of(client, v, token, "beer-tsingtao", "orders-buy-beer", quantity=2)  # 2 × ¥18
    r = refund(client, csrf, beer, "refund-part-1", amount_fen=1_000)
    assert r.status_code == 200 and r.json()["refunded_fen"] == 1_000, r.text
    assert r.json()["balance_fen"] == 50_000 - 3_600 + 1_000
    again = refund(client, csrf, beer, "refund-part-1", amount_fen=1_000)
    assert again.json() == {**r.json(), "replayed": True}
    bill = client.get(f"/api/staff/guests/{gid}/bill", headers=csrf).json()
    assert bill["refunds_fen"] == 1_000 and bill["total_fen"] == 2_600
    assert bill["lines"][0]["order_id"] == beer and bill["lines"][0]["refunded_fen"] == 1_000
    audit = client.get("/api/staff/audit?action=payment.refund", headers=csrf).json()
    assert len(audit) == 1 and beer in audit[0]["details"] and "flat beer" in audit[0]["details"]
    ledger = client.get(f"/api/staff/ledger?guest_id={gid}", headers=csrf).json()
    assert [p["kind"] for p in ledger["postings"]].count("refund") == 1 and ledger["trial_balance"] == 0
    page = client.get(f"/staff/guests/{gid}")
    assert f'data-refund="{beer}"' in page.text  # the manager's control on the bill line


def test_attack_refund_with_a_cashier_session_is_refused(client: TestClient, v: Venue) -> None:
    csrf, gid, token = paid_guest(client, v)
    beer = order_of(client, v, token, "beer-tsingtao", "orders-buy-beer")
    before = balance(client, csrf, gid)
    cashier = login(client, CASHIER)  # protection: routes.orders.refund depends on Manager
    assert refund(client, cashier, beer, "refund-by-till").status_code == 403
    assert refund_postings(v) == 0
    assert balance(client, login(client), gid) == before


def test_attack_refund_with_a_room_device_token_is_refused(client: TestClient, v: Venue) -> None:
    csrf, gid, token = paid_guest(client, v)
    beer = order_of(client, v, token, "beer-tsingtao", "orders-buy-beer")
    client.cookies.clear()  # the room tablet has no staff session: only its device token
    headers = {**v.room("r1"), "X-Guest-Token": token, "Idempotency-Key": "refund-by-room"}
    r = client.post(f"/api/staff/orders/{beer}/refund", json={"reason": "please"}, headers=headers)
    assert r.status_code == 401
    assert refund_postings(v) == 0


def test_attack_a_replayed_key_with_another_amount_is_a_conflict(client: TestClient, v: Venue) -> None:
    csrf, gid, token = paid_guest(client, v)
    beer = order_of(client, v, token, "beer-tsingtao", "orders-buy-beer", quantity=2)
    assert refund(client, csrf, beer, "refund-replay-1", amount_fen=500).status_code == 200
    r = refund(client, csrf, beer, "refund-replay-1", amount_fen=3_000)  # protection: the key's fingerprint
    assert r.status_code == 409, r.text
    assert refund_postings(v) == 1
    assert balance(client, csrf, gid) == 50_000 - 3_600 + 500


def test_attack_a_refund_larger_than_what_is_left_changes_nothing(client: TestClient, v: Venue) -> None:
    csrf, gid, token = paid_guest(client, v)
    beer = order_of(client, v, token, "beer-tsingtao", "orders-buy-beer")  # ¥18
    assert refund(client, csrf, beer, "refund-left-1", amount_fen=1_000).status_code == 200
    r = refund(client, csrf, beer, "refund-left-2", amount_fen=801)  # protection: amount ≤ what is left
    assert r.status_code == 400, r.text
    assert refund_postings(v) == 1
    assert refund(client, csrf, beer, "refund-left-3", amount_fen=800).status_code == 200
    assert refund(client, csrf, beer, "refund-left-4").status_code == 400  # nothing left
    assert balance(client, csrf, gid) == 50_000


def test_void_cancels_an_undelivered_order_and_refunds_it_in_full(client: TestClient, v: Venue) -> None:
    csrf, gid, token = paid_guest(client, v)
    cola = order_of(client, v, token, "cola", "orders-buy-cola", quantity=3)
    served = order_of(client, v, token, "beer-tsingtao", "orders-buy-beer")
    for state in ("preparing", "delivered"):
        client.post(f"/api/staff/deliveries/{served}/state", json={"state": state}, headers=csrf)
    r = client.post(
        f"/api/staff/orders/{cola}/void",
        json={"reason": "guest changed mind"},
        headers={**csrf, "Idempotency-Key": "void-cola-1"},
    )
    assert r.status_code == 200 and r.json()["voided"] and r.json()["refunded_fen"] == 3 * 1_000, r.text
    states = {d["order_id"]: d["state"] for d in client.get("/api/staff/deliveries", headers=csrf).json()}
    assert states == {cola: "cancelled", served: "delivered"}
    late = client.post(
        f"/api/staff/orders/{served}/void",
        json={"reason": "too late"},
        headers={**csrf, "Idempotency-Key": "void-beer-1"},
    )
    assert late.status_code == 409  # delivered: refund it instead
    assert refund(client, csrf, served, "refund-beer-1").status_code == 200


# --- receipts -----------------------------------------------------------------------------------


def test_receipt_page_in_chinese_shows_refunds_and_venue_time(client: TestClient, v: Venue) -> None:
    csrf, gid, token = paid_guest(client, v)
    beer = order_of(client, v, token, "beer-tsingtao", "orders-buy-beer", quantity=2)
    refund(client, csrf, beer, "refund-receipt", amount_fen=1_000)
    page = client.get(f"/staff/guests/{gid}/receipt", headers={"Accept-Language": "zh"})
    assert page.status_code == 200
    assert "青岛啤酒" in page.text and "已退款" in page.text and "-¥10.00" in page.text and "CST" in page.text


def test_receipt_after_checkout_is_a_reprint_of_the_closed_visit(client: TestClient, v: Venue) -> None:
    csrf, gid, token = paid_guest(client, v)
    order_of(client, v, token, "beer-tsingtao", "orders-buy-beer", quantity=2)
    container = v.app.state.web.container
    checked_out = local_time(container.clock.now(), container.settings.venue.zone).strftime("%Y-%m-%d %H:%M %Z")
    assert client.post(f"/api/staff/guests/{gid}/checkout", headers=csrf).status_code == 200
    container.clock.advance(minutes=90)  # the guest asks for the receipt at the door later
    page = client.get(f"/staff/guests/{gid}/receipt", headers={"Accept-Language": "zh"})
    assert page.status_code == 200
    assert "青岛啤酒" in page.text and "¥36.00" in page.text and checked_out in page.text
    nobody = register(client, "Bo", 77)
    r = client.post(f"/api/staff/guests/{nobody['guest_id']}/receipt/print", headers=csrf)
    assert r.status_code == 404  # no visit yet: nothing to print


def test_receipt_prints_gb18030_on_the_thermal_printer(client: TestClient, v: Venue) -> None:
    csrf, gid, token = paid_guest(client, v)
    order_of(client, v, token, "beer-tsingtao", "orders-buy-beer")
    r = client.post(f"/api/staff/guests/{gid}/receipt/print", headers={**csrf, "Accept-Language": "zh"})
    assert r.json() == {"printed": True, "error": ""}
    out = v.app.state.web.printer.last.output
    assert CHINESE_ON in out and encode_zh("青岛啤酒") in out and "青岛啤酒".encode("gb18030") in out
    assert "￥18.00".encode("gb18030") in out


def test_an_offline_printer_is_reported_and_payment_still_works(client: TestClient, v: Venue) -> None:
    csrf, gid, token = paid_guest(client, v)
    v.app.state.web.printer = EscposPrinter("network://127.0.0.1:9", timeout_s=0.5)  # nothing listens there
    cola = order_of(client, v, token, "cola", "orders-buy-cola")
    r = client.post(f"/api/staff/deliveries/{cola}/print", headers=csrf)
    assert r.status_code == 200 and r.json()["printed"] is False and r.json()["error"]
    assert order_of(client, v, token, "cola", "orders-buy-cola-2")


def trial_balance(client: TestClient, csrf: dict[str, str]) -> int:
    return int(client.get("/api/staff/ledger", headers=csrf).json()["trial_balance"])


def test_attack_refund_of_an_erased_guests_order_is_refused(client: TestClient, v: Venue) -> None:
    """Money "returned" to an erased guest's balance reaches no one while the report books it as refunded.
    Protection: ``Refunds`` requires a live guest, as every other money operation does."""
    csrf, gid, token = paid_guest(client, v)
    beer = order_of(client, v, token, "beer-tsingtao", "orders-buy-beer")
    r = client.request("DELETE", f"/api/guests/{gid}", data={"reason": "guest asked"}, headers=csrf)
    assert r.status_code == 204, r.text
    assert refund(client, csrf, beer, "refund-erased-1").status_code == 404
    void = client.post(
        f"/api/staff/orders/{beer}/void", json={"reason": "gone"}, headers={**csrf, "Idempotency-Key": "void-erased-1"}
    )
    assert void.status_code == 404
    assert refund_postings(v) == 0
    assert trial_balance(client, csrf) == 0


def test_attack_a_refund_key_reused_for_another_order_or_without_csrf_changes_nothing(
    client: TestClient, v: Venue
) -> None:
    csrf, gid, token = paid_guest(client, v)
    beer = order_of(client, v, token, "beer-tsingtao", "orders-buy-beer")
    cola = order_of(client, v, token, "cola", "orders-buy-cola")
    assert refund(client, csrf, beer, "refund-shared-1").status_code == 200
    assert refund(client, csrf, cola, "refund-shared-1").status_code == 409  # the key's fingerprint names the order
    void = client.post(
        f"/api/staff/orders/{cola}/void",
        json={"reason": "wrong drink"},
        headers={**csrf, "Idempotency-Key": "refund-shared-1"},
    )
    assert void.status_code == 409  # a refund's key is no void's
    no_csrf = client.post(
        f"/api/staff/orders/{cola}/refund", json={"reason": "wrong drink"}, headers={"Idempotency-Key": "refund-nocsrf"}
    )
    assert no_csrf.status_code == 403  # a manager's cookie alone (a cross-site form) is not enough
    assert refund_postings(v) == 1
    assert balance(client, csrf, gid) == 50_000 - 1_000
    assert trial_balance(client, csrf) == 0


def test_attack_loose_json_amounts_move_no_money(client: TestClient, v: Venue) -> None:
    """JSON ``true`` read as 1 fen (or "100" as 100) would refund or top up money nobody typed.
    Protection: money fields of the request schemas are ``schemas.Fen`` (JSON integers only)."""
    csrf, gid, token = paid_guest(client, v)
    beer = order_of(client, v, token, "beer-tsingtao", "orders-buy-beer")
    for i, loose in enumerate((True, "100")):
        assert refund(client, csrf, beer, f"refund-loose-{i}", amount_fen=loose).status_code == 422, loose
        body = {"amount_fen": loose, "idempotency_key": f"topup-loose-{i}"}
        assert client.post(f"/api/staff/guests/{gid}/topup", json=body, headers=csrf).status_code == 422, loose
    assert refund_postings(v) == 0
    assert balance(client, csrf, gid) == 50_000 - 1_800
