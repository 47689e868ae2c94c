"""What the web layer needs from the payment engine and the sobriety monitor, as small Protocols.

The web routes only talk to these; ``soberpay.web.engine`` adapts the real payment service
(``soberpay.services.payments.PaymentService``) to them. A concept the services already model
(``RiskView``, ``BillLine``) is used as is, not copied here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from soberpay.domain.delivery import Delivery, DeliveryState
from soberpay.domain.ledger import BillLine
from soberpay.services.payments import RefundResult, RiskView


@dataclass(frozen=True)
class MenuItem:
    id: str
    name: str
    name_zh: str
    category: str
    price_fen: int
    high_price: bool


@dataclass(frozen=True)
class PurchaseOutcome:
    """One purchase decision. ``outcome``: charged | suspended | verification_required (see ``requires``:
    face / password) | password_rejected | locked_out | face_rejected | refused."""

    outcome: str
    rule: str
    explanation: str
    item_id: str
    quantity: int
    amount_fen: int
    risk_state: str
    charged_fen: int = 0
    balance_fen: int = 0
    requires: tuple[str, ...] = ()
    order_id: str | None = None
    pending_id: str | None = None
    replayed: bool = False


@dataclass(frozen=True)
class PendingView:
    id: str
    guest_id: str
    item_id: str
    item_name: str
    quantity: int
    amount_fen: int
    reason: str
    created_at: datetime
    status: str  # pending | confirmed | discarded | expired
    room_id: str | None = None


@dataclass(frozen=True)
class AlertView:
    id: int
    at: datetime
    kind: str
    message: str
    guest_id: str | None = None
    room_id: str | None = None
    acknowledged: bool = False


@dataclass(frozen=True)
class PresenceView:
    guest_id: str
    room_id: str
    since: datetime
    source: str  # counter / tablet


@dataclass(frozen=True)
class BillView:
    guest_id: str
    visit_id: str | None = None
    lines: tuple[BillLine, ...] = ()
    total_fen: int = 0
    closed: bool = False
    balance_fen: int = 0
    discarded: tuple[str, ...] = ()
    refunds_fen: int = 0
    closed_at: datetime | None = None


@dataclass(frozen=True)
class SobrietyPoint:
    """One point of a guest's sobriety evidence timeline (for the staff plot)."""

    at: datetime
    p_drunk: float | None
    state: str  # risk state after this observation
    similarity: float | None = None


@runtime_checkable
class PaymentsPort(Protocol):
    def menu(self) -> list[MenuItem]: ...

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
    ) -> PurchaseOutcome: ...

    def risk(self, guest_id: str) -> RiskView: ...
    def pending(self, guest_id: str | None = None) -> list[PendingView]: ...
    def confirm_pending(
        self,
        pending_id: str,
        *,
        guest_id: str,
        idempotency_key: str,
        password: str | None,
        face_image: bytes | None,
        actor: str,
    ) -> PurchaseOutcome: ...
    def discard_pending(self, pending_id: str, *, guest_id: str | None, actor: str) -> PendingView:
        """``guest_id`` None: staff discard a held request of any guest."""

    def check_in(self, guest_id: str, room_id: str, *, actor: str, source: str) -> None: ...
    def presences(self) -> list[PresenceView]: ...
    def override(self, guest_id: str, *, action: str, reason: str, actor: str) -> RiskView: ...
    def alerts(self, after_id: int = 0, limit: int = 100) -> list[AlertView]: ...
    def acknowledge(self, alert_id: int, *, actor: str) -> None: ...
    def bill(self, guest_id: str) -> BillView: ...
    def receipt_bill(self, guest_id: str) -> BillView: ...
    def checkout(self, guest_id: str, *, actor: str) -> BillView: ...
    def topup(self, guest_id: str, *, amount_fen: int, idempotency_key: str, actor: str) -> int: ...
    def balance(self, guest_id: str) -> int: ...
    def ledger(self, guest_id: str | None, limit: int = 200) -> dict[str, Any]: ...
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
    ) -> RiskView: ...
    def sobriety_history(self, guest_id: str) -> list[SobrietyPoint]: ...
    def refund(
        self, order_id: str, *, amount_fen: int | None, reason: str, actor: str, idempotency_key: str
    ) -> RefundResult: ...
    def void(self, order_id: str, *, reason: str, actor: str, idempotency_key: str) -> RefundResult: ...
    def deliveries(self) -> list[Delivery]: ...
    def delivery(self, order_id: str) -> Delivery: ...
    def move_delivery(self, order_id: str, to: DeliveryState, *, actor: str) -> Delivery: ...
    def venue_name(self) -> str: ...
