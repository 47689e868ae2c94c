"""End-to-end purchase decision under concurrent load: SQLite vs PostgreSQL + pgvector.

Run:  .venv/bin/python benchmarks/bench_purchase_load.py [--gallery 10000] [--clients 8 32] [--pg-url URL]
  or: SOBERPAY_TEST_PG_URL=… .venv/bin/python -m pytest -m slow benchmarks/bench_purchase_load.py -s

One `soberpay serve` process (1 worker, real YuNet + SFace, argon2id) on localhost only. The gallery is
one real guest (enrolled from the sample photos) plus SYNTHETIC templates (benchmarks/bench_index.py's
SFace-shaped generator), stored encrypted like real ones. A decision is the two HTTP calls a room
tablet makes: identify by face (a photo, detect + embed + 1:N) and the purchase confirmed with a fresh
face (detect + embed + 1:1, risk rules, ledger). The load generator is bounded: ``--clients`` threads,
``--rounds`` decisions each, a fresh idempotency key per decision; at the end the ledger must hold
exactly one charge per decision the server answered "charged" (no lost or duplicated posting).
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prepare(data: Path, url: str, index: str, gallery: int) -> tuple[str, str]:
    """Staff, room, one real enrolled guest with credit, synthetic gallery. Returns (guest id, room token)."""
    from benchmarks.bench_index import PER_GUEST
    from benchmarks.bench_index import gallery as synthetic
    from fastapi.testclient import TestClient
    from tests.e2e.web_support import login, make_app, national_id, topup

    from soberpay.assets import read_asset
    from soberpay.bootstrap import Container
    from soberpay.config import Settings
    from soberpay.ports import TemplateRecord
    from soberpay.services.identity import template_aad

    settings = Settings(data_dir=data, env="test", database_url=url, index=index)  # type: ignore[arg-type]
    container = Container(settings).open()
    app = make_app(container)
    token = app.state.web.auth.issue_device_token("r1")[1]
    with TestClient(app) as client:
        r = client.post(
            "/api/guests",
            json={
                "name": "Barack Obama",
                "phone": "13900000001",
                "national_id": national_id(1),
                "password": "246810",
                "consents": ["face_payment"],
            },
        )
        guest = r.json()
        files = [("files", (n, read_asset("faces", n), "image/jpeg")) for n in ("obama.jpg", "obama2.jpg")]
        client.post(
            f"/api/guests/{guest['guest_id']}/face", files=files, headers={"X-Guest-Token": guest["guest_token"]}
        )
        topup(client, login(client), guest["guest_id"], 10_000_000)
    mat, owners, _, _ = synthetic(gallery)
    codec, cipher, now = container.identity._codec, container.cipher, container.clock.now()
    with container.uow() as uow:
        from soberpay.ports import GuestRecord

        for g in range(gallery // PER_GUEST):
            uow.guests.add(GuestRecord(id=f"syn{g:08d}", created_at=now, name=f"S{g}", phone=f"1{g:010d}"))
        for g, v in zip(owners.tolist(), mat, strict=True):
            gid = f"syn{g:08d}"
            key_id, blob = cipher.encrypt(codec.to_bytes(v), template_aad(gid, "sface"))
            vec = v if index == "pgvector" else None
            uow.templates.add(TemplateRecord(gid, "sface", key_id, blob, 0.0, now, None, vec))
        uow.commit()
    container.close()
    return str(guest["guest_id"]), token


def load(base: str, token: str, clients: int, rounds: int, tag: str) -> dict[str, Any]:
    from soberpay.assets import read_asset

    face = read_asset("faces", "obama3.jpg")
    room = {"Authorization": "Bearer " + token}
    lat: list[float] = []
    outcomes: dict[str, int] = {}
    lock = threading.Lock()

    def client(n: int) -> None:
        with httpx.Client(base_url=base, timeout=120) as c:
            for i in range(rounds):
                t0 = time.perf_counter()
                who = c.post("/api/rooms/r1/identify/face", files={"file": ("f.jpg", face, "image/jpeg")}, headers=room)
                outcome = f"identify {who.status_code}"
                if who.status_code == 200:
                    paid = c.post(
                        "/api/rooms/r1/purchases",
                        data={"item_id": "cola", "idempotency_key": f"load-{tag}-{n:04d}-{i:04d}", "quantity": "1"},
                        files={"face": ("face.jpg", face, "image/jpeg")},
                        headers={**room, "X-Guest-Token": who.json()["guest_token"]},
                    )
                    body = paid.json()
                    outcome = body.get("outcome") or f"purchase {paid.status_code} {body.get('error')}"
                with lock:
                    lat.append(time.perf_counter() - t0)
                    outcomes[outcome] = outcomes.get(outcome, 0) + 1

    t0 = time.perf_counter()
    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    ms = np.asarray(lat) * 1000
    return {
        "clients": clients,
        "decisions": len(lat),
        "p50": float(np.median(ms)),
        "p95": float(np.quantile(ms, 0.95)),
        "p99": float(np.quantile(ms, 0.99)),
        "per_s": len(lat) / wall,
        "outcomes": outcomes,
    }


def charges(url: str) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as c:
        n = int(c.scalar(text("SELECT count(*) FROM payment_orders")) or 0)
    engine.dispose()
    return n


def bench(db: str, url: str, index: str, gallery: int, clients: list[int], rounds: int) -> list[dict[str, Any]]:
    data = Path(tempfile.mkdtemp(prefix=f"soberpay-load-{db}-"))
    _, token = prepare(data, url, index, gallery)
    port = _port()
    env = {
        **os.environ,
        "SOBERPAY_DATA_DIR": str(data),
        "SOBERPAY_ENV": "test",
        "SOBERPAY_DATABASE_URL": url,
        "SOBERPAY_INDEX": index,
        "SOBERPAY_WEB__RUN_ROOMS": "false",
        "SOBERPAY_WEB__IDENTIFY_RATE_PER_MIN": "10000",
        "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "soberpay", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    rows = []
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                assert time.monotonic() < deadline and proc.poll() is None, "server did not start"
                time.sleep(0.3)
        load(base, token, 1, 2, "warm")  # models load on first use
        before = charges(url)
        for c in clients:
            r = load(base, token, c, rounds, f"c{c}")
            r["db"] = db
            rows.append(r)
            print(
                f"| {db} | {gallery:,} | {c} | {r['decisions']} | {r['p50']:.0f} | {r['p95']:.0f} | {r['p99']:.0f} "
                f"| {r['per_s']:.1f} | {r['outcomes']} |",
                flush=True,
            )
        charged = sum(r["outcomes"].get("charged", 0) for r in rows)
        assert charges(url) - before == charged, "ledger charges differ from the charged answers"
    finally:
        proc.terminate()
        proc.wait(30)
    return rows


def main(gallery: int, clients: list[int], rounds: int, pg_url: str | None) -> list[dict[str, Any]]:
    print("| database | gallery | clients | decisions | p50 ms | p95 ms | p99 ms | decisions/s | outcomes |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    data = Path(tempfile.mkdtemp(prefix="soberpay-load-db-"))
    rows = bench("SQLite", f"sqlite:///{data / 'load.db'}", "memory", gallery, clients, rounds)
    if pg_url:
        from sqlalchemy import create_engine, text

        engine = create_engine(pg_url)
        with engine.begin() as c:
            c.execute(text("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public"))
        engine.dispose()
        rows += bench("PostgreSQL+pgvector", pg_url, "pgvector", gallery, clients, rounds)
    return rows


@pytest.mark.slow
def test_purchase_load() -> None:
    rows = main(10_000, [8, 32], 4, os.environ.get("SOBERPAY_TEST_PG_URL"))
    assert all(r["decisions"] > 0 for r in rows)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--gallery", type=int, default=10_000)
    parser.add_argument("--clients", type=int, nargs="+", default=[8, 32])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--pg-url", default=os.environ.get("SOBERPAY_TEST_PG_URL"))
    a = parser.parse_args()
    main(a.gallery, a.clients, a.rounds, a.pg_url)
