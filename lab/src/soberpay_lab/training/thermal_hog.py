"""Train and ship the thermal face-state model that won the comparison: HOG + logistic regression per
view (eyes, front, profile), Platt-calibrated, fused per visit (``evaluation.thermal_compare``).

The shipped parameters are plain arrays (``face_state_hog.npz``: per view the scaler mean/scale, the
LR weights and intercept, Platt's a and b), so the runtime needs numpy and OpenCV only — no pickle,
no scikit-learn objects, no ONNX. The card (``face_state_hog.json``) carries the subject-disjoint CV
numbers of the comparison; the shipped model itself is fitted on all subjects of the folder.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from soberpay.adapters.sobriety.face_state import HOG_CARD_FILE, HOG_MODEL_FILE
from soberpay_lab.evaluation.thermal_compare import fit_hog_lr, hog_matrix
from soberpay_lab.training.thermal_resnet import load_arrays


def train_and_ship_hog(data_dir: Path | str, out_dir: Path | str, comparison: dict[str, Any]) -> dict[str, Any]:
    data = load_arrays(data_dir)
    feats = hog_matrix(data.x)
    arrays: dict[str, np.ndarray[Any, Any]] = {}
    chosen: dict[str, float] = {}
    for v in sorted(set(data.views.tolist())):
        m = data.views == v
        cal = fit_hog_lr(feats[m], data.y[m], data.subjects[m])
        fitted = cal.calibrated_classifiers_[0]
        scaler = fitted.estimator.named_steps["standardscaler"]
        lr = fitted.estimator.named_steps["logisticregression"]
        platt = fitted.calibrators[0]
        arrays[f"{v}_mean"] = scaler.mean_.astype(np.float32)
        arrays[f"{v}_scale"] = scaler.scale_.astype(np.float32)
        arrays[f"{v}_coef"] = lr.coef_.ravel().astype(np.float32)
        arrays[f"{v}_intercept"] = np.array([lr.intercept_[0]], dtype=np.float64)
        arrays[f"{v}_platt"] = np.array([platt.a_, platt.b_], dtype=np.float64)
        chosen[v] = float(lr.C)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out / HOG_MODEL_FILE, **arrays)
    card = {
        "name": "soberpay thermal face state: HOG + logistic regression per view, visit fusion",
        "version": datetime.now(UTC).strftime("%Y%m%d") + "-hog",
        "modality": "thermal infrared (long-wave IR), NOT RGB",
        "data": f"Patras Sober-Drunk thermal faces (research-only), {len(set(data.subjects.tolist()))} subjects, "
        f"{len(data.y)} images, views {sorted(set(data.views.tolist()))}",
        "labels": "drunk = photographed 20/40/60 min after drinking (time since drinking, not measured BAC)",
        "features": "HOG (OpenCV, 8x8 cells, 16x16 blocks, 9 bins) on the 80x64 thermal_preprocess output",
        "classifier": "standardised HOG -> L2 logistic regression (class-balanced), C by inner subject-grouped CV",
        "calibration": "Platt scaling on inner subject-grouped out-of-fold scores",
        "fusion": "mean log-odds of the calibrated per-view probabilities of one visit",
        "C": chosen,
        "training_prior": float(data.y.mean()),
        "skipped": data.skipped,
        "honest_numbers": "comparison (subject-disjoint 5-fold CV, calibration inside the folds); the shipped "
        "model is fitted on all subjects, so its numbers on this folder are optimistic",
        "comparison": {k: v for k, v in comparison.items() if k != "predictions"},
        "limits": [
            "31 subjects; labels are time since drinking, not a measured level",
            "grey levels are display values, not temperatures; palettes differ between images",
            "does not transfer to RGB webcams; a room thermal camera must give a comparable head view",
            "research-only data: refit on the venue's own consented data before production use",
        ],
    }
    (out / HOG_CARD_FILE).write_text(json.dumps(card, indent=1, sort_keys=True, default=float))
    return card


__all__ = ["train_and_ship_hog"]
