"""Two managers demoting (or disabling) each other at the same moment: one wins, the venue keeps an active
manager. On PostgreSQL each change locked only its own row, so both saw the other still a manager and
both committed (write skew): no manager left. Protection: ``AuthStore.update_staff`` locks every active
manager's row (in id order) before it counts them."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from soberpay.adapters.clock import ManualClock
from soberpay.adapters.crypto import Argon2idHasher
from soberpay.adapters.db.base import make_engine, make_session_factory
from soberpay.errors import Conflict
from soberpay.web.auth import AuthStore

RACERS = "manager-race"


@pytest.fixture
def sessions(db_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(db_url)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.mark.parametrize("change", [{"role": "cashier", "disabled": None}, {"role": None, "disabled": True}])
def test_two_managers_demoting_each_other_leave_one_manager(
    sessions: sessionmaker[Session], change: dict[str, Any]
) -> None:
    auth = AuthStore(sessions, Argon2idHasher(time_cost=1, memory_cost=8, parallelism=1), ManualClock())
    a = auth.create_staff("ann", "password-1", "manager")
    b = auth.create_staff("bob", "password-2", "manager")
    # Both transactions pause just before COMMIT until the other gets there too (or 2 s pass, when the
    # other is blocked on a lock): without the protection both have passed their check by then.
    meet = threading.Barrier(2)

    def pause(session: Session) -> None:
        if threading.current_thread().name.startswith(RACERS):
            try:
                meet.wait(timeout=2)
            except threading.BrokenBarrierError:
                pass

    event.listen(Session, "before_commit", pause)
    try:

        def demote(pair: tuple[int, int]) -> str:
            target, actor = pair
            try:
                auth.update_staff(target, actor=f"staff:{actor}", **change)
                return "ok"
            except Conflict:
                return "refused"

        with ThreadPoolExecutor(2, thread_name_prefix=RACERS) as pool:
            outcomes = sorted(pool.map(demote, [(a, b), (b, a)]))
    finally:
        event.remove(Session, "before_commit", pause)
    assert outcomes == ["ok", "refused"]
    active = [s for s in auth.staff_accounts() if s.role == "manager" and not s.disabled]
    assert len(active) == 1
