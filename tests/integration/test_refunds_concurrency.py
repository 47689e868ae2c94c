"""Parallel refunds of one order (threads, each with its own key): never more than was charged back.
Runs on SQLite (BEGIN IMMEDIATE) and PostgreSQL (SELECT … FOR UPDATE). Protection: ``Refunds`` re-reads
the order under the guest's lock before deciding what is left."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from soberpay.adapters.db.payment_tables import DeliveryRow, OrderRow, PostingRow
from soberpay.domain.delivery import DeliveryState
from soberpay.errors import InvalidInput
from tests.integration.test_payments_db import Env, make_env

THREADS = 8


@pytest.fixture
def env(db_url: str) -> Iterator[Env]:
    yield from make_env(db_url)


def test_parallel_refunds_of_one_order_never_over_refund(env: Env) -> None:
    g = env.ident.add()
    env.pay.topup(g.id, 10_000, "topup-ref-conc")
    order_id = env.pay.purchase(g.id, "beer-tsingtao", 2, "ref-conc-buy").order_id  # ¥36
    assert order_id is not None

    def attempt(i: int) -> int:
        try:
            return env.pay.refund(order_id, 2_000, "parallel", "amy", f"ref-conc-{i:04d}").amount_fen
        except InvalidInput:
            return 0

    with ThreadPoolExecutor(THREADS) as pool:
        refunded = list(pool.map(attempt, range(16)))
    assert sum(refunded) == 2_000  # ¥20 fits once in ¥36, never twice
    with env.sessions() as s:
        assert s.scalar(select(func.count()).select_from(PostingRow).where(PostingRow.kind == "refund")) == 1
        assert s.get(OrderRow, order_id).refunded_fen == 2_000  # type: ignore[union-attr]
    assert env.pay.balance(g.id) == 10_000 - 3_600 + 2_000
    env.invariants()


def test_void_racing_delivered_ends_in_one_of_them(env: Env) -> None:
    """Serving and voiding one order at once: either it was delivered (void refused) or voided (never both)."""
    g = env.ident.add()
    env.pay.topup(g.id, 10_000, "topup-void-race")
    order_id = env.pay.purchase(g.id, "cola", 1, "void-race-buy").order_id
    assert order_id is not None
    env.pay.move_delivery(order_id, DeliveryState.PREPARING, "bar")

    def deliver() -> str:
        try:
            return env.pay.move_delivery(order_id, DeliveryState.DELIVERED, "bar").state.value
        except Exception as exc:
            return type(exc).__name__

    def void() -> str:
        try:
            return "voided" if env.pay.void(order_id, "race", "boss", "void-race-key").voided else "?"
        except Exception as exc:
            return type(exc).__name__

    with ThreadPoolExecutor(2) as pool:
        futures = [pool.submit(deliver), pool.submit(void)]
        outcomes = [f.result() for f in futures]
    with env.sessions() as s:
        state = s.scalar(select(DeliveryRow.state).where(DeliveryRow.order_id == order_id))
        refunded = s.get(OrderRow, order_id).refunded_fen  # type: ignore[union-attr]
    assert (state, refunded) in {("delivered", 0), ("cancelled", 1_000)}, outcomes
    env.invariants()
