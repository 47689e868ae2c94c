"""In-memory unit of work (cosmicpython's ``FakeUnitOfWork``) with fake repositories, so the services
run in unit tests without a database.

``FakeDatabase`` is the shared state; each ``FakeUnitOfWork`` snapshots it on entry and restores the
snapshot on rollback, so "nothing commits unless ``commit()``" holds as it does with SQLAlchemy.
``uow_factory(db)`` is what a service takes. Locks are no-ops: these tests are single-threaded.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from soberpay.domain.delivery import Delivery, DeliveryState
from soberpay.domain.identity import ConsentPurpose, ConsentRecord, PasswordGuard
from soberpay.domain.ledger import VENUE_ACCOUNTS, Posting, guest_account
from soberpay.domain.purchase import PendingRequest, PendingStatus, StoredResult
from soberpay.domain.risk import RiskRecord
from soberpay.domain.spending import PastOrder
from soberpay.ports import (
    AbstractUnitOfWork,
    Alert,
    AuditEntry,
    DuplicateRecord,
    GuestRecord,
    LedgerLine,
    OrderRecord,
    Presence,
    TemplateRecord,
    TopupRecord,
    Visit,
)


@dataclass
class FakeDatabase:
    accounts: dict[str, int] = field(default_factory=dict)  # account id → signed fen (debit-positive)
    postings: list[tuple[Posting, str | None]] = field(default_factory=list)
    visits: dict[str, Visit] = field(default_factory=dict)
    bills: dict[str, dict[str, Any]] = field(default_factory=dict)
    orders: dict[str, OrderRecord] = field(default_factory=dict)
    risk: dict[str, RiskRecord] = field(default_factory=dict)
    guards: dict[str, PasswordGuard] = field(default_factory=dict)
    pending: dict[str, PendingRequest] = field(default_factory=dict)
    idempotency: dict[str, StoredResult] = field(default_factory=dict)
    alerts: list[Alert] = field(default_factory=list)
    audit: list[AuditEntry] = field(default_factory=list)
    guests: dict[str, GuestRecord] = field(default_factory=dict)
    consents: list[ConsentRecord] = field(default_factory=list)
    templates: dict[int, TemplateRecord] = field(default_factory=dict)
    derived_rows: dict[str, int] = field(default_factory=dict)  # guest → monitoring rows held elsewhere
    presence: dict[str, Presence] = field(default_factory=dict)
    deliveries: dict[str, Delivery] = field(default_factory=dict)
    topups: dict[str, TopupRecord] = field(default_factory=dict)
    commits: int = 0

    def room_of(self, guest_id: str | None) -> str | None:
        """As the SQL stores do: a written row carries the guest's current room."""
        p = self.presence.get(guest_id) if guest_id is not None else None
        return None if p is None else p.room_id

    def actions(self) -> list[str]:
        return [e.action for e in self.audit]


class FakePaymentRepository:
    def __init__(self, db: FakeDatabase) -> None:
        self.db = db

    def ensure_accounts(self, guest_id: str | None, now: datetime) -> None:
        for account in (*VENUE_ACCOUNTS, *([guest_account(guest_id)] if guest_id else [])):
            self.db.accounts.setdefault(account, 0)

    def lock_guest(self, guest_id: str) -> None:
        if guest_account(guest_id) not in self.db.accounts:
            raise RuntimeError("guest account missing: call ensure_accounts first")

    def balance(self, guest_id: str) -> int:
        return -self.db.accounts.get(guest_account(guest_id), 0)

    def write_posting(self, posting: Posting, idempotency_key: str | None) -> None:
        self.db.postings.append((posting, idempotency_key))
        for e in posting.entries:
            self.db.accounts[e.account] = self.db.accounts.get(e.account, 0) + e.amount_fen

    def account_sums(self) -> dict[str, int]:
        sums: dict[str, int] = {}
        for p, _ in self.db.postings:
            for e in p.entries:
                sums[e.account] = sums.get(e.account, 0) + e.amount_fen
        return sums

    def ledger_lines(self, guest_id: str | None, limit: int) -> list[LedgerLine]:
        chosen = [p for p, _ in self.db.postings if guest_id is None or p.guest_id == guest_id]
        chosen.sort(key=lambda p: p.at, reverse=True)
        return [
            LedgerLine(
                p.id, p.at, p.kind.value, p.guest_id, p.memo, tuple((e.account, e.amount_fen) for e in p.entries)
            )
            for p in chosen[:limit]
        ]

    def open_visit(self, guest_id: str) -> Visit | None:
        open_ = [v for v in self.db.visits.values() if v.guest_id == guest_id and v.status == "open"]
        return max(open_, key=lambda v: v.opened_at, default=None)

    def last_visit(self, guest_id: str) -> Visit | None:
        return max(
            (v for v in self.db.visits.values() if v.guest_id == guest_id), key=lambda v: v.opened_at, default=None
        )

    def add_visit(self, visit: Visit) -> None:
        self.db.visits[visit.id] = visit

    def close_visit(self, visit_id: str, closed_at: datetime, total_fen: int, bill: Mapping[str, Any]) -> None:
        v = self.db.visits[visit_id]
        self.db.visits[visit_id] = replace(v, status="closed", closed_at=closed_at, total_fen=total_fen)
        self.db.bills[visit_id] = dict(bill)

    def orders(self, guest_id: str, visit_id: str | None = None) -> list[OrderRecord]:
        return sorted(
            (o for o in self.db.orders.values() if o.guest_id == guest_id and visit_id in (None, o.visit_id)),
            key=lambda o: (o.at, o.id),
        )

    def order(self, order_id: str) -> OrderRecord | None:
        return self.db.orders.get(order_id)

    def add_order(self, order: OrderRecord) -> None:
        if order.pending_id and any(o.pending_id == order.pending_id for o in self.db.orders.values()):
            raise DuplicateRecord(f"pending request {order.pending_id} already charged")
        self.db.orders[order.id] = replace(order, room_id=order.room_id or self.db.room_of(order.guest_id))

    def add_delivery(self, delivery: Delivery) -> None:
        room = delivery.room_id or self.db.room_of(delivery.guest_id)
        self.db.deliveries[delivery.id] = replace(delivery, room_id=room)

    def delivery_for_order(self, order_id: str) -> Delivery | None:
        return next((d for d in self.db.deliveries.values() if d.order_id == order_id), None)

    def deliveries(self, states: tuple[DeliveryState, ...], since: datetime | None = None) -> list[Delivery]:
        found = (
            d for d in self.db.deliveries.values() if d.state in states and (since is None or d.updated_at >= since)
        )
        return sorted(found, key=lambda d: (d.created_at, d.id))

    def save_delivery(self, delivery: Delivery) -> None:
        self.db.deliveries[delivery.id] = delivery

    def add_refund(self, order_id: str, amount_fen: int) -> None:
        o = self.db.orders[order_id]
        self.db.orders[order_id] = replace(o, refunded_fen=o.refunded_fen + amount_fen)

    def history(self, guest_id: str, exclude_visit: str | None) -> list[PastOrder]:
        return [
            PastOrder(o.visit_id, o.amount_fen, o.category, o.quantity)
            for o in self.db.orders.values()
            if o.guest_id == guest_id and o.visit_id != exclude_visit
        ]

    def risk(self, guest_id: str) -> RiskRecord:
        return self.db.risk.get(guest_id) or RiskRecord(guest_id)

    def save_risk(self, record: RiskRecord) -> None:
        self.db.risk[record.guest_id] = record

    def guard(self, guest_id: str, for_update: bool = False) -> PasswordGuard:
        return self.db.guards.get(guest_id) or PasswordGuard()

    def save_guard(self, guest_id: str, guard: PasswordGuard) -> None:
        self.db.guards[guest_id] = guard

    def pending(self, request_id: str) -> PendingRequest | None:
        return self.db.pending.get(request_id)

    def pending_requests(
        self,
        guest_id: str | None = None,
        statuses: tuple[PendingStatus, ...] | None = None,
        visit_id: str | None = None,
    ) -> list[PendingRequest]:
        return sorted(
            (
                r
                for r in self.db.pending.values()
                if guest_id in (None, r.guest_id)
                and (statuses is None or r.status in statuses)
                and visit_id in (None, r.visit_id)
            ),
            key=lambda r: (r.created_at, r.id),
        )

    def add_pending(self, request: PendingRequest) -> None:
        self.db.pending[request.id] = replace(request, room_id=request.room_id or self.db.room_of(request.guest_id))

    def save_pending(self, request: PendingRequest) -> None:
        self.db.pending[request.id] = request

    def set_presence(self, guest_id: str, room_id: str | None, now: datetime, source: str) -> None:
        current = self.db.presence.get(guest_id)
        if room_id is None:
            self.db.presence.pop(guest_id, None)
        elif current is None or current.room_id != room_id:
            self.db.presence[guest_id] = Presence(guest_id, room_id, now, source)

    def presences(self) -> list[Presence]:
        return sorted(self.db.presence.values(), key=lambda p: (p.room_id, p.since))


class FakeIdempotencyStore:
    def __init__(self, db: FakeDatabase) -> None:
        self.db = db

    def stored(self, key: str) -> StoredResult | None:
        return self.db.idempotency.get(key)

    def store(
        self, key: str, operation: str, fp: str, guest_id: str | None, result: Mapping[str, Any], now: datetime
    ) -> None:
        if key in self.db.idempotency:
            raise DuplicateRecord(f"idempotency key {key} exists")
        self.db.idempotency[key] = StoredResult(key, operation, fp, copy.deepcopy(dict(result)))


class FakeNotificationOutbox:
    def __init__(self, db: FakeDatabase) -> None:
        self.db = db

    def notify(self, now: datetime, kind: str, guest_id: str | None, message: str) -> None:
        room = self.db.room_of(guest_id)
        self.db.alerts.append(Alert(len(self.db.alerts) + 1, now, kind, guest_id, message[:600], False, room))

    def alerts(self, include_acknowledged: bool, limit: int) -> list[Alert]:
        chosen = [a for a in reversed(self.db.alerts) if include_acknowledged or not a.acknowledged]
        return chosen[:limit]

    def acknowledge(self, alert_id: int, actor: str, now: datetime) -> Alert | None:
        for i, a in enumerate(self.db.alerts):
            if a.id == alert_id:
                self.db.alerts[i] = replace(a, acknowledged=True)
                return a
        return None


class FakeAuditLog:
    def __init__(self, db: FakeDatabase) -> None:
        self.db = db

    def append(self, at: datetime, actor: str, action: str, guest_id: str | None, details: Mapping[str, Any]) -> None:
        named = details.get("room_id")
        room = named if isinstance(named, str) else self.db.room_of(guest_id)
        self.db.audit.append(AuditEntry(len(self.db.audit) + 1, at, actor, action, guest_id, dict(details), room))

    def entries(self, guest_id: str | None, limit: int, prefix: str | None) -> list[AuditEntry]:
        chosen = [
            e
            for e in reversed(self.db.audit)
            if guest_id in (None, e.guest_id) and (prefix is None or e.action.startswith(prefix))
        ]
        return chosen[:limit]

    def newest_id(self, actions: Sequence[str]) -> int | None:
        return max((e.id for e in self.db.audit if e.action in actions), default=None)

    def changes_since(self, actions: Sequence[str], after_id: int) -> list[tuple[int, str | None]]:
        return [(e.id, e.guest_id) for e in self.db.audit if e.id > after_id and e.action in actions]


class FakeGuestRepository:
    def __init__(self, db: FakeDatabase) -> None:
        self.db = db

    def add(self, guest: GuestRecord) -> None:
        if guest.phone is not None and self.by_phone(guest.phone) is not None:
            raise DuplicateRecord("phone taken")
        self.db.guests[guest.id] = guest

    def get(self, guest_id: str) -> GuestRecord | None:
        return self.db.guests.get(guest_id)

    def by_phone(self, phone: str) -> GuestRecord | None:
        return next((g for g in self.db.guests.values() if g.phone == phone), None)

    def live(self) -> list[GuestRecord]:
        return sorted((g for g in self.db.guests.values() if g.erased_at is None), key=lambda g: g.created_at)

    def save(self, guest: GuestRecord) -> None:
        self.db.guests[guest.id] = guest

    def with_national_id_not_under(self, key_id: str) -> list[GuestRecord]:
        return [g for g in self.db.guests.values() if g.national_id_enc is not None and g.national_id_key_id != key_id]

    def ids_with_phone_ending(self, digits: str) -> list[str]:
        return [g.id for g in self.db.guests.values() if g.erased_at is None and (g.phone or "").endswith(digits)]


class FakeConsentRepository:
    def __init__(self, db: FakeDatabase) -> None:
        self.db = db

    def active(self, guest_id: str, purpose: ConsentPurpose) -> ConsentRecord | None:
        return next((c for c in self.db.consents if (c.guest_id, c.purpose) == (guest_id, purpose) and c.active), None)

    def add(self, consent: ConsentRecord) -> None:
        self.db.consents.append(consent)

    def revoke(self, guest_id: str, purpose: ConsentPurpose, now: datetime) -> None:
        self._revoke(lambda c: c.guest_id == guest_id and c.purpose == purpose, now)

    def revoke_all(self, guest_id: str, now: datetime) -> None:
        self._revoke(lambda c: c.guest_id == guest_id, now)

    def _revoke(self, match: Callable[[ConsentRecord], bool], now: datetime) -> None:
        self.db.consents = [replace(c, revoked_at=now) if match(c) and c.active else c for c in self.db.consents]

    def for_guest(self, guest_id: str) -> list[ConsentRecord]:
        return [c for c in self.db.consents if c.guest_id == guest_id]


class FakeTemplateRepository:
    def __init__(self, db: FakeDatabase) -> None:
        self.db = db

    def for_embedder(self, embedder: str) -> list[TemplateRecord]:
        return [t for t in self.db.templates.values() if t.embedder == embedder]

    def for_guest(self, guest_id: str, embedder: str | None = None) -> list[TemplateRecord]:
        return sorted(
            (t for t in self.db.templates.values() if t.guest_id == guest_id and embedder in (None, t.embedder)),
            key=lambda t: t.created_at,
        )

    def count(self, embedder: str) -> int:
        return len(self.for_embedder(embedder))

    def add(self, template: TemplateRecord) -> None:
        new_id = max(self.db.templates, default=0) + 1
        self.db.templates[new_id] = replace(template, id=new_id)

    def delete(self, template_id: int) -> None:
        self.db.templates.pop(template_id, None)

    def delete_for_guest(self, guest_id: str) -> int:
        doomed = [i for i, t in self.db.templates.items() if t.guest_id == guest_id]
        for i in doomed:
            del self.db.templates[i]
        return len(doomed)

    def not_under(self, key_id: str) -> list[TemplateRecord]:
        return [t for t in self.db.templates.values() if t.key_id != key_id]

    def save_ciphertext(self, template_id: int, key_id: str, blob: bytes) -> None:
        self.db.templates[template_id] = replace(self.db.templates[template_id], key_id=key_id, blob=blob)


class FakeDerivedData:
    def __init__(self, db: FakeDatabase) -> None:
        self.db = db

    def delete_monitoring(self, guest_id: str) -> int:
        return self.db.derived_rows.pop(guest_id, 0)

    def delete_all(self, guest_id: str) -> int:
        return self.db.derived_rows.pop(guest_id, 0)


class FakeTopupRepository:
    def __init__(self, db: FakeDatabase) -> None:
        self.db = db

    def add(self, topup: TopupRecord) -> None:
        if topup.id in self.db.topups:
            raise DuplicateRecord(topup.id)
        self.db.topups[topup.id] = topup

    def get(self, topup_id: str) -> TopupRecord | None:
        return self.db.topups.get(topup_id)

    def save(self, topup: TopupRecord) -> None:
        if topup.provider_txn_id is not None and any(
            t.id != topup.id and (t.channel, t.provider_txn_id) == (topup.channel, topup.provider_txn_id)
            for t in self.db.topups.values()
        ):
            raise DuplicateRecord(topup.provider_txn_id)
        self.db.topups[topup.id] = topup

    def pending_before(self, before: datetime, limit: int) -> list[TopupRecord]:
        rows = [t for t in self.db.topups.values() if t.state == "created" and t.created_at < before]
        return sorted(rows, key=lambda t: (t.created_at, t.id))[:limit]

    def for_guest(self, guest_id: str, limit: int) -> list[TopupRecord]:
        rows = [t for t in self.db.topups.values() if t.guest_id == guest_id]
        return sorted(rows, key=lambda t: t.created_at, reverse=True)[:limit]


class FakeUnitOfWork(AbstractUnitOfWork):
    def __init__(self, db: FakeDatabase) -> None:
        self.db = db
        self.payments = FakePaymentRepository(db)
        self.idempotency = FakeIdempotencyStore(db)
        self.notifications = FakeNotificationOutbox(db)
        self.audit = FakeAuditLog(db)
        self.guests = FakeGuestRepository(db)
        self.consents = FakeConsentRepository(db)
        self.templates = FakeTemplateRepository(db)
        self.derived = FakeDerivedData(db)
        self.topups = FakeTopupRepository(db)
        self._snapshot: dict[str, Any] = {}

    def __enter__(self) -> FakeUnitOfWork:
        self._snapshot = copy.deepcopy(vars(self.db))
        return self

    def commit(self) -> None:
        self.db.commits += 1
        self._snapshot = copy.deepcopy(vars(self.db))

    def rollback(self) -> None:
        commits = self.db.commits
        vars(self.db).update(copy.deepcopy(self._snapshot))
        self.db.commits = commits

    def purge_erased(self) -> None:
        pass  # in memory: nothing outlives the deletion


def uow_factory(db: FakeDatabase) -> Callable[[], FakeUnitOfWork]:
    return lambda: FakeUnitOfWork(db)
