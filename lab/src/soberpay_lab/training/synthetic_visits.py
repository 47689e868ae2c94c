"""SYNTHETIC KTV visit generator for the behaviour LSTM. No real guest data: every number here is an
assumption, stated below, and a model trained on it says nothing about real guests until measured
on real, consented, labelled visits.

Generating assumptions (SYNTHETIC):
- Each guest has a personal profile: a typical order amount (log-normal around 45 yuan, spread
  ×/÷ 1.8 between guests), category preferences (Dirichlet over the 8 menu categories, with
  songs/drinks/snacks likelier), a typical gap between orders (exponential, mean 8–25 min),
  and 3–10 orders per visit.
- Normal visits: amounts log-normal around the guest's typical order (σ 0.45), categories from the
  guest's preferences, gaps from the guest's typical gap, at most one room upgrade/booking.
  20 % of normal visits contain one "celebration" order (cake, big fruit platter, bottle) at
  2.5–5× the typical amount — a single spike is *not* intoxication (hard negative).
- "Intoxicated-like" visits (label 1, 30 % of visits): after a random onset (order 2–5) the guest
  orders faster (gaps × 0.25–0.5), larger (amounts × 1.8–4), much more beer/liquor, and repeats
  bookings (room upgrades/extensions) — the pattern the method describes ("频繁购买或预定").
- A guest's "own mean" (the amount normaliser) comes from 5 earlier normal visits, as in service.

Prefixes of each visit are emitted too (label 1 only once the prefix reaches the onset), because
the service scores the visit so far at every purchase attempt.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from soberpay.domain.behaviour import CATEGORIES, BehaviourEvent, encode_sequence

_BASE_PREF = {
    "song": 3.0,
    "drink": 2.5,
    "beer": 2.0,
    "liquor": 0.4,
    "snack": 2.0,
    "fruit": 1.0,
    "room_upgrade": 0.3,
    "service": 0.3,
}
_ALCOHOL = ("beer", "liquor")


@dataclass(frozen=True)
class SyntheticGuest:
    guest_id: int
    typical_fen: float
    prefs: tuple[float, ...]  # per CATEGORIES
    gap_minutes: float
    orders_mean: float


@dataclass(frozen=True)
class SyntheticVisit:
    guest_id: int
    events: tuple[BehaviourEvent, ...]
    start: datetime
    onset: int | None  # index of the first intoxicated-like order, None for normal visits
    mean_order_fen: float

    @property
    def label(self) -> int:
        return int(self.onset is not None)


def make_guest(rng: random.Random, guest_id: int) -> SyntheticGuest:
    typical = 4500.0 * math.exp(rng.gauss(0.0, math.log(1.8)))
    prefs = [rng.gammavariate(_BASE_PREF[c], 1.0) for c in CATEGORIES]
    total = sum(prefs)
    return SyntheticGuest(
        guest_id,
        typical,
        tuple(p / total for p in prefs),
        rng.uniform(8.0, 25.0),
        rng.uniform(3.0, 10.0),
    )


def _category(rng: random.Random, prefs: tuple[float, ...], alcohol_boost: float = 1.0) -> str:
    weights = [p * (alcohol_boost if c in _ALCOHOL else 1.0) for p, c in zip(prefs, CATEGORIES, strict=True)]
    return rng.choices(CATEGORIES, weights=weights)[0]


def make_visit(rng: random.Random, guest: SyntheticGuest, anomalous: bool, start: datetime) -> SyntheticVisit:
    n = max(2, int(round(rng.gauss(guest.orders_mean, 1.5))))
    onset: int | None = None
    if anomalous:
        onset = rng.randint(1, max(1, min(4, n - 1)))
        n = max(n, onset + rng.randint(3, 6))
    speed = rng.uniform(0.25, 0.5)
    scale = rng.uniform(1.8, 4.0)
    celebration = -1 if anomalous or rng.random() > 0.2 else rng.randrange(n)
    t = start
    events: list[BehaviourEvent] = []
    bookings = 0
    for i in range(n):
        drunkish = onset is not None and i >= onset
        gap = rng.expovariate(1.0 / (guest.gap_minutes * (speed if drunkish else 1.0)))
        t = t + timedelta(minutes=max(0.5, gap))
        cat = _category(rng, guest.prefs, alcohol_boost=6.0 if drunkish else 1.0)
        if cat == "room_upgrade":
            if bookings >= 1 and not drunkish:
                cat = "song"
            bookings += 1
        if drunkish and rng.random() < 0.15:
            cat = "room_upgrade"
        amount = guest.typical_fen * math.exp(rng.gauss(0.0, 0.45))
        if drunkish:
            amount *= scale
        if i == celebration:
            amount *= rng.uniform(2.5, 5.0)
        events.append(BehaviourEvent(t, max(300, int(round(amount / 100.0)) * 100), cat))
    own_mean = guest.typical_fen * math.exp(rng.gauss(0.0, 0.1))  # from 5 earlier normal visits
    return SyntheticVisit(guest.guest_id, tuple(events), start, onset, own_mean)


def make_synthetic_dataset(
    n_guests: int = 400, visits_per_guest: int = 6, anomaly_rate: float = 0.3, seed: int = 7
) -> tuple[list[SyntheticGuest], list[SyntheticVisit]]:
    rng = random.Random(seed)
    guests = [make_guest(rng, g) for g in range(n_guests)]
    visits: list[SyntheticVisit] = []
    base = datetime(2026, 1, 1, 19, 0, tzinfo=UTC)
    for g in guests:
        for v in range(visits_per_guest):
            start = base + timedelta(days=7 * v, minutes=rng.randint(0, 180))
            visits.append(make_visit(rng, g, rng.random() < anomaly_rate, start))
    return guests, visits


def prefixes(visit: SyntheticVisit, rng: random.Random, k: int = 2) -> list[tuple[list[list[float]], int]]:
    """The full visit plus ``k`` random prefixes (≥ 2 events), each encoded, with its label."""
    n = len(visit.events)
    cuts = {n}
    for _ in range(k):
        if n > 2:
            cuts.add(rng.randint(2, n))
    out = []
    for c in sorted(cuts):
        rows = encode_sequence(visit.events[:c], visit.start, visit.mean_order_fen)
        label = int(visit.onset is not None and c > visit.onset)
        out.append((rows, label))
    return out


__all__ = ["SyntheticGuest", "SyntheticVisit", "make_guest", "make_synthetic_dataset", "make_visit", "prefixes"]
