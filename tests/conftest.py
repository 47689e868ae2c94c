"""Shared fixtures: clean environment, temp data dirs, migrated databases (SQLite and PostgreSQL)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from soberpay.adapters.clock import ManualClock
from soberpay.bootstrap import Container
from soberpay.config import Settings

SHARED = Path(__file__).resolve().parents[2] / "shared"
SHARED_DATA = SHARED / "data"
REQUIRE_ALL = os.environ.get("SOBERPAY_TEST_REQUIRE_ALL") == "1"


@pytest.fixture(autouse=True)
def _clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never see the developer's SOBERPAY_* variables (the PG test URL excepted)."""
    for key in list(os.environ):
        if key.startswith("SOBERPAY_") and key not in ("SOBERPAY_TEST_PG_URL", "SOBERPAY_TEST_REQUIRE_ALL"):
            monkeypatch.delenv(key, raising=False)


def need(condition: bool, reason: str) -> None:
    """Skip when something external is missing — but fail instead inside `make test`."""
    if condition:
        return
    if REQUIRE_ALL:
        pytest.fail(f"required for make test: {reason}")
    pytest.skip(reason)


@pytest.fixture
def shared_data() -> Path:
    need(SHARED_DATA.is_dir(), f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # Fake "images" are strings: the one-still identification path stays on for the API tests
    # (tests/e2e/test_liveness_api.py checks it is refused when off, the production default).
    return Settings(data_dir=tmp_path / "var", env="test", liveness={"allow_still_face": True})


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


def _reset_pg(url: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture
def pg_url() -> str:
    url = os.environ.get("SOBERPAY_TEST_PG_URL")
    need(bool(url), "SOBERPAY_TEST_PG_URL is not set (make test starts a throwaway PostgreSQL)")
    assert url is not None
    _reset_pg(url)
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A freshly migrated database URL, on SQLite and (marked postgres) PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'test.db'}"
    else:
        url = request.getfixturevalue("pg_url")
    from soberpay.adapters.db.migrate import upgrade

    upgrade(url)
    return url


@pytest.fixture
def fake_container(settings: Settings, clock: ManualClock, db_url: str) -> Iterator[Container]:
    """A container on a migrated database (SQLite, and PostgreSQL under the postgres marker) with the
    fake face analyser and a manual clock."""
    from tests.fakes import FakeAnalyser, FakePresence, fake_decode_image, fake_decode_video

    settings.database_url = db_url
    if db_url.startswith("postgresql"):
        settings.index = "pgvector"  # the PostgreSQL runs are the PostgreSQL + pgvector deployment
    container = Container(settings, clock=clock, analyser=FakeAnalyser(), presence=FakePresence()).open(migrate=False)
    container.decode_image = fake_decode_image  # type: ignore[method-assign]
    container.decode_video = fake_decode_video  # type: ignore[method-assign]
    yield container
    container.close()
