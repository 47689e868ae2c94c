"""Bank-style invariant under ``kill -9``: 16 forked workers charge guests (purchases) and move money back
(refunds) while they, and the parent between kills, read the whole ledger. Every read must see the same
fixed total: the guests' cached balances plus the venue's revenue and refund accounts equal minus the
cash taken in at the top-ups (one SQL statement, so one snapshot on PostgreSQL too), and the service's
``ledger()`` must show a zero trial balance and the fixed cash. Workers are killed at random and
restarted. 0 reads off the total, on SQLite and PostgreSQL; the books balance at the end. An operation
or read refused with ``Unavailable`` (SQLite busy beyond its 30 s timeout when the machine is starved)
is counted, not failed: it applied nothing, which the final books check confirms.

The suite kills 10 workers per database; the marked slow run kills 200 (figures: docs/reliability.md).
"""

from __future__ import annotations

import os
import random
import signal
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from soberpay.adapters.db.payment_tables import EntryRow, PaymentAccountRow
from soberpay.domain.ledger import VENUE_CASH, VENUE_REFUNDS, VENUE_REVENUE
from soberpay.errors import Unavailable
from tests.integration.test_payments_db import Env, make_env
from tests.payment_fakes import FakeGuest
from tests.support.faults import seed_for, snapshot

WORKERS = 16
GUESTS = 8
TOPUP_FEN = 2_000_000
TOTAL_READ = select(
    select(func.coalesce(func.sum(PaymentAccountRow.signed_fen), 0))
    .where(PaymentAccountRow.kind == "guest")
    .scalar_subquery()
    + select(func.coalesce(func.sum(EntryRow.amount_fen), 0))
    .where(EntryRow.account_id.in_([VENUE_REVENUE, VENUE_REFUNDS]))
    .scalar_subquery()
)


@pytest.fixture
def env(db_url: str) -> Iterator[Env]:
    yield from make_env(db_url)


def read_is_on_total(env: Env, fixed: int) -> bool:
    """One whole-ledger read: True when it sees exactly the fixed total."""
    with env.sessions() as s:
        total = int(s.scalar(TOTAL_READ) or 0)
    view = env.pay.ledger(None, 1)
    return total == -fixed and view.trial_balance == 0 and view.account_sums.get(VENUE_CASH) == fixed


def _worker(env: Env, guests: list[FakeGuest], fixed: int, seed: int, out: int) -> None:
    env.sessions.kw["bind"].dispose(close=False)  # the parent's warm engine, never its pooled connections
    rnd = random.Random(seed)
    orders: list[str] = []
    n = 0
    while True:
        n += 1
        try:
            if orders and rnd.random() < 0.3:
                env.pay.refund(orders.pop(), None, "bank invariant refund", "amy", f"bank-ref-{seed}-{n}")
            else:
                r = env.pay.purchase(rnd.choice(guests).id, rnd.choice(["cola", "song-1"]), 1, f"bank-buy-{seed}-{n}")
                if r.order_id:
                    orders.append(r.order_id)
            if rnd.random() < 0.5:
                os.write(out, b"." if read_is_on_total(env, fixed) else b"X")
        except Unavailable:  # SQLite busy past its timeout on a starved machine: refused, nothing applied
            os.write(out, b"b")


def _spawn(env: Env, guests: list[FakeGuest], fixed: int, seed: int) -> tuple[int, int]:
    env.sessions.kw["bind"].dispose()  # no pooled connection crosses the fork
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(read_end)
            _worker(env, guests, fixed, seed, write_end)
        finally:
            os._exit(0)
    os.close(write_end)
    return pid, read_end


def _reap(pid: int, read_end: int) -> bytes:
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    chunks = []
    while chunk := os.read(read_end, 65536):
        chunks.append(chunk)
    os.close(read_end)
    return b"".join(chunks)


def bank_run(env: Env, kills: int, seed: int) -> dict[str, int]:
    rnd = random.Random(seed)
    guests = [env.ident.add(f"Bank {n}") for n in range(GUESTS)]
    for g in guests:
        env.pay.topup(g.id, TOPUP_FEN, f"bank-topup-{g.id}")
    fixed = TOPUP_FEN * GUESTS
    order = env.pay.purchase(guests[0].id, "cola", 1, f"bank-warm-{seed}").order_id  # compile the statements once
    assert order is not None
    env.pay.refund(order, None, "warm-up", "amy", f"bank-warm-ref-{seed}")
    assert read_is_on_total(env, fixed)
    workers = [_spawn(env, guests, fixed, rnd.randrange(2**32)) for _ in range(WORKERS)]
    reads = bytearray()
    parent_reads = parent_off = parent_busy = 0
    for _ in range(kills):
        time.sleep(rnd.uniform(0, 1.0))
        victim = rnd.randrange(WORKERS)
        reads += _reap(*workers[victim])
        try:
            parent_off += not read_is_on_total(env, fixed)  # between kills, while the others keep writing
            parent_reads += 1
        except Unavailable:
            parent_busy += 1
        workers[victim] = _spawn(env, guests, fixed, rnd.randrange(2**32))
    for w in workers:
        reads += _reap(*w)
    assert read_is_on_total(env, fixed)
    snapshot(env.sessions.kw["bind"])
    return {
        "kills": kills,
        "worker_reads": reads.count(b".") + reads.count(b"X"),
        "parent_reads": parent_reads,
        "reads_off_total": reads.count(b"X") + parent_off,
        "refused_busy": reads.count(b"b") + parent_busy,
    }


def _run(env: Env, db_url: str, kills: int) -> None:
    seed = seed_for()
    figures = bank_run(env, kills, seed)
    print(f"\nbank invariant on {db_url.split(':')[0]}, {WORKERS} workers, seed {seed}: {figures}")
    assert figures["reads_off_total"] == 0, f"replay with SOBERPAY_FAULT_SEED={seed}"
    assert figures["worker_reads"] > 0


def test_bank_invariant_16_workers_under_kill9(env: Env, db_url: str) -> None:
    _run(env, db_url, kills=10)


@pytest.mark.slow
@pytest.mark.timeout(3600)  # long run on a shared machine; the suite default is 600 s
def test_bank_invariant_16_workers_200_kills(env: Env, db_url: str) -> None:
    _run(env, db_url, kills=200)
