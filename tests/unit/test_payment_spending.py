from __future__ import annotations

from soberpay.domain.spending import PastOrder, SpendingPolicy, build_profile, check_spending

POLICY = SpendingPolicy(
    multiplier=2.0,
    category_multiplier=2.0,
    min_history_orders=5,
    min_history_visits=2,
    default_order_threshold_fen=30_000,
    default_visit_threshold_fen=100_000,
    default_category_count=6,
    category_count_floor=2,
)


def _method_example() -> list[PastOrder]:
    # The method's example: 10 orders of 50..130 yuan; their mean is 89 (the text rounds to 90 → 180).
    amounts = [50, 80, 100, 60, 70, 90, 120, 110, 80, 130]
    return [PastOrder(f"v{i // 2}", a * 100, "drink") for i, a in enumerate(amounts)]


def test_method_example_threshold_is_twice_the_mean() -> None:
    p = build_profile(_method_example(), POLICY)
    assert p.personal_orders and p.order_threshold_fen == 17_800
    ok = check_spending(
        p,
        order_amount_fen=17_800,
        category="drink",
        quantity=1,
        visit_total_before_fen=0,
        visit_category_units_before=0,
    )
    assert not ok.abnormal
    spike = check_spending(
        p,
        order_amount_fen=17_801,
        category="drink",
        quantity=1,
        visit_total_before_fen=0,
        visit_category_units_before=0,
    )
    assert spike.abnormal and spike.rules == ("order_amount",) and "own threshold" in spike.explain()


def test_visit_total_threshold() -> None:
    p = build_profile(_method_example(), POLICY)  # 5 visits, mean visit total 178 yuan → 356
    assert p.visit_threshold_fen == 35_600
    c = check_spending(
        p,
        order_amount_fen=5_000,
        category="drink",
        quantity=1,
        visit_total_before_fen=32_000,
        visit_category_units_before=0,
    )
    assert "visit_amount" in c.rules


def test_category_count_threshold_from_own_mean() -> None:
    history = [PastOrder(f"v{v}", 1_800, "beer", 2) for v in range(4)]  # 2 beers per visit
    p = build_profile(history, POLICY)
    assert p.category_threshold("beer") == 4.0
    assert not check_spending(
        p, order_amount_fen=1_800, category="beer", quantity=1, visit_total_before_fen=0, visit_category_units_before=3
    ).abnormal
    c = check_spending(
        p, order_amount_fen=1_800, category="beer", quantity=1, visit_total_before_fen=0, visit_category_units_before=4
    )
    assert c.rules == ("category_count",)
    # a category this guest never buys: the floor applies, not zero
    assert p.category_threshold("liquor") == 2.0


def test_new_guest_gets_venue_defaults() -> None:
    p = build_profile([PastOrder("v0", 2_000, "song")], POLICY)
    assert not p.personal_orders and not p.personal_visits
    assert p.order_threshold_fen == 30_000 and p.visit_threshold_fen == 100_000
    assert p.category_threshold("beer") == 6
    c = check_spending(
        p,
        order_amount_fen=31_000,
        category="liquor",
        quantity=1,
        visit_total_before_fen=0,
        visit_category_units_before=0,
    )
    assert c.abnormal and "venue default" in c.explain()


def test_multipliers_are_configurable() -> None:
    strict = SpendingPolicy(multiplier=1.5, min_history_orders=5)
    assert build_profile(_method_example(), strict).order_threshold_fen == 13_350
