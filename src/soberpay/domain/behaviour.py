"""Behaviour sequence features for the LSTM anomaly model (pure Python, shared by training and inference).

Method claim 6: an LSTM over the guest's behaviour data — orders (amount, category), time since the
last order, time into the visit, bookings — flags abnormal patterns that raise the risk level.
The same ``encode_sequence`` feeds training (torch, ``soberpay_lab.training``) and inference (ONNX,
``soberpay.adapters.behaviour_onnx``), so the two cannot drift apart.

Amounts are relative to the guest's own mean order (log ratio), so the model learns "unusual for
this guest", not "expensive".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from soberpay.domain.catalogue import Category

CATEGORIES: tuple[str, ...] = tuple(c.value for c in Category)
FEATURE_NAMES: tuple[str, ...] = (
    "log_amount_vs_own_mean",
    *(f"cat_{c}" for c in CATEGORIES),
    "log_minutes_since_last",
    "visit_hours",
    "bookings_so_far",
    "log_cumulative_vs_own_mean",
)
N_FEATURES = len(FEATURE_NAMES)
MAX_EVENTS = 64  # longer visits keep their most recent events


@dataclass(frozen=True)
class BehaviourEvent:
    at: datetime
    amount_fen: int
    category: str
    quantity: int = 1

    @property
    def booking(self) -> bool:
        return self.category == Category.ROOM_UPGRADE.value


def encode_sequence(
    events: Sequence[BehaviourEvent], visit_start: datetime, mean_order_fen: float | None
) -> list[list[float]]:
    """One feature row per event, oldest first (at most ``MAX_EVENTS``)."""
    mean = max(float(mean_order_fen or 0.0), 100.0)
    rows: list[list[float]] = []
    last = visit_start
    cumulative = 0.0
    bookings = 0
    for ev in sorted(events, key=lambda e: e.at)[-MAX_EVENTS:]:
        cumulative += ev.amount_fen
        if ev.booking:
            bookings += 1
        onehot = [1.0 if ev.category == c else 0.0 for c in CATEGORIES]
        minutes = max(0.0, (ev.at - last).total_seconds() / 60.0)
        hours = max(0.0, (ev.at - visit_start).total_seconds() / 3600.0)
        rows.append(
            [
                max(-5.0, min(5.0, math.log((ev.amount_fen + 1.0) / mean))),
                *onehot,
                math.log1p(minutes) / 5.0,
                min(hours, 12.0) / 6.0,
                min(bookings, 10) / 5.0,
                math.log1p(cumulative / mean) / 5.0,
            ]
        )
        last = ev.at
    return rows


@runtime_checkable
class BehaviourScorer(Protocol):
    """Optional port: anomaly score in 0..1 for one visit's encoded event sequence."""

    def score(self, rows: Sequence[Sequence[float]]) -> float: ...


__all__ = [
    "CATEGORIES",
    "FEATURE_NAMES",
    "MAX_EVENTS",
    "N_FEATURES",
    "BehaviourEvent",
    "BehaviourScorer",
    "encode_sequence",
]
