"""Rate limits and the password lockout live in the database: two engines stand for two processes."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from soberpay.adapters.clock import ManualClock
from soberpay.adapters.db.base import make_engine, make_session_factory
from soberpay.bootstrap import Container
from soberpay.errors import RateLimited
from soberpay.web.auth import RateLimits


@pytest.fixture
def two_processes(db_url: str) -> Iterator[tuple[sessionmaker[Session], sessionmaker[Session]]]:
    engines = [make_engine(db_url), make_engine(db_url)]
    yield make_session_factory(engines[0]), make_session_factory(engines[1])
    for e in engines:
        e.dispose()


def _ok(limits: RateLimits, key: str) -> bool:
    try:
        limits.check("password", key)
    except RateLimited:
        return False
    return True


def test_two_processes_share_one_count_atomically_and_the_window_moves_on(
    two_processes: tuple[sessionmaker[Session], sessionmaker[Session]],
) -> None:
    clock = ManualClock()
    a, b = (RateLimits(s, clock, "secret", {"password": 10}) for s in two_processes)
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda i: _ok(a if i % 2 else b, "phone:13800000001"), range(30)))
    assert sum(results) == 10
    assert _ok(a, "phone:13900000002")  # another key has its own count
    clock.advance(seconds=61)
    assert _ok(b, "phone:13800000001")


def test_the_password_lockout_is_shared_by_every_process(fake_container: Container, clock: ManualClock) -> None:
    ident = fake_container.identity
    guest = ident.register(name="Li", phone="13800000001", national_id="11010519491231002X", password="246810")
    for _ in range(5):
        assert not ident.check_password(guest.id, "000000").ok
    # A second "process": a fresh container on the same database sees the lock.
    other = Container(fake_container.settings, clock=clock).open(migrate=False)
    try:
        check = other.identity.check_password(guest.id, "246810")
        assert not check.ok and check.locked(clock.now())
        clock.advance(seconds=timedelta(minutes=15).total_seconds() + 1)
        assert other.identity.check_password(guest.id, "246810").ok
    finally:
        other.close()
