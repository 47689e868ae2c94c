"""Payment use cases: identify-and-pay, dual verification, pending requests, staff overrides, visits,
checkout, top-up, alerts and audit. Called by the CLI and the HTTP API alike.

Transactions: every decision is one ``session.begin()`` block — risk transition, password counter,
ledger posting, order row, pending request, notifications, audit rows and the idempotency record
commit together or not at all. The guest's account row is locked first (``SELECT … FOR UPDATE`` on
PostgreSQL; SQLite's engine issues ``BEGIN IMMEDIATE``), so concurrent purchases for one guest are
serialised: they cannot overspend the balance and a repeated idempotency key is seen by the second
caller, which then replays the stored result instead of charging again.

Idempotency: money-moving calls take a key. Results that moved money or recorded a request
(``charged``, ``suspended``, top-up, confirm, checkout, refund) are stored under it; the same key
replays them, the same key with other parameters raises ``Conflict``. Refusals and
verification prompts are not stored, so a client can retry the same key with the missing password.
Passwords and images are never part of the stored fingerprint.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from soberpay.adapters.db.audit import append_audit
from soberpay.adapters.db.identity_tables import AuditRow
from soberpay.adapters.db.payment_repository import PaymentRepository, new_id
from soberpay.adapters.db.payment_tables import NotificationRow, OrderRow, PendingRequestRow, VisitRow
from soberpay.config import PaymentSettings, SobrietySettings
from soberpay.domain.bac import BacAssumptions, Drink, estimate_bac
from soberpay.domain.behaviour import BehaviourEvent, BehaviourScorer, encode_sequence
from soberpay.domain.catalogue import Catalogue, Item, TierPolicy, fen_to_yuan, tier_of
from soberpay.domain.identity import validate_payment_password
from soberpay.domain.ledger import (
    Bill,
    BillLine,
    Posting,
    PostingKind,
    guest_account,
    payout_entries,
    purchase_entries,
    refund_entries,
    settlement_entries,
    topup_entries,
)
from soberpay.domain.purchase import (
    Auth,
    Outcome,
    PasswordGuard,
    PasswordPolicy,
    PendingRequest,
    PendingStatus,
    PurchaseContext,
    decide_confirm,
    decide_purchase,
    discard_pending,
    expire_if_due,
    fingerprint,
    new_pending,
    record_password,
    replay,
    validate_idempotency_key,
    validate_quantity,
)
from soberpay.domain.risk import (
    ConsumptionSignals,
    RiskLevel,
    RiskPolicy,
    RiskRecord,
    RiskStep,
    SobrietyObservation,
    SobrietySignal,
    new_visit,
    staff_tag,
    staff_untag,
    step,
    validate_reason,
)
from soberpay.domain.spending import SpendingPolicy, build_profile, check_spending
from soberpay.errors import AuthError, ConsentRequired, InvalidInput, LockedOut, NotFound, PaymentRefused

FACE_PAYMENT = "face_payment"
_T = TypeVar("_T")


# --- what payments needs from identity (IdentityService satisfies it) -------------------------------


class _Customer(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def sex(self) -> str | None: ...
    @property
    def weight_kg(self) -> float | None: ...


class _Identified(Protocol):
    @property
    def customer_id(self) -> str | None: ...
    @property
    def accepted(self) -> bool: ...
    @property
    def score(self) -> float: ...
    @property
    def explanation(self) -> str: ...


class _Verified(Protocol):
    @property
    def accepted(self) -> bool: ...
    @property
    def score(self) -> float: ...


class GuestIdentity(Protocol):
    def identify(self, image: bytes) -> _Identified: ...
    def verify(self, customer_id: str, image: bytes) -> _Verified: ...
    def check_password(self, customer_id: str, password: str) -> bool: ...
    def find_by_phone(self, phone: str) -> _Customer: ...
    def get(self, customer_id: str) -> _Customer: ...
    def has_consent(self, customer_id: str, purpose: str) -> bool: ...


def observation_from_reading(reading: Any) -> SobrietyObservation:
    """Adapt the sobriety area's ``SobrietyReading`` (p_drunk, posture_abnormal, similarity_to_normal,
    state "sober"/"drunk"/"abstain", reason) to this area's input port value. ``abstain`` gives no verdict."""
    state = str(getattr(reading, "state", "") or "")
    judged = True if state == "drunk" else False if state == "sober" else None
    return SobrietyObservation(
        p_drunk=getattr(reading, "p_drunk", None),
        posture_abnormal=bool(getattr(reading, "posture_abnormal", False)),
        similarity_to_normal=getattr(reading, "similarity_to_normal", None),
        judged_drunk=judged,
        reason=str(getattr(reading, "reason", "") or "")[:200],
    )


# --- results --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PaymentResult:
    """Machine-readable outcome + human explanation of one decision (stored for idempotent replay)."""

    outcome: str
    rule: str
    explanation: str
    customer_id: str
    sku: str = ""
    quantity: int = 0
    amount_fen: int = 0
    charged_fen: int = 0
    balance_fen: int = 0
    visit_id: str | None = None
    order_id: str | None = None
    posting_id: str | None = None
    pending_id: str | None = None
    requires: tuple[str, ...] = ()
    risk_state: str = "normal"
    risk_level: str = "low"
    risk_explanation: str = ""
    signals: tuple[str, ...] = ()
    unlocked_pending: tuple[str, ...] = ()  # pending requests now open for confirmation
    replayed: bool = False

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["requires"] = list(self.requires)
        d["signals"] = list(self.signals)
        d["unlocked_pending"] = list(self.unlocked_pending)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any], replayed: bool = False) -> PaymentResult:
        d = dict(d)
        for k in ("requires", "signals", "unlocked_pending"):
            d[k] = tuple(d.get(k) or ())
        d["replayed"] = replayed
        return cls(**d)


@dataclass(frozen=True)
class RiskView:
    customer_id: str
    state: str
    level: str
    tag_reason: str
    explanation: str
    signals: tuple[str, ...]
    pending: tuple[PendingRequest, ...]
    unlocked: bool = False

    @classmethod
    def from_step(cls, customer_id: str, st: RiskStep, pending: tuple[PendingRequest, ...]) -> RiskView:
        rec = st.record
        return cls(
            customer_id,
            rec.state.value,
            rec.level.value,
            rec.tag_reason,
            st.explain(),
            st.signals,
            pending,
            st.unlocked,
        )


@dataclass(frozen=True)
class TopupResult:
    customer_id: str
    amount_fen: int
    balance_fen: int
    posting_id: str
    replayed: bool = False


@dataclass(frozen=True)
class CheckoutResult:
    bill: Bill
    settled_fen: int  # tab paid at the counter
    paid_out_fen: int  # prepaid balance given back
    balance_fen: int
    replayed: bool = False


@dataclass(frozen=True)
class Alert:
    id: int
    at: datetime
    kind: str
    customer_id: str | None
    message: str
    acknowledged: bool


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    action: str
    customer_id: str | None
    details: dict[str, Any]


@dataclass(frozen=True)
class LedgerLine:
    posting_id: str
    at: datetime
    kind: str
    customer_id: str | None
    memo: str
    entries: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class LedgerView:
    lines: tuple[LedgerLine, ...]
    account_sums: dict[str, int]  # debit-positive
    trial_balance: int
    guest_balances: dict[str, int] = field(default_factory=dict)


# --- the service ----------------------------------------------------------------------------------


class PaymentService:
    def __init__(
        self,
        *,
        session_factory: sessionmaker[Session],
        identity: GuestIdentity,
        clock: Any,
        settings: PaymentSettings,
        catalogue: Catalogue,
        sobriety: SobrietySignal | None = None,
        behaviour: BehaviourScorer | None = None,
        id_factory: Callable[[], str] = new_id,
        fault: Callable[[str], None] | None = None,
        sobriety_settings: SobrietySettings | None = None,
    ) -> None:
        self._sessions = session_factory
        self._identity = identity
        self._clock = clock
        self.settings = settings
        self.catalogue = catalogue
        self._sobriety = sobriety
        self._behaviour = behaviour
        self._new_id = id_factory
        # Test hook: called at named points inside transactions to simulate a crash mid-decision.
        self._fault = fault or (lambda _point: None)
        s = settings
        self.tier_policy = TierPolicy(s.high_price_threshold_fen, s.lock_liquor_when_tagged)
        self.password_policy = PasswordPolicy(s.password_max_failures, s.password_lockout_minutes)
        band = sobriety_settings or SobrietySettings()  # the P(drunk) band is defined once, in sobriety
        self.risk_policy = RiskPolicy(
            band.drunk_probability,
            band.sober_probability,
            s.recovery_similarity,
            s.recovery_dwell_seconds,
            s.min_lock_seconds,
        )
        self.spending_policy = SpendingPolicy(
            s.spend_multiplier,
            s.category_count_multiplier,
            s.min_history_orders,
            s.min_history_visits,
            s.default_order_threshold_fen,
            s.default_visit_threshold_fen,
            s.default_category_count,
            s.category_count_floor,
        )
        self.bac_assumptions = BacAssumptions(s.bac_default_weight_kg, s.bac_default_r, s.bac_elimination_g_per_dl_h)

    # --- plumbing --------------------------------------------------------------------------------

    def _now(self) -> datetime:
        now: datetime = self._clock.now()
        return now

    def _retrying(self, fn: Callable[[], _T]) -> _T:
        """Run a decision; if a concurrent request with the same idempotency key committed first
        (unique-key violation on insert), run it again: the second run replays the stored result."""
        try:
            return fn()
        except IntegrityError:
            return fn()

    @contextmanager
    def _tx(self) -> Iterator[PaymentRepository]:
        with self._sessions.begin() as session:
            yield PaymentRepository(session)

    def _ensure_accounts(self, customer_id: str | None) -> None:
        now = self._now()
        with self._sessions.begin() as session:
            PaymentRepository.ensure_accounts(session, customer_id, now)

    def _customer(self, customer_id: str) -> _Customer:
        if not isinstance(customer_id, str) or not customer_id:
            raise InvalidInput("customer id is required", field="customer_id")
        return self._identity.get(customer_id)

    @staticmethod
    def _audit(repo: PaymentRepository, now: datetime, actor: str, action: str, cid: str | None, **d: Any) -> None:
        append_audit(repo.s, at=now, actor=actor, action=action, customer_id=cid, details=d)

    def _persist_risk(self, repo: PaymentRepository, before: RiskRecord, st: RiskStep, actor: str) -> None:
        now = self._now()
        repo.save_risk(st.record)
        cid = st.record.customer_id
        for t in st.transitions:
            self._audit(
                repo,
                now,
                actor,
                f"risk.{t.trigger}",
                cid,
                from_state=t.from_state.value,
                to_state=t.to_state.value,
                explanation=t.explanation,
                signals=list(st.signals),
            )
            if t.to_state.value == "tagged" and t.from_state.value == "normal":
                repo.notify(now, "tagged", cid, f"guest {cid[:8]} {t.explanation}")
            elif t.trigger == "recovered":
                repo.notify(now, "recovered", cid, f"guest {cid[:8]} {t.explanation}")
        if st.warning and before.level is not RiskLevel.HIGH:
            repo.notify(now, "drunk_warning", cid, f"guest {cid[:8]}: abnormal consumption and posture coincide")
        if st.record.level is RiskLevel.ELEVATED and before.level is RiskLevel.LOW:
            repo.notify(now, "risk_elevated", cid, f"guest {cid[:8]} risk elevated: " + " | ".join(st.signals))
            self._audit(repo, now, "system", "risk.elevated", cid, signals=list(st.signals))

    def _observe(self, customer_id: str) -> SobrietyObservation | None:
        return self._sobriety.latest(customer_id) if self._sobriety is not None else None

    def _consumption(
        self,
        repo: PaymentRepository,
        customer: _Customer,
        visit: VisitRow,
        now: datetime,
        attempt: tuple[Item, int] | None,
    ) -> ConsumptionSignals:
        cid = customer.id
        visit_orders = repo.orders(cid, visit.id)
        history = repo.history(cid, exclude_visit=visit.id)
        profile = build_profile(history, self.spending_policy)
        spending = None
        if attempt is not None:
            item, qty = attempt
            spending = check_spending(
                profile,
                order_amount_fen=item.price_fen * qty,
                category=item.category.value,
                quantity=qty,
                visit_total_before_fen=sum(o.amount_fen for o in visit_orders),
                visit_category_units_before=sum(o.quantity for o in visit_orders if o.category == item.category.value),
            )
        drinks = [Drink(o.at, o.alcohol_g) for o in visit_orders if o.alcohol_g > 0]
        bac = estimate_bac(drinks, now, customer.sex, customer.weight_kg, self.bac_assumptions) if drinks else None
        bac_abnormal = bac is not None and bac.bac_g_per_dl >= self.settings.bac_abnormal_g_per_dl
        score = None
        if self._behaviour is not None:
            events = [BehaviourEvent(o.at, o.amount_fen, o.category, o.quantity) for o in visit_orders]
            if attempt is not None:
                events.append(BehaviourEvent(now, attempt[0].price_fen * attempt[1], attempt[0].category.value))
            if events:
                # New guests: the venue's typical order (default threshold / multiplier) normalises amounts.
                mean = profile.mean_order_fen if profile.personal_orders else None
                if mean is None:
                    mean = self.settings.default_order_threshold_fen / self.settings.spend_multiplier
                score = float(self._behaviour.score(encode_sequence(events, visit.opened_at, mean)))
        return ConsumptionSignals(
            spending=spending,
            bac=bac,
            bac_abnormal=bac_abnormal,
            behaviour_score=score,
            behaviour_abnormal=score is not None and score >= self.settings.behaviour_threshold,
        )

    def _step_risk(
        self, repo: PaymentRepository, cid: str, customer: _Customer, now: datetime, obs: SobrietyObservation | None
    ) -> RiskStep:
        """Step the guest's risk state with a sobriety reading and the open visit's consumption (no
        purchase in flight), and persist it with its audit and notifications."""
        before = repo.risk(cid)
        visit = repo.open_visit(cid)
        consumption = self._consumption(repo, customer, visit, now, None) if visit is not None else None
        st = step(before, now, obs, consumption, self.risk_policy)
        self._persist_risk(repo, before, st, "system")
        return st

    def _visit(self, repo: PaymentRepository, customer_id: str, now: datetime, actor: str) -> VisitRow:
        visit = repo.open_visit(customer_id)
        if visit is None:
            visit = VisitRow(id=self._new_id(), customer_id=customer_id, opened_at=now, status="open", total_fen=0)
            repo.s.add(visit)
            repo.s.flush()
            before = repo.risk(customer_id)
            st = new_visit(before, now, self.settings.tag_carryover_hours)
            self._persist_risk(repo, before, st, "system")
            self._audit(repo, now, actor, "visit.opened", customer_id, visit_id=visit.id)
        return visit

    def _expire_due(self, repo: PaymentRepository, now: datetime, customer_id: str | None = None) -> int:
        n = 0
        for row in repo.pending_rows(customer_id, statuses=(PendingStatus.PENDING.value,)):
            req = expire_if_due(repo.to_pending(row), now)
            if req.status is PendingStatus.EXPIRED:
                repo.save_pending(req)
                self._audit(repo, now, "system", "pending.expired", req.customer_id, request_id=req.id)
                n += 1
        return n

    def _open_pending(self, repo: PaymentRepository, customer_id: str) -> tuple[PendingRequest, ...]:
        return tuple(
            repo.to_pending(r) for r in repo.pending_rows(customer_id, statuses=(PendingStatus.PENDING.value,))
        )

    def _charge(
        self,
        repo: PaymentRepository,
        account: Any,
        *,
        customer_id: str,
        visit_id: str,
        item_sku: str,
        name: str,
        category: str,
        unit_price_fen: int,
        quantity: int,
        alcohol_g: float,
        rule: str,
        now: datetime,
        key: str,
        pending_id: str | None = None,
    ) -> tuple[str, str]:
        amount = unit_price_fen * quantity
        posting = Posting(
            self._new_id(),
            PostingKind.PURCHASE,
            now,
            purchase_entries(customer_id, amount),
            f"{quantity} x {name}",
            customer_id,
            visit_id,
        )
        repo.write_posting(posting, key, account)
        self._fault("after_posting")
        order_id = self._new_id()
        repo.s.add(
            OrderRow(
                id=order_id,
                customer_id=customer_id,
                visit_id=visit_id,
                at=now,
                sku=item_sku,
                name=name[:80],
                category=category,
                unit_price_fen=unit_price_fen,
                quantity=quantity,
                amount_fen=amount,
                alcohol_g=alcohol_g,
                rule=rule,
                posting_id=posting.id,
                pending_id=pending_id,
                refunded_fen=0,
            )
        )
        return order_id, posting.id

    # --- visits & top-up -------------------------------------------------------------------------

    def open_visit(self, customer_id: str, actor: str = "staff") -> str:
        self._customer(customer_id)
        self._ensure_accounts(customer_id)
        now = self._now()
        with self._tx() as repo:
            repo.lock_guest_account(customer_id)
            return self._visit(repo, customer_id, now, actor).id

    def balance(self, customer_id: str) -> int:
        self._customer(customer_id)
        self._ensure_accounts(customer_id)
        with self._sessions() as session:
            return PaymentRepository(session).guest_balance(customer_id)

    def _topup_once(
        self, customer_id: str, amount_fen: int, idempotency_key: str, actor: str = "cashier"
    ) -> TopupResult:
        key = validate_idempotency_key(idempotency_key)
        entries = topup_entries(customer_id, amount_fen)  # validates the amount
        self._customer(customer_id)
        self._ensure_accounts(customer_id)
        fp = fingerprint("topup", {"customer_id": customer_id, "amount_fen": amount_fen})
        now = self._now()
        with self._tx() as repo:
            account = repo.lock_guest_account(customer_id)
            prior = replay(repo.stored(key), "topup", fp)
            if prior is not None:
                return TopupResult(**{**prior, "replayed": True})
            posting = Posting(self._new_id(), PostingKind.TOPUP, now, entries, "top-up", customer_id)
            repo.write_posting(posting, key, account)
            self._fault("after_posting")
            result = TopupResult(customer_id, amount_fen, repo.balance_of(account), posting.id)
            self._audit(repo, now, actor, "payment.topup", customer_id, amount_fen=amount_fen, posting_id=posting.id)
            d = asdict(result)
            repo.store(key, "topup", fp, customer_id, d, now)
            return result

    # --- purchase --------------------------------------------------------------------------------

    def pay_by_face(
        self, image: bytes, sku: str, quantity: int, idempotency_key: str, password: str | None = None
    ) -> PaymentResult:
        """Face-first payment (1:N). A tagged guest's regular item also needs ``password`` (dual verification)."""
        validate_idempotency_key(idempotency_key)
        self.catalogue.get(sku)
        validate_quantity(quantity)
        decision = self._identity.identify(image)
        if not decision.accepted or decision.customer_id is None:
            raise AuthError(f"face not recognised: {decision.explanation}", rule="no_face_match")
        cid = decision.customer_id
        if not self._identity.has_consent(cid, FACE_PAYMENT):
            raise ConsentRequired("the guest has not consented to face payment", customer_id=cid)
        auth = Auth("face", face_verified=True, face_score=float(decision.score))
        return self._retrying(lambda: self._purchase(cid, sku, quantity, idempotency_key, auth, password))

    def pay_by_phone(
        self,
        phone: str,
        password: str,
        sku: str,
        quantity: int,
        idempotency_key: str,
        face_image: bytes | None = None,
    ) -> PaymentResult:
        """Phone + 6-digit password (no face consent needed); a tagged guest also needs ``face_image``."""
        validate_idempotency_key(idempotency_key)
        self.catalogue.get(sku)
        validate_quantity(quantity)
        customer = self._identity.find_by_phone(phone)
        auth = self._face_auth(customer.id, face_image, method="phone")
        return self._retrying(lambda: self._purchase(customer.id, sku, quantity, idempotency_key, auth, password))

    def purchase(
        self,
        customer_id: str,
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
        for untagged guests, and a tagged guest needs ``face_image`` + ``password`` (dual verification).
        ``actor`` (e.g. ``room:r1``) and ``room_id`` go into the audit log."""
        validate_idempotency_key(idempotency_key)
        self.catalogue.get(sku)
        validate_quantity(quantity)
        self._customer(customer_id)
        auth = self._face_auth(customer_id, face_image, method="customer_id")
        return self._retrying(
            lambda: self._purchase(customer_id, sku, quantity, idempotency_key, auth, password, actor, room_id)
        )

    def _face_auth(self, customer_id: str, face_image: bytes | None, method: str) -> Auth:
        consent = self._identity.has_consent(customer_id, FACE_PAYMENT)
        if face_image is None:
            return Auth(method, face_verified=None, face_available=consent)
        if not consent:
            raise ConsentRequired("the guest has not consented to face payment", customer_id=customer_id)
        v = self._identity.verify(customer_id, face_image)
        return Auth(method, face_verified=bool(v.accepted), face_score=float(v.score), face_available=True)

    def _check_password(self, customer_id: str, password: str | None) -> bool | None:
        """Check outside the transaction (argon2 is slow); skip entirely while locked out."""
        if password is None:
            return None
        validate_payment_password(password)  # a malformed entry is bad input, not a counted failure
        with self._sessions() as session:
            guard = PaymentRepository(session).guard(customer_id)
        if guard.locked(self._now()):
            return False  # not checked: decide_purchase reports the lockout
        return bool(self._identity.check_password(customer_id, password))

    def _purchase(
        self,
        cid: str,
        sku: str,
        quantity: int,
        key: str,
        auth: Auth,
        password: str | None,
        actor: str = "guest",
        room_id: str | None = None,
    ) -> PaymentResult:
        item = self.catalogue.get(sku)
        customer = self._customer(cid)
        pw_ok = self._check_password(cid, password)
        if pw_ok is not None:
            auth = Auth(auth.method, auth.face_verified, auth.face_score, pw_ok, auth.face_available)
        fp = fingerprint("purchase", {"customer_id": cid, "sku": sku, "quantity": quantity})
        observation = self._observe(cid)
        self._ensure_accounts(cid)
        now = self._now()
        with self._tx() as repo:
            account = repo.lock_guest_account(cid)
            prior = replay(repo.stored(key), "purchase", fp)
            if prior is not None:
                return PaymentResult.from_dict(dict(prior), replayed=True)
            visit = self._visit(repo, cid, now, actor)
            self._expire_due(repo, now, cid)
            before = repo.risk(cid)
            consumption = self._consumption(repo, customer, visit, now, (item, quantity))
            st = step(before, now, observation, consumption, self.risk_policy)
            self._persist_risk(repo, before, st, "system")
            tier = tier_of(item, self.tier_policy, st.record.tagged, quantity)
            ctx = PurchaseContext(
                customer_id=cid,
                item=item,
                quantity=quantity,
                tier=tier,
                risk=st.record,
                auth=auth,
                guard=repo.guard(cid),
                balance_fen=repo.balance_of(account),
                credit_limit_fen=self.settings.tab_credit_limit_fen,
                now=now,
                risk_explanation=st.explain() if st.transitions else "",
            )
            decision = decide_purchase(ctx, self.password_policy)
            if decision.guard is not None:
                repo.save_guard(cid, decision.guard)
            order_id = posting_id = pending_id = None
            if decision.outcome is Outcome.CHARGED:
                order_id, posting_id = self._charge(
                    repo,
                    account,
                    customer_id=cid,
                    visit_id=visit.id,
                    item_sku=item.sku,
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
                pending_id = self._new_id()
                req = new_pending(
                    pending_id,
                    ctx,
                    visit.id,
                    st.record.tag_reason or tier.explanation,
                    self.settings.pending_expiry_minutes,
                )
                repo.add_pending(req)
            where = {"room_id": room_id} if room_id is not None else {}
            for ev in decision.events:
                self._audit(
                    repo,
                    now,
                    actor,
                    ev.action,
                    cid,
                    **ev.details,
                    **where,
                    outcome=decision.outcome.value,
                    explanation=decision.explanation,
                    order_id=order_id,
                    pending_id=pending_id,
                    idempotency_key=key,
                )
            for n in decision.notifications:
                repo.notify(now, n.kind, cid, n.message)
            result = PaymentResult(
                outcome=decision.outcome.value,
                rule=decision.rule,
                explanation=decision.explanation,
                customer_id=cid,
                sku=sku,
                quantity=quantity,
                amount_fen=item.price_fen * quantity,
                charged_fen=decision.charge_fen,
                balance_fen=repo.balance_of(account),
                visit_id=visit.id,
                order_id=order_id,
                posting_id=posting_id,
                pending_id=pending_id,
                requires=decision.requires,
                risk_state=st.record.state.value,
                risk_level=st.record.level.value,
                risk_explanation=st.explain(),
                signals=st.signals,
            )
            self._fault("before_commit")
            if decision.moves_state:
                repo.store(key, "purchase", fp, cid, result.to_dict(), now)
            return result

    # --- risk ------------------------------------------------------------------------------------

    def refresh_risk(self, customer_id: str, observation: SobrietyObservation | None = None) -> RiskView:
        """Step the state machine with the latest sobriety reading (pulled from the port unless given).

        When the guest recovers, the pending requests made during the lock are returned for the
        guest to confirm or discard one by one.
        """
        customer = self._customer(customer_id)
        obs = observation if observation is not None else self._observe(customer_id)
        self._ensure_accounts(customer_id)
        now = self._now()
        with self._tx() as repo:
            repo.lock_guest_account(customer_id)
            self._expire_due(repo, now, customer_id)
            st = self._step_risk(repo, customer_id, customer, now, obs)
            pending = self._open_pending(repo, customer_id)
            if st.unlocked and pending:
                repo.notify(
                    now, "pending_ready", customer_id, f"guest {customer_id[:8]}: {len(pending)} request(s) to confirm"
                )
            return RiskView.from_step(customer_id, st, pending)

    def risk_status(self, customer_id: str) -> RiskView:
        self._customer(customer_id)
        with self._sessions() as session:
            repo = PaymentRepository(session)
            rec = repo.risk(customer_id)
            pending = self._open_pending(repo, customer_id)
        text = f"risk state {rec.state.value}, level {rec.level.value}"
        return RiskView(customer_id, rec.state.value, rec.level.value, rec.tag_reason, text, (), pending)

    # --- staff overrides -------------------------------------------------------------------------

    def _override(self, customer_id: str, reason: str, actor: str, action: str) -> RiskView:
        reason = validate_reason(reason)
        actor = _actor(actor)
        self._customer(customer_id)
        self._ensure_accounts(customer_id)
        now = self._now()
        with self._tx() as repo:
            repo.lock_guest_account(customer_id)
            before = repo.risk(customer_id)
            if action == "tag":
                st = staff_tag(before, now, reason, actor)
            else:
                st = staff_untag(before, now, reason, actor, self.settings.min_lock_seconds)
            repo.save_risk(st.record)
            self._audit(
                repo,
                now,
                f"staff:{actor}",
                f"staff.{action}",
                customer_id,
                reason=reason,
                from_state=before.state.value,
                to_state=st.record.state.value,
            )
            pending = self._open_pending(repo, customer_id)
            return RiskView.from_step(customer_id, st, pending)

    def staff_tag(self, customer_id: str, reason: str, actor: str) -> RiskView:
        return self._override(customer_id, reason, actor, "tag")

    def staff_untag(self, customer_id: str, reason: str, actor: str) -> RiskView:
        return self._override(customer_id, reason, actor, "untag")

    def staff_unlock(self, customer_id: str, reason: str, actor: str) -> str:
        """Lift a password lockout."""
        reason = validate_reason(reason)
        actor = _actor(actor)
        self._customer(customer_id)
        now = self._now()
        with self._tx() as repo:
            before = repo.guard(customer_id)
            repo.save_guard(customer_id, PasswordGuard())
            self._audit(
                repo,
                now,
                f"staff:{actor}",
                "staff.unlock",
                customer_id,
                reason=reason,
                failures_before=before.failures,
                was_locked=before.locked(now),
            )
        return f"password payment unlocked for guest {customer_id[:8]} by {actor}: {reason}"

    # --- pending requests ------------------------------------------------------------------------

    def list_pending(self, customer_id: str | None = None, include_closed: bool = False) -> list[PendingRequest]:
        now = self._now()
        with self._tx() as repo:
            self._expire_due(repo, now, customer_id)
            statuses = None if include_closed else (PendingStatus.PENDING.value,)
            return [repo.to_pending(r) for r in repo.pending_rows(customer_id, statuses)]

    def expire_pending(self) -> int:
        now = self._now()
        with self._tx() as repo:
            return self._expire_due(repo, now)

    def _pending_customer(self, request_id: str) -> str:
        with self._sessions() as session:
            row = session.get(PendingRequestRow, request_id) if isinstance(request_id, str) else None
            if row is None:
                raise NotFound("unknown pending request", request_id=request_id)
            return row.customer_id

    def _confirm_pending_once(
        self,
        request_id: str,
        idempotency_key: str,
        *,
        password: str | None = None,
        face_image: bytes | None = None,
        actor: str = "guest",
    ) -> PaymentResult:
        """The recovered guest confirms a suspended request: charged now at the original price."""
        key = validate_idempotency_key(idempotency_key)
        cid = self._pending_customer(request_id)
        customer = self._customer(cid)
        face_ok: bool | None = None
        if face_image is not None:
            if not self._identity.has_consent(cid, FACE_PAYMENT):
                raise ConsentRequired("the guest has not consented to face payment", customer_id=cid)
            face_ok = bool(self._identity.verify(cid, face_image).accepted)
        pw_ok = self._check_password(cid, password)
        observation = self._observe(cid)
        fp = fingerprint("confirm", {"request_id": request_id})
        self._ensure_accounts(cid)
        now = self._now()
        with self._tx() as repo:
            account = repo.lock_guest_account(cid)
            prior = replay(repo.stored(key), "confirm", fp)
            if prior is not None:
                return PaymentResult.from_dict(dict(prior), replayed=True)
            guard = repo.guard(cid)
            if pw_ok is not None:
                if guard.locked(now):
                    return PaymentResult(
                        Outcome.LOCKED_OUT.value,
                        "password_locked",
                        "password payment is locked after repeated wrong passwords; confirm by face or ask staff",
                        cid,
                        pending_id=request_id,
                        balance_fen=repo.balance_of(account),
                    )
                res = record_password(guard, pw_ok, now, self.password_policy)
                repo.save_guard(cid, res.guard)
                if res.locked_now:
                    repo.notify(now, "lockout", cid, f"guest {cid[:8]}: {res.explanation}")
                if not res.ok:
                    self._audit(repo, now, actor, "pending.password_rejected", cid, request_id=request_id)
                    return PaymentResult(
                        Outcome.LOCKED_OUT.value if res.locked_now else Outcome.PASSWORD_REJECTED.value,
                        "wrong_password",
                        res.explanation,
                        cid,
                        pending_id=request_id,
                        balance_fen=repo.balance_of(account),
                    )
            if face_ok is False:
                self._audit(repo, now, actor, "pending.face_rejected", cid, request_id=request_id)
                return PaymentResult(
                    Outcome.FACE_REJECTED.value,
                    "face_mismatch",
                    "the face does not match the guest",
                    cid,
                    pending_id=request_id,
                    balance_fen=repo.balance_of(account),
                )
            st = self._step_risk(repo, cid, customer, now, observation)
            row = repo.s.get(PendingRequestRow, request_id)
            assert row is not None
            req = repo.to_pending(row)
            d = decide_confirm(
                req,
                st.record,
                now,
                authenticated=bool(pw_ok or face_ok),
                balance_fen=repo.balance_of(account),
                credit_limit_fen=self.settings.tab_credit_limit_fen,
            )
            if d.request.status is not req.status:
                repo.save_pending(d.request)
            order_id = posting_id = None
            if d.outcome is Outcome.CHARGED:
                item_alcohol = 0.0
                if d.request.sku in self.catalogue:
                    item_alcohol = self.catalogue.get(d.request.sku).alcohol_grams * d.request.quantity
                order_id, posting_id = self._charge(
                    repo,
                    account,
                    customer_id=cid,
                    visit_id=req.visit_id,
                    item_sku=req.sku,
                    name=req.name,
                    category=req.category,
                    unit_price_fen=req.unit_price_fen,
                    quantity=req.quantity,
                    alcohol_g=item_alcohol,
                    rule=d.rule,
                    now=now,
                    key=key,
                    pending_id=req.id,
                )
            action = {
                Outcome.CHARGED: "pending.confirmed",
                Outcome.VERIFICATION_REQUIRED: "pending.verification_required",
            }.get(d.outcome, "pending.refused")
            if d.rule == "expired":
                action = "pending.expired"
            self._audit(
                repo,
                now,
                actor,
                action,
                cid,
                request_id=request_id,
                rule=d.rule,
                explanation=d.explanation,
                order_id=order_id,
                amount_fen=d.charge_fen,
            )
            result = PaymentResult(
                outcome=d.outcome.value,
                rule=d.rule,
                explanation=d.explanation,
                customer_id=cid,
                sku=req.sku,
                quantity=req.quantity,
                amount_fen=req.amount_fen,
                charged_fen=d.charge_fen,
                balance_fen=repo.balance_of(account),
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
            self._fault("before_commit")
            if d.outcome is Outcome.CHARGED:
                repo.store(key, "confirm", fp, cid, result.to_dict(), now)
            return result

    def discard_pending(
        self, request_id: str, actor: str = "guest", note: str = "discarded by the guest"
    ) -> PendingRequest:
        cid = self._pending_customer(request_id)
        self._ensure_accounts(cid)
        now = self._now()
        with self._tx() as repo:
            repo.lock_guest_account(cid)
            row = repo.s.get(PendingRequestRow, request_id)
            assert row is not None
            req = repo.to_pending(row)
            if req.status is PendingStatus.DISCARDED:
                return req  # idempotent
            done = discard_pending(req, now, note)
            repo.save_pending(done)
            action = "pending.expired" if done.status is PendingStatus.EXPIRED else "pending.discarded"
            self._audit(repo, now, actor, action, cid, request_id=request_id, note=note)
            return done

    # --- checkout, refunds -----------------------------------------------------------------------

    def _checkout_once(
        self, customer_id: str, idempotency_key: str, *, pay_out_balance: bool = False, actor: str = "cashier"
    ) -> CheckoutResult:
        """Close the open visit: discard open pending requests, settle a negative tab at the counter,
        optionally pay a positive prepaid balance back, and return the itemised bill."""
        key = validate_idempotency_key(idempotency_key)
        self._customer(customer_id)
        self._ensure_accounts(customer_id)
        fp = fingerprint("checkout", {"customer_id": customer_id, "pay_out": pay_out_balance})
        now = self._now()
        with self._tx() as repo:
            account = repo.lock_guest_account(customer_id)
            prior = replay(repo.stored(key), "checkout", fp)
            if prior is not None:
                return _checkout_from_dict(dict(prior))
            visit = repo.open_visit(customer_id)
            if visit is None:
                raise NotFound("the guest has no open visit", customer_id=customer_id)
            opening = repo.balance_of(account)
            self._expire_due(repo, now, customer_id)
            discarded: list[str] = []
            for row in repo.pending_rows(customer_id, statuses=(PendingStatus.PENDING.value,), visit_id=visit.id):
                done = discard_pending(repo.to_pending(row), now, "visit closed at checkout")
                repo.save_pending(done)
                discarded.append(f"{done.quantity} × {done.name} ({fen_to_yuan(done.amount_fen)}) — {done.note}")
                self._audit(repo, now, actor, "pending.discarded", customer_id, request_id=done.id, note=done.note)
            for row in repo.pending_rows(customer_id, visit_id=visit.id):
                if row.status == PendingStatus.EXPIRED.value:
                    discarded.append(f"{row.quantity} × {row.name} — expired unconfirmed")
            orders = repo.orders(customer_id, visit.id)
            lines = tuple(
                BillLine(
                    o.at,
                    o.sku,
                    o.name,
                    o.category,
                    o.quantity,
                    o.unit_price_fen,
                    o.amount_fen,
                    _note(o.rule) + (f", refunded {fen_to_yuan(o.refunded_fen)}" if o.refunded_fen else ""),
                )
                for o in orders
            )
            refunds = sum(o.refunded_fen for o in orders)
            settled = paid_out = 0
            balance = repo.balance_of(account)
            if balance < 0:
                settled = -balance
                p = Posting(
                    self._new_id(),
                    PostingKind.SETTLEMENT,
                    now,
                    settlement_entries(customer_id, settled),
                    "tab settled at checkout",
                    customer_id,
                    visit.id,
                )
                repo.write_posting(p, key, account)
            elif balance > 0 and pay_out_balance:
                paid_out = balance
                p = Posting(
                    self._new_id(),
                    PostingKind.PAYOUT,
                    now,
                    payout_entries(customer_id, paid_out),
                    "prepaid balance paid out at checkout",
                    customer_id,
                    visit.id,
                )
                repo.write_posting(p, key, account)
            bill = Bill(
                customer_id,
                visit.id,
                visit.opened_at,
                now,
                lines,
                refunds,
                opening,
                repo.balance_of(account),
                tuple(discarded),
            )
            visit.status = "closed"
            visit.closed_at = now
            visit.total_fen = bill.total_fen
            result = CheckoutResult(bill, settled, paid_out, repo.balance_of(account))
            visit.bill = json.dumps(_checkout_to_dict(result), default=str, ensure_ascii=False)
            self._audit(
                repo,
                now,
                actor,
                "visit.checkout",
                customer_id,
                visit_id=visit.id,
                total_fen=bill.total_fen,
                settled_fen=settled,
                paid_out_fen=paid_out,
                discarded=len(discarded),
            )
            self._fault("before_commit")
            repo.store(key, "checkout", fp, customer_id, _checkout_to_dict(result), now)
            return result

    def _refund_once(self, order_id: str, amount_fen: int | None, reason: str, actor: str, idempotency_key: str) -> int:
        """Staff refund of (part of) a charged order back to the guest's balance. Returns the new balance."""
        key = validate_idempotency_key(idempotency_key)
        reason = validate_reason(reason)
        actor = _actor(actor)
        with self._sessions() as session:
            order = session.get(OrderRow, order_id)
            if order is None:
                raise NotFound("unknown order", order_id=order_id)
            cid = order.customer_id
        fp = fingerprint("refund", {"order_id": order_id, "amount_fen": amount_fen})
        self._ensure_accounts(cid)
        now = self._now()
        with self._tx() as repo:
            account = repo.lock_guest_account(cid)
            prior = replay(repo.stored(key), "refund", fp)
            if prior is not None:
                return int(prior["balance_fen"])
            order = repo.s.get(OrderRow, order_id)
            assert order is not None
            left = order.amount_fen - order.refunded_fen
            amount = left if amount_fen is None else amount_fen
            if amount <= 0 or amount > left:
                raise InvalidInput(f"refund must be between ¥0.01 and {fen_to_yuan(left)}", field="amount")
            p = Posting(
                self._new_id(),
                PostingKind.REFUND,
                now,
                refund_entries(cid, amount),
                f"refund: {order.name}",
                cid,
                order.visit_id,
            )
            repo.write_posting(p, key, account)
            order.refunded_fen += amount
            self._audit(
                repo, now, f"staff:{actor}", "payment.refund", cid, order_id=order_id, amount_fen=amount, reason=reason
            )
            balance = repo.balance_of(account)
            repo.store(key, "refund", fp, cid, {"balance_fen": balance}, now)
            return balance

    # --- public money-moving entry points (retry once on a concurrent duplicate key) -----------

    def topup(self, customer_id: str, amount_fen: int, idempotency_key: str, actor: str = "cashier") -> TopupResult:
        """Cash in at the counter → the guest's prepaid balance."""
        return self._retrying(lambda: self._topup_once(customer_id, amount_fen, idempotency_key, actor))

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
        return self._retrying(
            lambda: self._confirm_pending_once(
                request_id, idempotency_key, password=password, face_image=face_image, actor=actor
            )
        )

    def checkout(
        self, customer_id: str, idempotency_key: str, *, pay_out_balance: bool = False, actor: str = "cashier"
    ) -> CheckoutResult:
        return self._retrying(
            lambda: self._checkout_once(customer_id, idempotency_key, pay_out_balance=pay_out_balance, actor=actor)
        )

    def refund(self, order_id: str, amount_fen: int | None, reason: str, actor: str, idempotency_key: str) -> int:
        return self._retrying(lambda: self._refund_once(order_id, amount_fen, reason, actor, idempotency_key))

    # --- read models: ledger, alerts, audit ------------------------------------------------------

    def ledger(self, customer_id: str | None = None, limit: int = 200) -> LedgerView:
        with self._sessions() as session:
            repo = PaymentRepository(session)
            lines = tuple(
                LedgerLine(p.id, p.at, p.kind, p.customer_id, p.memo, tuple((e.account_id, e.amount_fen) for e in es))
                for p, es in repo.postings(customer_id, limit)
            )
            sums = repo.account_sums()
        guests = {a.split(":", 1)[1]: -v for a, v in sums.items() if a.startswith("guest:")}
        if customer_id is not None:
            guests = {k: v for k, v in guests.items() if k == customer_id}
        return LedgerView(lines, sums, sum(sums.values()), guests)

    def bill(self, customer_id: str) -> Bill:
        """The running (not yet closed) bill of the open visit."""
        self._customer(customer_id)
        with self._sessions() as session:
            repo = PaymentRepository(session)
            visit = repo.open_visit(customer_id)
            if visit is None:
                raise NotFound("the guest has no open visit", customer_id=customer_id)
            orders = repo.orders(customer_id, visit.id)
            lines = tuple(
                BillLine(o.at, o.sku, o.name, o.category, o.quantity, o.unit_price_fen, o.amount_fen, _note(o.rule))
                for o in orders
            )
            return Bill(customer_id, visit.id, visit.opened_at, None, lines, sum(o.refunded_fen for o in orders))

    def alerts(self, include_acknowledged: bool = False, limit: int = 100) -> list[Alert]:
        with self._sessions() as session:
            q = select(NotificationRow).order_by(NotificationRow.at.desc(), NotificationRow.id.desc()).limit(limit)
            if not include_acknowledged:
                q = q.where(NotificationRow.acknowledged_at.is_(None))
            return [
                Alert(r.id, r.at, r.kind, r.customer_id, r.message, r.acknowledged_at is not None)
                for r in session.scalars(q)
            ]

    def acknowledge(self, alert_id: int, actor: str) -> None:
        actor = _actor(actor)
        now = self._now()
        with self._tx() as repo:
            row = repo.s.get(NotificationRow, alert_id)
            if row is None:
                raise NotFound("unknown alert", alert_id=alert_id)
            if row.acknowledged_at is None:
                row.acknowledged_at = now
                row.acknowledged_by = actor
                self._audit(repo, now, f"staff:{actor}", "alert.acknowledged", row.customer_id, alert_id=alert_id)

    def audit(self, customer_id: str | None = None, limit: int = 100, prefix: str | None = None) -> list[AuditEntry]:
        with self._sessions() as session:
            q = select(AuditRow).order_by(AuditRow.id.desc()).limit(limit)
            if customer_id is not None:
                q = q.where(AuditRow.customer_id == customer_id)
            if prefix is not None:
                q = q.where(AuditRow.action.startswith(prefix))
            return [
                AuditEntry(r.id, r.at, r.actor, r.action, r.customer_id, json.loads(r.details or "{}"))
                for r in session.scalars(q)
            ]


# --- helpers --------------------------------------------------------------------------------------


def _actor(actor: str) -> str:
    actor = (actor or "").strip()
    if not actor or len(actor) > 48:
        raise InvalidInput("staff actor name is required (max 48 characters)", field="actor")
    return actor


def _note(rule: str) -> str:
    return {
        "untagged": "",
        "dual_verified": "dual verification",
        "confirmed_after_recovery": "confirmed after recovery, original price",
    }.get(rule, rule)


def _checkout_to_dict(r: CheckoutResult) -> dict[str, Any]:
    d = asdict(r)
    d["bill"]["lines"] = [asdict(line) for line in r.bill.lines]
    d["bill"]["discarded"] = list(r.bill.discarded)
    return d


def _dt(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def _checkout_from_dict(d: dict[str, Any]) -> CheckoutResult:
    b = d["bill"]
    lines = tuple(BillLine(**{**line, "at": _dt(line["at"])}) for line in b["lines"])
    bill = Bill(
        b["customer_id"],
        b["visit_id"],
        _dt(b["opened_at"]),
        _dt(b["closed_at"]) if b.get("closed_at") else None,
        lines,
        b["refunds_fen"],
        b["opening_balance_fen"],
        b["closing_balance_fen"],
        tuple(b["discarded"]),
    )
    return CheckoutResult(bill, d["settled_fen"], d["paid_out_fen"], d["balance_fen"], replayed=True)


def guest_balance_from_sums(sums: dict[str, int], customer_id: str) -> int:
    return -sums.get(guest_account(customer_id), 0)


def is_refusal(result: PaymentResult) -> bool:
    return result.outcome not in (Outcome.CHARGED.value, Outcome.SUSPENDED.value)


def raise_if_refused(result: PaymentResult) -> PaymentResult:
    """For callers that prefer exceptions: map a refusal outcome onto the error hierarchy."""
    if result.outcome == Outcome.LOCKED_OUT.value:
        raise LockedOut(result.explanation, customer_id=result.customer_id)
    if result.outcome in (Outcome.PASSWORD_REJECTED.value, Outcome.FACE_REJECTED.value):
        raise AuthError(result.explanation, customer_id=result.customer_id, rule=result.rule)
    if result.outcome == Outcome.REFUSED.value:
        raise PaymentRefused(result.explanation, customer_id=result.customer_id, rule=result.rule)
    return result


__all__ = [
    "Alert",
    "AuditEntry",
    "CheckoutResult",
    "GuestIdentity",
    "LedgerLine",
    "LedgerView",
    "PaymentResult",
    "PaymentService",
    "RiskView",
    "TopupResult",
    "is_refusal",
    "observation_from_reading",
    "raise_if_refused",
]
