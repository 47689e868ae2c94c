"""SQLAlchemy implementations of the payment stores: rows ↔ records and the queries, inside the
unit of work's session (the unit of work owns the transaction)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from soberpay.adapters.db.audit import room_of
from soberpay.adapters.db.payment_tables import (
    DeliveryRow,
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
from soberpay.adapters.db.room_tables import RoomPresenceRow
from soberpay.domain.delivery import Delivery, DeliveryState
from soberpay.domain.identity import PasswordGuard
from soberpay.domain.ledger import VENUE_ACCOUNTS, Posting, guest_account
from soberpay.domain.purchase import PendingRequest, PendingStatus, StoredResult
from soberpay.domain.risk import RiskLevel, RiskRecord, RiskState, TagSource
from soberpay.domain.spending import PastOrder
from soberpay.ports import Alert, LedgerLine, OrderRecord, Presence, Visit


class SqlAlchemyPaymentRepository:
    """The ``PaymentRepository`` port over one session."""

    def __init__(self, session: Session) -> None:
        self.s = session

    # --- accounts & ledger ------------------------------------------------------------------

    def ensure_accounts(self, guest_id: str | None, now: datetime) -> None:
        """Create the guest / venue account rows if missing (a concurrent creator winning is harmless)."""
        wanted: list[tuple[str, str | None, str]] = [(a, None, "venue") for a in VENUE_ACCOUNTS]
        if guest_id is not None:
            wanted.append((guest_account(guest_id), guest_id, "guest"))
        for account_id, guest_id, kind in wanted:
            if self.s.get(PaymentAccountRow, account_id) is not None:
                continue
            try:
                with self.s.begin_nested():
                    self.s.add(
                        PaymentAccountRow(
                            id=account_id, guest_id=guest_id, kind=kind, signed_fen=0, version=0, created_at=now
                        )
                    )
            except IntegrityError:
                pass

    def lock_guest(self, guest_id: str) -> None:
        # SELECT … FOR UPDATE on PostgreSQL; SQLite already holds the write lock (BEGIN IMMEDIATE).
        row = self.s.scalar(
            select(PaymentAccountRow).where(PaymentAccountRow.id == guest_account(guest_id)).with_for_update()
        )
        if row is None:
            raise RuntimeError("guest account missing: call ensure_accounts first")

    def balance(self, guest_id: str) -> int:
        # After lock_guest this is the locked row from the session's identity map (no second query).
        row = self.s.get(PaymentAccountRow, guest_account(guest_id))
        return 0 if row is None else -row.signed_fen

    def write_posting(self, posting: Posting, idempotency_key: str | None) -> None:
        self.s.add(
            PostingRow(
                id=posting.id,
                at=posting.at,
                kind=posting.kind.value,
                guest_id=posting.guest_id,
                visit_id=posting.visit_id,
                amount_fen=posting.amount_fen,
                memo=posting.memo[:200],
                idempotency_key=idempotency_key,
            )
        )
        self.s.flush()
        guest_row_id = guest_account(posting.guest_id) if posting.guest_id else None
        guest_row = self.s.get(PaymentAccountRow, guest_row_id) if guest_row_id else None
        for e in posting.entries:
            self.s.add(EntryRow(posting_id=posting.id, account_id=e.account, amount_fen=e.amount_fen))
            if guest_row is not None and e.account == guest_row.id:
                guest_row.signed_fen += e.amount_fen
                guest_row.version += 1

    def account_sums(self) -> dict[str, int]:
        rows = self.s.execute(select(EntryRow.account_id, func.sum(EntryRow.amount_fen)).group_by(EntryRow.account_id))
        return {a: int(v or 0) for a, v in rows}

    def ledger_lines(self, guest_id: str | None, limit: int) -> list[LedgerLine]:
        q = select(PostingRow).order_by(PostingRow.at.desc(), PostingRow.id).limit(limit)
        if guest_id is not None:
            q = q.where(PostingRow.guest_id == guest_id)
        out = []
        for p in self.s.scalars(q):
            entries = self.s.scalars(select(EntryRow).where(EntryRow.posting_id == p.id).order_by(EntryRow.id))
            lines = tuple((e.account_id, e.amount_fen) for e in entries)
            out.append(LedgerLine(p.id, p.at, p.kind, p.guest_id, p.memo, lines))
        return out

    # --- visits & orders --------------------------------------------------------------------

    def open_visit(self, guest_id: str) -> Visit | None:
        row = self.s.scalar(
            select(VisitRow)
            .where(VisitRow.guest_id == guest_id, VisitRow.status == "open")
            .order_by(VisitRow.opened_at.desc())
        )
        return None if row is None else Visit(row.id, row.guest_id, row.opened_at, row.status, None, row.total_fen)

    def last_visit(self, guest_id: str) -> Visit | None:
        row = self.s.scalar(
            select(VisitRow).where(VisitRow.guest_id == guest_id).order_by(VisitRow.opened_at.desc()).limit(1)
        )
        if row is None:
            return None
        return Visit(row.id, row.guest_id, row.opened_at, row.status, row.closed_at, row.total_fen)

    def add_visit(self, visit: Visit) -> None:
        self.s.add(
            VisitRow(
                id=visit.id,
                guest_id=visit.guest_id,
                opened_at=visit.opened_at,
                status=visit.status,
                total_fen=visit.total_fen,
            )
        )
        self.s.flush()

    def close_visit(self, visit_id: str, closed_at: datetime, total_fen: int, bill: Mapping[str, Any]) -> None:
        row = self.s.get(VisitRow, visit_id)
        if row is None:
            raise RuntimeError(f"visit {visit_id} vanished inside its transaction")
        row.status = "closed"
        row.closed_at = closed_at
        row.total_fen = total_fen
        row.bill = json.dumps(bill, default=str, ensure_ascii=False)

    def orders(self, guest_id: str, visit_id: str | None = None) -> list[OrderRecord]:
        q = select(OrderRow).where(OrderRow.guest_id == guest_id).order_by(OrderRow.at, OrderRow.id)
        if visit_id is not None:
            q = q.where(OrderRow.visit_id == visit_id)
        return [_order(o) for o in self.s.scalars(q)]

    def order(self, order_id: str) -> OrderRecord | None:
        row = self.s.get(OrderRow, order_id)
        return None if row is None else _order(row)

    def add_order(self, order: OrderRecord) -> None:
        self.s.add(
            OrderRow(
                id=order.id,
                guest_id=order.guest_id,
                visit_id=order.visit_id,
                at=order.at,
                sku=order.sku,
                name=order.name[:80],
                category=order.category,
                unit_price_fen=order.unit_price_fen,
                quantity=order.quantity,
                amount_fen=order.amount_fen,
                alcohol_g=order.alcohol_g,
                rule=order.rule,
                posting_id=order.posting_id,
                pending_id=order.pending_id,
                refunded_fen=order.refunded_fen,
                room_id=order.room_id or room_of(self.s, order.guest_id),
            )
        )

    def add_refund(self, order_id: str, amount_fen: int) -> None:
        row = self.s.get(OrderRow, order_id)
        if row is None:
            raise RuntimeError(f"order {order_id} vanished inside its transaction")
        row.refunded_fen += amount_fen

    # --- deliveries -------------------------------------------------------------------------

    def add_delivery(self, delivery: Delivery) -> None:
        self.s.flush()  # the order row first: the delivery's foreign key needs it
        self.s.add(
            DeliveryRow(
                id=delivery.id,
                order_id=delivery.order_id,
                guest_id=delivery.guest_id,
                room_id=delivery.room_id or room_of(self.s, delivery.guest_id),
                sku=delivery.sku,
                name=delivery.name[:80],
                quantity=delivery.quantity,
                state=delivery.state.value,
                created_at=delivery.created_at,
                updated_at=delivery.updated_at,
                updated_by=delivery.updated_by[:64],
            )
        )

    def delivery_for_order(self, order_id: str) -> Delivery | None:
        row = self.s.scalar(select(DeliveryRow).where(DeliveryRow.order_id == order_id))
        return None if row is None else _delivery(row)

    def deliveries(self, states: tuple[DeliveryState, ...], since: datetime | None = None) -> list[Delivery]:
        q = select(DeliveryRow).where(DeliveryRow.state.in_([st.value for st in states]))
        if since is not None:
            q = q.where(DeliveryRow.updated_at >= since)
        return [_delivery(r) for r in self.s.scalars(q.order_by(DeliveryRow.created_at, DeliveryRow.id))]

    def save_delivery(self, delivery: Delivery) -> None:
        row = self.s.get(DeliveryRow, delivery.id)
        if row is None:
            raise RuntimeError(f"delivery {delivery.id} vanished inside its transaction")
        row.state = delivery.state.value
        row.updated_at = delivery.updated_at
        row.updated_by = delivery.updated_by[:64]

    def history(self, guest_id: str, exclude_visit: str | None) -> list[PastOrder]:
        q = select(OrderRow).where(OrderRow.guest_id == guest_id)
        if exclude_visit is not None:
            q = q.where(OrderRow.visit_id != exclude_visit)
        return [PastOrder(o.visit_id, o.amount_fen, o.category, o.quantity) for o in self.s.scalars(q)]

    # --- risk & guard -----------------------------------------------------------------------

    def risk(self, guest_id: str) -> RiskRecord:
        row = self.s.get(RiskStateRow, guest_id)
        if row is None:
            return RiskRecord(guest_id)
        return RiskRecord(
            guest_id=guest_id,
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

    def save_risk(self, record: RiskRecord) -> None:
        row = self.s.get(RiskStateRow, record.guest_id)
        if row is None:
            row = RiskStateRow(guest_id=record.guest_id)
            self.s.add(row)
        row.state = record.state.value
        row.level = record.level.value
        row.tag_source = record.tag_source.value if record.tag_source else None
        row.tag_reason = record.tag_reason[:600]
        row.tagged_at = record.tagged_at
        row.last_trigger_at = record.last_trigger_at
        row.recovering_since = record.recovering_since
        row.sticky = record.sticky
        row.staff_clear_until = record.staff_clear_until
        row.updated_at = record.updated_at

    def guard(self, guest_id: str, for_update: bool = False) -> PasswordGuard:
        # FOR UPDATE on PostgreSQL (SQLite already holds the write lock). A missing row cannot be locked:
        # two first attempts both insert, and the loser's DuplicateRecord makes the caller retry.
        row = self.s.get(PasswordGuardRow, guest_id, with_for_update=for_update)
        return PasswordGuard() if row is None else PasswordGuard(row.failures, row.locked_until, row.lockouts)

    def save_guard(self, guest_id: str, guard: PasswordGuard) -> None:
        row = self.s.get(PasswordGuardRow, guest_id)
        if row is None:
            row = PasswordGuardRow(guest_id=guest_id)
            self.s.add(row)
        row.failures = guard.failures
        row.locked_until = guard.locked_until
        row.lockouts = guard.lockouts

    # --- pending ----------------------------------------------------------------------------

    def pending(self, request_id: str) -> PendingRequest | None:
        row = self.s.get(PendingRequestRow, request_id)
        return None if row is None else _pending(row)

    def pending_requests(
        self,
        guest_id: str | None = None,
        statuses: tuple[PendingStatus, ...] | None = None,
        visit_id: str | None = None,
    ) -> list[PendingRequest]:
        q = select(PendingRequestRow).order_by(PendingRequestRow.created_at, PendingRequestRow.id)
        if guest_id is not None:
            q = q.where(PendingRequestRow.guest_id == guest_id)
        if statuses is not None:
            q = q.where(PendingRequestRow.status.in_([s.value for s in statuses]))
        if visit_id is not None:
            q = q.where(PendingRequestRow.visit_id == visit_id)
        return [_pending(r) for r in self.s.scalars(q)]

    def add_pending(self, request: PendingRequest) -> None:
        self.s.add(
            PendingRequestRow(
                id=request.id,
                guest_id=request.guest_id,
                visit_id=request.visit_id,
                sku=request.sku,
                name=request.name[:80],
                category=request.category,
                unit_price_fen=request.unit_price_fen,
                quantity=request.quantity,
                reason=request.reason[:600],
                status=request.status.value,
                created_at=request.created_at,
                expires_at=request.expires_at,
                resolved_at=request.resolved_at,
                note=request.note,
                room_id=request.room_id or room_of(self.s, request.guest_id),
            )
        )

    def save_pending(self, request: PendingRequest) -> None:
        row = self.s.get(PendingRequestRow, request.id)
        if row is None:
            raise RuntimeError(f"pending request {request.id} vanished inside its transaction")
        row.status = request.status.value
        row.resolved_at = request.resolved_at
        row.note = request.note[:200]

    # --- room presence ------------------------------------------------------------------------

    def set_presence(self, guest_id: str, room_id: str | None, now: datetime, source: str) -> None:
        row = self.s.get(RoomPresenceRow, guest_id)
        if room_id is None:
            if row is not None:
                self.s.delete(row)
        elif row is None:
            self.s.add(RoomPresenceRow(guest_id=guest_id, room_id=room_id, since=now, source=source))
        elif row.room_id != room_id:
            row.room_id, row.since, row.source = room_id, now, source
        self.s.flush()  # rows written next in this transaction read the new room

    def presences(self) -> list[Presence]:
        q = select(RoomPresenceRow).order_by(RoomPresenceRow.room_id, RoomPresenceRow.since)
        return [Presence(r.guest_id, r.room_id, r.since, r.source) for r in self.s.scalars(q)]


class SqlAlchemyIdempotencyStore:
    def __init__(self, session: Session) -> None:
        self.s = session

    def stored(self, key: str) -> StoredResult | None:
        row = self.s.get(IdempotencyRow, key)
        if row is None:
            return None
        return StoredResult(row.key, row.operation, row.fingerprint, json.loads(row.result))

    def store(
        self, key: str, operation: str, fp: str, guest_id: str | None, result: Mapping[str, Any], now: datetime
    ) -> None:
        self.s.add(
            IdempotencyRow(
                key=key,
                operation=operation,
                fingerprint=fp,
                guest_id=guest_id,
                result=json.dumps(result, sort_keys=True, default=str, ensure_ascii=False),
                created_at=now,
            )
        )
        self.s.flush()  # a concurrent duplicate key fails here, inside the transaction


class SqlAlchemyNotificationOutbox:
    def __init__(self, session: Session) -> None:
        self.s = session

    def notify(self, now: datetime, kind: str, guest_id: str | None, message: str) -> None:
        room = room_of(self.s, guest_id)
        self.s.add(NotificationRow(at=now, kind=kind, guest_id=guest_id, message=message[:600], room_id=room))

    def alerts(self, include_acknowledged: bool, limit: int) -> list[Alert]:
        q = select(NotificationRow).order_by(NotificationRow.at.desc(), NotificationRow.id.desc()).limit(limit)
        if not include_acknowledged:
            q = q.where(NotificationRow.acknowledged_at.is_(None))
        return [_alert(r) for r in self.s.scalars(q)]

    def acknowledge(self, alert_id: int, actor: str, now: datetime) -> Alert | None:
        row = self.s.get(NotificationRow, alert_id)
        if row is None:
            return None
        before = _alert(row)
        if row.acknowledged_at is None:
            row.acknowledged_at = now
            row.acknowledged_by = actor
        return before


def _alert(r: NotificationRow) -> Alert:
    return Alert(r.id, r.at, r.kind, r.guest_id, r.message, r.acknowledged_at is not None, r.room_id)


def _order(o: OrderRow) -> OrderRecord:
    return OrderRecord(
        id=o.id,
        guest_id=o.guest_id,
        visit_id=o.visit_id,
        at=o.at,
        sku=o.sku,
        name=o.name,
        category=o.category,
        unit_price_fen=o.unit_price_fen,
        quantity=o.quantity,
        amount_fen=o.amount_fen,
        alcohol_g=o.alcohol_g,
        rule=o.rule,
        posting_id=o.posting_id,
        pending_id=o.pending_id,
        refunded_fen=o.refunded_fen,
        room_id=o.room_id,
    )


def _delivery(r: DeliveryRow) -> Delivery:
    return Delivery(
        r.id,
        r.order_id,
        r.guest_id,
        r.room_id,
        r.sku,
        r.name,
        r.quantity,
        DeliveryState(r.state),
        r.created_at,
        r.updated_at,
        r.updated_by,
    )


def _pending(row: PendingRequestRow) -> PendingRequest:
    return PendingRequest(
        id=row.id,
        guest_id=row.guest_id,
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
        room_id=row.room_id,
    )
