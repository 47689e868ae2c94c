"""Payment decision throughput on SQLite (slow; `make bench`). Prints ratios against a baseline
measured in the same run (a bare top-up: lock + posting + idempotency record), never asserts times."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from tests.integration.test_payments_db import make_env

from soberpay.adapters.behaviour_onnx import OnnxBehaviourScorer
from soberpay.adapters.db.migrate import upgrade

N = 200


@pytest.mark.slow
def test_purchase_throughput_vs_topup(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bench.db'}"
    upgrade(url)
    env = next(make_env(url))
    guest_id = env.ident.add().id
    env.sob.sober(guest_id)

    def per_call(fn: object, label: str) -> float:
        t0 = time.perf_counter()
        for i in range(N):
            fn(f"bench-{label}-{i:05d}")  # type: ignore[operator]
        return (time.perf_counter() - t0) / N

    topup_s = per_call(lambda k: env.pay.topup(guest_id, 10_000, k), "top")
    buy_s = per_call(lambda k: env.pay.purchase(guest_id, "cola", 1, k), "buy")
    env.pay._behaviour = OnnxBehaviourScorer()
    lstm_s = per_call(lambda k: env.pay.purchase(guest_id, "cola", 1, k), "lstm")
    t0 = time.perf_counter()
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda i: env.pay.purchase(guest_id, "song-1", 1, f"bench-par-{i:05d}"), range(N)))
    par_s = (time.perf_counter() - t0) / N
    print(
        f"\ntop-up {topup_s * 1e3:.2f} ms (baseline 1.00) | purchase decision {buy_s / topup_s:.2f}x | "
        f"+ LSTM (ONNX) {lstm_s / topup_s:.2f}x | 4 threads on one guest (serialised) {par_s / topup_s:.2f}x"
    )
    env.invariants()
