"""The "to deliver" board: paid items a waiter carries to the room (created with the charge, in
``steps.charge``), moved ``new`` → ``preparing`` → ``delivered`` by staff. Cancelling is a void
(``Refunds.void``): it returns money, so it is the manager's call, not a board move."""

from __future__ import annotations

from datetime import timedelta

from soberpay.domain.delivery import OPEN_STATES, Delivery, DeliveryState, advance
from soberpay.errors import InvalidInput, NotFound
from soberpay.services.payments.context import PaymentContext, staff_actor

BOARD_RECENT = timedelta(hours=2)  # finished deliveries stay on the board this long
MOVES = (DeliveryState.PREPARING, DeliveryState.DELIVERED)


class Deliveries:
    def __init__(self, ctx: PaymentContext) -> None:
        self._ctx = ctx

    def board(self) -> list[Delivery]:
        """Open deliveries, then those finished in the last two hours; oldest first."""
        since = self._ctx.now() - BOARD_RECENT
        with self._ctx.uow() as uow:
            open_ = uow.payments.deliveries(OPEN_STATES)
            done = uow.payments.deliveries((DeliveryState.DELIVERED, DeliveryState.CANCELLED), since)
        return open_ + done

    def of_order(self, order_id: str) -> Delivery:
        with self._ctx.uow() as uow:
            d = uow.payments.delivery_for_order(order_id)
        if d is None:
            raise NotFound("no delivery for this order", order_id=order_id)
        return d

    def move(self, order_id: str, to: DeliveryState, actor: str) -> Delivery:
        """Staff move a delivery along; under the guest's lock, so it cannot cross a concurrent void."""
        actor = staff_actor(actor)
        if to not in MOVES:
            raise InvalidInput("staff move a delivery to preparing or delivered; cancelling is a void", field="state")
        gid = self.of_order(order_id).guest_id
        with self._ctx.locked(gid) as (uow, now):
            d = uow.payments.delivery_for_order(order_id)
            if d is None:
                raise NotFound("no delivery for this order", order_id=order_id)
            moved = advance(d, to, now, f"staff:{actor}")
            uow.payments.save_delivery(moved)
            self._ctx.audit(uow, now, f"staff:{actor}", f"delivery.{to.value}", gid, order_id=order_id)
            return moved
