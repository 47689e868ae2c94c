"""``PaymentService``: the one object the CLI and the HTTP API call. A thin facade over the use-case
classes, keeping the public method names and signatures in one place."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from soberpay.config import PaymentSettings, SobrietySettings
from soberpay.domain.behaviour import BehaviourScorer
from soberpay.domain.catalogue import Catalogue
from soberpay.domain.delivery import Delivery, DeliveryState
from soberpay.domain.ledger import Bill
from soberpay.domain.purchase import PendingRequest
from soberpay.domain.risk import SobrietyObservation, SobrietySignal
from soberpay.ports import Alert, AuditEntry, Clock, Presence, UnitOfWorkFactory
from soberpay.services.payments.context import PaymentContext
from soberpay.services.payments.counter import Counter
from soberpay.services.payments.deliveries import Deliveries
from soberpay.services.payments.guests import GuestIdentity
from soberpay.services.payments.pending import PendingRequests
from soberpay.services.payments.purchase import Origin, Purchases
from soberpay.services.payments.queries import PaymentQueries
from soberpay.services.payments.refunds import RefundResult, Refunds
from soberpay.services.payments.results import CheckoutResult, LedgerView, PaymentResult, RiskView, TopupResult
from soberpay.services.payments.staff import StaffActions


def new_id() -> str:
    return uuid.uuid4().hex


class PaymentService:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        identity: GuestIdentity,
        clock: Clock,
        settings: PaymentSettings,
        catalogue: Catalogue,
        sobriety: SobrietySignal | None = None,
        behaviour: BehaviourScorer | None = None,
        id_factory: Callable[[], str] = new_id,
        fault: Callable[[str], None] | None = None,
        sobriety_settings: SobrietySettings | None = None,
        menu: Callable[[], Catalogue] | None = None,
    ) -> None:
        ctx = PaymentContext(
            uow=uow,
            identity=identity,
            clock=clock,
            settings=settings,
            catalogue=catalogue,
            sobriety=sobriety,
            behaviour=behaviour,
            id_factory=id_factory,
            fault=fault,
            sobriety_settings=sobriety_settings,
            menu=menu,
        )
        self.context = ctx  # shared with the top-up channels (bootstrap.topups)
        self._purchases = Purchases(ctx)
        self._pending = PendingRequests(ctx, self._purchases)
        self._staff = StaffActions(ctx)
        self._counter = Counter(ctx)
        self._refunds = Refunds(ctx)
        self._deliveries = Deliveries(ctx)
        self._queries = PaymentQueries(ctx)
        self.settings = settings
        self.tier_policy = ctx.tier_policy
        self.password_policy = ctx.password_policy
        self.risk_policy = ctx.risk_policy
        self.spending_policy = ctx.spending_policy
        self.bac_assumptions = ctx.bac_assumptions

    @property
    def catalogue(self) -> Catalogue:
        """The menu as it is now (the database's, when the back office runs it)."""
        return self.context.catalogue

    # --- purchase -------------------------------------------------------------------------------

    def pay_by_face(
        self,
        image: bytes,
        sku: str,
        quantity: int,
        idempotency_key: str,
        password: str | None = None,
        *,
        actor: str = "guest",
        room_id: str | None = None,
    ) -> PaymentResult:
        """Face-first payment (1:N). A tagged guest's regular item also needs ``password`` (dual verification).

        ``actor`` and ``room_id`` (where the order was placed) are recorded in the audit log."""
        origin = Origin(actor, room_id)
        return self._purchases.pay_by_face(image, sku, quantity, idempotency_key, password, origin)

    def pay_by_phone(
        self,
        phone: str,
        password: str,
        sku: str,
        quantity: int,
        idempotency_key: str,
        face_image: bytes | None = None,
        *,
        actor: str = "guest",
        room_id: str | None = None,
    ) -> PaymentResult:
        """Phone + 6-digit password (no face consent needed); a tagged guest also needs ``face_image``."""
        origin = Origin(actor, room_id)
        return self._purchases.pay_by_phone(phone, password, sku, quantity, idempotency_key, face_image, origin)

    def purchase(
        self,
        guest_id: str,
        sku: str,
        quantity: int,
        idempotency_key: str,
        *,
        password: str | None = None,
        face_image: bytes | None = None,
        actor: str = "guest",
        room_id: str | None = None,
    ) -> PaymentResult:
        """For a caller that already identified the guest (e.g. a staff terminal): evidence is optional
        for untagged guests, and a tagged guest needs ``face_image`` + ``password`` (dual verification)."""
        origin = Origin(actor, room_id)
        return self._purchases.purchase(guest_id, sku, quantity, idempotency_key, password, face_image, origin)

    # --- pending requests -----------------------------------------------------------------------

    def list_pending(self, guest_id: str | None = None, include_closed: bool = False) -> list[PendingRequest]:
        return self._pending.find(guest_id, include_closed)

    def expire_pending(self) -> int:
        return self._pending.expire()

    def confirm_pending(
        self,
        request_id: str,
        idempotency_key: str,
        *,
        password: str | None = None,
        face_image: bytes | None = None,
        actor: str = "guest",
    ) -> PaymentResult:
        """The recovered guest confirms a suspended request (face or password): charged at the original price."""
        return self._pending.confirm(request_id, idempotency_key, password, face_image, actor)

    def discard_pending(
        self, request_id: str, actor: str = "guest", note: str = "discarded by the guest"
    ) -> PendingRequest:
        return self._pending.discard(request_id, actor, note)

    # --- risk and staff actions -----------------------------------------------------------------

    def refresh_risk(self, guest_id: str, observation: SobrietyObservation | None = None) -> RiskView:
        return self._staff.refresh_risk(guest_id, observation)

    def risk_status(self, guest_id: str) -> RiskView:
        return self._staff.risk_status(guest_id)

    def staff_tag(self, guest_id: str, reason: str, actor: str) -> RiskView:
        return self._staff.tag(guest_id, reason, actor)

    def staff_untag(self, guest_id: str, reason: str, actor: str) -> RiskView:
        return self._staff.untag(guest_id, reason, actor)

    def staff_unlock(self, guest_id: str, reason: str, actor: str) -> str:
        return self._staff.unlock(guest_id, reason, actor)

    def acknowledge(self, alert_id: int, actor: str) -> None:
        self._staff.acknowledge(alert_id, actor)

    # --- visits and the counter -----------------------------------------------------------------

    def open_visit(self, guest_id: str, actor: str = "staff") -> str:
        return self._counter.open_visit(guest_id, actor)

    def balance(self, guest_id: str) -> int:
        return self._counter.balance(guest_id)

    def check_in(self, guest_id: str, room_id: str, *, actor: str = "staff", source: str = "counter") -> None:
        """The guest is present in ``room_id`` from now on; their orders, pending requests, alerts and
        audit rows carry that room until they move or check out."""
        self._counter.check_in(guest_id, room_id, actor, source)

    def presences(self) -> list[Presence]:
        return self._counter.presences()

    def topup(self, guest_id: str, amount_fen: int, idempotency_key: str, actor: str = "cashier") -> TopupResult:
        """Cash in at the counter → the guest's prepaid balance."""
        return self._counter.topup(guest_id, amount_fen, idempotency_key, actor)

    def checkout(
        self, guest_id: str, idempotency_key: str, *, pay_out_balance: bool = False, actor: str = "cashier"
    ) -> CheckoutResult:
        return self._counter.checkout(guest_id, idempotency_key, pay_out_balance, actor)

    # --- refunds, voids and deliveries -----------------------------------------------------------

    def refund(
        self, order_id: str, amount_fen: int | None, reason: str, actor: str, idempotency_key: str
    ) -> RefundResult:
        """Refund (part of) a charged order to the guest's balance (``amount_fen`` None: all that is left)."""
        return self._refunds.refund(order_id, amount_fen, reason, actor, idempotency_key)

    def void(self, order_id: str, reason: str, actor: str, idempotency_key: str) -> RefundResult:
        """Full refund of an order not yet delivered; its delivery is cancelled."""
        return self._refunds.void(order_id, reason, actor, idempotency_key)

    def deliveries(self) -> list[Delivery]:
        """The "to deliver" board: open deliveries, then the ones finished in the last two hours."""
        return self._deliveries.board()

    def delivery(self, order_id: str) -> Delivery:
        return self._deliveries.of_order(order_id)

    def move_delivery(self, order_id: str, to: DeliveryState, actor: str) -> Delivery:
        return self._deliveries.move(order_id, to, actor)

    # --- read models ----------------------------------------------------------------------------

    def ledger(self, guest_id: str | None = None, limit: int = 200) -> LedgerView:
        return self._queries.ledger(guest_id, limit)

    def bill(self, guest_id: str) -> Bill:
        return self._queries.bill(guest_id)

    def receipt_bill(self, guest_id: str) -> Bill:
        return self._queries.receipt_bill(guest_id)

    def alerts(self, include_acknowledged: bool = False, limit: int = 100) -> list[Alert]:
        return self._queries.alerts(include_acknowledged, limit)

    def audit(self, guest_id: str | None = None, limit: int = 100, prefix: str | None = None) -> list[AuditEntry]:
        return self._queries.audit(guest_id, limit, prefix)
