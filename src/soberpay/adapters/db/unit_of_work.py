"""``SqlAlchemyUnitOfWork``: the unit-of-work port over one SQLAlchemy session (SQLite or PostgreSQL).

The session's engine decides the locking: on SQLite every transaction starts with ``BEGIN IMMEDIATE``
(see ``base.make_engine``), on PostgreSQL ``PaymentRepository.lock_guest`` takes ``SELECT … FOR UPDATE``.
A unique-constraint violation leaving the block (or raised by ``commit``) becomes the port's
``DuplicateRecord``, so services can retry without importing SQLAlchemy.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from soberpay.adapters.db.base import checkpoint_truncate
from soberpay.adapters.db.identity_repository import (
    SqlAlchemyAuditLog,
    SqlAlchemyConsentRepository,
    SqlAlchemyDerivedData,
    SqlAlchemyGuestRepository,
    SqlAlchemyTemplateRepository,
)
from soberpay.adapters.db.payment_repository import (
    SqlAlchemyIdempotencyStore,
    SqlAlchemyNotificationOutbox,
    SqlAlchemyPaymentRepository,
)
from soberpay.adapters.db.topup_tables import SqlAlchemyTopupRepository
from soberpay.ports import AbstractUnitOfWork, DuplicateRecord

__all__ = ["SqlAlchemyUnitOfWork"]


class SqlAlchemyUnitOfWork(AbstractUnitOfWork):
    def __init__(self, session_factory: sessionmaker[Any]) -> None:
        self._session_factory = session_factory
        self._session: Session | None = None

    @property
    def session(self) -> Session:
        if self._session is None:
            raise RuntimeError("the unit of work is used outside its `with` block")
        return self._session

    def __enter__(self) -> SqlAlchemyUnitOfWork:
        s: Session = self._session_factory()
        self._session = s
        self.payments = SqlAlchemyPaymentRepository(s)
        self.idempotency = SqlAlchemyIdempotencyStore(s)
        self.notifications = SqlAlchemyNotificationOutbox(s)
        self.audit = SqlAlchemyAuditLog(s)
        self.guests = SqlAlchemyGuestRepository(s)
        self.consents = SqlAlchemyConsentRepository(s)
        self.templates = SqlAlchemyTemplateRepository(s)
        self.derived = SqlAlchemyDerivedData(s)
        self.topups = SqlAlchemyTopupRepository(s)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            super().__exit__(exc_type, exc, tb)
        finally:
            self.session.close()
            self._session = None
        if isinstance(exc, IntegrityError):
            raise DuplicateRecord(str(exc.orig)) from exc

    def commit(self) -> None:
        try:
            self.session.commit()
        except IntegrityError as exc:
            raise DuplicateRecord(str(exc.orig)) from exc

    def rollback(self) -> None:
        self.session.rollback()

    def purge_erased(self) -> None:
        bind = self.session.get_bind()
        checkpoint_truncate(bind if isinstance(bind, Engine) else bind.engine)
