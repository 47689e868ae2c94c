"""End-to-end training run for the autoencoder face model: data -> train -> held-out metrics -> artifacts.

Used by ``soberpay train face-model`` and by benchmarks/ablation_autoencoder.py.

Data modes:

* one folder (``unlabelled_dir`` None): people are split subject-disjointly into training and
  held-out people (``heldout_people``); for the training people ``labelled_fraction`` of each
  person's images keep their label, the rest form the unlabelled pool (labels withheld);
* two folders: the labelled folder is split the same way (held-out people are only used for
  evaluation); every image found under ``unlabelled_dir`` (any layout) joins the unlabelled pool.
  Make sure the unlabelled folder does not contain the held-out people.

In both modes the pool is extended with fresh augmented views of all training images every epoch
(see ``train_model``).
"""

from __future__ import annotations

import datetime as _dt
import json
import platform
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from soberpay.adapters.vision.autoencoder import CARD_FILENAME, MODEL_FILENAME, AutoencoderEmbedder
from soberpay.errors import InvalidInput
from soberpay.ports import FaceDetector
from soberpay_lab.training import autoencoder_data as data
from soberpay_lab.training.autoencoder import (
    TrainConfig,
    TrainResult,
    count_parameters,
    embed_numpy,
    export_onnx,
    train_model,
)
from soberpay_lab.training.autoencoder_eval import HeldoutResult, evaluate_heldout


@dataclass
class FaceDataset:
    labelled: npt.NDArray[np.float32]
    labels: npt.NDArray[np.int64]
    class_names: list[str]
    unlabelled: npt.NDArray[np.float32]
    heldout: npt.NDArray[np.float32]
    heldout_persons: list[str]
    heldout_samples: list[data.FaceSample]
    split: data.SubjectSplit
    info: dict[str, Any] = field(default_factory=dict)


def prepare_dataset(
    labelled_dir: Path,
    unlabelled_dir: Path | None = None,
    *,
    heldout_people: int = 10,
    labelled_fraction: float | None = None,
    seed: int = 0,
    input_size: int = 64,
    detector: FaceDetector | None = None,
    keep_heldout_images: bool = False,
    on_image: Callable[[], None] | None = None,
) -> FaceDataset:
    people = data.list_people(labelled_dir)
    split = data.subject_split(list(people), heldout_people, seed)
    det = detector if detector is not None else data.default_detector()
    frac = labelled_fraction if labelled_fraction is not None else (0.5 if unlabelled_dir is None else 1.0)
    train_people = {p: people[p] for p in split.train_people}
    held_people = {p: people[p] for p in split.heldout_people}
    train_samples, rep_t = data.load_faces(train_people, det, input_size=input_size, on_image=on_image)
    held_samples, rep_h = data.load_faces(
        held_people, det, input_size=input_size, keep_images=keep_heldout_images, on_image=on_image
    )
    lab, unl = data.partition_labels(train_samples, frac, seed)
    extra = np.zeros((0, 1, input_size, input_size), np.float32)
    rep_u = data.LoadReport()
    if unlabelled_dir is not None:
        paths = data.list_images(unlabelled_dir)
        if not paths:
            raise InvalidInput(f"no images under {unlabelled_dir}", path=str(unlabelled_dir))
        u_samples, rep_u = data.load_faces({"_unlabelled": paths}, det, input_size=input_size, on_image=on_image)
        extra = data.stack_crops(u_samples)
    unl_crops = np.concatenate([data.stack_crops(unl), extra]) if len(unl) else extra
    labels, names = data.encode_labels(lab)
    n_lab, n_unl = len(lab), len(unl_crops)
    info = {
        "labelled_dir": str(labelled_dir),
        "unlabelled_dir": str(unlabelled_dir) if unlabelled_dir else None,
        "mode": "one folder, labels withheld" if unlabelled_dir is None else "labelled + unlabelled folders",
        "train_people": list(split.train_people),
        "heldout_people": list(split.heldout_people),
        "labelled_images": n_lab,
        "unlabelled_images": n_unl,
        "labelled_fraction_setting": frac,
        "labelled_fraction": round(n_lab / max(n_lab + n_unl, 1), 4),
        "heldout_images": len(held_samples),
        "images_without_face": rep_t.no_face + rep_h.no_face + rep_u.no_face,
        "alignment": "YuNet 5 landmarks -> similarity warp to 112x112 (SFace template) -> grey -> "
        f"{input_size}x{input_size}; images with a side < 200 px upscaled 2x and padded first (pad_small_image)",
    }
    return FaceDataset(
        labelled=data.stack_crops(lab),
        labels=labels,
        class_names=names,
        unlabelled=unl_crops.astype(np.float32),
        heldout=data.stack_crops(held_samples),
        heldout_persons=[s.person for s in held_samples],
        heldout_samples=held_samples,
        split=split,
        info=info,
    )


def fit(dataset: FaceDataset, config: TrainConfig, on_epoch: Callable[[Any], None] | None = None) -> TrainResult:
    return train_model(dataset.labelled, dataset.labels, dataset.unlabelled, config, on_epoch=on_epoch)


def evaluate_torch(result: TrainResult, dataset: FaceDataset) -> HeldoutResult:
    return evaluate_heldout(embed_numpy(result.model, dataset.heldout), dataset.heldout_persons)


def plot_losses(result: TrainResult, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    h = result.history
    ep = [e.epoch for e in h]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    ax1.plot(ep, [e.loss_a for e in h], label="LossA (supervised)")
    ax1.plot(ep, [e.loss for e in h], label=f"Loss (gamma={result.config.gamma})")
    ax2.plot(ep, [e.loss_b for e in h], label="LossB = L1+L2+L3")
    for k, lab in (("loss1", "Loss1 d3~u1"), ("loss2", "Loss2 d2~u2"), ("loss3", "Loss3 d1~u3")):
        ax2.plot(ep, [getattr(e, k) for e in h], label=lab, lw=1)
    for ax, key in ((ax1, "loss_a"), (ax2, "loss_b")):
        ce = result.convergence_epoch.get(key)
        if ce:
            ax.axvline(ce, color="grey", ls="--", lw=1, label=f"{key} plateau @ {ce}")
        ax.set_xlabel("epoch")
        ax.set_yscale("log")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    ax1.set_title("supervised")
    ax2.set_title("unsupervised (mirror-level reconstruction)")
    fig.suptitle(f"autoencoder face model - stop: {result.stop_reason}", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_artifacts(out_dir: Path, result: TrainResult, dataset: FaceDataset) -> dict[str, Any]:
    """Export ONNX, measure the exported model on the held-out people, write model card + loss plot."""
    out_dir.mkdir(parents=True, exist_ok=True)
    onnx_path = export_onnx(result.model, out_dir / MODEL_FILENAME)
    emb_onnx = AutoencoderEmbedder(onnx_path).embed_tensors(dataset.heldout)
    emb_torch = embed_numpy(result.model, dataset.heldout)
    parity = float(np.abs(emb_onnx - emb_torch).max())
    heldout = evaluate_heldout(emb_onnx, dataset.heldout_persons)
    plot_losses(result, out_dir / "loss_curves.png")
    cfg = result.config
    card: dict[str, Any] = {
        "model": "soberpay semi-supervised convolutional autoencoder face embedder",
        "source": "finance patent CN112364828B claims 1-4 (conv1-3 encoder, conv4-6 decoder, FC head on d3)",
        "file": MODEL_FILENAME,
        "onnx": {"input": "input (N,1,64,64) float32 grey in [0,1]", "output": "embedding (N,D) L2-normalised"},
        "date": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "data": dataset.info,
        "split": {
            "kind": "subject-disjoint",
            "train_people": len(dataset.split.train_people),
            "heldout_people": len(dataset.split.heldout_people),
            "seed": cfg.seed,
        },
        "labelled_fraction": dataset.info["labelled_fraction"],
        "gamma": cfg.gamma,
        "loss_a": cfg.model.loss_a,
        "unlabelled_pool": cfg.use_unlabelled,
        "architecture": {
            "channels": list(cfg.model.channels),
            "embedding_dim": cfg.model.embedding_dim,
            "parameters_total": count_parameters(result.model),
            "parameters_inference": count_parameters(result.model, ["conv1", "conv2", "conv3", "fc"]),
        },
        "convergence_rule": (
            f"EMA (alpha={cfg.ema_alpha}) of each epoch-mean loss; a loss is on a plateau when its EMA improved "
            f"by < {cfg.rel_tol:.0%} (relative) over the last {cfg.patience} epochs; stop when LossA and "
            f"Loss1, Loss2, Loss3 are all on a plateau (epoch >= {cfg.min_epochs}); cap {cfg.max_epochs} epochs"
        ),
        "training": result.summary(),
        "history": [
            {k: round(v, 5) if isinstance(v, float) else v for k, v in vars(e).items() if k != "plateau"}
            for e in result.history
        ],
        "metrics_heldout": heldout.as_dict(),
        "match_threshold_far_0.1pct": round(heldout.threshold_far_1e3, 4),
        "torch_onnx_max_abs_diff": parity,
        "environment": {"python": platform.python_version(), "machine": platform.machine()},
        "limits": "ORL: 40 people, grey, frontal, one studio; a 3-layer encoder trained on 30 people is a "
        "research baseline, not a production face recogniser (compare SFace in docs/research/autoencoder.md).",
    }
    (out_dir / CARD_FILENAME).write_text(json.dumps(card, indent=2, default=str), encoding="utf-8")
    return card
