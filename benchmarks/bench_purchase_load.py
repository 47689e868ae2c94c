"""End-to-end purchase decisions under concurrent load, SQLite vs PostgreSQL + pgvector, and the ledger's
throughput on PostgreSQL with a check that no posting was lost or duplicated.

Run:  .venv/bin/python benchmarks/bench_purchase_load.py [--gallery 10000] [--clients 8 32 128] [--pg-url URL]
  or: SOBERPAY_TEST_PG_URL=… .venv/bin/python -m pytest -m slow benchmarks/bench_purchase_load.py -s

One `soberpay serve` process (1 worker, real YuNet + SFace + MediaPipe, argon2id) on 127.0.0.1 only.

* **Face decisions**: what a room tablet sends — ``identify/clip`` with a burst of JPEG frames (passive
  liveness, 1:N fused over the best frames) and ``purchases`` with a fresh burst (liveness, 1:1, risk
  rules, ledger). The burst is the close-up of the shared sample ``singer_stage_whitehouse.mp4``
  (``bench_purchase_stages.clip_jpegs``); the singer is enrolled from three of its frames, beside
  SYNTHETIC templates (``bench_index.gallery``, SFace-shaped) stored encrypted like real ones.
  ``--clients`` threads make ``max(1, --decisions // clients)`` decisions each; a 503 ``busy`` (the
  bounded model pool refusing more work) is counted, not retried.
* **Ledger** (PostgreSQL): purchases confirmed by the payment password — the only factor besides a face
  that a charge accepts (no standing session pays) — by ``--ledger-guests`` guests at
  ``--ledger-clients`` concurrency. Every purchase is sent twice at once with the same idempotency key.
  Afterwards: every posting balances and the entries sum to zero, each guest's cached balance equals its
  entries, and there is exactly one order and one posting per charged key (none for a replay).
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "246810"
LEDGER_PHONE = "1370000{:04d}"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prepare(data: Path, url: str, index: str, gallery: int, ledger_guests: int) -> dict[str, Any]:
    """Staff, room, the singer enrolled with credit, the synthetic gallery, password guests with credit."""
    from benchmarks.bench_index import PER_GUEST
    from benchmarks.bench_index import gallery as synthetic
    from benchmarks.bench_purchase_stages import clip_jpegs
    from fastapi.testclient import TestClient
    from tests.e2e.web_support import login, make_app, national_id, topup

    from soberpay.bootstrap import Container
    from soberpay.config import Settings
    from soberpay.domain.identity import ConsentPurpose
    from soberpay.ports import GuestRecord, TemplateRecord
    from soberpay.services.identity import template_aad

    settings = Settings(data_dir=data, env="test", database_url=url, index=index)  # type: ignore[arg-type]
    container = Container(settings).open()
    app = make_app(container)
    token = app.state.web.auth.issue_device_token("r1")[1]
    ident = container.identity
    jpegs = clip_jpegs()
    singer = ident.register(name="Lin Singer", phone="13800000777", national_id=national_id(777), password=PASSWORD)
    ident.grant_consent(singer.id, ConsentPurpose.FACE_PAYMENT)
    ident.enroll_images(singer.id, [jpegs[0], jpegs[8], jpegs[15]])
    ledger = [
        ident.register(name=f"L{i}", phone=LEDGER_PHONE.format(i), national_id=national_id(i), password=PASSWORD).id
        for i in range(ledger_guests)
    ]
    with TestClient(app) as client:
        csrf = login(client)
        for gid in [singer.id, *ledger]:
            topup(client, csrf, gid, 10_000_000)
    mat, owners, _, _ = synthetic(gallery)
    codec, cipher, now = ident._codec, container.cipher, container.clock.now()
    with container.uow() as uow:
        for g in range(gallery // PER_GUEST):
            uow.guests.add(GuestRecord(id=f"syn{g:08d}", created_at=now, name=f"S{g}", phone=f"1{g:010d}"))
        for g, v in zip(owners.tolist(), mat, strict=True):
            gid = f"syn{g:08d}"
            key_id, blob = cipher.encrypt(codec.to_bytes(v), template_aad(gid, "sface"))
            vec = v if index == "pgvector" else None
            uow.templates.add(TemplateRecord(gid, "sface", key_id, blob, 0.0, now, None, vec))
        uow.commit()
    container.close()
    return {"room": token, "ledger": ledger, "jpegs": jpegs}


@contextmanager
def serve(data: Path, url: str, index: str) -> Iterator[str]:
    port = _port()
    env = {
        **os.environ,
        "SOBERPAY_DATA_DIR": str(data),
        "SOBERPAY_ENV": "test",
        "SOBERPAY_DATABASE_URL": url,
        "SOBERPAY_INDEX": index,
        "SOBERPAY_WEB__RUN_ROOMS": "false",
        "SOBERPAY_WEB__IDENTIFY_RATE_PER_MIN": "10000",
        "SOBERPAY_WEB__PASSWORD_RATE_PER_MIN": "1000",
        # The benchmark measures speed; at ≥ 100k templates the product asks for phone digits instead.
        "SOBERPAY_IDENTITY__PHONE_HINT_GALLERY_SIZE": "100000000",
        "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "soberpay", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                assert time.monotonic() < deadline and proc.poll() is None, "server did not start"
                time.sleep(0.3)
        yield base
    finally:
        proc.terminate()
        proc.wait(30)


def _summary(lat: list[float], wall: float, outcomes: dict[str, int]) -> dict[str, Any]:
    ms = np.asarray(lat or [0.0]) * 1000
    done = sum(v for k, v in outcomes.items() if k != "busy")
    return {
        "n": len(lat),
        "p50": float(np.median(ms)),
        "p95": float(np.quantile(ms, 0.95)),
        "p99": float(np.quantile(ms, 0.99)),
        "per_s": done / wall,
        "outcomes": outcomes,
    }


def _run(clients: int, work: Callable[[int], list[tuple[float, str]]]) -> dict[str, Any]:
    lat: list[float] = []
    outcomes: dict[str, int] = {}
    t0 = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        for results in pool.map(work, range(clients)):
            for seconds, outcome in results:
                outcomes[outcome] = outcomes.get(outcome, 0) + 1
                if outcome != "busy":
                    lat.append(seconds)
    return _summary(lat, time.perf_counter() - t0, outcomes)


def face_load(base: str, room_token: str, jpegs: list[bytes], clients: int, rounds: int, tag: str) -> dict[str, Any]:
    room = {"Authorization": "Bearer " + room_token}
    burst = [("frames", (f"{i}.jpg", j, "image/jpeg")) for i, j in enumerate(jpegs)]

    def client(n: int) -> list[tuple[float, str]]:
        out = []
        with httpx.Client(base_url=base, timeout=600) as c:
            for i in range(rounds):
                t0 = time.perf_counter()
                who = c.post("/api/rooms/r1/identify/clip", files=burst, headers=room)
                outcome = "busy" if who.status_code == 503 else f"identify {who.status_code}"
                if who.status_code == 200:
                    paid = c.post(
                        "/api/rooms/r1/purchases",
                        data={"item_id": "cola", "idempotency_key": f"face-{tag}-{n:04d}-{i:04d}"},
                        files=burst,
                        headers={**room, "X-Guest-Token": who.json()["guest_token"]},
                    )
                    body = paid.json()
                    outcome = body.get("outcome") or f"purchase {paid.status_code}"
                    outcome = "busy" if paid.status_code == 503 else outcome
                out.append((time.perf_counter() - t0, outcome))
        return out

    return _run(clients, client)


def ledger_tokens(base: str, room_token: str, guests: int) -> list[str]:
    """Each ledger guest identified once by phone + password (checks them into the room)."""
    room = {"Authorization": "Bearer " + room_token}
    with httpx.Client(base_url=base, timeout=120) as c:
        tokens = []
        for i in range(guests):
            r = c.post(
                "/api/rooms/r1/identify/phone",
                json={"phone": LEDGER_PHONE.format(i), "password": PASSWORD},
                headers=room,
            )
            assert r.status_code == 200, r.text
            tokens.append(r.json()["guest_token"])
    return tokens


def ledger_load(base: str, room_token: str, tokens: list[str], clients: int, per_client: int) -> dict[str, Any]:
    """Password purchases; each one sent twice at once with the same key (the replay must not charge)."""
    room = {"Authorization": "Bearer " + room_token}

    def client(n: int) -> list[tuple[float, str]]:
        out = []
        with httpx.Client(base_url=base, timeout=600) as c:
            for i in range(per_client):
                token = tokens[(n * per_client + i) % len(tokens)]
                form = {"item_id": "cola", "idempotency_key": f"ledger-{n:04d}-{i:05d}", "password": PASSWORD}
                headers = {**room, "X-Guest-Token": token}
                t0 = time.perf_counter()
                with ThreadPoolExecutor(2) as twice:
                    sent = [twice.submit(c.post, "/api/rooms/r1/purchases", data=form, headers=headers) for _ in "ab"]
                    answers = [f.result() for f in sent]
                seconds = time.perf_counter() - t0
                bodies = [a.json() for a in answers if a.status_code == 200]
                charged = sum(1 for b in bodies if b.get("outcome") == "charged" and not b.get("replayed"))
                outcome = (
                    "charged"
                    if any(b.get("outcome") == "charged" for b in bodies)
                    else ("busy" if any(a.status_code == 503 for a in answers) else f"other {answers[0].status_code}")
                )
                out.append((seconds, outcome if charged <= 1 else "charged twice"))
        return out

    return _run(clients, client)


def check_books(url: str) -> dict[str, int]:
    """Double-entry invariants after the run; raises if a posting was lost or duplicated."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    q = {
        "unbalanced_postings": "SELECT count(*) FROM (SELECT posting_id FROM ledger_entries GROUP BY posting_id "
        "HAVING sum(amount_fen) <> 0) u",
        "total_fen": "SELECT coalesce(sum(amount_fen), 0) FROM ledger_entries",
        "accounts_off": "SELECT count(*) FROM payment_accounts a WHERE a.kind = 'guest' AND a.signed_fen <> "
        "(SELECT coalesce(sum(e.amount_fen), 0) FROM ledger_entries e WHERE e.account_id = a.id)",
        "ledger_orders": "SELECT count(*) FROM payment_orders o JOIN ledger_postings p ON p.id = o.posting_id "
        "WHERE p.idempotency_key LIKE 'ledger-%'",
        "ledger_postings": "SELECT count(*) FROM ledger_postings WHERE idempotency_key LIKE 'ledger-%'",
        "ledger_keys": "SELECT count(DISTINCT idempotency_key) FROM ledger_postings "
        "WHERE idempotency_key LIKE 'ledger-%'",
    }
    with engine.connect() as c:
        out = {k: int(c.scalar(text(v)) or 0) for k, v in q.items()}
    engine.dispose()
    assert out["unbalanced_postings"] == 0 and out["total_fen"] == 0 and out["accounts_off"] == 0, out
    assert out["ledger_orders"] == out["ledger_postings"] == out["ledger_keys"], out
    return out


def bench(db: str, url: str, index: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    data = Path(tempfile.mkdtemp(prefix=f"soberpay-load-{db}-"))
    try:
        return _bench(data, db, url, index, args)
    finally:
        shutil.rmtree(data, ignore_errors=True)  # keys, templates and the SQLite database of the run


def _bench(data: Path, db: str, url: str, index: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    ledger_guests = args.ledger_guests if index == "pgvector" else 0
    prep = prepare(data, url, index, args.gallery, ledger_guests)
    rows: list[dict[str, Any]] = []
    with serve(data, url, index) as base:
        face_load(base, prep["room"], prep["jpegs"], 1, 1, "warm")  # models load on first use
        for c in args.clients:
            r = face_load(base, prep["room"], prep["jpegs"], c, max(1, args.decisions // c), f"c{c}")
            rows.append({"kind": "face decision", "db": db, "clients": c, **r})
            _print(rows[-1], args.gallery)
        if ledger_guests:
            tokens = ledger_tokens(base, prep["room"], ledger_guests)
            r = ledger_load(base, prep["room"], tokens, args.ledger_clients, args.ledger_per_client)
            books = check_books(url)
            charged = r["outcomes"].get("charged", 0)
            assert books["ledger_orders"] == charged and "charged twice" not in r["outcomes"], (books, r)
            rows.append({"kind": "ledger (password)", "db": db, "clients": args.ledger_clients, **r, "books": books})
            _print(rows[-1], args.gallery)
    return rows


def _print(r: dict[str, Any], gallery: int) -> None:
    print(
        f"| {r['kind']} | {r['db']} | {gallery:,} | {r['clients']} | {r['n']} | {r['p50']:.0f} | {r['p95']:.0f} "
        f"| {r['p99']:.0f} | {r['per_s']:.1f} | {r['outcomes']} | {r.get('books', '')} |",
        flush=True,
    )


def main(args: argparse.Namespace) -> list[dict[str, Any]]:
    print("| kind | database | gallery | clients | answered | p50 ms | p95 ms | p99 ms | per s | outcomes | books |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|")
    rows: list[dict[str, Any]] = []
    if not args.pg_only:
        with tempfile.TemporaryDirectory(prefix="soberpay-load-db-") as data:
            rows += bench("SQLite", f"sqlite:///{Path(data) / 'load.db'}", "memory", args)
    if args.pg_url:
        from sqlalchemy import create_engine, text

        engine = create_engine(args.pg_url)
        with engine.begin() as c:
            c.execute(text("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public"))
        engine.dispose()
        rows += bench("PostgreSQL+pgvector", args.pg_url, "pgvector", args)
    return rows


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--gallery", type=int, default=10_000)
    p.add_argument("--clients", type=int, nargs="+", default=[8, 32, 128])
    p.add_argument("--decisions", type=int, default=32, help="face decisions per concurrency level (at least 1 each)")
    p.add_argument("--ledger-guests", type=int, default=64)
    p.add_argument("--ledger-clients", type=int, default=32)
    p.add_argument("--ledger-per-client", type=int, default=10)
    p.add_argument("--pg-url", default=os.environ.get("SOBERPAY_TEST_PG_URL"))
    p.add_argument("--pg-only", action="store_true")
    return p


@pytest.mark.slow
def test_purchase_load() -> None:
    rows = main(parser().parse_args(["--clients", "8", "--decisions", "8", "--ledger-per-client", "2"]))
    assert all(r["n"] > 0 for r in rows)


if __name__ == "__main__":
    main(parser().parse_args())
