"""Thermal face state: ResNet vs HOG + logistic regression, per view and fused per visit.

Protocol (issue 14): one set of subject-disjoint folds (``subject_group_folds``, sex-stratified,
the same folds for every method and view), so no subject is ever in training and test at once.

* **ResNet** (``training.thermal_resnet``): per view, a fresh extractor is trained on the training
  subjects of that view and the held-out images are scored by the reference-store kNN vote
  (``p_knn``) and by the training head (``p_head``). Retraining the ResNet inside an inner CV to
  calibrate it would multiply the CPU cost by the inner folds, so its probabilities are compared
  uncalibrated; ROC-AUC is rank-based and not changed by a monotone calibration.
* **HOG + LR** (``adapters.sobriety.face_state.hog_features``): per view, standardised HOG features →
  L2 logistic regression (class-balanced, C chosen by an inner subject-grouped CV) → Platt scaling
  fitted on inner out-of-fold scores of the training subjects only (``CalibratedClassifierCV`` with
  subject-grouped inner folds). The held-out subjects never touch fitting or calibration.
* **Visit fusion**: the views of one visit (subject × session) combined by the mean of their
  calibrated log-odds (a fixed rule, nothing fitted on the test subjects).

Reported per method: ROC-AUC with a subject-bootstrap 95 % interval, balanced accuracy at 0.5 and
the Brier score (calibration quality).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from soberpay.adapters.sobriety.face_state import hog_features
from soberpay_lab.evaluation.thermal import VIEWS, ThermalSample, binary_metrics, roc_auc, subject_group_folds

Progress = Callable[[str], None]
HOG_C_GRID = (0.0003, 0.001, 0.003, 0.01, 0.03)
INNER_FOLDS = 4


def folds_for(subjects: npt.NDArray[np.str_], sexes: npt.NDArray[np.str_], n_folds: int, seed: int) -> list[list[str]]:
    samples = [ThermalSample(Path(""), "", str(s), 1, "e", str(x)) for s, x in zip(subjects, sexes, strict=True)]
    return subject_group_folds(samples, n_folds=n_folds, seed=seed)


def hog_matrix(x: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """HOG features of preprocessed (N, 1, H, W) inputs."""
    return np.stack([hog_features(xi) for xi in x]).astype(np.float32)


def fit_hog_lr(
    feats: npt.NDArray[np.float32], y: npt.NDArray[np.int64], groups: npt.NDArray[np.str_], seed: int = 0
) -> Any:
    """Scaler + class-balanced LR (C by inner grouped CV), Platt-calibrated on inner out-of-fold scores."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV, GroupKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    inner = list(GroupKFold(n_splits=INNER_FOLDS).split(feats, y, groups))
    base = make_pipeline(StandardScaler(), LogisticRegression(class_weight="balanced", max_iter=2000))
    search = GridSearchCV(base, {"logisticregression__C": list(HOG_C_GRID)}, scoring="roc_auc", cv=inner)
    search.fit(feats, y)
    best = make_pipeline(
        StandardScaler(),
        LogisticRegression(class_weight="balanced", max_iter=2000, C=search.best_params_["logisticregression__C"]),
    )
    calibrated = CalibratedClassifierCV(best, method="sigmoid", cv=inner, ensemble=False)
    calibrated.fit(feats, y)
    return calibrated


def hog_oof(
    x: npt.NDArray[np.float32],
    y: npt.NDArray[np.int64],
    subjects: npt.NDArray[np.str_],
    views: npt.NDArray[np.str_],
    folds: Sequence[Sequence[str]],
    progress: Progress | None = None,
) -> tuple[npt.NDArray[np.float64], dict[str, list[float]]]:
    """Out-of-fold calibrated P(after drinking) for every image (per-view models); chosen C per view/fold."""
    feats = hog_matrix(x)
    p = np.full(len(y), np.nan)
    chosen: dict[str, list[float]] = {}
    for v in sorted(set(views.tolist())):
        for k, test_ids in enumerate(folds):
            test = (views == v) & np.isin(subjects, test_ids)
            train = (views == v) & ~np.isin(subjects, test_ids)
            model = fit_hog_lr(feats[train], y[train], subjects[train])
            p[test] = model.predict_proba(feats[test])[:, 1]
            chosen.setdefault(v, []).append(float(model.estimator.named_steps["logisticregression"].C))
            if progress:
                progress(f"HOG+LR view {v} fold {k + 1}/{len(folds)}")
    return p, chosen


def resnet_oof(
    data: Any, folds: Sequence[Sequence[str]], epochs: int, seed: int = 0, progress: Progress | None = None
) -> dict[str, npt.NDArray[np.float64]]:
    """Out-of-fold ResNet scores per image (per-view extractors): ``p_knn`` and ``p_head``."""
    import torch

    from soberpay_lab.training.thermal_resnet import build_store, embed, head_prob, score_with_store, train_extractor

    torch.set_num_threads(1)  # the machine's 2 cores are shared; one thread keeps training polite
    p_knn = np.full(len(data.y), np.nan)
    p_head = np.full(len(data.y), np.nan)
    for v in sorted(set(data.views.tolist())):
        for k, test_ids in enumerate(folds):
            test = (data.views == v) & np.isin(data.subjects, test_ids)
            train = (data.views == v) & ~np.isin(data.subjects, test_ids)
            model = train_extractor(data.subset(train), seed=seed + k, epochs=epochs)
            store = build_store(model, data.subset(train), calibrate=False)
            pk, _ = score_with_store(store, embed(model, data.x[test]), data.views[test])
            p_knn[test] = pk
            p_head[test] = head_prob(model, data.x[test]).ravel()
            if progress:
                progress(f"ResNet view {v} fold {k + 1}/{len(folds)}")
    return {"p_knn": p_knn, "p_head": p_head}


def fuse_visits(
    p: npt.NDArray[np.float64],
    y: npt.NDArray[np.int64],
    subjects: npt.NDArray[np.str_],
    sessions: npt.NDArray[np.int64],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64], npt.NDArray[np.str_]]:
    """One probability per visit (subject × session): mean log-odds of its views' probabilities."""
    keys = sorted({(str(s), int(se)) for s, se in zip(subjects, sessions, strict=True)})
    out_p, out_y, out_s = [], [], []
    for s, se in keys:
        m = (subjects == s) & (sessions == se) & np.isfinite(p)
        if not m.any():
            continue
        q = np.clip(p[m], 1e-4, 1 - 1e-4)
        z = float(np.mean(np.log(q / (1 - q))))
        out_p.append(1.0 / (1.0 + np.exp(-z)))
        out_y.append(int(y[m][0]))
        out_s.append(s)
    return np.array(out_p), np.array(out_y, dtype=np.int64), np.array(out_s)


def summarise(
    p: npt.NDArray[np.float64], y: npt.NDArray[np.int64], subjects: npt.NDArray[np.str_], n_boot: int = 1000
) -> dict[str, float]:
    """AUC (subject-bootstrap 95 % CI), balanced accuracy at 0.5, Brier score, counts."""
    m = binary_metrics(y, p)
    rng = np.random.default_rng(0)
    ids = np.unique(subjects)
    rows = {s: np.flatnonzero(subjects == s) for s in ids}
    boots = []
    for _ in range(n_boot):
        pick = np.concatenate([rows[s] for s in rng.choice(ids, size=len(ids), replace=True)])
        a = roc_auc(y[pick], p[pick])
        if np.isfinite(a):
            boots.append(a)
    lo, hi = (np.quantile(boots, [0.025, 0.975]) if boots else (float("nan"), float("nan")))
    return {
        "auc": m["auc"],
        "auc_ci_low": float(lo),
        "auc_ci_high": float(hi),
        "balanced_accuracy": m["balanced_accuracy"],
        "brier": float(np.mean((p - y) ** 2)),
        "n": int(len(y)),
        "n_subjects": int(len(ids)),
    }


def compare(
    data: Any,
    n_folds: int = 5,
    seed: int = 0,
    epochs: int = 20,
    resnet: dict[str, npt.NDArray[np.float64]] | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """The full comparison; ``resnet`` passes precomputed out-of-fold ResNet scores (they are slow)."""
    folds = folds_for(data.subjects, data.sexes, n_folds, seed)
    p_hog, chosen_c = hog_oof(data.x, data.y, data.subjects, data.views, folds, progress)
    if resnet is None:
        resnet = resnet_oof(data, folds, epochs, seed, progress)
    methods = {"hog_lr": p_hog, "resnet_knn": resnet["p_knn"], "resnet_head": resnet["p_head"]}
    result: dict[str, Any] = {
        "folds": [list(f) for f in folds],
        "seed": seed,
        "resnet_epochs": epochs,
        "hog_lr_C": chosen_c,
        "per_view": {},
        "visit_fusion": {},
    }
    for name, p in methods.items():
        result["per_view"][name] = {
            v: summarise(p[data.views == v], data.y[data.views == v], data.subjects[data.views == v])
            for v in VIEWS
            if (data.views == v).any()
        }
        fp, fy, fs = fuse_visits(p, data.y, data.subjects, data.sessions)
        result["visit_fusion"][name] = summarise(fp, fy, fs)
    result["predictions"] = [
        {"subject": str(s), "session": int(se), "view": str(v), "y": int(yy), "hog_lr": float(a),
         "resnet_knn": float(b), "resnet_head": float(c)}
        for s, se, v, yy, a, b, c in zip(
            data.subjects, data.sessions, data.views, data.y, p_hog, resnet["p_knn"], resnet["p_head"], strict=True
        )
    ]
    return result


def save(result: dict[str, Any], path: Path | str) -> Path:
    out = Path(path)
    out.write_text(json.dumps(result, indent=1, sort_keys=True, default=float))
    return out


__all__ = ["compare", "fit_hog_lr", "fuse_visits", "hog_matrix", "hog_oof", "resnet_oof", "save", "summarise"]
