"""Spending anomalies against the guest's own history (pure Python).

Method claim 7: per-guest thresholds from history — an order above ``multiplier ×`` the guest's
mean order amount, a visit total above ``multiplier ×`` their mean visit total, or more units of a
category in this visit than ``multiplier ×`` their mean per visit. Guests with too little history
get venue-wide defaults. Example from the method: orders of 50…130 yuan, mean 90 → threshold 180.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from soberpay.domain.catalogue import fen_to_yuan


@dataclass(frozen=True)
class PastOrder:
    visit_id: str
    amount_fen: int
    category: str
    quantity: int = 1


@dataclass(frozen=True)
class SpendingPolicy:
    multiplier: float = 2.0
    category_multiplier: float = 2.0
    min_history_orders: int = 5
    min_history_visits: int = 2
    default_order_threshold_fen: int = 30_000
    default_visit_threshold_fen: int = 100_000
    default_category_count: int = 6
    category_count_floor: int = 2


@dataclass(frozen=True)
class SpendingProfile:
    order_threshold_fen: float
    visit_threshold_fen: float
    category_thresholds: Mapping[str, float]
    default_category_threshold: float
    personal_orders: bool
    personal_visits: bool
    mean_order_fen: float | None = None
    mean_visit_fen: float | None = None
    n_orders: int = 0
    n_visits: int = 0

    def category_threshold(self, category: str) -> float:
        return self.category_thresholds.get(category, self.default_category_threshold)


def build_profile(history: Sequence[PastOrder], policy: SpendingPolicy) -> SpendingProfile:
    """Thresholds from the guest's past orders (earlier visits only)."""
    n_orders = len(history)
    visits: dict[str, int] = defaultdict(int)
    per_visit_cat: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for o in history:
        visits[o.visit_id] += o.amount_fen
        per_visit_cat[o.visit_id][o.category] += o.quantity
    n_visits = len(visits)
    personal_orders = n_orders >= policy.min_history_orders
    personal_visits = n_visits >= policy.min_history_visits
    mean_order = sum(o.amount_fen for o in history) / n_orders if n_orders else None
    mean_visit = sum(visits.values()) / n_visits if n_visits else None
    order_thr = (
        policy.multiplier * mean_order
        if personal_orders and mean_order is not None
        else float(policy.default_order_threshold_fen)
    )
    visit_thr = (
        policy.multiplier * mean_visit
        if personal_visits and mean_visit is not None
        else float(policy.default_visit_threshold_fen)
    )
    cat_thr: dict[str, float] = {}
    if personal_visits:
        categories = {c for counts in per_visit_cat.values() for c in counts}
        for c in categories:
            mean_count = sum(per_visit_cat[v].get(c, 0) for v in visits) / n_visits
            cat_thr[c] = max(policy.category_multiplier * mean_count, float(policy.category_count_floor))
        default_cat = float(policy.category_count_floor)  # a category this guest never buys
    else:
        default_cat = float(policy.default_category_count)
    return SpendingProfile(
        order_threshold_fen=order_thr,
        visit_threshold_fen=visit_thr,
        category_thresholds=cat_thr,
        default_category_threshold=default_cat,
        personal_orders=personal_orders,
        personal_visits=personal_visits,
        mean_order_fen=mean_order,
        mean_visit_fen=mean_visit,
        n_orders=n_orders,
        n_visits=n_visits,
    )


@dataclass(frozen=True)
class SpendingCheck:
    abnormal: bool
    rules: tuple[str, ...] = field(default_factory=tuple)  # "order_amount", "visit_amount", "category_count"
    reasons: tuple[str, ...] = field(default_factory=tuple)

    def explain(self) -> str:
        return "; ".join(self.reasons) if self.reasons else "spending within the guest's usual range"


def check_spending(
    profile: SpendingProfile,
    *,
    order_amount_fen: int,
    category: str,
    quantity: int,
    visit_total_before_fen: int,
    visit_category_units_before: int,
) -> SpendingCheck:
    """Does this order (added to the visit so far) break any of the guest's thresholds?"""
    rules: list[str] = []
    reasons: list[str] = []
    whose_o = "own" if profile.personal_orders else "venue default"
    whose_v = "own" if profile.personal_visits else "venue default"
    if order_amount_fen > profile.order_threshold_fen:
        rules.append("order_amount")
        reasons.append(
            f"order {fen_to_yuan(order_amount_fen)} > {whose_o} threshold "
            f"{fen_to_yuan(round(profile.order_threshold_fen))}"
        )
    visit_total = visit_total_before_fen + order_amount_fen
    if visit_total > profile.visit_threshold_fen:
        rules.append("visit_amount")
        reasons.append(
            f"visit total {fen_to_yuan(visit_total)} > {whose_v} threshold "
            f"{fen_to_yuan(round(profile.visit_threshold_fen))}"
        )
    units = visit_category_units_before + quantity
    cat_thr = profile.category_threshold(category)
    if units > cat_thr:
        rules.append("category_count")
        reasons.append(f"{units} × {category} this visit > {whose_v} threshold {cat_thr:g}")
    return SpendingCheck(bool(rules), tuple(rules), tuple(reasons))


__all__ = ["PastOrder", "SpendingCheck", "SpendingPolicy", "SpendingProfile", "build_profile", "check_spending"]
