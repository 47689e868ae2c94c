"""A provider's notification, its retries and ``soberpay topups reconcile`` racing for one paid top-up
(threads): exactly one credit, on SQLite (BEGIN IMMEDIATE) and PostgreSQL (SELECT … FOR UPDATE).
Protection: ``TopupChannels`` re-reads the order under the guest's lock (a paid order replays) and the
posting key ``topup:<channel>:<txn>`` is unique."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from soberpay.adapters.db.payment_tables import PostingRow
from soberpay.errors import Conflict
from soberpay.services.payments.topup_channels import ProviderPayment, ProviderState, TopupChannels
from tests.integration.test_payments_db import Env, make_env
from tests.unit.services.test_topup_channels import InProcessProvider


@pytest.fixture
def env(db_url: str) -> Iterator[Env]:
    yield from make_env(db_url)


def test_notifications_and_reconciliation_racing_credit_once(env: Env) -> None:
    provider = InProcessProvider()
    top = TopupChannels(env.pay.context, {"wechat": provider}, 100, 500_000)
    g = env.ident.add()
    order = top.create(g.id, "wechat", 5_000, "guest")
    provider.states[order.id] = ProviderPayment(order.id, ProviderState.PAID, "txn-race", 5_000, g.id)
    env.clock.advance(minutes=11)  # due for reconciliation while the notifications arrive

    def notify(i: int) -> str:
        txn = "txn-race" if i else "txn-other"  # one forged-looking second payment among the retries
        try:
            top.notified("wechat", {}, f"{order.id},{txn},5000,{g.id}".encode())
            return "ok"
        except Conflict:
            return "conflict"

    def reconcile(_i: int) -> int:
        return top.reconcile(timedelta(minutes=10)).settled

    with ThreadPoolExecutor(6) as pool:
        notes = [pool.submit(notify, i) for i in range(8)]
        runs = [pool.submit(reconcile, i) for i in range(4)]
        outcomes = [f.result() for f in notes]
        settled = [f.result() for f in runs]
    with env.sessions() as s:
        credits = s.scalar(select(func.count()).select_from(PostingRow).where(PostingRow.kind == "topup"))
    assert credits == 1 and env.pay.balance(g.id) == 5_000, (outcomes, settled)
    paid = top.status(order.id, None)
    assert paid.state == "paid" and paid.provider_txn_id in ("txn-race", "txn-other")
    env.invariants()
