"""The counter: visits, balance, top-up, checkout (the itemised bill; a tab is settled, a prepaid
balance optionally paid out). Money-moving calls are idempotent; refunds are in ``refunds.py``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from datetime import datetime
from typing import Any

from soberpay.domain.catalogue import fen_to_yuan
from soberpay.domain.ledger import (
    Bill,
    BillLine,
    Entry,
    Posting,
    PostingKind,
    payout_entries,
    settlement_entries,
    topup_entries,
)
from soberpay.domain.purchase import PendingStatus, discard_pending, validate_idempotency_key
from soberpay.errors import InvalidInput, NotFound
from soberpay.ports import AbstractUnitOfWork, OrderRecord, Presence, Visit
from soberpay.services.payments.context import Decided, PaymentContext
from soberpay.services.payments.results import CheckoutResult, TopupResult
from soberpay.services.payments.steps import expire_due, open_visit

_RULE_NOTES = {
    "untagged": "",
    "dual_verified": "dual verification",
    "confirmed_after_recovery": "confirmed after recovery, original price",
}


def bill_line(order: OrderRecord, with_refund: bool = False) -> BillLine:
    note = _RULE_NOTES.get(order.rule, order.rule)
    if with_refund and order.refunded_fen:
        note += f", refunded {fen_to_yuan(order.refunded_fen)}"
    return BillLine(
        order.at,
        order.sku,
        order.name,
        order.category,
        order.quantity,
        order.unit_price_fen,
        order.amount_fen,
        note,
        order.id,
        order.refunded_fen,
    )


class Counter:
    def __init__(self, ctx: PaymentContext) -> None:
        self._ctx = ctx

    def open_visit(self, guest_id: str, actor: str) -> str:
        self._ctx.guest(guest_id)
        with self._ctx.locked(guest_id) as (uow, now):
            return open_visit(self._ctx, uow, guest_id, now, actor).id

    def balance(self, guest_id: str) -> int:
        self._ctx.guest(guest_id)
        self._ctx.ensure_accounts(guest_id)
        with self._ctx.uow() as uow:
            return uow.payments.balance(guest_id)

    def topup(self, guest_id: str, amount_fen: int, idempotency_key: str, actor: str) -> TopupResult:
        """Cash in at the counter → the guest's prepaid balance."""
        key = validate_idempotency_key(idempotency_key)
        entries = topup_entries(guest_id, amount_fen)  # validates the amount
        self._ctx.guest(guest_id)

        def decide(uow: AbstractUnitOfWork, now: datetime) -> Decided[TopupResult]:
            posting = self._post(uow, PostingKind.TOPUP, now, entries, "top-up", guest_id, None, key)
            result = TopupResult(guest_id, amount_fen, uow.payments.balance(guest_id), posting.id)
            self._ctx.audit(uow, now, actor, "payment.topup", guest_id, amount_fen=amount_fen, posting_id=posting.id)
            return result, asdict(result)

        def restore(prior: Mapping[str, Any]) -> TopupResult:
            return TopupResult(**{**prior, "replayed": True})

        params = {"guest_id": guest_id, "amount_fen": amount_fen}
        return self._ctx.idempotent(
            guest_id=guest_id, key=key, operation="topup", params=params, decide=decide, restore=restore
        )

    def checkout(self, guest_id: str, idempotency_key: str, pay_out_balance: bool, actor: str) -> CheckoutResult:
        """Close the open visit: discard open pending requests, settle a negative tab at the counter,
        optionally pay a positive prepaid balance back, and return the itemised bill."""
        key = validate_idempotency_key(idempotency_key)
        self._ctx.guest(guest_id)

        def decide(uow: AbstractUnitOfWork, now: datetime) -> Decided[CheckoutResult]:
            result = self._close_visit(uow, now, guest_id, key, pay_out_balance, actor)
            return result, result.to_dict()

        params = {"guest_id": guest_id, "pay_out": pay_out_balance}
        return self._ctx.idempotent(
            guest_id=guest_id,
            key=key,
            operation="checkout",
            params=params,
            decide=decide,
            restore=CheckoutResult.from_dict,
        )

    # --- steps ----------------------------------------------------------------------------------

    def _post(
        self,
        uow: AbstractUnitOfWork,
        kind: PostingKind,
        now: datetime,
        entries: tuple[Entry, ...],
        memo: str,
        guest_id: str,
        visit_id: str | None,
        key: str,
    ) -> Posting:
        posting = Posting(self._ctx.new_id(), kind, now, entries, memo, guest_id, visit_id)
        uow.payments.write_posting(posting, key)
        self._ctx.fault("after_posting")
        return posting

    def _close_visit(
        self, uow: AbstractUnitOfWork, now: datetime, guest_id: str, key: str, pay_out: bool, actor: str
    ) -> CheckoutResult:
        visit = uow.payments.open_visit(guest_id)
        if visit is None:
            raise NotFound("the guest has no open visit", guest_id=guest_id)
        opening = uow.payments.balance(guest_id)
        expire_due(self._ctx, uow, now, guest_id)
        discarded = self._discard_open_requests(uow, now, visit, actor)
        orders = uow.payments.orders(guest_id, visit.id)
        settled = paid_out = 0
        balance = uow.payments.balance(guest_id)
        if balance < 0:
            settled = -balance
            entries = settlement_entries(guest_id, settled)
            self._post(uow, PostingKind.SETTLEMENT, now, entries, "tab settled at checkout", guest_id, visit.id, key)
        elif balance > 0 and pay_out:
            paid_out = balance
            memo = "prepaid balance paid out at checkout"
            self._post(uow, PostingKind.PAYOUT, now, payout_entries(guest_id, paid_out), memo, guest_id, visit.id, key)
        closing = uow.payments.balance(guest_id)
        bill = Bill(
            guest_id,
            visit.id,
            visit.opened_at,
            now,
            tuple(bill_line(o, with_refund=True) for o in orders),
            sum(o.refunded_fen for o in orders),
            opening,
            closing,
            tuple(discarded),
        )
        result = CheckoutResult(bill, settled, paid_out, closing)
        uow.payments.close_visit(visit.id, now, bill.total_fen, result.to_dict())
        self._ctx.audit(
            uow,
            now,
            actor,
            "visit.checkout",
            guest_id,
            visit_id=visit.id,
            total_fen=bill.total_fen,
            settled_fen=settled,
            paid_out_fen=paid_out,
            discarded=len(discarded),
        )
        uow.payments.set_presence(guest_id, None, now, "counter")  # after the audit row, which keeps the room
        return result

    def check_in(self, guest_id: str, room_id: str, actor: str, source: str) -> None:
        """The guest is now present in ``room_id``: checked in at the counter, or identified at its tablet."""
        room_id = (room_id or "").strip()
        if not 1 <= len(room_id) <= 32:
            raise InvalidInput("room id is required (max 32 characters)", field="room_id")
        self._ctx.guest(guest_id)
        now = self._ctx.now()
        with self._ctx.uow() as uow:
            before = {p.guest_id: p.room_id for p in uow.payments.presences()}.get(guest_id)
            uow.payments.set_presence(guest_id, room_id, now, source)
            if before != room_id:
                self._ctx.audit(uow, now, actor, "guest.present", guest_id, room_id=room_id, source=source)
            uow.commit()

    def presences(self) -> list[Presence]:
        with self._ctx.uow() as uow:
            return uow.payments.presences()

    def _discard_open_requests(self, uow: AbstractUnitOfWork, now: datetime, visit: Visit, actor: str) -> list[str]:
        """Pending requests end with the visit; the bill lists them (and the expired ones) as not charged."""
        gid = visit.guest_id
        discarded: list[str] = []
        for req in uow.payments.pending_requests(gid, statuses=(PendingStatus.PENDING,), visit_id=visit.id):
            done = discard_pending(req, now, "visit closed at checkout")
            uow.payments.save_pending(done)
            discarded.append(f"{done.quantity} × {done.name} ({fen_to_yuan(done.amount_fen)}) — {done.note}")
            self._ctx.audit(uow, now, actor, "pending.discarded", gid, request_id=done.id, note=done.note)
        for req in uow.payments.pending_requests(gid, visit_id=visit.id):
            if req.status is PendingStatus.EXPIRED:
                discarded.append(f"{req.quantity} × {req.name} — expired unconfirmed")
        return discarded
