"""Blood alcohol estimate with the Widmark formula (pure Python). An *estimate*, never a measurement.

    BAC [g/100 mL] = A / (r · W) · 100 − β · t

A: grams of ethanol drunk (volume × ABV × 0.789 g/mL), W: body weight in grams, r: Widmark
distribution factor, β: elimination rate, t: hours since drinking.

Stated assumptions (see docs/guide/payments.md):
- every drink bought by the guest this visit is drunk by the guest, at the moment it is bought
  (instant absorption — overestimates early on, which errs towards protecting the guest);
- elimination is zero-order at β (default 0.015 g/100 mL per hour) and starts with the first drink;
- r = 0.68 for men, 0.55 for women (Widmark's averages); g/100 g of body mass is read as g/100 mL;
- without sex or weight the *conservative* defaults apply: r of 0.55 and a light 55 kg body,
  both of which give a higher estimate;
- bottles and buckets are shared in a KTV room and the guest's own share is unknown, so one order
  counts for at most ``per_order_cap_g`` (default 56 g ≈ four 14 g standard drinks);
- food and individual metabolism are ignored: the number is a risk signal for staff, not a legal
  or medical finding. The default "abnormal" line, 0.08 g/100 mL, is China's 80 mg/100 mL
  drunk-driving (醉驾) threshold.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

WIDMARK_R = {"M": 0.68, "F": 0.55}


@dataclass(frozen=True)
class Drink:
    at: datetime
    alcohol_grams: float


@dataclass(frozen=True)
class BacAssumptions:
    default_weight_kg: float = 55.0
    default_r: float = 0.55
    elimination_per_hour: float = 0.015
    per_order_cap_g: float = 56.0


@dataclass(frozen=True)
class BacEstimate:
    bac_g_per_dl: float
    alcohol_grams: float
    r: float
    weight_kg: float
    defaults_used: tuple[str, ...]

    def explain(self) -> str:
        used = f" (defaults used: {', '.join(self.defaults_used)})" if self.defaults_used else ""
        return (
            f"estimated BAC {self.bac_g_per_dl:.3f} g/100 mL from {self.alcohol_grams:.0f} g alcohol, "
            f"r={self.r:.2f}, {self.weight_kg:.0f} kg{used}"
        )


def widmark_factor(sex: str | None, assumptions: BacAssumptions) -> tuple[float, bool]:
    """(r, default_used)."""
    if sex in WIDMARK_R:
        return WIDMARK_R[sex], False
    return assumptions.default_r, True


def estimate_bac(
    drinks: Iterable[Drink],
    now: datetime,
    sex: str | None,
    weight_kg: float | None,
    assumptions: BacAssumptions | None = None,
) -> BacEstimate:
    """Widmark estimate at ``now``: instant absorption per drink, linear elimination between drinks."""
    a = assumptions or BacAssumptions()
    r, r_default = widmark_factor(sex, a)
    used: list[str] = []
    if r_default:
        used.append(f"r={a.default_r:.2f} (sex unknown)")
    if weight_kg is None or weight_kg <= 0:
        weight = a.default_weight_kg
        used.append(f"{weight:.0f} kg (weight unknown)")
    else:
        weight = weight_kg
    bac = 0.0
    total = 0.0
    last: datetime | None = None
    for drink in sorted(drinks, key=lambda d: d.at):
        if drink.at > now:
            continue
        if last is not None:
            bac = max(0.0, bac - a.elimination_per_hour * (drink.at - last).total_seconds() / 3600.0)
        grams = min(drink.alcohol_grams, a.per_order_cap_g)
        bac += grams / (r * weight * 1000.0) * 100.0
        total += grams
        last = drink.at
    if last is not None:
        bac = max(0.0, bac - a.elimination_per_hour * (now - last).total_seconds() / 3600.0)
    return BacEstimate(bac, total, r, weight, tuple(used))


__all__ = ["WIDMARK_R", "BacAssumptions", "BacEstimate", "Drink", "estimate_bac", "widmark_factor"]
