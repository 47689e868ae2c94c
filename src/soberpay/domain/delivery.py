"""Orders to deliver (pure Python): which paid items a waiter serves, and the delivery state machine.

The method: after payment "the system places the order and dispatches a waiter". Drinks, snacks,
fruit and services (a cake, a microphone) are carried to the room; songs and room upgrades are not.

States: ``new`` → ``preparing`` → ``delivered``; ``new`` or ``preparing`` → ``cancelled`` (a void:
the order is refunded in full). Delivered and cancelled are final.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from soberpay.domain.catalogue import Category
from soberpay.errors import Conflict

SERVED = frozenset({Category.DRINK, Category.BEER, Category.LIQUOR, Category.SNACK, Category.FRUIT, Category.SERVICE})


def needs_serving(category: str) -> bool:
    return category in {c.value for c in SERVED}


class DeliveryState(StrEnum):
    NEW = "new"
    PREPARING = "preparing"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"


OPEN_STATES = (DeliveryState.NEW, DeliveryState.PREPARING)
_NEXT = {
    DeliveryState.NEW: {DeliveryState.PREPARING, DeliveryState.CANCELLED},
    DeliveryState.PREPARING: {DeliveryState.DELIVERED, DeliveryState.CANCELLED},
}


@dataclass(frozen=True)
class Delivery:
    id: str
    order_id: str
    guest_id: str
    room_id: str | None
    sku: str
    name: str
    quantity: int
    state: DeliveryState
    created_at: datetime
    updated_at: datetime
    updated_by: str = "system"

    @property
    def open(self) -> bool:
        return self.state in OPEN_STATES


def advance(d: Delivery, to: DeliveryState, now: datetime, actor: str) -> Delivery:
    """The delivery in state ``to``; ``Conflict`` for a move the state machine does not allow."""
    if to not in _NEXT.get(d.state, set()):
        raise Conflict(f"a {d.state.value} delivery cannot become {to.value}", state=d.state.value)
    return replace(d, state=to, updated_at=now, updated_by=actor)
