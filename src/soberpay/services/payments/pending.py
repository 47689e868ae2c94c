"""Pending requests: high-price purchases suspended while the guest was tagged. After recovery the
guest confirms one (face or password; charged at the original price) or discards it; unconfirmed
requests expire."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from soberpay.domain.catalogue import Catalogue
from soberpay.domain.purchase import (
    ConfirmDecision,
    Outcome,
    PaymentRule,
    PendingRequest,
    PendingStatus,
    decide_confirm,
    discard_pending,
    validate_idempotency_key,
)
from soberpay.domain.risk import SobrietyObservation
from soberpay.errors import ConsentRequired, NotFound
from soberpay.ports import AbstractUnitOfWork
from soberpay.services.payments.context import Decided, PaymentContext
from soberpay.services.payments.guests import FACE_PAYMENT, GuestProfile
from soberpay.services.payments.purchase import Purchases
from soberpay.services.payments.results import PaymentResult
from soberpay.services.payments.steps import charge, expire_due, step_risk

_CONFIRM_AUDIT = {Outcome.CHARGED: "pending.confirmed", Outcome.VERIFICATION_REQUIRED: "pending.verification_required"}


@dataclass(frozen=True)
class _Evidence:
    """What the confirming guest proved, checked before the transaction (argon2 and face models are slow)."""

    guest: GuestProfile
    face_ok: bool | None
    password_ok: bool | None
    observation: SobrietyObservation | None
    actor: str
    # The menu, read before the transaction too: a database-backed menu cannot be read while the guest's
    # lock is held (SQLite starts every transaction with BEGIN IMMEDIATE).
    menu: Catalogue


class PendingRequests:
    def __init__(self, ctx: PaymentContext, purchases: Purchases) -> None:
        self._ctx = ctx
        self._purchases = purchases

    def find(self, guest_id: str | None, include_closed: bool) -> list[PendingRequest]:
        with self._ctx.uow() as uow:
            expire_due(self._ctx, uow, self._ctx.now(), guest_id)
            statuses = None if include_closed else (PendingStatus.PENDING,)
            requests = uow.payments.pending_requests(guest_id, statuses)
            uow.commit()
        return requests

    def expire(self) -> int:
        with self._ctx.uow() as uow:
            n = expire_due(self._ctx, uow, self._ctx.now())
            uow.commit()
        return n

    def discard(self, request_id: str, actor: str, note: str) -> PendingRequest:
        gid = self._guest_of(request_id)
        with self._ctx.locked(gid) as (uow, now):
            req = self._load(uow, request_id)
            if req.status is PendingStatus.DISCARDED:
                return req  # idempotent
            done = discard_pending(req, now, note)
            uow.payments.save_pending(done)
            action = "pending.expired" if done.status is PendingStatus.EXPIRED else "pending.discarded"
            self._ctx.audit(uow, now, actor, action, gid, request_id=request_id, note=note)
            return done

    def confirm(
        self,
        request_id: str,
        idempotency_key: str,
        password: str | None,
        face_image: bytes | None,
        actor: str = "guest",
    ) -> PaymentResult:
        """The recovered guest confirms a suspended request: charged now at the original price.
        ``actor`` (e.g. ``room:r1``) goes into the audit log."""
        key = validate_idempotency_key(idempotency_key)
        evidence = self._evidence(self._guest_of(request_id), password, face_image, actor)

        def decide(uow: AbstractUnitOfWork, now: datetime) -> Decided[PaymentResult]:
            refused = self._refuse_evidence(uow, now, evidence, request_id)
            if refused is not None:
                return refused, None  # not stored: the guest may retry the key with the right evidence
            return self._confirm(uow, now, evidence, request_id, key)

        def restore(prior: Mapping[str, Any]) -> PaymentResult:
            return PaymentResult.from_dict(prior, replayed=True)

        return self._ctx.idempotent(
            guest_id=evidence.guest.id,
            key=key,
            operation="confirm",
            params={"request_id": request_id},
            decide=decide,
            restore=restore,
        )

    # --- confirmation steps ---------------------------------------------------------------------

    def _evidence(self, guest_id: str, password: str | None, face_image: bytes | None, actor: str) -> _Evidence:
        guest = self._ctx.guest(guest_id)
        face_ok: bool | None = None
        if face_image is not None:
            if not self._ctx.identity.has_consent(guest_id, FACE_PAYMENT):
                raise ConsentRequired("the guest has not consented to face payment", guest_id=guest_id)
            face_ok = bool(self._ctx.identity.verify(guest_id, face_image).accepted)
        pw_ok = self._purchases.check_password(guest_id, password, actor)
        return _Evidence(guest, face_ok, pw_ok, self._ctx.observe(guest_id), actor, self._ctx.catalogue)

    def _refuse_evidence(
        self, uow: AbstractUnitOfWork, now: datetime, ev: _Evidence, request_id: str
    ) -> PaymentResult | None:
        """Refuse a wrong password or face."""
        gid = ev.guest.id

        def refusal(outcome: Outcome, rule: PaymentRule, explanation: str) -> PaymentResult:
            return PaymentResult(
                outcome, rule, explanation, gid, pending_id=request_id, balance_fen=uow.payments.balance(gid)
            )

        if ev.password_ok is False:  # counted (and a lockout notified) by the identity service
            self._ctx.audit(uow, now, ev.actor, "pending.password_rejected", gid, request_id=request_id)
            guard = uow.payments.guard(gid)
            if guard.locked(now):
                return refusal(
                    Outcome.LOCKED_OUT,
                    PaymentRule.PASSWORD_LOCKED,
                    "password payment is locked after repeated wrong passwords; confirm by face or ask staff",
                )
            left = guard.remaining(self._ctx.password_policy)
            return refusal(
                Outcome.PASSWORD_REJECTED,
                PaymentRule.WRONG_PASSWORD,
                f"wrong payment password ({left} attempt(s) left before lockout)",
            )
        if ev.face_ok is False:
            self._ctx.audit(uow, now, ev.actor, "pending.face_rejected", gid, request_id=request_id)
            return refusal(Outcome.FACE_REJECTED, PaymentRule.FACE_MISMATCH, "the face does not match the guest")
        return None

    def _confirm(
        self, uow: AbstractUnitOfWork, now: datetime, ev: _Evidence, request_id: str, key: str
    ) -> Decided[PaymentResult]:
        """Step the risk state, decide, and charge the request at its original price when allowed."""
        ctx, gid = self._ctx, ev.guest.id
        st = step_risk(ctx, uow, ev.guest, now, ev.observation)
        req = self._load(uow, request_id)
        d = decide_confirm(
            req,
            st.record,
            now,
            authenticated=bool(ev.password_ok or ev.face_ok),
            balance_fen=uow.payments.balance(gid),
            credit_limit_fen=ctx.settings.tab_credit_limit_fen,
        )
        if d.request.status is not req.status:
            uow.payments.save_pending(d.request)
        order_id = posting_id = None
        if d.outcome is Outcome.CHARGED:
            order_id, posting_id = self._charge(uow, now, req, d, key, ev.menu)
        action = (
            "pending.expired" if d.rule is PaymentRule.EXPIRED else _CONFIRM_AUDIT.get(d.outcome, "pending.refused")
        )
        ctx.audit(
            uow,
            now,
            ev.actor,
            action,
            gid,
            request_id=request_id,
            rule=d.rule,
            explanation=d.explanation,
            order_id=order_id,
            amount_fen=d.charge_fen,
        )
        result = PaymentResult(
            outcome=d.outcome,
            rule=d.rule,
            explanation=d.explanation,
            guest_id=gid,
            sku=req.sku,
            quantity=req.quantity,
            amount_fen=req.amount_fen,
            charged_fen=d.charge_fen,
            balance_fen=uow.payments.balance(gid),
            visit_id=req.visit_id,
            order_id=order_id,
            posting_id=posting_id,
            pending_id=req.id,
            requires=("face_or_password",) if d.outcome is Outcome.VERIFICATION_REQUIRED else (),
            risk_state=st.record.state.value,
            risk_level=st.record.level.value,
            risk_explanation=st.explain(),
            signals=st.signals,
        )
        return result, result.to_dict() if d.outcome is Outcome.CHARGED else None

    def _charge(
        self,
        uow: AbstractUnitOfWork,
        now: datetime,
        req: PendingRequest,
        d: ConfirmDecision,
        key: str,
        catalogue: Catalogue,
    ) -> tuple[str, str]:
        # The BAC estimate needs the alcohol; an item since removed from the menu counts as none.
        alcohol = catalogue.get(req.sku).alcohol_grams * req.quantity if req.sku in catalogue else 0.0
        return charge(
            self._ctx,
            uow,
            guest_id=req.guest_id,
            visit_id=req.visit_id,
            sku=req.sku,
            name=req.name,
            category=req.category,
            unit_price_fen=req.unit_price_fen,
            quantity=req.quantity,
            alcohol_g=alcohol,
            rule=d.rule,
            now=now,
            key=key,
            pending_id=req.id,
        )

    # --- lookups --------------------------------------------------------------------------------

    def _guest_of(self, request_id: str) -> str:
        with self._ctx.uow() as uow:
            req = uow.payments.pending(request_id) if isinstance(request_id, str) else None
        if req is None:
            raise NotFound("unknown pending request", request_id=request_id)
        return req.guest_id

    @staticmethod
    def _load(uow: AbstractUnitOfWork, request_id: str) -> PendingRequest:
        req = uow.payments.pending(request_id)
        if req is None:  # requests are never deleted; only a foreign write could get here
            raise NotFound("unknown pending request", request_id=request_id)
        return req
