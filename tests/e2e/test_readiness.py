"""Database gone, disk full, model file missing or corrupt: ``/readyz`` says not ready and why, money
routes answer 503 with nothing applied, and everything recovers when the fault clears (no restart).

The disk-full case mounts a 6 MiB tmpfs for the data dir (root only; skipped with the reason otherwise).
On PostgreSQL (marked) the database is cut off for real: a TCP proxy in front of the server drops every
connection and refuses new ones, then lets them through again.
"""

from __future__ import annotations

import contextlib
import errno
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from soberpay.adapters.behaviour_onnx import DEFAULT_MODEL
from soberpay.adapters.clock import ManualClock
from soberpay.adapters.db.migrate import upgrade
from soberpay.bootstrap import Container
from soberpay.config import Settings
from soberpay.errors import Unavailable
from tests.e2e.web_support import GUEST_PASSWORD, Venue, buy, login, register, sqlite_container, topup, venue
from tests.fakes import FakeAnalyser
from tests.support.faults import StatementFaults, snapshot


def _open(settings: Settings, clock: ManualClock) -> tuple[Container, Venue]:
    container = sqlite_container(settings, clock)
    v = venue(container)
    container.readiness.ttl_s = 0  # every probe re-checks, so recovery is visible at once
    return container, v


def _guest_token(client: TestClient, v: Venue) -> tuple[str, str]:
    csrf = login(client)
    guest = register(client, "Ready", seq=7)
    topup(client, csrf, guest["guest_id"], 100_000)
    r = client.post(
        "/api/rooms/r1/identify/phone", json={"phone": "13800000007", "password": GUEST_PASSWORD}, headers=v.room("r1")
    )
    assert r.status_code == 200, r.text
    return guest["guest_id"], r.json()["guest_token"]


def _not_ready(client: TestClient, check: str) -> str:
    r = client.get("/readyz")
    assert r.status_code == 503 and r.json()["status"] == "not_ready", r.text
    reason = str(r.json()["checks"][check])
    assert reason != "ok"
    return reason


def _refused(r: object, *words: str) -> None:
    assert r.status_code == 503, r.text  # type: ignore[attr-defined]
    body = r.json()  # type: ignore[attr-defined]
    assert body["error"] == "unavailable" and "nothing was applied" in body["message"]
    assert all(w in body["message"] for w in words), body["message"]


def test_database_gone_then_back(settings: Settings, clock: ManualClock) -> None:
    container, v = _open(settings, clock)
    faults = StatementFaults(container.engine)
    with v.client() as client:
        guest_id, token = _guest_token(client, v)
        before = snapshot(container.engine)
        with faults.outage():
            assert "database gone" in _not_ready(client, "database")
            _refused(buy(client, v, "r1", token, "cola", "gone-key-0001"), "database")
            container.readiness.ttl_s = 60  # even past the up-front check, the write itself fails cleanly
            with pytest.raises(Unavailable, match="database gone"):
                container.payments.purchase(guest_id, "cola", 1, "gone-key-0002")
            container.readiness.ttl_s = 0
        assert snapshot(container.engine) == before
        assert client.get("/readyz").status_code == 200
        r = buy(client, v, "r1", token, "cola", "gone-key-0001")
        assert r.status_code == 200 and r.json()["outcome"] == "charged", r.text
    container.close()


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount_point = tmp_path / "small"
    mount_point.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=6m,mode=0700", "tmpfs", str(mount_point)], capture_output=True, text=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a size-limited tmpfs here (needs root): {done.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def _fill(path: Path) -> None:
    chunk = b"\0" * 65536
    with path.open("wb") as f:
        try:
            while True:
                f.write(chunk)
                f.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC


def test_disk_full_then_space_freed(small_disk: Path, clock: ManualClock) -> None:
    settings = Settings(data_dir=small_disk / "var", env="test")
    settings.web.min_free_disk_mb = 1
    container, v = _open(settings, clock)
    with v.client() as client:
        guest_id, token = _guest_token(client, v)
        before = snapshot(container.engine)
        _fill(small_disk / "filler")
        assert "full" in _not_ready(client, "disk")
        _refused(buy(client, v, "r1", token, "cola", "full-key-0001"), "disk")
        container.readiness.ttl_s = 60  # past the up-front check, SQLite itself reports the full disk
        with pytest.raises(Unavailable, match="full"):
            container.payments.purchase(guest_id, "beer-tsingtao", 1, "full-key-0002")
        container.readiness.ttl_s = 0
        (small_disk / "filler").unlink()
        assert snapshot(container.engine) == before
        assert client.get("/readyz").status_code == 200
        r = buy(client, v, "r1", token, "cola", "full-key-0001")
        assert r.status_code == 200 and r.json()["outcome"] == "charged", r.text
    container.close()


def test_model_missing_or_corrupt_then_restored(settings: Settings, clock: ManualClock, tmp_path: Path) -> None:
    model = tmp_path / "behaviour.onnx"
    shutil.copyfile(DEFAULT_MODEL, model)
    settings.payment.behaviour_model = model
    container, v = _open(settings, clock)
    with v.client() as client:
        _, token = _guest_token(client, v)
        assert client.get("/readyz").json()["checks"]["model:behaviour"] == "ok"
        model.rename(tmp_path / "aside.onnx")
        _not_ready(client, "model:behaviour")
        _refused(buy(client, v, "r1", token, "cola", "model-key-001"), "model:behaviour")
        model.write_bytes(b"not an onnx model" * 64)
        assert "error" in _not_ready(client, "model:behaviour")
        _refused(buy(client, v, "r1", token, "cola", "model-key-001"), "model:behaviour")
        (tmp_path / "aside.onnx").replace(model)
        assert client.get("/readyz").status_code == 200
        r = buy(client, v, "r1", token, "cola", "model-key-001")
        assert r.status_code == 200 and r.json()["outcome"] == "charged", r.text
    container.close()


class CuttableProxy:
    """A TCP forwarder to PostgreSQL that can be cut (every connection dropped, new ones refused) and restored."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.up = True
        self.open: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.up:
                client.close()
                continue
            upstream = socket.create_connection(self.target)
            self.open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
            src.close()  # each socket is the source of exactly one pump

    def cut(self) -> None:
        self.up = False
        for s in self.open:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
        self.open.clear()

    def close(self) -> None:
        self.cut()
        self.listener.close()


@pytest.mark.postgres
def test_postgresql_connection_lost_then_back(pg_url: str, settings: Settings, clock: ManualClock) -> None:
    """On PostgreSQL for real: every connection dropped and new ones refused, then the server reachable again."""
    upgrade(pg_url)
    url = make_url(pg_url)
    proxy = CuttableProxy((url.host or "127.0.0.1", url.port or 5432))
    settings.database_url = url.set(port=proxy.port).render_as_string(hide_password=False)
    container = Container(settings, clock=clock, analyser=FakeAnalyser()).open(migrate=False)
    v = venue(container)
    container.readiness.ttl_s = 0
    try:
        with v.client() as client:
            guest_id, token = _guest_token(client, v)
            before = snapshot(container.engine)
            proxy.cut()
            assert "error" in _not_ready(client, "database")
            _refused(buy(client, v, "r1", token, "cola", "pg-gone-key-01"), "database")
            container.readiness.ttl_s = 60
            with pytest.raises(Unavailable):
                container.payments.purchase(guest_id, "cola", 1, "pg-gone-key-02")
            container.readiness.ttl_s = 0
            proxy.up = True
            assert client.get("/readyz").status_code == 200
            assert snapshot(container.engine) == before
            r = buy(client, v, "r1", token, "cola", "pg-gone-key-01")
            assert r.status_code == 200 and r.json()["outcome"] == "charged", r.text
    finally:
        container.close()
        proxy.close()
