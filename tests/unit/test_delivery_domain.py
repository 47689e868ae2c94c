"""The delivery state machine and which menu categories a waiter serves."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from soberpay.domain.catalogue import Category
from soberpay.domain.delivery import Delivery, DeliveryState, advance, needs_serving
from soberpay.errors import Conflict

T0 = datetime(2026, 11, 30, 20, 0, tzinfo=UTC)


def _new() -> Delivery:
    return Delivery("d1", "o1", "g1", "r1", "cola", "Cola", 2, DeliveryState.NEW, T0, T0)


def test_served_categories() -> None:
    served = {c for c in Category if needs_serving(c.value)}
    assert served == set(Category) - {Category.SONG, Category.ROOM_UPGRADE}


def test_new_to_preparing_to_delivered() -> None:
    d = advance(advance(_new(), DeliveryState.PREPARING, T0, "staff:amy"), DeliveryState.DELIVERED, T0, "staff:bo")
    assert d.state is DeliveryState.DELIVERED and d.updated_by == "staff:bo" and not d.open


@pytest.mark.parametrize(
    ("path", "to"),
    [
        ((), DeliveryState.DELIVERED),  # not prepared yet
        ((DeliveryState.PREPARING, DeliveryState.DELIVERED), DeliveryState.CANCELLED),  # delivered is final
        ((DeliveryState.CANCELLED,), DeliveryState.PREPARING),  # cancelled is final
        ((DeliveryState.PREPARING,), DeliveryState.NEW),  # no way back
    ],
)
def test_moves_the_machine_does_not_allow(path: tuple[DeliveryState, ...], to: DeliveryState) -> None:
    d = _new()
    for step in path:
        d = advance(d, step, T0, "staff:amy")
    with pytest.raises(Conflict):
        advance(d, to, T0, "staff:amy")
