"""Fault injection for the database: fail at the Nth statement, or make the database "gone".

``StatementFaults`` listens on an engine's ``before_cursor_execute`` event and wraps its dialect's
``do_commit``. Counting starts at ``arm()``; statement N (1-based, the COMMIT counted as a statement)
raises the driver's own ``OperationalError`` where the driver would, so SQLAlchemy, the engine's error
mapping, the unit of work and the services see exactly what a real I/O failure produces.
``outage()`` fails every statement until the block ends (database gone).

Seeds: scenario parameters come from ``seeded_random(name)``; a failing run prints its seed and is
replayed with ``SOBERPAY_FAULT_SEED=<seed>``.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.engine import Engine

from soberpay.adapters.db.all_tables import load_all_tables
from soberpay.adapters.db.identity_tables import GuestRow
from soberpay.adapters.db.payment_tables import (
    DeliveryRow,
    EntryRow,
    IdempotencyRow,
    OrderRow,
    PaymentAccountRow,
    PendingRequestRow,
)

SEED_ENV = "SOBERPAY_FAULT_SEED"


def seed_for() -> int:
    """The replay seed from ``SOBERPAY_FAULT_SEED``, else a fresh one (printed by the caller on failure)."""
    given = os.environ.get(SEED_ENV)
    return int(given) if given else random.SystemRandom().randrange(2**32)


class StatementFaults:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.count = 0
        self.fail_at: int | None = None
        self.fired = False
        self.down = False
        event.listen(engine, "before_cursor_execute", self._before_statement)
        self._do_commit = engine.dialect.do_commit
        engine.dialect.do_commit = self._commit  # type: ignore[method-assign]

    def arm(self, fail_at: int | None) -> None:
        """Start counting; statement ``fail_at`` (1-based) fails. ``None`` only counts."""
        self.count, self.fail_at, self.fired = 0, fail_at, False

    def disarm(self) -> None:
        self.fail_at = None

    @contextmanager
    def outage(self) -> Iterator[None]:
        """Every statement fails while the block runs: the database is gone."""
        self.down = True
        try:
            yield
        finally:
            self.down = False

    def _should_fail(self) -> bool:
        self.count += 1
        if self.down or (self.fail_at is not None and self.count == self.fail_at):
            self.fired = True
            return True
        return False

    def _message(self) -> str:
        return "database gone (injected)" if self.down else f"disk I/O error (injected at statement {self.count})"

    def _before_statement(self, conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        if self._should_fail():
            raise conn.dialect.loaded_dbapi.OperationalError(self._message())

    def _commit(self, dbapi_connection: Any) -> None:
        # Raised instead of the driver's COMMIT: the transaction is lost, as when the disk fails at commit.
        if self._should_fail():
            raise self.engine.dialect.loaded_dbapi.OperationalError(self._message())
        self._do_commit(dbapi_connection)

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._before_statement)
        self.engine.dialect.do_commit = self._do_commit  # type: ignore[method-assign]


SECURITY_BOOKKEEPING = {"password_guards", "rate_limits"}


def snapshot(engine: Engine) -> dict[str, Any]:
    """What "nothing written" and "done exactly once" compare: every table's row count, every account's
    cached balance and entry sum, the idempotency keys, pending statuses and erased guests. Asserts the
    books balance (all entries sum to 0; each cached balance equals its entries)."""
    # A payment-password attempt is reserved (counted) in its own transaction *before* argon2 runs, so
    # parallel guesses across processes cannot exceed the lockout; a fault after that reservation leaves
    # the attempt counted. That is security bookkeeping, conservative by design, not money: left out.
    tables = [t for t in load_all_tables().metadata.sorted_tables if t.name not in SECURITY_BOOKKEEPING]
    with engine.connect() as c:
        state: dict[str, Any] = {t.name: c.scalar(select(func.count()).select_from(t)) for t in tables}
        by_account = select(EntryRow.account_id, func.sum(EntryRow.amount_fen)).group_by(EntryRow.account_id)
        sums = {a: int(s) for a, s in c.execute(by_account)}
        cached = {a: int(s) for a, s in c.execute(select(PaymentAccountRow.id, PaymentAccountRow.signed_fen))}
        state["keys"] = sorted(c.scalars(select(IdempotencyRow.key)))
        state["pending"] = sorted(c.scalars(select(PendingRequestRow.status)))
        state["deliveries"] = sorted(c.scalars(select(DeliveryRow.state)))
        state["refunded"] = c.scalar(select(func.coalesce(func.sum(OrderRow.refunded_fen), 0)))
        state["erased"] = c.scalar(select(func.count()).select_from(GuestRow).where(GuestRow.erased_at.is_not(None)))
    assert sum(sums.values()) == 0, f"the ledger does not balance: {sums}"
    for account, fen in cached.items():
        if account.startswith("guest:"):
            assert fen == sums.get(account, 0), f"cached balance of {account} is {fen}, entries say {sums.get(account)}"
    state["sums"] = sums
    return state
