"""Parallel purchases (threads) against one guest's prepaid balance: never overspend, one key never
charges twice. Runs on SQLite (BEGIN IMMEDIATE) and PostgreSQL (SELECT … FOR UPDATE)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from soberpay.adapters.db.payment_tables import OrderRow, PostingRow
from soberpay.errors import Conflict
from tests.integration.test_payments_db import Env, make_env
from tests.payment_fakes import face

THREADS = 8


@pytest.fixture
def env(db_url: str) -> Iterator[Env]:
    yield from make_env(db_url)


def test_parallel_purchases_never_overspend(env: Env) -> None:
    g = env.ident.add()
    env.pay.topup(g.id, 10_000, "topup-conc-1")  # ¥100: room for exactly ten ¥10 colas
    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(lambda i: env.pay.purchase(g.id, "cola", 1, f"conc-key-{i:04d}"), range(24)))
    charged = [r for r in results if r.outcome == "charged"]
    refused = [r for r in results if r.outcome == "refused"]
    assert len(charged) == 10 and len(refused) == 14
    assert all(r.rule == "insufficient_balance" for r in refused)
    assert env.pay.balance(g.id) == 0
    assert min(r.balance_fen for r in results) >= 0
    env.invariants()


def test_one_key_charges_once_under_concurrency(env: Env) -> None:
    g = env.ident.add()
    env.pay.topup(g.id, 10_000, "topup-conc-2")
    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(lambda _: env.pay.purchase(g.id, "cola", 1, "same-key-0001"), range(16)))
    assert {r.posting_id for r in results} == {results[0].posting_id}
    assert sum(not r.replayed for r in results) == 1
    with env.sessions() as s:
        assert s.scalar(select(func.count()).select_from(OrderRow)) == 1
        assert s.scalar(select(func.count()).select_from(PostingRow).where(PostingRow.kind == "purchase")) == 1
    assert env.pay.balance(g.id) == 9_000
    env.invariants()


def test_parallel_confirmations_of_one_request_charge_once(env: Env) -> None:
    g = env.ident.add()
    env.pay.topup(g.id, 100_000, "topup-conc-3")
    env.pay.staff_tag(g.id, "staff judgement", "amy")
    pid = env.pay.purchase(g.id, "whisky-jw-red", 1, "conc-susp-01").pending_id
    assert pid is not None
    env.pay.staff_untag(g.id, "recovered, checked in person", "amy")
    with ThreadPoolExecutor(THREADS) as pool:
        results = list(
            pool.map(lambda i: _confirm(env, pid, g.id, f"conc-conf-{i:03d}"), range(12))
        )  # different keys: the pending row itself must prevent a second charge
    charged = [r for r in results if r == "charged"]
    assert len(charged) == 1, results
    assert env.pay.balance(g.id) == 100_000 - 38_800
    env.invariants()


def _confirm(env: Env, pid: str, guest_id: str, key: str) -> str:
    try:
        return env.pay.confirm_pending(pid, key, face_image=face(guest_id)).outcome
    except Conflict:  # already confirmed by a faster thread
        return "conflict"
