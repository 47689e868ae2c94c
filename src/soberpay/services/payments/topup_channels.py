"""Top-up channels: a guest tops up by scanning a QR code (WeChat Pay native, Alipay precreate).

The provider port (``PaymentProvider``) creates the QR order, verifies and parses an asynchronous
notification, and answers "what is this order's status" for reconciliation; adapters live in
``soberpay.adapters.payment_providers``. The money rule is the ledger's: a paid order is credited by one
TOPUP posting (debit the channel's clearing account, credit the guest), exactly once per provider
transaction id, only after the notification (or the provider's own answer to our signed query) was
verified. Anything else (unknown order, wrong amount, another guest, a second transaction for a paid
order) changes nothing but an audit row.

States: created → paid | closed | failed. ``reconcile`` settles or closes orders still ``created`` after
N minutes, so a lost notification is recovered and a late one after that replays as a no-op.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from soberpay.domain.catalogue import fen_to_yuan
from soberpay.domain.ledger import Posting, PostingKind, channel_topup_entries
from soberpay.errors import Conflict, Forbidden, InvalidInput, InvalidNotification, NotFound, SoberpayError
from soberpay.ports import AbstractUnitOfWork, DuplicateRecord, TopupRecord
from soberpay.services.payments.context import PaymentContext


class TopupState(StrEnum):
    CREATED = "created"
    PAID = "paid"
    CLOSED = "closed"
    FAILED = "failed"


class ProviderState(StrEnum):
    """What the provider says about an order (notification or query), in our words."""

    PAID = "paid"
    PENDING = "pending"  # QR shown, not paid yet
    CLOSED = "closed"


@dataclass(frozen=True)
class ProviderPayment:
    """A verified statement from the provider about one of our orders."""

    topup_id: str  # our out_trade_no
    state: ProviderState
    provider_txn_id: str | None = None
    amount_fen: int | None = None
    guest_id: str | None = None  # what we attached when creating the order (attach / passback_params)


class PaymentProvider(Protocol):
    """One payment channel. Calls go to the provider over the network and may raise ``Unavailable``."""

    channel: str

    def create_qr(self, topup_id: str, amount_fen: int, subject: str, guest_id: str) -> str:
        """Create the order at the provider; returns the URL the QR code encodes."""

    def verify_notification(self, headers: Mapping[str, str], body: bytes, now: datetime) -> ProviderPayment:
        """Verify signature and timestamp window, decrypt, parse. Raises ``InvalidNotification``."""

    def query(self, topup_id: str) -> ProviderPayment: ...

    def close(self, topup_id: str) -> None:
        """Close an unpaid order at the provider (raises ``Unavailable`` when it cannot, e.g. just paid)."""


@dataclass(frozen=True)
class ReconcileReport:
    checked: int = 0
    settled: int = 0
    closed: int = 0
    errors: int = 0


class _Rejected(Exception):
    def __init__(self, error: SoberpayError) -> None:
        self.error = error


class TopupChannels:
    def __init__(
        self, ctx: PaymentContext, providers: Mapping[str, PaymentProvider], min_fen: int, max_fen: int
    ) -> None:
        self._ctx = ctx
        self._providers = dict(providers)
        self._min_fen, self._max_fen = min_fen, max_fen

    @property
    def channels(self) -> list[str]:
        return sorted(self._providers)

    def provider(self, channel: str) -> PaymentProvider:
        found = self._providers.get(channel)
        if found is None:
            raise NotFound(f"top-up channel {channel!r} is not configured", channel=channel)
        return found

    # --- guest side ---------------------------------------------------------------------------

    def create(self, guest_id: str, channel: str, amount_fen: int, actor: str) -> TopupRecord:
        """A QR order for ``amount_fen``. The row exists (``created``) before the provider is asked, so a
        notification that arrives at once finds it."""
        provider = self.provider(channel)
        if isinstance(amount_fen, bool) or not isinstance(amount_fen, int):
            raise InvalidInput("amount must be an integer number of fen", field="amount_fen")
        if not self._min_fen <= amount_fen <= self._max_fen:
            raise InvalidInput(
                f"top-up must be between {fen_to_yuan(self._min_fen)} and {fen_to_yuan(self._max_fen)}",
                field="amount_fen",
            )
        self._ctx.guest(guest_id)
        self._ctx.ensure_accounts(guest_id)
        now = self._ctx.now()
        order = TopupRecord(self._ctx.new_id(), guest_id, channel, amount_fen, TopupState.CREATED, now, now)
        with self._ctx.uow() as uow:
            uow.topups.add(order)
            self._ctx.audit(
                uow, now, actor, "topup.created", guest_id, topup_id=order.id, channel=channel, amount_fen=amount_fen
            )
            uow.commit()
        try:
            code_url = provider.create_qr(order.id, amount_fen, "soberpay top-up", guest_id)
        except SoberpayError as exc:
            self._finish(order.id, TopupState.FAILED, f"create failed: {exc.code}", actor)
            raise
        with self._ctx.uow() as uow:
            current = uow.topups.get(order.id) or order
            saved = replace(current, code_url=code_url[:256])
            uow.topups.save(saved)
            uow.commit()
        return saved

    def status(self, topup_id: str, guest_id: str | None) -> TopupRecord:
        """An order, for its own guest (``guest_id``) or for staff (None)."""
        with self._ctx.uow() as uow:
            order = uow.topups.get(topup_id)
        if order is None:
            raise NotFound("unknown top-up", topup_id=topup_id)
        if guest_id is not None and order.guest_id != guest_id:
            raise Forbidden("a guest can only see their own top-ups")
        return order

    def recent(self, guest_id: str, limit: int = 20) -> list[TopupRecord]:
        with self._ctx.uow() as uow:
            return uow.topups.for_guest(guest_id, limit)

    # --- provider side ------------------------------------------------------------------------

    def notified(self, channel: str, headers: Mapping[str, str], body: bytes) -> TopupRecord | None:
        """An asynchronous notification: verified first, then settled. None: a valid "not paid yet" one."""
        provider = self.provider(channel)
        now = self._ctx.now()
        try:
            payment = provider.verify_notification(headers, body, now)
        except InvalidNotification as exc:
            self.audit_rejection(None, channel, "bad_notification", exc.message)
            raise
        if payment.state is not ProviderState.PAID:
            return None
        return self._settle(channel, payment, "notification")

    def reconcile(self, older_than: timedelta, limit: int = 200) -> ReconcileReport:
        """Ask the provider about orders still ``created`` after ``older_than``: settle the paid ones, close
        the rest (at the provider first, so they can no longer be paid)."""
        cutoff = self._ctx.now() - older_than
        with self._ctx.uow() as uow:
            due = uow.topups.pending_before(cutoff, limit)
        settled = closed = errors = 0
        for order in due:
            provider = self._providers.get(order.channel)
            if provider is None:
                errors += 1
                continue
            try:
                answer = provider.query(order.id)
                if answer.state is ProviderState.PAID:
                    self._settle(order.channel, answer, "reconciliation")
                    settled += 1
                    continue
                if answer.state is ProviderState.PENDING:
                    provider.close(order.id)  # raises if it was paid meanwhile: the next run settles it
                closed += self._finish(order.id, TopupState.CLOSED, "closed by reconciliation", "reconcile")
            except SoberpayError:
                errors += 1
        return ReconcileReport(len(due), settled, closed, errors)

    # --- steps --------------------------------------------------------------------------------

    def _settle(self, channel: str, payment: ProviderPayment, source: str) -> TopupRecord:
        with self._ctx.uow() as uow:
            found = uow.topups.get(payment.topup_id)
        if found is None or found.channel != channel:
            self.audit_rejection(None, channel, "unknown_order", payment.topup_id)
            raise NotFound("unknown top-up order", topup_id=payment.topup_id)
        erased = self._erased(found.guest_id)
        for _attempt in range(2):  # a concurrent duplicate that committed first is seen by the rerun
            try:
                with self._ctx.locked(found.guest_id) as (uow, now):
                    return self._credit(uow, now, channel, payment, source, erased)
            except _Rejected as rejected:
                raise rejected.error from None
            except DuplicateRecord:
                continue
        raise Conflict("top-up could not be settled: concurrent duplicate", topup_id=payment.topup_id)

    def _erased(self, guest_id: str) -> bool:
        try:
            self._ctx.guest(guest_id)
        except NotFound:
            return True
        return False

    def _credit(
        self, uow: AbstractUnitOfWork, now: datetime, channel: str, payment: ProviderPayment, source: str, erased: bool
    ) -> TopupRecord:
        order = uow.topups.get(payment.topup_id)
        if order is None:
            raise RuntimeError("top-up vanished inside its transaction")
        txn = payment.provider_txn_id

        def reject(reason: str, error: SoberpayError) -> _Rejected:
            # The rejection is the only write of this transaction: it commits, nothing else changed.
            self._ctx.audit(
                uow,
                now,
                f"provider:{channel}",
                "topup.rejected",
                order.guest_id,
                topup_id=order.id,
                reason=reason,
                source=source,
            )
            if reason in ("second_transaction", "order_closed", "order_failed", "guest_erased"):
                # Money really was paid (the signature verified) but matches no open order: staff refund it.
                message = f"{channel} payment {txn} for top-up {order.id} ({order.state}) not credited"
                uow.notifications.notify(now, "topup_unmatched", order.guest_id, message)
            if reason == "guest_erased":  # final: reconciliation stops asking (and alerting) about it
                uow.topups.save(replace(order, state=TopupState.FAILED, updated_at=now, note="guest erased"))
            uow.commit()
            return _Rejected(error)

        if order.state == TopupState.PAID:
            if order.provider_txn_id == txn:  # a replayed or duplicated notification: credited once already
                return order
            raise reject("second_transaction", Conflict("top-up already paid by another transaction"))
        if order.state != TopupState.CREATED:
            raise reject(f"order_{order.state}", Conflict(f"top-up is {order.state}", topup_id=order.id))
        if erased:  # a balance nobody can spend would swallow the money
            raise reject("guest_erased", Conflict("the guest was erased", topup_id=order.id))
        if not txn:
            raise reject("no_transaction_id", InvalidNotification("notification without a transaction id"))
        if payment.amount_fen != order.amount_fen:
            raise reject("amount_mismatch", InvalidInput("paid amount differs from the order", field="amount"))
        if payment.guest_id is not None and payment.guest_id != order.guest_id:
            raise reject("guest_mismatch", Forbidden("notification names another guest"))
        entries = channel_topup_entries(order.guest_id, order.amount_fen, channel)
        posting = Posting(self._ctx.new_id(), PostingKind.TOPUP, now, entries, f"top-up via {channel}", order.guest_id)
        uow.payments.write_posting(posting, f"topup:{channel}:{txn}"[:128])
        paid = replace(
            order,
            state=TopupState.PAID,
            provider_txn_id=txn,
            posting_id=posting.id,
            updated_at=now,
            note=f"paid ({source})",
        )
        uow.topups.save(paid)
        self._ctx.audit(
            uow,
            now,
            f"provider:{channel}",
            "payment.topup",
            order.guest_id,
            topup_id=order.id,
            channel=channel,
            amount_fen=order.amount_fen,
            posting_id=posting.id,
            source=source,
        )
        return paid

    def _finish(self, topup_id: str, state: TopupState, note: str, actor: str) -> int:
        """Move a ``created`` order to closed/failed; 1 when it moved, 0 when it had already left ``created``."""
        with self._ctx.uow() as uow:
            found = uow.topups.get(topup_id)
        if found is None:
            return 0
        with self._ctx.locked(found.guest_id) as (uow, now):
            order = uow.topups.get(topup_id)
            if order is None or order.state != TopupState.CREATED:
                return 0
            uow.topups.save(replace(order, state=state, updated_at=now, note=note))
            self._ctx.audit(uow, now, actor, f"topup.{state}", order.guest_id, topup_id=topup_id, note=note)
            return 1

    def audit_rejection(self, guest_id: str | None, channel: str, reason: str, detail: str) -> None:
        """An audit row for a refused notification (also used by the web layer for oversized bodies)."""
        now = self._ctx.now()
        with self._ctx.uow() as uow:
            self._ctx.audit(
                uow, now, f"provider:{channel}", "topup.rejected", guest_id, reason=reason, detail=detail[:200]
            )
            uow.commit()


__all__ = [
    "PaymentProvider",
    "ProviderPayment",
    "ProviderState",
    "ReconcileReport",
    "TopupChannels",
    "TopupState",
]
