"""Steps shared by several use cases, run inside a decision's unit of work: stepping and persisting
the risk state (with its audit and notifications), the open visit's consumption signals, opening a
visit, expiring due pending requests, and charging an order."""

from __future__ import annotations

from datetime import datetime

from soberpay.domain.bac import Drink, estimate_bac
from soberpay.domain.behaviour import BehaviourEvent, encode_sequence
from soberpay.domain.catalogue import Item
from soberpay.domain.delivery import Delivery, DeliveryState, needs_serving
from soberpay.domain.identity import ConsentPurpose
from soberpay.domain.ledger import Posting, PostingKind, purchase_entries
from soberpay.domain.purchase import PaymentRule, PendingRequest, PendingStatus, expire_if_due
from soberpay.domain.risk import (
    ConsumptionSignals,
    RiskLevel,
    RiskRecord,
    RiskStep,
    SobrietyObservation,
    new_visit,
    step,
)
from soberpay.domain.spending import build_profile, check_spending
from soberpay.ports import AbstractUnitOfWork, OrderRecord, Visit
from soberpay.services.payments.context import PaymentContext
from soberpay.services.payments.guests import GuestProfile


def persist_risk(
    ctx: PaymentContext, uow: AbstractUnitOfWork, before: RiskRecord, st: RiskStep, actor: str, now: datetime
) -> None:
    """Save the stepped risk record; audit each transition and notify staff of the ones they act on."""
    uow.payments.save_risk(st.record)
    gid = st.record.guest_id
    for t in st.transitions:
        ctx.audit(
            uow,
            now,
            actor,
            f"risk.{t.trigger}",
            gid,
            from_state=t.from_state.value,
            to_state=t.to_state.value,
            explanation=t.explanation,
            signals=list(st.signals),
        )
        if t.to_state.value == "tagged" and t.from_state.value == "normal":
            uow.notifications.notify(now, "tagged", gid, f"guest {gid[:8]} {t.explanation}")
        elif t.trigger == "recovered":
            uow.notifications.notify(now, "recovered", gid, f"guest {gid[:8]} {t.explanation}")
    if st.warning and before.level is not RiskLevel.HIGH:
        uow.notifications.notify(
            now, "drunk_warning", gid, f"guest {gid[:8]}: abnormal consumption and posture coincide"
        )
    if st.record.level is RiskLevel.ELEVATED and before.level is RiskLevel.LOW:
        uow.notifications.notify(now, "risk_elevated", gid, f"guest {gid[:8]} risk elevated: " + " | ".join(st.signals))
        ctx.audit(uow, now, "system", "risk.elevated", gid, signals=list(st.signals))


def consumption(
    ctx: PaymentContext,
    uow: AbstractUnitOfWork,
    guest: GuestProfile,
    visit: Visit,
    now: datetime,
    attempt: tuple[Item, int] | None,
) -> ConsumptionSignals:
    """Spending against the guest's own history, the BAC estimate and the behaviour score of this visit
    (plus the purchase being attempted, if any).

    History and the LSTM are behaviour profiling, a consent purpose of its own: without it the guest's
    past visits are not read (the venue's default thresholds apply to this visit alone) and no
    behaviour score is computed. The BAC estimate only uses this visit's drinks, so it always runs."""
    settings = ctx.settings
    visit_orders = uow.payments.orders(guest.id, visit.id)
    profiling = uow.consents.active(guest.id, ConsentPurpose.BEHAVIOUR_PROFILING) is not None
    history = uow.payments.history(guest.id, exclude_visit=visit.id) if profiling else []
    profile = build_profile(history, ctx.spending_policy)
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
    bac = estimate_bac(drinks, now, guest.sex, guest.weight_kg, ctx.bac_assumptions) if drinks else None
    score = None
    if ctx.behaviour is not None and profiling:
        events = [BehaviourEvent(o.at, o.amount_fen, o.category, o.quantity) for o in visit_orders]
        if attempt is not None:
            events.append(BehaviourEvent(now, attempt[0].price_fen * attempt[1], attempt[0].category.value))
        if events:
            # New guests: the venue's typical order (default threshold / multiplier) normalises amounts.
            mean = profile.mean_order_fen if profile.personal_orders else None
            if mean is None:
                mean = settings.default_order_threshold_fen / settings.spend_multiplier
            score = float(ctx.behaviour.score(encode_sequence(events, visit.opened_at, mean)))
    return ConsumptionSignals(
        spending=spending,
        bac=bac,
        bac_abnormal=bac is not None and bac.bac_g_per_dl >= settings.bac_abnormal_g_per_dl,
        behaviour_score=score,
        behaviour_abnormal=score is not None and score >= settings.behaviour_threshold,
    )


def step_risk(
    ctx: PaymentContext,
    uow: AbstractUnitOfWork,
    guest: GuestProfile,
    now: datetime,
    obs: SobrietyObservation | None,
) -> RiskStep:
    """Step the guest's risk state with a sobriety reading and the open visit's consumption (no
    purchase in flight), and persist it with its audit and notifications."""
    before = uow.payments.risk(guest.id)
    visit = uow.payments.open_visit(guest.id)
    signals = consumption(ctx, uow, guest, visit, now, None) if visit is not None else None
    st = step(before, now, obs, signals, ctx.risk_policy)
    persist_risk(ctx, uow, before, st, "system", now)
    return st


def open_visit(ctx: PaymentContext, uow: AbstractUnitOfWork, guest_id: str, now: datetime, actor: str) -> Visit:
    """The guest's open visit, opened now if there is none (a tag may carry over from the last one)."""
    visit = uow.payments.open_visit(guest_id)
    if visit is not None:
        return visit
    visit = Visit(ctx.new_id(), guest_id, now)
    uow.payments.add_visit(visit)
    before = uow.payments.risk(guest_id)
    persist_risk(ctx, uow, before, new_visit(before, now, ctx.settings.tag_carryover_hours), "system", now)
    ctx.audit(uow, now, actor, "visit.opened", guest_id, visit_id=visit.id)
    return visit


def expire_due(ctx: PaymentContext, uow: AbstractUnitOfWork, now: datetime, guest_id: str | None = None) -> int:
    n = 0
    for req in uow.payments.pending_requests(guest_id, statuses=(PendingStatus.PENDING,)):
        req = expire_if_due(req, now)
        if req.status is PendingStatus.EXPIRED:
            uow.payments.save_pending(req)
            ctx.audit(uow, now, "system", "pending.expired", req.guest_id, request_id=req.id)
            n += 1
    return n


def open_pending(uow: AbstractUnitOfWork, guest_id: str) -> tuple[PendingRequest, ...]:
    return tuple(uow.payments.pending_requests(guest_id, statuses=(PendingStatus.PENDING,)))


def charge(
    ctx: PaymentContext,
    uow: AbstractUnitOfWork,
    *,
    guest_id: str,
    visit_id: str,
    sku: str,
    name: str,
    category: str,
    unit_price_fen: int,
    quantity: int,
    alcohol_g: float,
    rule: PaymentRule,
    now: datetime,
    key: str,
    pending_id: str | None = None,
) -> tuple[str, str]:
    """Post the purchase and record the order (and its delivery when a waiter serves it, in the same
    transaction: no paid item without a delivery, no delivery without the money); returns (order id, posting id)."""
    amount = unit_price_fen * quantity
    posting = Posting(
        ctx.new_id(),
        PostingKind.PURCHASE,
        now,
        purchase_entries(guest_id, amount),
        f"{quantity} x {name}",
        guest_id,
        visit_id,
    )
    uow.payments.write_posting(posting, key)
    ctx.fault("after_posting")
    order = OrderRecord(
        id=ctx.new_id(),
        guest_id=guest_id,
        visit_id=visit_id,
        at=now,
        sku=sku,
        name=name,
        category=category,
        unit_price_fen=unit_price_fen,
        quantity=quantity,
        amount_fen=amount,
        alcohol_g=alcohol_g,
        rule=rule.value,
        posting_id=posting.id,
        pending_id=pending_id,
    )
    uow.payments.add_order(order)
    if needs_serving(category):
        d = Delivery(ctx.new_id(), order.id, guest_id, None, sku, name, quantity, DeliveryState.NEW, now, now)
        uow.payments.add_delivery(d)
    return order.id, posting.id
