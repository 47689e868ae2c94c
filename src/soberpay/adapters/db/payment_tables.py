"""Payment tables: accounts, postings/entries (double entry), orders, visits, risk state, password guards,
pending requests, idempotency keys, staff notifications. Audit goes to the shared ``audit_log``.

Portable types only; money is BigInteger fen. ``payment_accounts.balance_fen`` is a cache of the
entries (kept in the same transaction) and the row that is locked (``SELECT … FOR UPDATE`` on
PostgreSQL; SQLite serialises writers with ``BEGIN IMMEDIATE``) so concurrent charges cannot overspend.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Float, ForeignKey, Integer, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column

from soberpay.adapters.db.base import Base, UTCDateTime

_BIGID = BigInteger().with_variant(Integer, "sqlite")


class PaymentAccountRow(Base):
    __tablename__ = "payment_accounts"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # "guest:<id>", "venue:revenue", ...
    guest_id: Mapped[str | None] = mapped_column(ForeignKey("guests.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)  # guest / venue
    signed_fen: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)  # debits − credits
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class PostingRow(Base):
    __tablename__ = "ledger_postings"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    guest_id: Mapped[str | None] = mapped_column(ForeignKey("guests.id"), index=True)
    visit_id: Mapped[str | None] = mapped_column(String(32), index=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger, nullable=False)
    memo: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    idempotency_key: Mapped[str | None] = mapped_column(String(128))


class EntryRow(Base):
    __tablename__ = "ledger_entries"

    id: Mapped[int] = mapped_column(_BIGID, primary_key=True, autoincrement=True)
    posting_id: Mapped[str] = mapped_column(ForeignKey("ledger_postings.id"), nullable=False, index=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("payment_accounts.id"), nullable=False, index=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger, nullable=False)  # > 0 debit, < 0 credit


class VisitRow(Base):
    __tablename__ = "visits"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    guest_id: Mapped[str] = mapped_column(ForeignKey("guests.id"), nullable=False, index=True)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="open")  # open / closed
    total_fen: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    bill: Mapped[str | None] = mapped_column(Text)  # JSON itemised bill at checkout


class OrderRow(Base):
    __tablename__ = "payment_orders"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    guest_id: Mapped[str] = mapped_column(ForeignKey("guests.id"), nullable=False, index=True)
    visit_id: Mapped[str] = mapped_column(ForeignKey("visits.id"), nullable=False, index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    sku: Mapped[str] = mapped_column(String(40), nullable=False)
    name: Mapped[str] = mapped_column(String(80), nullable=False)
    category: Mapped[str] = mapped_column(String(20), nullable=False)
    unit_price_fen: Mapped[int] = mapped_column(BigInteger, nullable=False)
    quantity: Mapped[int] = mapped_column(Integer, nullable=False)
    amount_fen: Mapped[int] = mapped_column(BigInteger, nullable=False)
    alcohol_g: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    rule: Mapped[str] = mapped_column(String(40), nullable=False)  # untagged / dual_verified / confirmed_...
    posting_id: Mapped[str] = mapped_column(ForeignKey("ledger_postings.id"), nullable=False)
    pending_id: Mapped[str | None] = mapped_column(String(32), unique=True)  # one charge per pending request
    refunded_fen: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    room_id: Mapped[str | None] = mapped_column(String(32), index=True)  # where the guest was (room_presence)


class DeliveryRow(Base):
    """A paid item a waiter carries to the room (domain/delivery.py); one per order at most."""

    __tablename__ = "deliveries"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("payment_orders.id"), nullable=False, unique=True)
    guest_id: Mapped[str] = mapped_column(ForeignKey("guests.id"), nullable=False, index=True)
    room_id: Mapped[str | None] = mapped_column(String(32), index=True)
    sku: Mapped[str] = mapped_column(String(40), nullable=False)
    name: Mapped[str] = mapped_column(String(80), nullable=False)
    quantity: Mapped[int] = mapped_column(Integer, nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, index=True)
    updated_by: Mapped[str] = mapped_column(String(64), nullable=False)


class RiskStateRow(Base):
    __tablename__ = "risk_states"

    guest_id: Mapped[str] = mapped_column(ForeignKey("guests.id"), primary_key=True)
    state: Mapped[str] = mapped_column(String(16), nullable=False)
    level: Mapped[str] = mapped_column(String(16), nullable=False)
    tag_source: Mapped[str | None] = mapped_column(String(16))
    tag_reason: Mapped[str] = mapped_column(String(600), nullable=False, default="")
    tagged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_trigger_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    recovering_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sticky: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    staff_clear_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PasswordGuardRow(Base):
    __tablename__ = "password_guards"

    guest_id: Mapped[str] = mapped_column(ForeignKey("guests.id"), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lockouts: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")


class PendingRequestRow(Base):
    __tablename__ = "pending_requests"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    guest_id: Mapped[str] = mapped_column(ForeignKey("guests.id"), nullable=False, index=True)
    visit_id: Mapped[str] = mapped_column(ForeignKey("visits.id"), nullable=False, index=True)
    sku: Mapped[str] = mapped_column(String(40), nullable=False)
    name: Mapped[str] = mapped_column(String(80), nullable=False)
    category: Mapped[str] = mapped_column(String(20), nullable=False)
    unit_price_fen: Mapped[int] = mapped_column(BigInteger, nullable=False)
    quantity: Mapped[int] = mapped_column(Integer, nullable=False)
    reason: Mapped[str] = mapped_column(String(600), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    room_id: Mapped[str | None] = mapped_column(String(32), index=True)


class IdempotencyRow(Base):
    __tablename__ = "idempotency_keys"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    operation: Mapped[str] = mapped_column(String(32), nullable=False)
    fingerprint: Mapped[str] = mapped_column(String(64), nullable=False)
    guest_id: Mapped[str | None] = mapped_column(String(32))
    result: Mapped[str] = mapped_column(Text, nullable=False)  # JSON
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class NotificationRow(Base):
    __tablename__ = "staff_notifications"

    id: Mapped[int] = mapped_column(_BIGID, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    guest_id: Mapped[str | None] = mapped_column(String(32), index=True)
    message: Mapped[str] = mapped_column(String(600), nullable=False)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(64))
    room_id: Mapped[str | None] = mapped_column(String(32), index=True)


# --- the ledger is append-only: postings and entries are never changed or removed ------------------


def _refuse_change(_mapper: Any, _connection: Any, target: Any) -> None:
    raise RuntimeError(f"{type(target).__name__} rows are append-only (post a correcting entry instead)")


for _model in (PostingRow, EntryRow):
    event.listen(_model, "before_update", _refuse_change)
    event.listen(_model, "before_delete", _refuse_change)
