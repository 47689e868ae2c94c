"""Train the 1-D ResNet expression classifier on SYNTHETIC face-signal sequences (method step S103).

* data: ``make_synthetic_dataset`` (synthetic subjects with their own baselines; see its docstring
  for the physiology and sources) - there is no real RGB drunk data in this project;
* split: 80/20 by synthetic SUBJECT (no subject in both parts);
* model: ``ResNet1d`` with a classifier head, binary cross-entropy, AdamW;
* augmentation: random time crops (variable length), per-feature gain jitter, Gaussian noise;
* metrics on the held-out subjects: accuracy, recall, F1, ROC-AUC, plus a logistic-regression
  baseline on per-window feature means (does the ResNet add anything over averages?);
* key features: permutation importance (drop in ROC-AUC when one column is shuffled across test
  windows) and gradient x input saliency.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch

from soberpay.adapters.sobriety.expression import CARD_FILE, MODEL_FILE
from soberpay.adapters.sobriety.features import EXPRESSION_FEATURES, EXPRESSION_FPS, EXPRESSION_WINDOW
from soberpay_lab.evaluation.thermal import binary_metrics
from soberpay_lab.training.export import export_onnx, parity_max_abs_diff
from soberpay_lab.training.resnet1d2d import ResNet1d, fit_binary
from soberpay_lab.training.synthetic_faces import SyntheticFaceDataset, make_synthetic_dataset

Progress = Callable[[str, int, int], None]
MIN_CROP = 96


def subject_split(
    subjects: npt.NDArray[np.int64], test_fraction: float = 0.2, seed: int = 0
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Boolean masks (train, test) with every subject on exactly one side."""
    ids = np.unique(subjects)
    rng = np.random.default_rng(seed)
    rng.shuffle(ids)
    n_test = max(1, int(round(len(ids) * test_fraction)))
    test = np.isin(subjects, ids[:n_test])
    return ~test, test


def _augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    n, t, f = x.shape
    crop = int(torch.randint(min(MIN_CROP, t), t + 1, (1,), generator=gen))
    start = torch.randint(0, t - crop + 1, (n,), generator=gen)
    out = torch.stack([x[i, start[i] : start[i] + crop] for i in range(n)])
    gain = 1.0 + 0.1 * torch.randn(n, 1, f, generator=gen)
    scale = out.std(dim=(0, 1), keepdim=True).clamp_min(1e-4)
    return out * gain + 0.05 * scale * torch.randn(out.shape, generator=gen)


def train_classifier(
    x: npt.NDArray[np.float32],
    y: npt.NDArray[np.int64],
    seed: int = 0,
    epochs: int = 15,
    batch_size: int = 64,
    lr: float = 3e-3,
    widths: tuple[int, ...] = (32, 48, 64),
    progress: Callable[[int, int], None] | None = None,
) -> ResNet1d:
    torch.manual_seed(seed)
    flat = x.reshape(-1, x.shape[2])
    model = ResNet1d(x.shape[2], widths=widths, mean=flat.mean(0).tolist(), std=(flat.std(0) + 1e-4).tolist())
    fit_binary(
        model, model, x, y, _augment,
        seed=seed, epochs=epochs, batch_size=batch_size, lr=lr, weight_decay=1e-3, progress=progress,
    )
    return model


@torch.no_grad()
def predict(model: ResNet1d, x: npt.NDArray[np.float32], batch: int = 256) -> npt.NDArray[np.float64]:
    model.eval()
    out = [torch.sigmoid(model(torch.from_numpy(x[i : i + batch]))).numpy() for i in range(0, len(x), batch)]
    return np.asarray(np.concatenate(out), dtype=np.float64)


def permutation_importance(
    model: ResNet1d, x: npt.NDArray[np.float32], y: npt.NDArray[np.int64], repeats: int = 5, seed: int = 0
) -> dict[str, dict[str, float]]:
    """Drop in ROC-AUC and accuracy when one feature column is shuffled across windows."""
    rng = np.random.default_rng(seed)
    base = binary_metrics(y, predict(model, x))
    out: dict[str, dict[str, float]] = {}
    for j, name in enumerate(EXPRESSION_FEATURES):
        d_auc, d_acc = [], []
        for _ in range(repeats):
            xp = x.copy()
            xp[:, :, j] = x[rng.permutation(len(x)), :, j]
            m = binary_metrics(y, predict(model, xp))
            d_auc.append(base["auc"] - m["auc"])
            d_acc.append(base["accuracy"] - m["accuracy"])
        out[name] = {
            "auc_drop": float(np.mean(d_auc)),
            "auc_drop_std": float(np.std(d_auc)),
            "accuracy_drop": float(np.mean(d_acc)),
        }
    return out


def gradient_saliency(model: ResNet1d, x: npt.NDArray[np.float32]) -> dict[str, float]:
    """Mean |gradient x (input - training mean)| per feature, normalised to sum 1."""
    model.eval()
    xt = torch.from_numpy(x[:512]).requires_grad_(True)
    model(xt).sum().backward()
    assert xt.grad is not None
    centred = xt.detach() - model.mean
    sal = (xt.grad * centred).abs().mean(dim=(0, 1)).numpy()
    sal = sal / max(float(sal.sum()), 1e-12)
    return {name: float(v) for name, v in zip(EXPRESSION_FEATURES, sal, strict=True)}


def mean_feature_baseline(
    x_tr: npt.NDArray[np.float32],
    y_tr: npt.NDArray[np.int64],
    x_te: npt.NDArray[np.float32],
    y_te: npt.NDArray[np.int64],
) -> dict[str, float]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    def summarise(a: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        return np.concatenate([a.mean(1), a.std(1), a.max(1)], axis=1)

    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    clf.fit(summarise(x_tr), y_tr)
    return binary_metrics(y_te, clf.predict_proba(summarise(x_te))[:, 1])


def train_and_ship(
    out_dir: Path | str,
    seed: int = 0,
    epochs: int = 15,
    n_subjects: int = 200,
    windows_per_state: int = 4,
    widths: tuple[int, ...] = (32, 48, 64),
    progress: Progress | None = None,
    dataset: SyntheticFaceDataset | None = None,
) -> dict[str, Any]:
    """Generate SYNTHETIC data, split 80/20 by subject, train, measure, export ONNX + model card."""
    torch.set_num_threads(max(1, min(2, torch.get_num_threads())))
    t0 = time.time()
    if progress is not None:
        progress("generating synthetic data", 0, 1)
    data = dataset or make_synthetic_dataset(n_subjects, windows_per_state, EXPRESSION_WINDOW, seed=seed)
    if progress is not None:
        progress("generating synthetic data", 1, 1)
    tr, te = subject_split(data.subject, 0.2, seed)
    cb = (lambda e, n: progress("training ResNet1d (synthetic)", e, n)) if progress else None
    model = train_classifier(data.x[tr], data.y[tr], seed=seed, epochs=epochs, widths=widths, progress=cb)
    p = predict(model, data.x[te])
    metrics = binary_metrics(data.y[te], p)
    if progress is not None:
        progress("permutation importance", 0, 1)
    importance = permutation_importance(model, data.x[te], data.y[te], seed=seed)
    saliency = gradient_saliency(model, data.x[te])
    baseline = mean_feature_baseline(data.x[tr], data.y[tr], data.x[te], data.y[te])
    if progress is not None:
        progress("permutation importance", 1, 1)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    example = torch.from_numpy(data.x[te][:2])
    export_onnx(model, example, out / MODEL_FILE, input_name="features", output_name="logit",
                dynamic_axes={1: "time"})
    parity = parity_max_abs_diff(model, out / MODEL_FILE, torch.from_numpy(data.x[te][:8, :120]))
    card = {
        "name": "soberpay expression ResNet1d (SYNTHETIC training data)",
        "version": datetime.now(UTC).strftime("%Y%m%d") + f"-s{seed}",
        "synthetic": True,
        "warning": "Trained and evaluated ONLY on synthetic sequences from soberpay_lab.training.synthetic_faces. "
        "Its numbers show that the pipeline recovers the simulated effects; they are NOT a measured "
        "accuracy on real guests.",
        "input": {"name": "features", "shape": [None, "T", len(EXPRESSION_FEATURES)],
                  "columns": list(EXPRESSION_FEATURES), "fps": EXPRESSION_FPS, "window": EXPRESSION_WINDOW,
                  "min_frames": 32},
        "output": {"name": "logit", "meaning": "logit of P(alcohol-influenced), sigmoid to get probability"},
        "data": {"n_subjects": n_subjects if dataset is None else int(len(np.unique(data.subject))),
                 "windows": int(len(data.y)), "split": "80/20 by synthetic subject", "seed": seed,
                 "test_subjects": int(len(np.unique(data.subject[te]))), "test_windows": int(te.sum())},
        "training": {"epochs": epochs, "loss": "binary cross-entropy", "widths": list(widths),
                     "augmentation": "random time crop (96..T), per-feature gain 10 %, Gaussian noise 5 % std",
                     "seconds": round(time.time() - t0, 1)},
        "synthetic_test_metrics": metrics,
        "synthetic_baseline_logreg_on_means": baseline,
        "permutation_importance": importance,
        "gradient_saliency": saliency,
        "onnx_parity_max_abs_diff": parity,
    }
    (out / CARD_FILE).write_text(json.dumps(card, indent=2, sort_keys=True, default=float))
    return card


__all__ = [
    "gradient_saliency",
    "mean_feature_baseline",
    "permutation_importance",
    "predict",
    "subject_split",
    "train_and_ship",
    "train_classifier",
]
