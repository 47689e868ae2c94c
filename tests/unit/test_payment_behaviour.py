from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from soberpay.domain.behaviour import FEATURE_NAMES, MAX_EVENTS, N_FEATURES, BehaviourEvent, encode_sequence
from soberpay_lab.training.synthetic_visits import make_synthetic_dataset, prefixes

T0 = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)


def test_encoding_shape_order_and_relative_amounts() -> None:
    events = [
        BehaviourEvent(T0 + timedelta(minutes=30), 20_000, "liquor"),
        BehaviourEvent(T0 + timedelta(minutes=10), 2_000, "beer"),
    ]
    rows = encode_sequence(events, T0, mean_order_fen=2_000)
    assert len(rows) == 2 and all(len(r) == N_FEATURES == len(FEATURE_NAMES) for r in rows)
    assert abs(rows[0][0]) < 0.01  # first (earliest) event is at the guest's own mean
    assert rows[1][0] > 2.0  # ten times the mean
    assert rows[1][FEATURE_NAMES.index("cat_liquor")] == 1.0


def test_encoding_caps_length_and_handles_missing_mean() -> None:
    events = [BehaviourEvent(T0 + timedelta(minutes=i), 1_000, "song") for i in range(MAX_EVENTS + 10)]
    rows = encode_sequence(events, T0, None)
    assert len(rows) == MAX_EVENTS


def test_synthetic_generator_is_labelled_and_deterministic() -> None:
    g1, v1 = make_synthetic_dataset(10, 4, 0.5, seed=3)
    g2, v2 = make_synthetic_dataset(10, 4, 0.5, seed=3)
    assert v1 == v2 and len(v1) == 40
    assert {v.label for v in v1} == {0, 1}
    anomalous = next(v for v in v1 if v.label == 1)
    assert anomalous.onset is not None
    examples = prefixes(anomalous, random.Random(0), k=3)
    # a prefix is labelled anomalous only once it reaches the onset
    for rows, label in examples:
        assert label == int(len(rows) > anomalous.onset)
