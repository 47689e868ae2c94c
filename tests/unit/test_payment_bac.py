from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from soberpay.domain.bac import BacAssumptions, Drink, estimate_bac

T0 = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)


def test_widmark_textbook_example() -> None:
    # 80 kg man, 40 g ethanol, immediately: 40 / (0.68 × 80000) × 100 = 0.0735 g/100 mL
    est = estimate_bac([Drink(T0, 40.0)], T0, "M", 80.0)
    assert est.bac_g_per_dl == pytest.approx(40 / (0.68 * 80_000) * 100)
    assert est.defaults_used == ()


def test_elimination_over_time_and_floor_at_zero() -> None:
    one = estimate_bac([Drink(T0, 40.0)], T0 + timedelta(hours=2), "M", 80.0)
    assert one.bac_g_per_dl == pytest.approx(40 / (0.68 * 80_000) * 100 - 0.03)
    gone = estimate_bac([Drink(T0, 10.0)], T0 + timedelta(hours=10), "M", 80.0)
    assert gone.bac_g_per_dl == 0.0


def test_missing_sex_and_weight_use_conservative_defaults() -> None:
    drinks = [Drink(T0, 30.0)]
    known = estimate_bac(drinks, T0, "M", 80.0)
    unknown = estimate_bac(drinks, T0, None, None)
    assert unknown.bac_g_per_dl > known.bac_g_per_dl  # conservative = higher estimate
    assert len(unknown.defaults_used) == 2 and "sex unknown" in unknown.explain()


def test_women_estimate_higher_than_men_same_weight() -> None:
    drinks = [Drink(T0, 30.0)]
    assert estimate_bac(drinks, T0, "F", 60).bac_g_per_dl > estimate_bac(drinks, T0, "M", 60).bac_g_per_dl


def test_spaced_drinks_eliminate_between_and_future_drinks_ignored() -> None:
    a = BacAssumptions(elimination_per_hour=0.015)
    spaced = estimate_bac([Drink(T0, 20.0), Drink(T0 + timedelta(hours=1), 20.0)], T0 + timedelta(hours=1), "M", 70, a)
    at_once = estimate_bac([Drink(T0, 40.0)], T0, "M", 70, a)
    assert spaced.bac_g_per_dl == pytest.approx(at_once.bac_g_per_dl - 0.015)
    future = estimate_bac([Drink(T0 + timedelta(hours=1), 50.0)], T0, "M", 70, a)
    assert future.bac_g_per_dl == 0.0 and future.alcohol_grams == 0.0


def test_one_order_counts_at_most_the_cap() -> None:
    bottle = estimate_bac([Drink(T0, 221.0)], T0, "M", 80.0, BacAssumptions(per_order_cap_g=56.0))
    assert bottle.alcohol_grams == 56.0
