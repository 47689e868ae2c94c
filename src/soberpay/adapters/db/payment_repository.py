"""Row ↔ domain mapping and queries for the payment tables (used inside the service's transactions)."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from soberpay.adapters.db.payment_tables import (
    EntryRow,
    IdempotencyRow,
    NotificationRow,
    OrderRow,
    PasswordGuardRow,
    PaymentAccountRow,
    PendingRequestRow,
    PostingRow,
    RiskStateRow,
    VisitRow,
)
from soberpay.domain.ledger import VENUE_ACCOUNTS, Posting, guest_account
from soberpay.domain.purchase import PasswordGuard, PendingRequest, PendingStatus, StoredResult
from soberpay.domain.risk import RiskLevel, RiskRecord, RiskState, TagSource
from soberpay.domain.spending import PastOrder


def new_id() -> str:
    return uuid.uuid4().hex


class PaymentRepository:
    """Thin, explicit queries over one SQLAlchemy session (the caller owns the transaction)."""

    def __init__(self, session: Session) -> None:
        self.s = session

    # --- accounts & ledger ------------------------------------------------------------------

    @staticmethod
    def ensure_accounts(session: Session, customer_id: str | None, now: datetime) -> None:
        """Create the guest / venue account rows if missing (own transaction; races are harmless)."""
        wanted: list[tuple[str, str | None, str]] = [(a, None, "venue") for a in VENUE_ACCOUNTS]
        if customer_id is not None:
            wanted.append((guest_account(customer_id), customer_id, "guest"))
        for account_id, cid, kind in wanted:
            if session.get(PaymentAccountRow, account_id) is not None:
                continue
            try:
                with session.begin_nested():
                    session.add(
                        PaymentAccountRow(
                            id=account_id, customer_id=cid, kind=kind, signed_fen=0, version=0, created_at=now
                        )
                    )
            except IntegrityError:
                pass

    def lock_guest_account(self, customer_id: str) -> PaymentAccountRow:
        """Row lock on the guest account: serialises every money decision for this guest."""
        row = self.s.scalar(
            select(PaymentAccountRow).where(PaymentAccountRow.id == guest_account(customer_id)).with_for_update()
        )
        if row is None:
            raise RuntimeError("guest account missing: call ensure_accounts first")
        return row

    def guest_balance(self, customer_id: str) -> int:
        """Read-only balance (no lock) for display."""
        row = self.s.get(PaymentAccountRow, guest_account(customer_id))
        return 0 if row is None else -row.signed_fen

    @staticmethod
    def balance_of(row: PaymentAccountRow) -> int:
        return -row.signed_fen

    def write_posting(self, posting: Posting, idempotency_key: str | None, guest_row: PaymentAccountRow | None) -> None:
        self.s.add(
            PostingRow(
                id=posting.id,
                at=posting.at,
                kind=posting.kind.value,
                customer_id=posting.customer_id,
                visit_id=posting.visit_id,
                amount_fen=posting.amount_fen,
                memo=posting.memo[:200],
                idempotency_key=idempotency_key,
            )
        )
        self.s.flush()
        for e in posting.entries:
            self.s.add(EntryRow(posting_id=posting.id, account_id=e.account, amount_fen=e.amount_fen))
            if guest_row is not None and e.account == guest_row.id:
                guest_row.signed_fen += e.amount_fen
                guest_row.version += 1

    def account_sums(self) -> dict[str, int]:
        rows = self.s.execute(select(EntryRow.account_id, func.sum(EntryRow.amount_fen)).group_by(EntryRow.account_id))
        return {a: int(v or 0) for a, v in rows}

    def postings(self, customer_id: str | None = None, limit: int = 200) -> list[tuple[PostingRow, list[EntryRow]]]:
        q = select(PostingRow).order_by(PostingRow.at.desc(), PostingRow.id).limit(limit)
        if customer_id is not None:
            q = q.where(PostingRow.customer_id == customer_id)
        out = []
        for p in self.s.scalars(q):
            entries = list(self.s.scalars(select(EntryRow).where(EntryRow.posting_id == p.id).order_by(EntryRow.id)))
            out.append((p, entries))
        return out

    # --- visits & orders --------------------------------------------------------------------

    def open_visit(self, customer_id: str) -> VisitRow | None:
        return self.s.scalar(
            select(VisitRow)
            .where(VisitRow.customer_id == customer_id, VisitRow.status == "open")
            .order_by(VisitRow.opened_at.desc())
        )

    def orders(self, customer_id: str, visit_id: str | None = None) -> list[OrderRow]:
        q = select(OrderRow).where(OrderRow.customer_id == customer_id).order_by(OrderRow.at, OrderRow.id)
        if visit_id is not None:
            q = q.where(OrderRow.visit_id == visit_id)
        return list(self.s.scalars(q))

    def history(self, customer_id: str, exclude_visit: str | None) -> list[PastOrder]:
        q = select(OrderRow).where(OrderRow.customer_id == customer_id)
        if exclude_visit is not None:
            q = q.where(OrderRow.visit_id != exclude_visit)
        return [PastOrder(o.visit_id, o.amount_fen, o.category, o.quantity) for o in self.s.scalars(q)]

    # --- risk & guard -----------------------------------------------------------------------

    def risk(self, customer_id: str) -> RiskRecord:
        row = self.s.get(RiskStateRow, customer_id)
        if row is None:
            return RiskRecord(customer_id)
        return RiskRecord(
            customer_id=customer_id,
            state=RiskState(row.state),
            level=RiskLevel(row.level),
            tag_source=TagSource(row.tag_source) if row.tag_source else None,
            tag_reason=row.tag_reason,
            tagged_at=row.tagged_at,
            last_trigger_at=row.last_trigger_at,
            recovering_since=row.recovering_since,
            sticky=row.sticky,
            staff_clear_until=row.staff_clear_until,
            updated_at=row.updated_at,
        )

    def save_risk(self, rec: RiskRecord) -> None:
        row = self.s.get(RiskStateRow, rec.customer_id)
        if row is None:
            row = RiskStateRow(customer_id=rec.customer_id)
            self.s.add(row)
        row.state = rec.state.value
        row.level = rec.level.value
        row.tag_source = rec.tag_source.value if rec.tag_source else None
        row.tag_reason = rec.tag_reason[:600]
        row.tagged_at = rec.tagged_at
        row.last_trigger_at = rec.last_trigger_at
        row.recovering_since = rec.recovering_since
        row.sticky = rec.sticky
        row.staff_clear_until = rec.staff_clear_until
        row.updated_at = rec.updated_at

    def guard(self, customer_id: str) -> PasswordGuard:
        row = self.s.get(PasswordGuardRow, customer_id)
        return PasswordGuard() if row is None else PasswordGuard(row.failures, row.locked_until)

    def save_guard(self, customer_id: str, guard: PasswordGuard) -> None:
        row = self.s.get(PasswordGuardRow, customer_id)
        if row is None:
            row = PasswordGuardRow(customer_id=customer_id)
            self.s.add(row)
        row.failures = guard.failures
        row.locked_until = guard.locked_until

    # --- pending ----------------------------------------------------------------------------

    @staticmethod
    def to_pending(row: PendingRequestRow) -> PendingRequest:
        return PendingRequest(
            id=row.id,
            customer_id=row.customer_id,
            visit_id=row.visit_id,
            sku=row.sku,
            name=row.name,
            category=row.category,
            unit_price_fen=row.unit_price_fen,
            quantity=row.quantity,
            reason=row.reason,
            created_at=row.created_at,
            expires_at=row.expires_at,
            status=PendingStatus(row.status),
            resolved_at=row.resolved_at,
            note=row.note,
        )

    def add_pending(self, req: PendingRequest) -> None:
        self.s.add(
            PendingRequestRow(
                id=req.id,
                customer_id=req.customer_id,
                visit_id=req.visit_id,
                sku=req.sku,
                name=req.name[:80],
                category=req.category,
                unit_price_fen=req.unit_price_fen,
                quantity=req.quantity,
                reason=req.reason[:600],
                status=req.status.value,
                created_at=req.created_at,
                expires_at=req.expires_at,
                resolved_at=req.resolved_at,
                note=req.note,
            )
        )

    def save_pending(self, req: PendingRequest) -> None:
        row = self.s.get(PendingRequestRow, req.id)
        assert row is not None
        row.status = req.status.value
        row.resolved_at = req.resolved_at
        row.note = req.note[:200]

    def pending_rows(
        self, customer_id: str | None = None, statuses: tuple[str, ...] | None = None, visit_id: str | None = None
    ) -> list[PendingRequestRow]:
        q = select(PendingRequestRow).order_by(PendingRequestRow.created_at, PendingRequestRow.id)
        if customer_id is not None:
            q = q.where(PendingRequestRow.customer_id == customer_id)
        if statuses is not None:
            q = q.where(PendingRequestRow.status.in_(statuses))
        if visit_id is not None:
            q = q.where(PendingRequestRow.visit_id == visit_id)
        return list(self.s.scalars(q))

    # --- idempotency ------------------------------------------------------------------------

    def stored(self, key: str) -> StoredResult | None:
        row = self.s.get(IdempotencyRow, key)
        if row is None:
            return None
        return StoredResult(row.key, row.operation, row.fingerprint, json.loads(row.result))

    def store(
        self, key: str, operation: str, fp: str, customer_id: str | None, result: dict[str, Any], now: datetime
    ) -> None:
        self.s.add(
            IdempotencyRow(
                key=key,
                operation=operation,
                fingerprint=fp,
                customer_id=customer_id,
                result=json.dumps(result, sort_keys=True, default=str, ensure_ascii=False),
                created_at=now,
            )
        )
        self.s.flush()  # a concurrent duplicate key fails here, inside the transaction

    # --- notifications ----------------------------------------------------------------------

    def notify(self, now: datetime, kind: str, customer_id: str | None, message: str) -> None:
        self.s.add(NotificationRow(at=now, kind=kind, customer_id=customer_id, message=message[:600]))
