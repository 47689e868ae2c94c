"""Payment passwords and ID numbers never appear in logs, responses, the audit log or the database in
clear — through the HTTP API, including its error paths."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from soberpay.adapters.clock import ManualClock
from soberpay.bootstrap import Container
from soberpay.config import Settings
from tests.e2e.web_support import national_id, sqlite_container, venue

SECRET_PASSWORD = "864209"


@pytest.fixture
def container(settings: Settings, clock: ManualClock) -> Iterator[Container]:
    c = sqlite_container(settings, clock)
    yield c
    c.close()


def test_password_and_id_number_never_leak(container: Container, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    nid = national_id(7)
    v = venue(container)
    bodies: list[str] = []
    with TestClient(v.app) as client:
        for body in (
            {"name": "Leak", "phone": "13800000077", "national_id": nid, "password": SECRET_PASSWORD},
            {"name": "Leak", "phone": "13800000077", "national_id": nid, "password": SECRET_PASSWORD},  # duplicate
            {"name": "Leak", "phone": "13800000078", "national_id": nid, "password": SECRET_PASSWORD, "x": 1},
            {"name": "Leak", "phone": "bad", "national_id": nid, "password": SECRET_PASSWORD},
        ):
            bodies.append(client.post("/api/guests", json=body).text)
        for password in ("000000", SECRET_PASSWORD, "12ab56"):
            r = client.post(
                "/api/rooms/r1/identify/phone",
                json={"phone": "13800000077", "password": password},
                headers=v.room("r1"),
            )
            bodies.append(r.text)
    haystacks = [*bodies, caplog.text]
    db = Path(str(container.settings.resolved_database_url).removeprefix("sqlite:///"))
    for path in (db, db.with_name(db.name + "-wal")):  # the write-ahead log holds recent pages
        if path.exists():
            haystacks.append(path.read_bytes().decode("latin-1"))
    for text in haystacks:
        assert SECRET_PASSWORD not in text
        assert nid not in text
