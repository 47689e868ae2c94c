"""Top-ups through a payment channel (WeChat Pay, Alipay): the table and the ``TopupRepository`` over a session.

The unique (channel, provider_txn_id) pair is the last line of the "one credit per provider transaction"
rule: the service checks first, the database refuses a second paid order with the same transaction id.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from soberpay.adapters.db.base import Base, UTCDateTime
from soberpay.ports import TopupRecord


class TopupRow(Base):
    __tablename__ = "topup_orders"
    __table_args__ = (UniqueConstraint("channel", "provider_txn_id", name="uq_topup_provider_txn"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    guest_id: Mapped[str] = mapped_column(ForeignKey("guests.id"), nullable=False, index=True)
    channel: Mapped[str] = mapped_column(String(16), nullable=False)
    amount_fen: Mapped[int] = mapped_column(BigInteger, nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False, index=True)  # created / paid / closed / failed
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    code_url: Mapped[str] = mapped_column(String(256), nullable=False, default="")
    provider_txn_id: Mapped[str | None] = mapped_column(String(64))
    posting_id: Mapped[str | None] = mapped_column(ForeignKey("ledger_postings.id"))
    note: Mapped[str] = mapped_column(String(200), nullable=False, default="")


def _record(row: TopupRow) -> TopupRecord:
    return TopupRecord(
        row.id,
        row.guest_id,
        row.channel,
        row.amount_fen,
        row.state,
        row.created_at,
        row.updated_at,
        row.code_url,
        row.provider_txn_id,
        row.posting_id,
        row.note,
    )


class SqlAlchemyTopupRepository:
    def __init__(self, session: Session) -> None:
        self.s = session

    def add(self, topup: TopupRecord) -> None:
        self.s.add(TopupRow(**{f: getattr(topup, f) for f in TopupRecord.__dataclass_fields__}))
        self.s.flush()

    def get(self, topup_id: str) -> TopupRecord | None:
        row = self.s.get(TopupRow, topup_id)
        return None if row is None else _record(row)

    def save(self, topup: TopupRecord) -> None:
        row = self.s.get(TopupRow, topup.id)
        if row is None:
            raise RuntimeError(f"top-up {topup.id} vanished inside its transaction")
        for f in ("state", "updated_at", "code_url", "provider_txn_id", "posting_id", "note"):
            setattr(row, f, getattr(topup, f))
        self.s.flush()

    def pending_before(self, before: datetime, limit: int) -> list[TopupRecord]:
        q = (
            select(TopupRow)
            .where(TopupRow.state == "created", TopupRow.created_at < before)
            .order_by(TopupRow.created_at, TopupRow.id)
            .limit(limit)
        )
        return [_record(r) for r in self.s.scalars(q)]

    def for_guest(self, guest_id: str, limit: int) -> list[TopupRecord]:
        q = select(TopupRow).where(TopupRow.guest_id == guest_id).order_by(TopupRow.created_at.desc()).limit(limit)
        return [_record(r) for r in self.s.scalars(q)]
