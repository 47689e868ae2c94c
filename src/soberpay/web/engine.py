"""Adapters from the real services to the web layer's ports (``soberpay.web.ports``).

``ServicePayments`` wraps ``soberpay.services.payments.PaymentService``: it maps its results to the
web's view types, enforces that a guest only touches their own pending requests, keeps a bounded
in-memory sobriety timeline per guest for the staff plot (the measurements themselves are stored
by the sobriety service), and pushes room observations into the risk state machine.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from soberpay.domain.delivery import Delivery, DeliveryState
from soberpay.errors import NotFound
from soberpay.services.payments import RefundResult, RiskView
from soberpay.web.ports import (
    AlertView,
    BillView,
    MenuItem,
    PendingView,
    PresenceView,
    PurchaseOutcome,
    SobrietyPoint,
)

if TYPE_CHECKING:
    from soberpay.bootstrap import Container
    from soberpay.services.payments import PaymentService

TIMELINE_POINTS = 2000


def _staff_name(actor: str) -> str:
    """The staff member's name in a web actor such as ``"staff:alice"`` (the service records bare names)."""
    return actor.split(":", 1)[-1]


class ServicePayments:
    """Implements ``PaymentsPort`` over ``PaymentService``."""

    def __init__(self, service: PaymentService, clock: Any) -> None:
        self.service = service
        self._clock = clock
        self._timeline: dict[str, deque[SobrietyPoint]] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_container(cls, container: Container) -> ServicePayments:
        return cls(container.payments, container.clock)

    # --- mapping -------------------------------------------------------------------------------

    @staticmethod
    def _outcome(r: Any) -> PurchaseOutcome:
        return PurchaseOutcome(
            outcome=r.outcome,
            rule=r.rule,
            explanation=r.explanation,
            item_id=r.sku,
            quantity=r.quantity,
            amount_fen=r.amount_fen,
            risk_state=r.risk_state,
            charged_fen=r.charged_fen,
            balance_fen=r.balance_fen,
            requires=tuple(r.requires),
            order_id=r.order_id,
            pending_id=r.pending_id,
            replayed=r.replayed,
        )

    @staticmethod
    def _pending(p: Any) -> PendingView:
        status = getattr(p.status, "value", p.status)
        return PendingView(
            p.id, p.guest_id, p.sku, p.name, p.quantity, p.amount_fen, p.reason, p.created_at, str(status), p.room_id
        )

    # --- PaymentsPort --------------------------------------------------------------------------

    def menu(self) -> list[MenuItem]:
        from soberpay.domain.catalogue import tier_of

        out = []
        for item in self.service.catalogue:
            if not item.available:
                continue  # switched off in the back office: not offered (old bills keep their stored name)
            tier = tier_of(item, self.service.tier_policy, False, 1)
            out.append(
                MenuItem(
                    item.sku,
                    item.name,
                    item.name_zh or item.name,
                    item.category.value,
                    item.price_fen,
                    tier.tier.value == "high_price",
                )
            )
        return out

    def purchase(
        self,
        *,
        guest_id: str,
        item_id: str,
        quantity: int,
        idempotency_key: str,
        password: str | None,
        face_image: bytes | None,
        room_id: str | None,
        actor: str,
    ) -> PurchaseOutcome:
        r = self.service.purchase(
            guest_id,
            item_id,
            quantity,
            idempotency_key,
            password=password,
            face_image=face_image,
            actor=actor,
            room_id=room_id,
        )
        return self._outcome(r)

    def risk(self, guest_id: str) -> RiskView:
        return self.service.risk_status(guest_id)

    def pending(self, guest_id: str | None = None) -> list[PendingView]:
        return [self._pending(p) for p in self.service.list_pending(guest_id, include_closed=False)]

    def _own(self, pending_id: str, guest_id: str) -> None:
        rows = self.service.list_pending(guest_id, include_closed=True)
        if not any(p.id == pending_id for p in rows):
            raise NotFound("unknown pending request", pending_id=pending_id)

    def confirm_pending(
        self,
        pending_id: str,
        *,
        guest_id: str,
        idempotency_key: str,
        password: str | None,
        face_image: bytes | None,
        actor: str,
    ) -> PurchaseOutcome:
        self._own(pending_id, guest_id)
        r = self.service.confirm_pending(
            pending_id, idempotency_key, password=password, face_image=face_image, actor=actor
        )
        return self._outcome(r)

    def discard_pending(self, pending_id: str, *, guest_id: str | None, actor: str) -> PendingView:
        if guest_id is not None:
            self._own(pending_id, guest_id)
        note = "discarded by the guest" if guest_id is not None else "discarded by staff"
        return self._pending(self.service.discard_pending(pending_id, actor=actor, note=note))

    def check_in(self, guest_id: str, room_id: str, *, actor: str, source: str) -> None:
        self.service.check_in(guest_id, room_id, actor=actor, source=source)

    def presences(self) -> list[PresenceView]:
        return [PresenceView(p.guest_id, p.room_id, p.since, p.source) for p in self.service.presences()]

    def override(self, guest_id: str, *, action: str, reason: str, actor: str) -> RiskView:
        name = _staff_name(actor)
        if action == "tag":
            return self.service.staff_tag(guest_id, reason, name)
        if action == "untag":
            return self.service.staff_untag(guest_id, reason, name)
        self.service.staff_unlock(guest_id, reason, name)
        return self.risk(guest_id)

    def alerts(self, after_id: int = 0, limit: int = 100) -> list[AlertView]:
        rows = self.service.alerts(include_acknowledged=True, limit=limit)
        return sorted(
            (
                AlertView(a.id, a.at, a.kind, a.message, a.guest_id, a.room_id, a.acknowledged)
                for a in rows
                if a.id > after_id
            ),
            key=lambda a: a.id,
        )

    def acknowledge(self, alert_id: int, *, actor: str) -> None:
        self.service.acknowledge(alert_id, _staff_name(actor))

    @staticmethod
    def _bill(b: Any, closed: bool, balance: int) -> BillView:
        return BillView(
            b.guest_id, b.visit_id, tuple(b.lines), b.total_fen, closed, balance, tuple(b.discarded), b.refunds_fen
        )

    def bill(self, guest_id: str) -> BillView:
        balance = self.service.balance(guest_id)
        try:
            b = self.service.bill(guest_id)
        except NotFound:
            return BillView(guest_id, None, (), 0, True, balance)  # no open visit
        return self._bill(b, False, balance)

    def receipt_bill(self, guest_id: str) -> BillView:
        b = self.service.receipt_bill(guest_id)
        view = self._bill(b, b.closed_at is not None, self.service.balance(guest_id))
        return replace(view, closed_at=b.closed_at)

    def checkout(self, guest_id: str, *, actor: str) -> BillView:
        current = self.service.bill(guest_id)  # NotFound when there is no open visit
        r = self.service.checkout(guest_id, f"checkout-{current.visit_id}", actor=_staff_name(actor))
        return self._bill(r.bill, True, r.balance_fen)

    def topup(self, guest_id: str, *, amount_fen: int, idempotency_key: str, actor: str) -> int:
        return int(self.service.topup(guest_id, amount_fen, idempotency_key, actor=actor).balance_fen)

    def balance(self, guest_id: str) -> int:
        return int(self.service.balance(guest_id))

    def ledger(self, guest_id: str | None, limit: int = 200) -> dict[str, Any]:
        if guest_id is not None:
            self.service.balance(guest_id)  # NotFound for an unknown guest
        view = self.service.ledger(guest_id, limit)
        return {
            "postings": [
                {
                    "id": p.posting_id,
                    "at": p.at,
                    "kind": p.kind,
                    "guest_id": p.guest_id,
                    "memo": p.memo,
                    "entries": [{"account": a, "amount_fen": amt} for a, amt in p.entries],
                }
                for p in view.lines
            ],
            "account_sums": view.account_sums,
            "trial_balance": view.trial_balance,
            "guest_balances": view.guest_balances,
        }

    def apply_sobriety(
        self,
        guest_id: str,
        *,
        p_drunk: float | None,
        similarity: float | None,
        posture_abnormal: bool,
        judged_drunk: bool | None,
        evidence: str,
        room_id: str,
        abstained: bool = False,
    ) -> RiskView:
        from soberpay.domain.risk import SobrietyObservation

        obs = SobrietyObservation(p_drunk, posture_abnormal, similarity, judged_drunk, evidence, abstained)
        view = self.service.refresh_risk(guest_id, obs)
        with self._lock:
            series = self._timeline.setdefault(guest_id, deque(maxlen=TIMELINE_POINTS))
            series.append(SobrietyPoint(self._clock.now(), p_drunk, view.state, similarity))
        return view

    def refund(
        self, order_id: str, *, amount_fen: int | None, reason: str, actor: str, idempotency_key: str
    ) -> RefundResult:
        return self.service.refund(order_id, amount_fen, reason, _staff_name(actor), idempotency_key)

    def void(self, order_id: str, *, reason: str, actor: str, idempotency_key: str) -> RefundResult:
        return self.service.void(order_id, reason, _staff_name(actor), idempotency_key)

    def deliveries(self) -> list[Delivery]:
        return self.service.deliveries()

    def delivery(self, order_id: str) -> Delivery:
        return self.service.delivery(order_id)

    def move_delivery(self, order_id: str, to: DeliveryState, *, actor: str) -> Delivery:
        return self.service.move_delivery(order_id, to, _staff_name(actor))

    def venue_name(self) -> str:
        return self.service.catalogue.name

    def sobriety_history(self, guest_id: str) -> list[SobrietyPoint]:
        with self._lock:
            return list(self._timeline.get(guest_id, ()))
