"""The purchase decision, password lockout, pending (suspended) requests and idempotency (pure Python).

Method claims 1 and 8, as a decision table evaluated *after* the risk state has been updated with
this attempt's signals:

=============================  ==============================================================
guest / item                   outcome
=============================  ==============================================================
not tagged                     ``charged`` (if the balance allows)
tagged, regular item           ``verification_required`` until face match AND 6-digit password
                               are both given and correct → ``charged``
tagged, high-price item        ``suspended``: not charged, a pending request is recorded with its
                               reason, staff are notified
=============================  ==============================================================

Wrong passwords are counted: ``max_failures`` consecutive failures lock password payment for
``lockout`` and notify staff. A wrong face is ``face_rejected``. Every decision carries a
machine-readable ``outcome`` + ``rule``, a human explanation, and the audit events to write.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from soberpay.domain.catalogue import Item, Tier, TierDecision, fen_to_yuan
from soberpay.domain.identity import PasswordGuard, PasswordPolicy
from soberpay.domain.risk import RiskRecord
from soberpay.errors import Conflict, InvalidInput, NotFound

MAX_QUANTITY = 99


class Outcome(StrEnum):
    CHARGED = "charged"
    SUSPENDED = "suspended"
    VERIFICATION_REQUIRED = "verification_required"
    PASSWORD_REJECTED = "password_rejected"
    LOCKED_OUT = "locked_out"
    FACE_REJECTED = "face_rejected"
    REFUSED = "refused"


class PaymentRule(StrEnum):
    """Why a payment decision came out as it did (the ``rule`` beside the ``outcome``). The values are
    the strings the HTTP API and the stored idempotent results carry."""

    # charged
    UNTAGGED = "untagged"
    DUAL_VERIFIED = "dual_verified"
    CONFIRMED_AFTER_RECOVERY = "confirmed_after_recovery"
    # suspended / verification required
    TAGGED_HIGH_PRICE = "tagged_high_price"
    DUAL_VERIFICATION = "dual_verification"
    PHONE_NEEDS_PASSWORD = "phone_needs_password"
    CONFIRM_NEEDS_AUTH = "confirm_needs_auth"
    # refusals
    PASSWORD_LOCKED = "password_locked"
    WRONG_PASSWORD = "wrong_password"
    FACE_MISMATCH = "face_mismatch"
    DUAL_VERIFICATION_UNAVAILABLE = "dual_verification_unavailable"
    INSUFFICIENT_BALANCE = "insufficient_balance"
    STILL_TAGGED = "still_tagged"
    EXPIRED = "expired"


@dataclass(frozen=True)
class AuditEvent:
    action: str  # "payment.charged", "payment.suspended", ...
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Notification:
    kind: str  # "suspended", "lockout", "tagged", "drunk_warning", "risk_elevated", "staff_required", ...
    message: str


# --- the decision --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Auth:
    """What the caller proved. ``None`` = not attempted."""

    method: str  # "face" (identified by face), "phone" (phone + password), "guest_id" (trusted caller)
    face_verified: bool | None = None
    face_score: float | None = None
    password_ok: bool | None = None
    face_available: bool = True  # False when the guest has no face-payment consent / templates


@dataclass(frozen=True)
class PurchaseContext:
    guest_id: str
    item: Item
    quantity: int
    tier: TierDecision
    risk: RiskRecord
    auth: Auth
    guard: PasswordGuard
    balance_fen: int
    credit_limit_fen: int
    now: datetime
    risk_explanation: str = ""


@dataclass(frozen=True)
class PurchaseDecision:
    outcome: Outcome
    rule: PaymentRule
    explanation: str
    charge_fen: int = 0
    requires: tuple[str, ...] = ()  # for verification_required: "face", "password"
    events: tuple[AuditEvent, ...] = ()
    notifications: tuple[Notification, ...] = ()

    @property
    def charged(self) -> bool:
        return self.outcome is Outcome.CHARGED

    @property
    def moves_state(self) -> bool:
        """Outcomes whose result is stored under the idempotency key (money moved or request recorded)."""
        return self.outcome in (Outcome.CHARGED, Outcome.SUSPENDED)


def validate_quantity(quantity: int) -> int:
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= MAX_QUANTITY:
        raise InvalidInput(f"quantity must be a whole number from 1 to {MAX_QUANTITY}", field="quantity")
    return quantity


def decide_purchase(ctx: PurchaseContext, policy: PasswordPolicy) -> PurchaseDecision:
    item, qty, now = ctx.item, ctx.quantity, ctx.now
    amount = item.price_fen * qty
    what = f"{qty} × {item.name} ({fen_to_yuan(amount)})"
    base = {
        "sku": item.sku,
        "quantity": qty,
        "amount_fen": amount,
        "tier": ctx.tier.tier.value,
        "tier_rule": ctx.tier.rule,
        "risk_state": ctx.risk.state.value,
        "risk_level": ctx.risk.level.value,
        "auth": ctx.auth.method,
    }
    risk_txt = f" [{ctx.risk_explanation}]" if ctx.risk_explanation else ""
    guard = ctx.guard

    # 1. Authentication failures are decided first. The attempt was already counted by the identity
    #    service (the one lockout per guest); ``guard`` is its state after that attempt.
    if ctx.auth.password_ok is False:
        if guard.locked(now):
            assert guard.locked_until is not None
            return PurchaseDecision(
                Outcome.LOCKED_OUT,
                PaymentRule.PASSWORD_LOCKED,
                f"{what} not charged: password payment is locked until {guard.locked_until:%H:%M} UTC after "
                "repeated wrong passwords; staff have been notified",
                events=(AuditEvent("payment.locked_out", {**base, "failures": guard.failures}),),
            )
        return PurchaseDecision(
            Outcome.PASSWORD_REJECTED,
            PaymentRule.WRONG_PASSWORD,
            f"{what} not charged: wrong payment password ({guard.remaining(policy)} attempt(s) left before lockout)",
            events=(AuditEvent("payment.password_rejected", {**base, "failures": guard.failures}),),
        )
    if ctx.auth.face_verified is False:
        return PurchaseDecision(
            Outcome.FACE_REJECTED,
            PaymentRule.FACE_MISMATCH,
            f"{what} not charged: the face does not match the guest"
            + (f" (similarity {ctx.auth.face_score:.3f})" if ctx.auth.face_score is not None else ""),
            events=(AuditEvent("payment.face_rejected", base),),
        )
    if ctx.auth.method == "phone" and ctx.auth.password_ok is not True:
        return PurchaseDecision(
            Outcome.VERIFICATION_REQUIRED,
            PaymentRule.PHONE_NEEDS_PASSWORD,
            "paying by phone number needs the 6-digit payment password",
            requires=("password",),
        )

    # 2. Tagged + high-price: suspend, never charge.
    if ctx.risk.tagged and ctx.tier.tier is Tier.HIGH_PRICE:
        text = (
            f"{what} suspended, not charged: the guest is {ctx.risk.state.value} ({ctx.risk.tag_reason}) and "
            f"{ctx.tier.explanation}. Recorded as a pending request; the guest can confirm it after "
            f"recovery{risk_txt}"
        )
        return PurchaseDecision(
            Outcome.SUSPENDED,
            PaymentRule.TAGGED_HIGH_PRICE,
            text,
            events=(AuditEvent("payment.suspended", {**base, "reason": ctx.risk.tag_reason}),),
            notifications=(Notification("suspended", f"guest {ctx.guest_id[:8]}: {what} suspended while tagged"),),
        )

    # 3. Tagged + regular: dual verification (face AND password).
    rule = PaymentRule.UNTAGGED
    how = "guest not tagged"
    if ctx.risk.tagged:
        missing = []
        if ctx.auth.face_verified is not True:
            missing.append("face")
        if ctx.auth.password_ok is not True:
            missing.append("password")
        if "face" in missing and not ctx.auth.face_available:
            return PurchaseDecision(
                Outcome.REFUSED,
                PaymentRule.DUAL_VERIFICATION_UNAVAILABLE,
                f"{what} not charged: the guest is tagged and dual verification needs a face match, but the "
                "guest has no face-payment consent; staff assistance needed",
                events=(AuditEvent("payment.refused", {**base, "rule": PaymentRule.DUAL_VERIFICATION_UNAVAILABLE}),),
                notifications=(
                    Notification("staff_required", f"guest {ctx.guest_id[:8]}: tagged, cannot dual-verify"),
                ),
            )
        if missing:
            return PurchaseDecision(
                Outcome.VERIFICATION_REQUIRED,
                PaymentRule.DUAL_VERIFICATION,
                f"the guest is {ctx.risk.state.value} ({ctx.risk.tag_reason}): {item.name} is a regular item, so "
                f"it needs dual verification — still missing: {' and '.join(missing)}",
                requires=tuple(missing),
            )
        rule = PaymentRule.DUAL_VERIFIED
        how = "tagged guest passed dual verification (face + password)"

    # 4. Money.
    after = ctx.balance_fen - amount
    if after < -ctx.credit_limit_fen:
        return PurchaseDecision(
            Outcome.REFUSED,
            PaymentRule.INSUFFICIENT_BALANCE,
            f"{what} not charged: balance {fen_to_yuan(ctx.balance_fen)} is not enough",
            events=(AuditEvent("payment.refused", {**base, "rule": PaymentRule.INSUFFICIENT_BALANCE}),),
        )
    return PurchaseDecision(
        Outcome.CHARGED,
        rule,
        f"{what} charged: {how}; {ctx.tier.explanation}{risk_txt}",
        charge_fen=amount,
        events=(AuditEvent("payment.charged", {**base, "rule": rule}),),
    )


# --- pending (suspended) requests ----------------------------------------------------------------


class PendingStatus(StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    DISCARDED = "discarded"
    EXPIRED = "expired"


@dataclass(frozen=True)
class PendingRequest:
    id: str
    guest_id: str
    visit_id: str
    sku: str
    name: str
    category: str
    unit_price_fen: int  # the price at the time of the attempt: confirmation charges this
    quantity: int
    reason: str
    created_at: datetime
    expires_at: datetime
    status: PendingStatus = PendingStatus.PENDING
    resolved_at: datetime | None = None
    note: str = ""
    room_id: str | None = None  # stamped by the store from the guest's presence

    @property
    def amount_fen(self) -> int:
        return self.unit_price_fen * self.quantity

    @property
    def open(self) -> bool:
        return self.status is PendingStatus.PENDING


def new_pending(
    request_id: str,
    ctx: PurchaseContext,
    visit_id: str,
    reason: str,
    expiry_minutes: float,
) -> PendingRequest:
    return PendingRequest(
        id=request_id,
        guest_id=ctx.guest_id,
        visit_id=visit_id,
        sku=ctx.item.sku,
        name=ctx.item.name,
        category=ctx.item.category.value,
        unit_price_fen=ctx.item.price_fen,
        quantity=ctx.quantity,
        reason=reason,
        created_at=ctx.now,
        expires_at=ctx.now + timedelta(minutes=expiry_minutes),
    )


def expire_if_due(req: PendingRequest, now: datetime) -> PendingRequest:
    if req.open and now >= req.expires_at:
        return replace(req, status=PendingStatus.EXPIRED, resolved_at=now, note="expired unconfirmed")
    return req


def _ensure_open(req: PendingRequest) -> None:
    if not req.open:
        raise Conflict(f"request {req.id} is already {req.status.value}", request_id=req.id, status=req.status.value)


@dataclass(frozen=True)
class ConfirmDecision:
    request: PendingRequest
    outcome: Outcome
    rule: PaymentRule
    explanation: str
    charge_fen: int = 0


def decide_confirm(
    req: PendingRequest,
    risk: RiskRecord,
    now: datetime,
    authenticated: bool,
    balance_fen: int,
    credit_limit_fen: int,
) -> ConfirmDecision:
    """Confirm → charged now at the original price, only when recovered; expired → cancelled."""
    req = expire_if_due(req, now)
    if req.status is PendingStatus.EXPIRED:
        return ConfirmDecision(
            req, Outcome.REFUSED, PaymentRule.EXPIRED, f"request {req.id} expired at {req.expires_at:%H:%M}"
        )
    _ensure_open(req)
    if risk.tagged:
        return ConfirmDecision(
            req,
            Outcome.REFUSED,
            PaymentRule.STILL_TAGGED,
            f"the guest is still {risk.state.value}: high-price items stay locked until recovery",
        )
    if not authenticated:
        return ConfirmDecision(
            req,
            Outcome.VERIFICATION_REQUIRED,
            PaymentRule.CONFIRM_NEEDS_AUTH,
            "confirming needs the guest's face or password",
        )
    if balance_fen - req.amount_fen < -credit_limit_fen:
        return ConfirmDecision(
            req,
            Outcome.REFUSED,
            PaymentRule.INSUFFICIENT_BALANCE,
            f"balance {fen_to_yuan(balance_fen)} is not enough for {fen_to_yuan(req.amount_fen)}",
        )
    done = replace(req, status=PendingStatus.CONFIRMED, resolved_at=now, note="confirmed by the guest after recovery")
    return ConfirmDecision(
        done,
        Outcome.CHARGED,
        PaymentRule.CONFIRMED_AFTER_RECOVERY,
        f"{req.quantity} × {req.name} charged at the original price {fen_to_yuan(req.unit_price_fen)} each "
        f"({fen_to_yuan(req.amount_fen)}), confirmed by the guest after recovery",
        charge_fen=req.amount_fen,
    )


def discard_pending(req: PendingRequest, now: datetime, note: str) -> PendingRequest:
    req = expire_if_due(req, now)
    if req.status is PendingStatus.EXPIRED:
        return req
    _ensure_open(req)
    return replace(req, status=PendingStatus.DISCARDED, resolved_at=now, note=note)


# --- idempotency ---------------------------------------------------------------------------------

_KEY_RE = re.compile(r"^[A-Za-z0-9_\-.:]{8,128}$")


def validate_idempotency_key(key: str | None) -> str:
    if key is None or not _KEY_RE.match(key):
        raise InvalidInput(
            "an idempotency key of 8-128 characters (letters, digits, _ - . :) is required for money-moving calls",
            field="idempotency_key",
        )
    return key


def fingerprint(operation: str, params: Mapping[str, Any]) -> str:
    """Stable hash of an operation and its non-secret parameters (passwords and images never go in)."""
    canon = json.dumps({"op": operation, **params}, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canon.encode()).hexdigest()


@dataclass(frozen=True)
class StoredResult:
    key: str
    operation: str
    fingerprint: str
    result: Mapping[str, Any]


def replay(stored: StoredResult | None, operation: str, fp: str) -> Mapping[str, Any] | None:
    """The stored result for an identical retry; ``Conflict`` when the key was used for something else."""
    if stored is None:
        return None
    if stored.operation != operation or stored.fingerprint != fp:
        raise Conflict(
            "idempotency key already used with different parameters", idempotency_key=stored.key, rule="key_reuse"
        )
    return stored.result


def require_found(value: Any, what: str, **context: Any) -> Any:
    if value is None:
        raise NotFound(f"unknown {what}", **context)
    return value


__all__ = [
    "MAX_QUANTITY",
    "AuditEvent",
    "Auth",
    "ConfirmDecision",
    "Notification",
    "Outcome",
    "PaymentRule",
    "PendingRequest",
    "PendingStatus",
    "PurchaseContext",
    "PurchaseDecision",
    "StoredResult",
    "decide_confirm",
    "decide_purchase",
    "discard_pending",
    "expire_if_due",
    "fingerprint",
    "new_pending",
    "replay",
    "validate_idempotency_key",
    "validate_quantity",
]
