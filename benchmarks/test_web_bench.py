"""Venue-service benchmarks (slow; run with `make bench`). They PRINT numbers and ratios against a
baseline measured in the same run; nothing here asserts on time.

1. Room worker on the bundled demo clip (384×288), unpaced: frames/s with decode only (baseline)
   vs decode + YuNet detection + identification (the real room processor, no guests present).
2. HTTP: /healthz round trip (baseline) vs an identify-by-face + purchase round trip through the
   full stack (fake face analyser, SQLite, argon2id) — the web layer's own overhead per purchase.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import pytest

from soberpay.adapters.clock import ManualClock
from soberpay.config import Settings
from soberpay.rooms import DEMO_CLIP, RoomWorker, VisionRoomProcessor, open_source

pytestmark = pytest.mark.slow


def _run(worker: RoomWorker, seconds: float) -> dict[str, float]:
    worker.start()
    time.sleep(seconds)
    worker.stop()
    s = worker.stats
    return {"processed_fps": s.processed / seconds, "dropped": s.dropped, "captured": s.captured, "lag_s": s.lag_s}


def test_room_worker_throughput(tmp_path: Path) -> None:
    from soberpay.adapters.vision.pipeline import build_detector, build_embedder
    from soberpay.bootstrap import build_container

    settings = Settings(data_dir=tmp_path / "var")
    container = build_container(settings)
    ident = container.identity
    processor = VisionRoomProcessor(
        detector=build_detector(settings),
        embedder=build_embedder(settings),
        identify_embedding=ident.identify_embedding,
        has_monitoring_consent=lambda guest_id: False,
        min_face_px=settings.identity.min_face_px,
        min_score=settings.identity.min_detector_score,
    )
    spec = str(DEMO_CLIP)
    base = _run(RoomWorker("b", spec, open_source(spec), None, loop=True, max_fps=1000.0, queue_size=4), 5.0)
    full = _run(RoomWorker("v", spec, open_source(spec), processor, loop=True, max_fps=1000.0, queue_size=4), 5.0)
    print("\nroom worker, demo clip 384x288, 5 s each, unpaced capture, queue 4:")
    print(f"  decode only (baseline): {base['processed_fps']:.1f} frames/s processed")
    print(
        f"  decode + YuNet + identify: {full['processed_fps']:.1f} frames/s processed, "
        f"{full['dropped']:.0f} of {full['captured']:.0f} captured frames dropped, "
        f"last lag {full['lag_s'] * 1000:.0f} ms"
    )
    print(f"  ratio full/baseline: {full['processed_fps'] / max(base['processed_fps'], 1e-9):.3f}")
    container.close()


def test_http_purchase_latency(tmp_path: Path) -> None:
    from tests.e2e.web_support import buy, enrol, identify, login, register, sqlite_container, topup, venue

    container = sqlite_container(Settings(data_dir=tmp_path / "var", env="test"), ManualClock())
    v = venue(container)
    for bucket in v.app.state.web.limits.buckets.values():
        bucket.rate, bucket.burst = 1e6, 1e6
    with v.client() as client:
        csrf = login(client)
        g = register(client)
        enrol(client, g, "alice")
        topup(client, csrf, g["guest_id"], 10_000_000)
        client.cookies.clear()
        health, flow = [], []
        for i in range(60):
            t0 = time.perf_counter()
            client.get("/healthz")
            health.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            tok = identify(client, v, "r1", "alice")["guest_token"]
            assert buy(client, v, "r1", tok, "cola", f"bench-{i:06d}").json()["outcome"] == "charged"
            flow.append(time.perf_counter() - t0)
    h, f = statistics.median(health) * 1000, statistics.median(flow) * 1000
    print(f"\nHTTP (TestClient, SQLite, fake face analyser), 60 rounds: /healthz median {h:.1f} ms (baseline),")
    print(f"  identify-by-face + purchase median {f:.1f} ms; ratio {f / h:.1f}x")
    container.close()
