"""``kill -9`` at random points during purchases, on SQLite and PostgreSQL: 0 lost, 0 duplicated, books balanced.

A forked client process buys (``PaymentService.purchase`` on its own engine) through a seeded list of
requests and acknowledges each answer on a pipe (5-byte writes: atomic). The parent kills it with
SIGKILL after a random delay, then starts a new client at the first unacknowledged request — the one
that may have been in flight, retried with the same idempotency key, as a real till would. At the end
the parent retries the last in-flight request itself. Then every acknowledged charge has exactly one
posting, nothing else was posted, each balance equals its top-up minus the acknowledged charges, and
the ledger balances. The seed is printed; ``SOBERPAY_FAULT_SEED`` replays the kill schedule.

The suite kills 20 times per database; the marked slow run kills 300 times (figures: docs/reliability.md).
"""

from __future__ import annotations

import os
import random
import signal
import struct
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from soberpay.adapters.db.payment_tables import PostingRow
from tests.integration.test_payments_db import Env, make_env
from tests.payment_fakes import FakeGuest
from tests.support.faults import seed_for, snapshot

ACK = struct.Struct("<IB")  # request index, flags: 1 charged, 2 replayed (committed before the last kill)
READY = 0xFFFFFFFF
GUESTS = 4
TOPUP_FEN = 50_000_000
COLA_FEN = 1_000


@pytest.fixture
def env(db_url: str) -> Iterator[Env]:
    yield from make_env(db_url)


def _request(seed: int, i: int, guests: list[FakeGuest]) -> tuple[str, int, str]:
    rnd = random.Random(seed * 1_000_003 + i)
    return rnd.choice(guests).id, rnd.randint(1, 3), f"kill-{seed}-{i:07d}"


def _client(env: Env, guests: list[FakeGuest], seed: int, start: int, out: int) -> None:
    """The forked till, buying from request ``start`` on and acknowledging each answer. It reuses the
    parent's engine (warm statement cache, so the first purchase is not a slow outlier) but never the
    parent's pooled connections."""
    env.sessions.kw["bind"].dispose(close=False)
    os.write(out, ACK.pack(READY, 0))
    i = start
    while True:
        guest_id, qty, key = _request(seed, i, guests)
        r = env.pay.purchase(guest_id, "cola", qty, key)
        os.write(out, ACK.pack(i, (r.outcome == "charged") | 2 * r.replayed))
        i += 1


def _read_all(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 65536):
        chunks.append(chunk)
    return b"".join(chunks)


def kill_during_purchases(env: Env, kills: int, seed: int, max_delay_s: float = 1.0) -> dict[str, int]:
    rnd = random.Random(seed)
    guests = [env.ident.add(f"Till {n}") for n in range(GUESTS)]
    for g in guests:
        env.pay.topup(g.id, TOPUP_FEN, f"kill-topup-{g.id}")
    warm = env.ident.add("Warm-up").id  # compiles the purchase statements once, outside the books checked
    env.pay.topup(warm, 10_000, f"kill-topup-{warm}")
    env.pay.purchase(warm, "cola", 1, f"kill-warm-{seed}")
    charged: dict[int, bool] = {}
    start = killed = replayed = 0
    while killed < kills:
        env.sessions.kw["bind"].dispose()  # no pooled connection crosses the fork
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the client; never returns into pytest
            try:
                os.close(read_end)
                _client(env, guests, seed, start, write_end)
            finally:
                os._exit(0)
        os.close(write_end)
        ready = os.read(read_end, ACK.size)
        assert ACK.unpack(ready)[0] == READY
        time.sleep(rnd.uniform(0, max_delay_s))
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        assert os.WIFSIGNALED(status), "the client ended by itself"
        killed += 1
        data = _read_all(read_end)
        os.close(read_end)
        for index, flags in (ACK.unpack_from(data, o) for o in range(0, len(data), ACK.size)):
            charged[index] = bool(flags & 1)
            replayed += bool(flags & 2)
        start = max(charged, default=-1) + 1
    # The request that may have been in flight at the last kill: the till retries it once more.
    guest_id, qty, key = _request(seed, start, guests)
    retry = env.pay.purchase(guest_id, "cola", qty, key)
    charged[start] = retry.outcome == "charged"
    replayed += retry.replayed
    return _verify(env, guests, seed, charged) | {"kills": killed, "retries_replayed": replayed}


def _verify(env: Env, guests: list[FakeGuest], seed: int, charged: dict[int, bool]) -> dict[str, int]:
    assert sorted(charged) == list(range(len(charged))), "a request was skipped"
    want = {_request(seed, i, guests)[2] for i, ok in charged.items() if ok}
    with env.sessions() as s:
        rows = s.execute(
            select(PostingRow.idempotency_key, func.count())
            .where(PostingRow.kind == "purchase", PostingRow.guest_id.in_([g.id for g in guests]))
            .group_by(PostingRow.idempotency_key)
        )
        per_key = {str(key): int(n) for key, n in rows}
    lost = want - set(per_key)
    duplicated = {k: n for k, n in per_key.items() if n > 1}
    unacknowledged = set(per_key) - want
    assert not lost and not duplicated and not unacknowledged, (lost, duplicated, unacknowledged)
    snapshot(env.sessions.kw["bind"])  # the books balance; cached balances equal the entries
    spent = dict.fromkeys((g.id for g in guests), 0)
    for i, ok in charged.items():
        guest_id, qty, _ = _request(seed, i, guests)
        spent[guest_id] += COLA_FEN * qty if ok else 0
    for guest_id, fen in spent.items():
        assert env.pay.balance(guest_id) == TOPUP_FEN - fen
    return {"acknowledged": len(charged), "charged": len(want), "lost": len(lost), "duplicated": len(duplicated)}


def _run(env: Env, db_url: str, kills: int) -> None:
    seed = seed_for()
    try:
        figures = kill_during_purchases(env, kills, seed)
    except AssertionError as exc:
        raise AssertionError(f"replay with SOBERPAY_FAULT_SEED={seed}: {exc}") from exc
    print(f"\nkill -9 on {db_url.split(':')[0]}, seed {seed}: {figures}")
    assert figures["kills"] == kills and figures["lost"] == 0 and figures["duplicated"] == 0


def test_kill9_during_purchases_loses_and_duplicates_nothing(env: Env, db_url: str) -> None:
    _run(env, db_url, kills=20)


@pytest.mark.slow
@pytest.mark.timeout(3600)  # long run on a shared machine; the suite default is 600 s
def test_kill9_300_times_during_purchases(env: Env, db_url: str) -> None:
    _run(env, db_url, kills=300)
