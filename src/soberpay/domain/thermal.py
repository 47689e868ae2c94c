"""Thermal face state (optional channel, rooms with a thermal camera): the report and the rule that
combines it with the RGB camera's P(drunk). Pure Python.

The thermal model's probabilities are calibrated on the Patras data, where 3 of 4 images were taken
after drinking; that prevalence is not a venue's. So the report carries the evidence as a log
likelihood ratio (calibrated log-odds minus the training prior's log-odds), and ``p_abnormal`` is
that evidence at an even prior.

Combination rule (documented in docs/research/thermal-face-state.md): no data set holds RGB video and
thermal images of the same people, so no joint model can be trained or checked. The rule is naive
Bayes with a shrinkage weight — ``logit(P) = logit(P_rgb) + weight · log LR_thermal`` — which
assumes the two cameras' errors are independent (unverified) and therefore counts the thermal
evidence at ``weight`` (default 0.5). Without an RGB probability the thermal evidence does not
produce one: thermal alone is shown to staff, never turned into a judgement.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from soberpay.errors import InvalidInput

VIEW_REGIONS = {"e": "eye region", "f": "whole face (front)", "r": "face in profile"}
DEGREES = ("none", "mild", "moderate", "severe")


@dataclass(frozen=True)
class ViewScore:
    view: str  # "e" eyes close-up, "f" frontal, "r" profile
    log_lr: float

    @property
    def p_abnormal(self) -> float:
        return _sigmoid(self.log_lr)


@dataclass(frozen=True)
class ThermalFaceState:
    """The face-state report: type and degree of the anomaly, with the evidence behind them."""

    state: str  # "normal" | "uncertain" | "abnormal"
    log_lr: float  # fused over the views: mean of the per-view log likelihood ratios
    degree: str  # none | mild | moderate | severe (bands of p_abnormal, for display)
    anomaly_type: str  # which regions look like faces after drinking, e.g. "eye region, whole face (front)"
    views: tuple[ViewScore, ...]
    explanation: str
    model_version: str = ""
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def p_abnormal(self) -> float:
        return _sigmoid(self.log_lr)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["p_abnormal"] = round(self.p_abnormal, 4)
        d["views"] = [{"view": v.view, "region": VIEW_REGIONS.get(v.view, v.view),
                       "p_abnormal": round(v.p_abnormal, 4), "log_lr": round(v.log_lr, 4)} for v in self.views]
        d["warnings"] = list(self.warnings)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ThermalFaceState:
        return cls(
            state=str(d["state"]),
            log_lr=float(d["log_lr"]),
            degree=str(d["degree"]),
            anomaly_type=str(d["anomaly_type"]),
            views=tuple(ViewScore(str(v["view"]), float(v["log_lr"])) for v in d["views"]),
            explanation=str(d["explanation"]),
            model_version=str(d.get("model_version", "")),
            warnings=tuple(str(w) for w in d.get("warnings", ())),
        )


def assess(
    views: tuple[ViewScore, ...], uncertain_low: float, uncertain_high: float, model_version: str = "",
    warnings: tuple[str, ...] = (),
) -> ThermalFaceState:
    """Fuse per-view evidence of one visit (mean log LR) into the report."""
    if not views:
        raise InvalidInput("no thermal view to assess")
    if not 0.0 <= uncertain_low <= uncertain_high <= 1.0:
        raise InvalidInput("need 0 <= uncertain_low <= uncertain_high <= 1")
    log_lr = sum(v.log_lr for v in views) / len(views)
    p = _sigmoid(log_lr)
    state = "abnormal" if p >= uncertain_high else "normal" if p <= uncertain_low else "uncertain"
    degree = "none"
    if state != "normal":
        # even split of the band above the normal line: a display scale, not a measured intoxication level
        step = (1.0 - uncertain_low) / 3.0
        degree = DEGREES[1 + min(2, int((p - uncertain_low) / step))]
    flagged = [VIEW_REGIONS.get(v.view, v.view) for v in views if v.p_abnormal > uncertain_low]
    anomaly_type = ("thermal pattern seen after drinking: " + ", ".join(flagged)) if flagged else "none"
    explanation = (
        f"thermal face state {state}: P(after drinking) {p:.2f} at an even prior from "
        + ", ".join(f"{VIEW_REGIONS.get(v.view, v.view)} {v.p_abnormal:.2f}" for v in views)
        + "; thermal camera only, a hint for staff, never a decision on its own"
    )
    return ThermalFaceState(state, log_lr, degree, anomaly_type, views, explanation, model_version, warnings)


def combine(p_rgb: float | None, thermal: ThermalFaceState | None, weight: float) -> float | None:
    """RGB P(drunk) shifted by the thermal evidence (see the module docstring); unchanged without thermal."""
    if not 0.0 <= weight <= 1.0:
        raise InvalidInput("thermal weight must be within 0..1", field="thermal_weight")
    if p_rgb is None or thermal is None:
        return p_rgb
    q = min(max(p_rgb, 1e-6), 1.0 - 1e-6)
    return _sigmoid(math.log(q / (1.0 - q)) + weight * thermal.log_lr)


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


__all__ = ["DEGREES", "VIEW_REGIONS", "ThermalFaceState", "ViewScore", "assess", "combine"]
