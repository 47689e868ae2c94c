"""Every report total equals the books: random days of top-ups, purchases and (partial) refunds, and the
daily report's totals, breakdowns and CSV checked against the ledger rows and against a model of the day."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from soberpay.adapters.clock import ManualClock
from soberpay.adapters.db.payment_tables import PostingRow
from soberpay.config import Settings
from soberpay.errors import PaymentRefused
from tests.e2e.web_support import login, register, sqlite_container, venue

SKUS = ("beer-tsingtao", "fruit-small", "cola", "whisky-jw-red", "song-1")
op = st.one_of(
    st.tuples(st.just("topup"), st.integers(0, 1), st.integers(1, 50_000)),
    st.tuples(st.just("buy"), st.integers(0, 1), st.sampled_from(SKUS), st.integers(1, 3)),
    st.tuples(st.just("refund"), st.integers(0, 20), st.integers(1, 5_000)),
)


def test_daily_report_reconciles_with_the_ledger(tmp_path: Path) -> None:
    v = venue(sqlite_container(Settings(data_dir=tmp_path / "var", env="test"), ManualClock()))
    container = v.app.state.web.container
    pay, clock = container.payments, container.clock
    with v.client() as client:
        csrf = login(client)
        guests = [register(client, n, i + 1)["guest_id"] for i, n in enumerate(("Ann", "Bo"))]
        assert client.post(f"/api/staff/guests/{guests[0]}/checkin", json={"room_id": "r1"}, headers=csrf).is_success
        seq = iter(range(10**9))

        @settings(max_examples=15, deadline=None)
        @given(st.lists(op, max_size=12))
        @example([("topup", 0, 50_000), ("buy", 0, "beer-tsingtao", 2), ("refund", 0, 100), ("buy", 1, "cola", 1)])
        def one_day(ops: list[Any]) -> None:
            clock.advance(minutes=24 * 60)
            model = {"topup": 0, "purchase": 0, "refund": 0}
            orders: list[tuple[str, int]] = []  # order id, refundable amount
            for o in ops:
                clock.advance(seconds=30)
                key = f"op-{next(seq):08d}"
                if o[0] == "topup":
                    pay.topup(guests[o[1]], o[2], key, actor="boss")
                    model["topup"] += o[2]
                elif o[0] == "buy":
                    try:
                        r = pay.purchase(guests[o[1]], o[2], o[3], key, actor="staff:boss")
                    except PaymentRefused:
                        continue
                    model["purchase"] += r.charged_fen
                    if r.order_id:
                        orders.append((r.order_id, r.charged_fen))
                elif orders:
                    i = o[1] % len(orders)
                    order_id, left = orders[i]
                    amount = min(o[2], left)
                    pay.refund(order_id, amount, "customer complaint", "boss", key)
                    model["refund"] += amount
                    orders[i] = (order_id, left - amount)
                    if left == amount:
                        orders.pop(i)
            login(client)  # a day later the morning's session has expired
            report = client.get("/api/admin/report").json()
            first, last = datetime.fromisoformat(report["start"]), datetime.fromisoformat(report["end"])
            assert last - first == timedelta(hours=24)
            with container.session_factory() as s:
                rows = s.execute(select(PostingRow.kind, PostingRow.amount_fen, PostingRow.at)).all()
            books: dict[str, int] = {}
            for kind, amount, at in rows:
                if first <= at < last:
                    books[kind] = books.get(kind, 0) + amount
            by_kind = {x["key"]: x["amount_fen"] for x in report["by_kind"]}
            assert by_kind == books == {k: a for k, a in model.items() if a}
            assert report["revenue_fen"] == model["purchase"] and report["refunds_fen"] == model["refund"]
            assert report["net_revenue_fen"] == model["purchase"] - model["refund"]
            for part in ("revenue_by_category", "revenue_by_room"):
                assert sum(x["amount_fen"] for x in report[part]) == model["purchase"]
            assert sum(x["amount_fen"] for x in report["topups_by_channel"]) == model["topup"]
            raw = client.get("/api/admin/report.csv").content.decode("utf-8-sig")
            net = [r for r in csv.reader(io.StringIO(raw)) if r[0] == "net revenue"]
            assert round(float(net[0][3]) * 100) == model["purchase"] - model["refund"]

        one_day()
        with container.session_factory() as s:
            kinds = set(s.scalars(select(PostingRow.kind)))
        assert kinds == {"topup", "purchase", "refund"}  # every kind was exercised
