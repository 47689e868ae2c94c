"""The menu in the database: a price change reaches new charges only — orders and held requests keep the
price they were made at — and a switched-off item is refused (SQLite; PostgreSQL when configured)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from sqlalchemy import select

from soberpay.adapters.catalogue_file import load_catalogue
from soberpay.adapters.db.menu import SqlMenu
from soberpay.adapters.db.payment_tables import OrderRow
from soberpay.adapters.db.unit_of_work import SqlAlchemyUnitOfWork
from soberpay.errors import PaymentRefused
from soberpay.services.payments import PaymentService
from tests.integration.test_payments_db import Env, make_env
from tests.payment_fakes import FakeBehaviour, face


@pytest.fixture
def env(db_url: str) -> Iterator[tuple[Env, SqlMenu]]:
    """The payments environment of ``test_payments_db``, selling from the database's menu."""
    made = make_env(db_url)
    e = next(made)
    menu = SqlMenu(e.sessions, e.clock, load_catalogue)
    sessions = e.sessions
    e.pay = PaymentService(
        uow=lambda: SqlAlchemyUnitOfWork(sessions),
        identity=e.ident,
        clock=e.clock,
        settings=e.pay.settings,
        catalogue=menu.catalogue(),
        menu=menu.catalogue,
        sobriety=e.sob,
        behaviour=FakeBehaviour(0.0),
    )
    e.ident.lockout_in(lambda: SqlAlchemyUnitOfWork(sessions), e.clock, e.pay.password_policy)
    yield e, menu
    next(made, None)  # disposes of the engine


def test_price_changes_reach_new_charges_only(env: tuple[Env, SqlMenu]) -> None:
    e, menu = env
    g = e.ident.add("Li", sex="M", weight_kg=80)
    e.pay.topup(g.id, 500_000, "topup-0001")
    e.sob.sober(g.id)
    whisky = menu.get("whisky-chivas-12")
    assert e.pay.pay_by_face(face(g.id), "beer-tsingtao", 1, "buy-000001").charged_fen == 1_800
    e.sob.drunk(g.id)
    e.clock.advance(minutes=5)
    held = e.pay.pay_by_face(face(g.id), "whisky-chivas-12", 1, "buy-000002")
    assert held.outcome == "suspended"
    # the venue raises both prices while the request is held
    menu.update(replace(menu.get("beer-tsingtao"), price_fen=2_500), "staff:boss")
    menu.update(replace(whisky, price_fen=whisky.price_fen + 10_000), "staff:boss")
    e.sob.sober(g.id)
    e.clock.advance(minutes=1)
    e.pay.refresh_risk(g.id)
    e.clock.advance(minutes=10)
    assert e.pay.refresh_risk(g.id).state == "normal"
    ok = e.pay.confirm_pending(held.pending_id or "", "confirm-0001", password="123456")
    assert ok.outcome == "charged" and ok.charged_fen == whisky.price_fen  # the price it was held at
    assert e.pay.pay_by_face(face(g.id), "beer-tsingtao", 1, "buy-000003").charged_fen == 2_500
    with e.sessions() as s:
        prices = sorted(s.scalars(select(OrderRow.unit_price_fen).where(OrderRow.sku == "beer-tsingtao")))
    assert prices == [1_800, 2_500]  # the first order still says what it was charged
    e.invariants()


def test_a_switched_off_item_is_refused_and_changes_nothing(env: tuple[Env, SqlMenu]) -> None:
    e, menu = env
    g = e.ident.add("Li")
    e.pay.topup(g.id, 10_000, "topup-0001")
    menu.update(replace(menu.get("cola"), available=False), "staff:boss")
    with pytest.raises(PaymentRefused, match="not available"):
        e.pay.pay_by_face(face(g.id), "cola", 1, "buy-000001")
    assert e.pay.balance(g.id) == 10_000 and e.count(OrderRow) == 0
    assert "cola" in {i.sku for i in menu.items()}  # kept for the orders that name it


def test_report_aggregates_in_sql_and_reconciles(env: tuple[Env, SqlMenu]) -> None:
    """The report's GROUP BY queries on this database (PostgreSQL sums are numeric: still integer fen)."""
    from datetime import timedelta

    from soberpay.adapters.db.reports import build_report

    e, _ = env
    g = e.ident.add("Li")
    start = e.clock.now()
    e.pay.topup(g.id, 10_000, "topup-0001")
    order = e.pay.pay_by_face(face(g.id), "cola", 2, "buy-000001")
    e.pay.refund(order.order_id or "", 100, "spilled", "boss", "refund-0001")
    r = build_report(e.sessions, start, start + timedelta(hours=1))
    assert {x.key: x.amount_fen for x in r.by_kind} == {"topup": 10_000, "purchase": order.charged_fen, "refund": 100}
    assert r.reconciles() and r.net_revenue_fen == order.charged_fen - 100
    assert all(type(x.amount_fen) is int for x in (*r.by_kind, *r.revenue_by_category, *r.topups_by_channel))
    assert [x.key for x in r.revenue_by_room] == [""] and r.events[0].key == "payment.refund"
