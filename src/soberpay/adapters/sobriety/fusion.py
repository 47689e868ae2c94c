"""Fusion (method S105): face vector + pose vector → combined vector → calibrated SVM → P(drunk).

The combined vector is ``FUSION_FEATURES``: raw face signals, raw pose signals and each signal's
difference from the guest's own baseline (``delta_*``). Missing parts (no face in view, no
expression model yet, no baseline yet) are NaN; the shipped pipeline imputes them (median) and adds
missing-indicator columns, so the SVM knows when it is working from pose alone.

Pipeline: SimpleImputer(add_indicator) → StandardScaler → CalibratedClassifierCV(SVC(rbf),
sigmoid/Platt, subject-grouped folds). The probability goes to the domain tracker, whose reject band
[sober_probability, drunk_probability] turns doubt into ABSTAIN (ask staff).

The shipped model is trained on SYNTHETIC data only (``soberpay_lab.training.synthetic_sobriety``);
its numbers in the model card are synthetic and say nothing about real guests.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from soberpay.adapters.sobriety.features import (
    BASELINE_FEATURES,
    FACE_FEATURES,
    FUSION_FEATURES,
    POSE_FEATURES,
)
from soberpay.adapters.sobriety.pose import default_model_dir
from soberpay.domain.sobriety import GuestBaseline
from soberpay.errors import ConfigError

FUSION_MODEL_FILE = "fusion_svm.joblib"


def _num(v: float | None) -> float:
    return float("nan") if v is None or not math.isfinite(v) else float(v)


def fusion_vector(
    face: Mapping[str, float] | None,
    pose: Mapping[str, float] | None,
    baseline: GuestBaseline | None,
) -> npt.NDArray[np.float64]:
    """Combined vector in ``FUSION_FEATURES`` order (NaN where a signal or baseline is missing)."""
    face = face or {}
    pose = pose or {}
    raw: dict[str, float] = {}
    for name in FACE_FEATURES:
        raw[name] = _num(face.get(name))
    for name in POSE_FEATURES:
        raw[name] = _num(pose.get(name))
    out = [raw[n] for n in FACE_FEATURES + POSE_FEATURES]
    for name in BASELINE_FEATURES:
        v = raw.get(name, float("nan"))
        m = baseline.mean(name) if baseline is not None and baseline.count(name) >= 2 else None
        out.append(v - m if m is not None and math.isfinite(v) else float("nan"))
    vec = np.array(out, dtype=np.float64)
    assert vec.shape[0] == len(FUSION_FEATURES)
    return vec


def build_pipeline(group_splits: Any = 5, method: str = "sigmoid", c: float = 1.0, seed: int = 0) -> Any:
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    return Pipeline(
        [
            ("impute", SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True)),
            ("scale", StandardScaler()),
            (
                "svm",
                CalibratedClassifierCV(
                    SVC(kernel="rbf", C=c, gamma="scale", random_state=seed),
                    method=method,
                    cv=group_splits,
                    ensemble=False,
                ),
            ),
        ]
    )


class FusionModel:
    """Loads the calibrated SVM pipeline lazily (joblib) and returns P(drunk)."""

    def __init__(self, model_path: Path | None = None) -> None:
        self.model_path = model_path or default_model_dir() / FUSION_MODEL_FILE
        self._pipe: Any = None
        self.meta: dict[str, Any] = {}

    @property
    def available(self) -> bool:
        return self.model_path.is_file()

    def _load(self) -> Any:
        if self._pipe is None:
            if not self.model_path.is_file():
                raise ConfigError(
                    "fusion model missing; run `soberpay train sobriety fusion`", path=str(self.model_path)
                )
            import joblib

            bundle = joblib.load(self.model_path)
            if list(bundle.get("features", [])) != list(FUSION_FEATURES):
                raise ConfigError("fusion model was trained on another feature order; retrain it")
            self._pipe = bundle["pipeline"]
            self.meta = {k: v for k, v in bundle.items() if k != "pipeline"}
        return self._pipe

    def predict_proba(self, vectors: npt.ArrayLike) -> npt.NDArray[np.float64]:
        x = np.asarray(vectors, dtype=np.float64)
        if x.ndim == 1:
            x = x[None]
        return np.asarray(self._load().predict_proba(x)[:, 1], dtype=np.float64)

    def p_drunk(self, vector: npt.ArrayLike) -> float | None:
        """None when the vector carries no signal at all (nothing to judge)."""
        v = np.asarray(vector, dtype=np.float64)
        if not np.isfinite(v).any():
            return None
        return float(self.predict_proba(v)[0])

    def out_of_range(self, vector: npt.ArrayLike) -> list[str]:
        """Features far outside what the model saw in training (beyond the 0.5–99.5 % range widened
        by half its width). An SVM extrapolates confidently there, so the monitor abstains instead."""
        self._load()
        bounds = self.meta.get("feature_bounds")
        if not bounds:
            return []
        v = np.asarray(vector, dtype=np.float64).ravel()
        out = []
        for name, x in zip(FUSION_FEATURES, v, strict=True):
            b = bounds.get(name)
            if b is None or not math.isfinite(x):
                continue
            lo, hi = float(b[0]), float(b[1])
            pad = 0.5 * (hi - lo)
            if x < lo - pad or x > hi + pad:
                out.append(name)
        return out


def feature_bounds(x: npt.NDArray[np.float64]) -> dict[str, tuple[float, float]]:
    """Per-feature 0.5 % and 99.5 % quantiles of the training data (NaNs ignored)."""
    out: dict[str, tuple[float, float]] = {}
    for i, name in enumerate(FUSION_FEATURES):
        col = x[:, i][np.isfinite(x[:, i])]
        if col.size:
            out[name] = (float(np.quantile(col, 0.005)), float(np.quantile(col, 0.995)))
    return out


def save_fusion_model(path: Path, pipeline: Any, meta: Mapping[str, Any]) -> int:
    import joblib

    path.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump({"pipeline": pipeline, "features": list(FUSION_FEATURES), **meta}, path, compress=3)
    path.with_suffix(".json").write_text(json.dumps(dict(meta), indent=2, default=float) + "\n")
    return path.stat().st_size


__all__ = [
    "FUSION_MODEL_FILE",
    "FusionModel",
    "build_pipeline",
    "feature_bounds",
    "fusion_vector",
    "save_fusion_model",
]
