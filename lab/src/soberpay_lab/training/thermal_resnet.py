"""Train and evaluate the thermal ResNet face-state model on a Patras-style folder.

Protocol (all splits are by SUBJECT, never by image):

* cross-validation: subjects dealt into ``n_folds`` sex-stratified groups (GroupKFold by subject);
  for each fold a fresh ResNet is trained on the other folds, a reference store is built from the
  training subjects' features, and the held-out subjects are matched against it;
* the method's randomised stratified 70/30 split (by subject, stratified by sex) is reported too;
* the shipped model is then trained on all subjects of the folder (its numbers on that folder are
  therefore optimistic; the honest numbers are the cross-validated ones).

Training: binary cross-entropy on a linear head over the embedding (class-weighted, the data is
1 sober : 3 drunk), AdamW, cosine learning rate, augmentation (shift, flip, gain/offset, noise).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from torch.nn import functional as F  # noqa: N812

from soberpay.adapters.sobriety.face_state import CARD_FILE, MODEL_FILE, STORE_FILE, ReferenceStore
from soberpay.adapters.sobriety.thermal_preprocess import INPUT_H, INPUT_W, decode_grey, preprocess_thermal
from soberpay_lab.evaluation.thermal import (
    VIEWS,
    binary_metrics,
    plot_cv_roc,
    scan_thermal_folder,
    stratified_subject_split,
    subject_group_folds,
)
from soberpay_lab.training.export import export_onnx
from soberpay_lab.training.resnet1d2d import ResNet2d, fit_binary

Progress = Callable[[str, int, int], None]
ARCH: dict[str, Any] = {"widths": (16, 32, 64), "embed_dim": 32, "dropout": 0.2, "input_pool": 1}


@dataclass
class ThermalArrays:
    x: npt.NDArray[np.float32]  # (N, 1, H, W)
    y: npt.NDArray[np.int64]
    subjects: npt.NDArray[np.str_]
    views: npt.NDArray[np.str_]
    sessions: npt.NDArray[np.int64]
    sexes: npt.NDArray[np.str_]
    skipped: dict[str, int]

    def subset(self, mask: npt.NDArray[np.bool_]) -> ThermalArrays:
        return ThermalArrays(
            self.x[mask], self.y[mask], self.subjects[mask], self.views[mask], self.sessions[mask],
            self.sexes[mask], self.skipped,
        )


def load_arrays(root: Path | str, views: Sequence[str] = VIEWS) -> ThermalArrays:
    folder = scan_thermal_folder(root, views=views)
    xs = []
    for s in folder.samples:
        x, _ = preprocess_thermal(decode_grey(s.path.read_bytes()))
        xs.append(x)
    return ThermalArrays(
        x=np.stack(xs).astype(np.float32),
        y=np.array([s.drunk for s in folder.samples], dtype=np.int64),
        subjects=np.array([s.subject_id for s in folder.samples]),
        views=np.array([s.view for s in folder.samples]),
        sessions=np.array([s.session for s in folder.samples], dtype=np.int64),
        sexes=np.array([s.sex for s in folder.samples]),
        skipped={k: len(v) for k, v in folder.skipped.items()},
    )


def _augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    n = x.shape[0]
    pad = 4
    padded = F.pad(x, (pad, pad, pad, pad), mode="replicate")
    dx = torch.randint(0, 2 * pad + 1, (n,), generator=gen)
    dy = torch.randint(0, 2 * pad + 1, (n,), generator=gen)
    out = torch.stack([padded[i, :, dy[i] : dy[i] + INPUT_H, dx[i] : dx[i] + INPUT_W] for i in range(n)])
    flip = torch.rand(n, generator=gen) < 0.5
    out[flip] = out[flip].flip(-1)
    gain = 1.0 + 0.15 * torch.randn(n, 1, 1, 1, generator=gen)
    offset = 0.15 * torch.randn(n, 1, 1, 1, generator=gen)
    return out * gain + offset + 0.05 * torch.randn(out.shape, generator=gen)


def train_extractor(
    data: ThermalArrays,
    seed: int = 0,
    epochs: int = 40,
    batch_size: int = 32,
    lr: float = 2e-3,
    progress: Callable[[int, int], None] | None = None,
    arch: dict[str, Any] | None = None,
) -> ResNet2d:
    torch.manual_seed(seed)
    model = ResNet2d(**(arch if arch is not None else ARCH))
    n_pos = float(data.y.sum())
    pos_weight = torch.tensor((len(data.y) - n_pos) / max(n_pos, 1.0))
    fit_binary(
        model, model.logit, data.x, data.y, _augment,
        seed=seed, epochs=epochs, batch_size=batch_size, lr=lr, weight_decay=5e-4, pos_weight=pos_weight,
        progress=progress,
    )
    return model


@torch.no_grad()
def embed(model: ResNet2d, x: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    model.eval()
    return np.asarray(model(torch.from_numpy(x)).numpy(), dtype=np.float32)


@torch.no_grad()
def head_prob(model: ResNet2d, x: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    model.eval()
    return np.asarray(torch.sigmoid(model.logit(torch.from_numpy(x))).numpy(), dtype=np.float32)


def build_store(model: ResNet2d, data: ThermalArrays, calibrate: bool = True) -> ReferenceStore:
    store = ReferenceStore(embed(model, data.x), data.y, data.subjects, data.views, data.sessions)
    if calibrate:
        store.calibrate_severity()
    return store


def score_with_store(
    store: ReferenceStore, feats: npt.NDArray[np.float32], views: npt.NDArray[np.str_], use_view: bool = True
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    p, d = [], []
    for f, v in zip(feats, views, strict=True):
        pi, di, _ = store.match(f, view=str(v) if use_view else None)
        p.append(pi)
        d.append(di)
    return np.array(p), np.array(d)


def own_baseline_distance(feats: npt.NDArray[np.float32], data: ThermalArrays) -> npt.NDArray[np.float64]:
    """Cosine distance of each image to the SAME subject's sober image of the same view (NaN if none).

    This is the per-guest-baseline use of the extractor (enrolment image as the reference). The
    sober image itself gets distance 0, so only sessions 2-4 are informative.
    """
    out = np.full(len(feats), np.nan)
    for i in range(len(feats)):
        ref = np.flatnonzero(
            (data.subjects == data.subjects[i]) & (data.views == data.views[i]) & (data.sessions == 1)
        )
        if ref.size:
            out[i] = 1.0 - float(feats[ref[0]] @ feats[i])
    return out


def _fold_eval(
    train: ThermalArrays, test: ThermalArrays, seed: int, epochs: int, progress: Callable[[int, int], None] | None
) -> dict[str, Any]:
    model = train_extractor(train, seed=seed, epochs=epochs, progress=progress)
    store = build_store(model, train, calibrate=False)
    feats = embed(model, test.x)
    p_knn, dist = score_with_store(store, feats, test.views)
    p_head = head_prob(model, test.x)
    own = own_baseline_distance(feats, test)
    return {
        "own_baseline_distance": own.tolist(),
        "subjects": sorted(set(test.subjects.tolist())),
        "y": test.y.tolist(),
        "views": test.views.tolist(),
        "sessions": test.sessions.tolist(),
        "subject_ids": test.subjects.tolist(),
        "p_knn": p_knn.tolist(),
        "p_head": p_head.tolist(),
        "distance": dist.tolist(),
        "knn": binary_metrics(test.y, p_knn),
        "head": binary_metrics(test.y, p_head),
    }


def cross_validate(
    data: ThermalArrays,
    n_folds: int = 5,
    seed: int = 0,
    epochs: int = 40,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """GroupKFold by subject; returns per-fold and pooled metrics (kNN matching and the training head)."""
    from soberpay_lab.evaluation.thermal import ThermalSample

    samples = [
        ThermalSample(Path(""), "", str(s), int(se), str(v), str(sx))
        for s, se, v, sx in zip(data.subjects, data.sessions, data.views, data.sexes, strict=True)
    ]
    folds = subject_group_folds(samples, n_folds=n_folds, seed=seed)
    results = []
    for i, test_ids in enumerate(folds):
        mask = np.isin(data.subjects, test_ids)
        cb = (lambda e, n, i=i: progress(f"fold {i + 1}/{n_folds}", e, n)) if progress else None
        results.append(_fold_eval(data.subset(~mask), data.subset(mask), seed + i, epochs, cb))
    return _pool(results, "cv", seed)


def split_70_30(
    data: ThermalArrays, seed: int = 0, epochs: int = 40, progress: Progress | None = None
) -> dict[str, Any]:
    from soberpay_lab.evaluation.thermal import ThermalSample

    samples = [
        ThermalSample(Path(""), "", str(s), int(se), str(v), str(sx))
        for s, se, v, sx in zip(data.subjects, data.sessions, data.views, data.sexes, strict=True)
    ]
    _, test_ids = stratified_subject_split(samples, 0.3, seed=seed)
    mask = np.isin(data.subjects, test_ids)
    cb = (lambda e, n: progress("70/30 split", e, n)) if progress else None
    return _pool([_fold_eval(data.subset(~mask), data.subset(mask), seed, epochs, cb)], "split_70_30", seed)


def _own_baseline_summary(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Distance to the guest's own sober image by session, and how often it grows from 20 to 60 min."""
    dist = np.concatenate([r["own_baseline_distance"] for r in results])
    sess = np.concatenate([r["sessions"] for r in results])
    subj = np.concatenate([r["subject_ids"] for r in results])
    views = np.concatenate([r["views"] for r in results])
    by_session = {
        int(k): float(np.nanmean(dist[sess == k])) for k in (2, 3, 4) if np.isfinite(dist[sess == k]).any()
    }
    grows, pairs = 0, 0
    for s_id in np.unique(subj):
        for v in np.unique(views):
            d20 = dist[(subj == s_id) & (views == v) & (sess == 2)]
            d60 = dist[(subj == s_id) & (views == v) & (sess == 4)]
            if d20.size and d60.size and np.isfinite(d20[0]) and np.isfinite(d60[0]):
                pairs += 1
                grows += int(d60[0] > d20[0])
    return {"mean_distance_by_session": by_session, "pairs_60_vs_20": pairs,
            "share_60_further_than_20": grows / pairs if pairs else float("nan")}


def _pool(results: list[dict[str, Any]], kind: str, seed: int) -> dict[str, Any]:
    y = np.concatenate([r["y"] for r in results])
    pk = np.concatenate([r["p_knn"] for r in results])
    ph = np.concatenate([r["p_head"] for r in results])
    views = np.concatenate([r["views"] for r in results])
    per_view = {
        v: binary_metrics(y[views == v], pk[views == v]) for v in sorted(set(views.tolist()))
    }
    return {
        "kind": kind,
        "seed": seed,
        "folds": [
            {"subjects": r["subjects"], "n_images": len(r["y"]), "knn": r["knn"], "head": r["head"]} for r in results
        ],
        "pooled": {"knn": binary_metrics(y, pk), "head": binary_metrics(y, ph)},
        "pooled_knn_per_view": per_view,
        "majority_baseline": binary_metrics(y, np.ones_like(pk)),
        "own_baseline": _own_baseline_summary(results),
        "n_images": int(len(y)),
        "n_subjects": int(sum(len(r["subjects"]) for r in results)),
        "predictions": [
            {"fold": k, "subject": s, "view": v, "session": int(se), "y": int(yy), "p_knn": float(p),
             "distance": float(d)}
            for k, r in enumerate(results)
            for s, v, se, yy, p, d in zip(
                r["subject_ids"], r["views"], r["sessions"], r["y"], r["p_knn"], r["distance"], strict=True
            )
        ],
    }


def train_and_ship(
    data_dir: Path | str,
    out_dir: Path | str,
    seed: int = 0,
    epochs: int = 40,
    n_folds: int = 5,
    views: Sequence[str] = VIEWS,
    run_cv: bool = True,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Cross-validate (honest numbers), then train on all subjects and write ONNX + store + card."""
    torch.set_num_threads(max(1, min(2, torch.get_num_threads())))
    t0 = time.time()
    data = load_arrays(data_dir, views=views)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    cv = cross_validate(data, n_folds=n_folds, seed=seed, epochs=epochs, progress=progress) if run_cv else None
    split = split_70_30(data, seed=seed, epochs=epochs, progress=progress) if run_cv else None
    cb = (lambda e, n: progress("final model (all subjects)", e, n)) if progress else None
    model = train_extractor(data, seed=seed, epochs=epochs, progress=cb)
    store = build_store(model, data)
    export_onnx(model, torch.zeros(1, 1, INPUT_H, INPUT_W), out / MODEL_FILE, input_name="image", output_name="feature")
    store.save(out / STORE_FILE)
    card = {
        "name": "soberpay thermal face-state ResNet",
        "version": datetime.now(UTC).strftime("%Y%m%d") + f"-s{seed}",
        "modality": "thermal infrared (long-wave IR), NOT RGB",
        "data": "Patras Sober-Drunk thermal faces (research-only; Koukiou & Anastassopoulos 2012), "
        f"{len(set(data.subjects.tolist()))} subjects, {len(data.y)} images, views {sorted(set(views))}",
        "skipped": data.skipped,
        "labels": "drunk = photographed 20/40/60 min after drinking (time since drinking, not measured BAC)",
        "input": {"name": "image", "shape": [None, 1, INPUT_H, INPUT_W], "preprocess": "thermal_preprocess"},
        "output": {"name": "feature", "dim": model.embed_dim, "normalised": True},
        "matching": {"k": store.k, "tau": store.tau, "k_sober": store.k_sober, "class_balanced": True,
                     "severity_distance_lo": store.sober_dist_lo, "severity_distance_hi": store.sober_dist_hi},
        "training": {"epochs": epochs, "seed": seed, "loss": "BCE (class-weighted) on a linear head",
                     "seconds": round(time.time() - t0, 1)},
        "honest_numbers": "cross_validation (subjects held out). Numbers of this shipped model on its own "
        "training folder include training subjects and are optimistic.",
        "cross_validation": _strip(cv),
        "split_70_30": _strip(split),
        "limits": [
            "31 subjects, one frame per view per session; labels are time since drinking",
            "thermal grey levels are display values, not temperatures; palettes differ between images",
            "does not transfer to RGB webcams",
            "reference features derive from research-only data: rebuild the store before any production use",
        ],
    }
    (out / CARD_FILE).write_text(json.dumps(card, indent=2, sort_keys=True, default=float))
    if cv is not None:
        (out / "cv_predictions.json").write_text(json.dumps({"cv": cv["predictions"]}, default=float))
        plot_cv_roc(cv["predictions"], out / "cv_roc.png",
                    f"Thermal face state, subject-held-out {n_folds}-fold CV (REAL data)")
    return card


def _strip(res: dict[str, Any] | None) -> dict[str, Any] | None:
    if res is None:
        return None
    return {k: v for k, v in res.items() if k != "predictions"}


__all__ = [
    "ThermalArrays",
    "build_store",
    "cross_validate",
    "embed",
    "load_arrays",
    "split_70_30",
    "train_and_ship",
    "train_extractor",
]
