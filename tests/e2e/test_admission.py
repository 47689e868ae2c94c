"""Bounded work over HTTP: bodies are capped (declared or chunked), JSON bodies are small, and model work
beyond ``workers + queue`` is refused with 503 + Retry-After instead of queueing without bound."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from soberpay.adapters.clock import ManualClock
from soberpay.config import Settings
from soberpay.web.admission import JSON_BODY_BYTES
from tests.e2e.web_support import sqlite_container, venue
from tests.fakes import fake_image


def _container(tmp_path: Path, **web: Any) -> Any:
    settings = Settings(data_dir=tmp_path / "var", env="test", identity={"max_upload_bytes": 100_000}, web=web)
    return sqlite_container(settings, ManualClock())


def test_declared_and_chunked_bodies_over_the_cap_are_413(tmp_path: Path) -> None:
    container = _container(tmp_path)
    big = b"\xff\xd8\xff" + b"\0" * 300_000
    with venue(container).client() as client:
        r = client.post("/api/face/quality", files={"file": ("f.jpg", big, "image/jpeg")})
        assert r.status_code == 413, r.text

        def chunks() -> Iterator[bytes]:  # no Content-Length: the cap applies while reading
            yield b"--x\r\nContent-Disposition: form-data; name=file; filename=f.jpg\r\n\r\n"
            for _ in range(40):
                yield b"\0" * 10_000

        r = client.post(
            "/api/face/quality", content=chunks(), headers={"Content-Type": "multipart/form-data; boundary=x"}
        )
        assert r.status_code == 413, r.text
        assert r.json()["error"] == "too_large"
        r = client.post("/api/auth/login", json={"username": "x" * JSON_BODY_BYTES, "password": "y"})
        assert r.status_code == 413, r.text
    container.close()


def test_model_work_beyond_workers_and_queue_is_503_with_retry_after(tmp_path: Path) -> None:
    container = _container(tmp_path, model_workers=1, model_queue=1)
    release, entered = threading.Event(), threading.Semaphore(0)
    decode = container.decode_image

    def slow_decode(data: bytes) -> Any:
        entered.release()
        release.wait(30)
        return decode(data)

    container.decode_image = slow_decode  # type: ignore[method-assign]
    frame = {"file": ("f.jpg", fake_image("alice", 1), "image/jpeg")}
    with venue(container).client() as client:
        results: list[int] = []
        busy = [
            threading.Thread(target=lambda: results.append(client.post("/api/face/quality", files=frame).status_code))
            for _ in range(2)
        ]
        for t in busy:
            t.start()
        assert entered.acquire(timeout=30)  # one call runs…
        pool = client.app.state.web.models  # type: ignore[attr-defined]
        deadline = time.monotonic() + 30
        while pool._calls < 2 and time.monotonic() < deadline:  # …and one waits in the queue (a loaded CI)
            time.sleep(0.01)
        r = client.post("/api/face/quality", files=frame)
        assert r.status_code == 503, r.text
        assert r.json()["error"] == "busy" and int(r.headers["Retry-After"]) >= 1
        release.set()
        for t in busy:
            t.join(30)
        assert results == [200, 200]
    container.close()


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/api/menu"), ("GET", "/api/consents/texts"), ("GET", "/kiosk"), ("POST", "/room/r1/pair")],
)
def test_endpoints_without_credentials_are_rate_limited_per_ip(tmp_path: Path, method: str, path: str) -> None:
    container = _container(tmp_path, public_rate_per_min=2)
    with venue(container).client() as client:
        statuses = [client.request(method, path, data={"token": "sprt_guess"}).status_code for _ in range(3)]
        assert statuses[:2] != [429, 429] and statuses[2] == 429, statuses
    container.close()
