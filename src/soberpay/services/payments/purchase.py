"""Purchase use cases: pay by face (1:N), by phone + password, or for an already identified guest.

A tagged guest's regular item needs dual verification (face AND password); a high-price item is
suspended as a pending request instead of being charged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from soberpay.domain.catalogue import Item, tier_of
from soberpay.domain.identity import validate_payment_password
from soberpay.domain.purchase import (
    Auth,
    Outcome,
    PurchaseContext,
    PurchaseDecision,
    decide_purchase,
    new_pending,
    validate_idempotency_key,
    validate_quantity,
)
from soberpay.domain.risk import RiskStep, SobrietyObservation, step
from soberpay.errors import AuthError, ConsentRequired
from soberpay.ports import AbstractUnitOfWork
from soberpay.services.payments.context import Decided, PaymentContext
from soberpay.services.payments.guests import FACE_PAYMENT, GuestProfile
from soberpay.services.payments.results import PaymentResult
from soberpay.services.payments.steps import charge, consumption, expire_due, open_visit, persist_risk


@dataclass(frozen=True)
class Origin:
    """Who asked for the purchase and from which room, for the audit log (not part of the idempotency
    fingerprint: a retry from another terminal is the same purchase)."""

    actor: str = "guest"
    room_id: str | None = None


class Purchases:
    def __init__(self, ctx: PaymentContext) -> None:
        self._ctx = ctx

    def pay_by_face(
        self, image: bytes, sku: str, quantity: int, idempotency_key: str, password: str | None, origin: Origin
    ) -> PaymentResult:
        item = self._validate(sku, quantity, idempotency_key)
        decision = self._ctx.identity.identify(image)
        if not decision.accepted or decision.guest_id is None:
            raise AuthError(f"face not recognised: {decision.explanation}", rule="no_face_match")
        guest_id = decision.guest_id
        if not self._ctx.identity.has_consent(guest_id, FACE_PAYMENT):
            raise ConsentRequired("the guest has not consented to face payment", guest_id=guest_id)
        auth = Auth("face", face_verified=True, face_score=float(decision.score))
        return self._purchase(guest_id, item, quantity, idempotency_key, auth, password, origin)

    def pay_by_phone(
        self,
        phone: str,
        password: str,
        sku: str,
        quantity: int,
        idempotency_key: str,
        face_image: bytes | None,
        origin: Origin,
    ) -> PaymentResult:
        item = self._validate(sku, quantity, idempotency_key)
        guest = self._ctx.identity.find_by_phone(phone)
        auth = self.face_auth(guest.id, face_image, method="phone")
        return self._purchase(guest.id, item, quantity, idempotency_key, auth, password, origin)

    def purchase(
        self,
        guest_id: str,
        sku: str,
        quantity: int,
        idempotency_key: str,
        password: str | None,
        face_image: bytes | None,
        origin: Origin,
    ) -> PaymentResult:
        item = self._validate(sku, quantity, idempotency_key)
        self._ctx.guest(guest_id)
        auth = self.face_auth(guest_id, face_image, method="guest_id")
        return self._purchase(guest_id, item, quantity, idempotency_key, auth, password, origin)

    # --- evidence, checked before the transaction -----------------------------------------------

    def _validate(self, sku: str, quantity: int, idempotency_key: str) -> Item:
        """Bad input fails here, before any face or password work; the item is read once per purchase."""
        validate_idempotency_key(idempotency_key)
        item = self._ctx.catalogue.for_sale(sku)
        validate_quantity(quantity)
        return item

    def face_auth(self, guest_id: str, face_image: bytes | None, method: str) -> Auth:
        consent = self._ctx.identity.has_consent(guest_id, FACE_PAYMENT)
        if face_image is None:
            return Auth(method, face_verified=None, face_available=consent)
        if not consent:
            raise ConsentRequired("the guest has not consented to face payment", guest_id=guest_id)
        v = self._ctx.identity.verify(guest_id, face_image)
        return Auth(method, face_verified=bool(v.accepted), face_score=float(v.score), face_available=True)

    def check_password(self, guest_id: str, password: str | None, actor: str) -> bool | None:
        """Checked by the identity service under the guest's one lockout (counted there, staff told of a
        lockout there); outside the transaction because argon2 is slow. False while locked out."""
        if password is None:
            return None
        validate_payment_password(password)  # a malformed entry is bad input, not a counted failure
        return self._ctx.identity.check_password(guest_id, password, actor).ok

    # --- the decision ---------------------------------------------------------------------------

    def _purchase(
        self, guest_id: str, item: Item, quantity: int, key: str, auth: Auth, password: str | None, origin: Origin
    ) -> PaymentResult:
        ctx = self._ctx
        guest = ctx.guest(guest_id)
        pw_ok = self.check_password(guest_id, password, origin.actor)
        if pw_ok is not None:
            auth = replace(auth, password_ok=pw_ok)
        observation = ctx.observe(guest_id)

        def decide(uow: AbstractUnitOfWork, now: datetime) -> Decided[PaymentResult]:
            return self._decide(uow, now, guest, item, quantity, key, auth, observation, origin)

        def restore(prior: Mapping[str, Any]) -> PaymentResult:
            return PaymentResult.from_dict(prior, replayed=True)

        params = {"guest_id": guest_id, "sku": item.sku, "quantity": quantity}
        return ctx.idempotent(
            guest_id=guest_id, key=key, operation="purchase", params=params, decide=decide, restore=restore
        )

    def _decide(
        self,
        uow: AbstractUnitOfWork,
        now: datetime,
        guest: GuestProfile,
        item: Item,
        quantity: int,
        key: str,
        auth: Auth,
        observation: SobrietyObservation | None,
        origin: Origin,
    ) -> Decided[PaymentResult]:
        ctx, gid = self._ctx, guest.id
        visit = open_visit(ctx, uow, gid, now, origin.actor)
        expire_due(ctx, uow, now, gid)
        before = uow.payments.risk(gid)
        st = step(before, now, observation, consumption(ctx, uow, guest, visit, now, (item, quantity)), ctx.risk_policy)
        persist_risk(ctx, uow, before, st, "system", now)
        tier = tier_of(item, ctx.tier_policy, st.record.tagged, quantity)
        pctx = PurchaseContext(
            guest_id=gid,
            item=item,
            quantity=quantity,
            tier=tier,
            risk=st.record,
            auth=auth,
            guard=uow.payments.guard(gid),
            balance_fen=uow.payments.balance(gid),
            credit_limit_fen=ctx.settings.tab_credit_limit_fen,
            now=now,
            risk_explanation=st.explain() if st.transitions else "",
        )
        decision = decide_purchase(pctx, ctx.password_policy)
        order_id = posting_id = pending_id = None
        if decision.outcome is Outcome.CHARGED:
            order_id, posting_id = charge(
                ctx,
                uow,
                guest_id=gid,
                visit_id=visit.id,
                sku=item.sku,
                name=item.name,
                category=item.category.value,
                unit_price_fen=item.price_fen,
                quantity=quantity,
                alcohol_g=item.alcohol_grams * quantity,
                rule=decision.rule,
                now=now,
                key=key,
            )
        elif decision.outcome is Outcome.SUSPENDED:
            pending_id = ctx.new_id()
            reason = st.record.tag_reason or tier.explanation
            uow.payments.add_pending(
                new_pending(pending_id, pctx, visit.id, reason, ctx.settings.pending_expiry_minutes)
            )
        self._record(uow, now, gid, decision, key, origin, order_id=order_id, pending_id=pending_id)
        result = PaymentResult(
            outcome=decision.outcome,
            rule=decision.rule,
            explanation=decision.explanation,
            guest_id=gid,
            sku=item.sku,
            quantity=quantity,
            amount_fen=item.price_fen * quantity,
            charged_fen=decision.charge_fen,
            balance_fen=uow.payments.balance(gid),
            visit_id=visit.id,
            order_id=order_id,
            posting_id=posting_id,
            pending_id=pending_id,
            requires=decision.requires,
            **_risk_fields(st),
        )
        return result, result.to_dict() if decision.moves_state else None

    def _record(
        self,
        uow: AbstractUnitOfWork,
        now: datetime,
        guest_id: str,
        decision: PurchaseDecision,
        key: str,
        origin: Origin,
        *,
        order_id: str | None,
        pending_id: str | None,
    ) -> None:
        """The decision's audit events and staff notifications."""
        room = {"room_id": origin.room_id} if origin.room_id is not None else {}
        for ev in decision.events:
            self._ctx.audit(
                uow,
                now,
                origin.actor,
                ev.action,
                guest_id,
                **ev.details,
                **room,
                outcome=decision.outcome.value,
                explanation=decision.explanation,
                order_id=order_id,
                pending_id=pending_id,
                idempotency_key=key,
            )
        for n in decision.notifications:
            uow.notifications.notify(now, n.kind, guest_id, n.message)


def _risk_fields(st: RiskStep) -> dict[str, Any]:
    return {
        "risk_state": st.record.state.value,
        "risk_level": st.record.level.value,
        "risk_explanation": st.explain(),
        "signals": st.signals,
    }
