"""Generated idempotency sequences against the payment service on SQLite: new keys, retries with the same
parameters, altered retries (same key, other quantity) and concurrent twins (two threads, one new key).

Each sequence runs for a fresh guest; after it: a retry replayed the first answer (same posting), an
altered retry was a 409 ``Conflict`` that moved nothing, twins produced one posting and one replay, every
key has exactly one posting, and the balance is the top-up minus the charged keys. The suite runs 40
sequences; the marked slow test runs 1,000 (figures: docs/reliability.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from soberpay.adapters.db.migrate import upgrade
from soberpay.adapters.db.payment_tables import PostingRow
from soberpay.errors import Conflict
from tests.integration.test_payments_db import Env, make_env
from tests.support.faults import snapshot

COLA_FEN = 1_000
TOPUP_FEN = 1_000_000

Op = tuple[str, int, int]  # kind, which earlier key (modulo), quantity
OPS = st.lists(
    st.tuples(st.sampled_from(["new", "retry", "altered", "twins"]), st.integers(0, 50), st.integers(1, 3)),
    min_size=1,
    max_size=8,
)


@pytest.fixture(scope="module")
def shared_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    url = f"sqlite:///{Path(tmp_path_factory.mktemp('idem')) / 'idem.db'}"
    upgrade(url)
    yield from make_env(url)


def run_sequence(env: Env, ops: list[Op]) -> None:
    guest = env.ident.add().id
    env.pay.topup(guest, TOPUP_FEN, f"seq-topup-{guest}")
    keys: list[tuple[str, int, str]] = []  # key, quantity, posting id
    for kind, which, qty in ops:
        if kind in ("new", "twins") or not keys:
            key = f"seq-{guest}-{len(keys):03d}"
            if kind == "twins":
                with ThreadPoolExecutor(2) as pool:
                    a, b = pool.map(lambda k: env.pay.purchase(guest, "cola", qty, k), [key, key])  # noqa: B023 (used at once)
                assert a.posting_id == b.posting_id and sorted([a.replayed, b.replayed]) == [False, True]
            else:
                a = env.pay.purchase(guest, "cola", qty, key)
                assert not a.replayed
            assert a.outcome == "charged" and a.posting_id
            keys.append((key, qty, a.posting_id))
            continue
        key, stored_qty, posting = keys[which % len(keys)]
        if kind == "retry":
            r = env.pay.purchase(guest, "cola", stored_qty, key)
            assert r.replayed and r.posting_id == posting
        else:
            altered = stored_qty % 3 + 1  # always another quantity
            balance = env.pay.balance(guest)
            with pytest.raises(Conflict):
                env.pay.purchase(guest, "cola", altered, key)
            assert env.pay.balance(guest) == balance
    with env.sessions() as s:
        rows = s.execute(
            select(PostingRow.idempotency_key, func.count())
            .where(PostingRow.kind == "purchase", PostingRow.guest_id == guest)
            .group_by(PostingRow.idempotency_key)
        )
        per_key = {str(k): int(n) for k, n in rows}
    assert per_key == {k: 1 for k, _, _ in keys}
    assert env.pay.balance(guest) == TOPUP_FEN - COLA_FEN * sum(q for _, q, _ in keys)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=OPS)
def test_generated_idempotency_sequences(shared_env: Env, ops: list[Op]) -> None:
    run_sequence(shared_env, ops)


@pytest.mark.slow
@pytest.mark.timeout(3600)  # long run on a shared machine; the suite default is 600 s
@settings(max_examples=1_000, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=OPS)
def test_1000_generated_idempotency_sequences(shared_env: Env, ops: list[Op]) -> None:
    run_sequence(shared_env, ops)


def test_books_balance_after_the_sequences(shared_env: Env) -> None:
    snapshot(shared_env.sessions.kw["bind"])
