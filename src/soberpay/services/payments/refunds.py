"""Refunds and voids: money back to the guest's balance as a reversing ledger posting (``PostingKind.REFUND``:
debit ``venue:refunds``, credit the guest), never an edit of the purchase.

* A **refund** returns part or all of what is left of a charged order (manager only at the HTTP API).
* A **void** is a full refund of an order not yet delivered: it also cancels the order's delivery, so
  the bar does not serve it. A delivered order can only be refunded.

Both are idempotent by key, need a reason, and run under the guest's account lock, so two concurrent
refunds of one order can never return more than was charged. The audit row (``payment.refund``) carries
the order id, the amount, the reason and whether it was a void — reports find refunds by it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from soberpay.domain.catalogue import fen_to_yuan
from soberpay.domain.delivery import DeliveryState, advance
from soberpay.domain.ledger import Posting, PostingKind, refund_entries
from soberpay.domain.purchase import validate_idempotency_key
from soberpay.domain.risk import validate_reason
from soberpay.errors import Conflict, InvalidInput, NotFound
from soberpay.ports import AbstractUnitOfWork, OrderRecord
from soberpay.services.payments.context import Decided, PaymentContext, staff_actor


@dataclass(frozen=True)
class RefundResult:
    order_id: str
    amount_fen: int  # refunded by this call
    refunded_fen: int  # on the order so far
    balance_fen: int  # the guest's balance after it
    posting_id: str
    voided: bool = False
    replayed: bool = False


class Refunds:
    def __init__(self, ctx: PaymentContext) -> None:
        self._ctx = ctx

    def refund(
        self, order_id: str, amount_fen: int | None, reason: str, actor: str, idempotency_key: str
    ) -> RefundResult:
        """Refund ``amount_fen`` (None: all that is left) of a charged order back to the guest's balance."""
        return self._run(order_id, amount_fen, reason, actor, idempotency_key, void=False)

    def void(self, order_id: str, reason: str, actor: str, idempotency_key: str) -> RefundResult:
        """Cancel an order not yet delivered: refund all that is left and cancel its delivery."""
        return self._run(order_id, None, reason, actor, idempotency_key, void=True)

    def _run(
        self, order_id: str, amount_fen: int | None, reason: str, actor: str, idempotency_key: str, void: bool
    ) -> RefundResult:
        key = validate_idempotency_key(idempotency_key)
        reason = validate_reason(reason)
        actor = staff_actor(actor)
        if amount_fen is not None and (isinstance(amount_fen, bool) or not isinstance(amount_fen, int)):
            raise InvalidInput("refund amount must be an integer number of fen", field="amount")
        with self._ctx.uow() as uow:
            found = uow.payments.order(order_id)
        if found is None:
            raise NotFound("unknown order", order_id=order_id)
        gid = found.guest_id
        # An erased guest can never spend a balance: money "returned" there reaches no one (NotFound).
        self._ctx.guest(gid)

        def decide(uow: AbstractUnitOfWork, now: datetime) -> Decided[RefundResult]:
            order = uow.payments.order(order_id)  # re-read under the lock: what is left is decided here
            if order is None:  # orders are never deleted; only a foreign write could get here
                raise NotFound("unknown order", order_id=order_id)
            result = self._decide(uow, now, order, amount_fen, reason, actor, key, void)
            return result, asdict(result)

        def restore(prior: Mapping[str, Any]) -> RefundResult:
            return RefundResult(**{**prior, "replayed": True})

        params = {"order_id": order_id, "amount_fen": amount_fen, "void": void}
        return self._ctx.idempotent(
            guest_id=gid, key=key, operation="void" if void else "refund", params=params, decide=decide, restore=restore
        )

    def _decide(
        self,
        uow: AbstractUnitOfWork,
        now: datetime,
        order: OrderRecord,
        amount_fen: int | None,
        reason: str,
        actor: str,
        key: str,
        void: bool,
    ) -> RefundResult:
        left = order.amount_fen - order.refunded_fen
        delivery = uow.payments.delivery_for_order(order.id)
        if void and delivery is not None and delivery.state is DeliveryState.DELIVERED:
            raise Conflict("the order was delivered: refund it instead of voiding", order_id=order.id)
        amount = left if amount_fen is None else amount_fen
        if left <= 0:
            raise InvalidInput("the order is already refunded in full", field="amount")
        if amount <= 0 or amount > left:
            raise InvalidInput(f"refund must be between ¥0.01 and {fen_to_yuan(left)}", field="amount")
        gid = order.guest_id
        posting = Posting(
            self._ctx.new_id(),
            PostingKind.REFUND,
            now,
            refund_entries(gid, amount),
            f"{'void' if void else 'refund'}: {order.name}",
            gid,
            order.visit_id,
        )
        uow.payments.write_posting(posting, key)
        self._ctx.fault("after_posting")
        uow.payments.add_refund(order.id, amount)
        if delivery is not None and delivery.open and amount == left:
            # Nothing is left to serve once the whole order is refunded.
            uow.payments.save_delivery(advance(delivery, DeliveryState.CANCELLED, now, f"staff:{actor}"))
        details = {
            "order_id": order.id,
            "amount_fen": amount,
            "reason": reason,
            "void": void,
            "posting_id": posting.id,
        }
        self._ctx.audit(uow, now, f"staff:{actor}", "payment.refund", gid, **details)
        return RefundResult(order.id, amount, order.refunded_fen + amount, uow.payments.balance(gid), posting.id, void)
