"""Train the small 1-D pose CNN on SYNTHETIC pose windows and export its embedding to ONNX.

The method (S104) asks for CNN features over pose windows. No labelled real pose data of sober and
drunk guests exists here, so the network is pre-trained to tell apart SYNTHETIC movement classes
(standing still/swaying, sitting still/swaying, walking/staggering, gesturing; see
``synthetic_pose.CNN_CLASSES``). Its penultimate layer (32-d, L2-normalised) is the pose embedding
compared against each guest's own normal windows. The classification accuracy reported in the
model card is on held-out SYNTHETIC windows: it says the features separate these movement
patterns, not that they detect drunkenness.

torch is imported only here (training); inference uses the exported ONNX through onnxruntime.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from soberpay.adapters.sobriety.features import POSE_CNN_CHANNELS, POSE_CNN_WINDOW
from soberpay.adapters.sobriety.pose import CNN_SAMPLE_HZ, PoseTimeSeries
from soberpay_lab.training.synthetic_pose import CNN_CLASSES, random_class_params, synthetic_pose_sequence

EMBED_DIM = 32


def synthetic_windows(
    n_per_class: int, seed: int, progress: Callable[[int], None] | None = None
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
    """SYNTHETIC (C, T) windows produced through the same cleaning/normalisation as live inference."""
    rng = np.random.default_rng(seed)
    xs: list[npt.NDArray[np.float32]] = []
    ys: list[int] = []
    seconds = POSE_CNN_WINDOW / CNN_SAMPLE_HZ
    for ci, cls in enumerate(CNN_CLASSES):
        for _ in range(n_per_class):
            p = random_class_params(cls, rng)
            fps = float(rng.uniform(8, 20))
            t, xy = synthetic_pose_sequence(p, seconds + 0.5, fps, t0=float(rng.uniform(0, 5)))
            ts = PoseTimeSeries(window_seconds=seconds + 1.0)
            for ti, x in zip(t, xy, strict=True):
                ts.add(float(ti), x)
            w = ts.cnn_window()
            if w is None:
                continue
            xs.append(w)
            ys.append(ci)
            if progress:
                progress(1)
    return np.stack(xs), np.array(ys, dtype=np.int64)


@dataclass
class PoseCnnReport:
    train_windows: int
    test_windows: int
    test_accuracy: float
    per_class_recall: dict[str, float]
    seconds: float
    onnx_bytes: int


def train_pose_cnn(
    out_dir: Path,
    n_per_class: int = 300,
    epochs: int = 12,
    seed: int = 0,
    threads: int = 1,
    progress_factory: Callable[[str, int], Callable[[int], None]] | None = None,
) -> PoseCnnReport:
    import torch
    from torch import nn

    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    started = time.time()
    total = n_per_class * len(CNN_CLASSES)
    adv = progress_factory("synthetic pose windows", 2 * total) if progress_factory else None
    x_tr, y_tr = synthetic_windows(n_per_class, seed, adv)
    x_te, y_te = synthetic_windows(n_per_class // 3, seed + 1, adv)

    class PoseCnn(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.features = nn.Sequential(
                nn.Conv1d(POSE_CNN_CHANNELS, 48, 5, padding=2),
                nn.BatchNorm1d(48),
                nn.ReLU(),
                nn.Conv1d(48, 64, 5, stride=2, padding=2),
                nn.BatchNorm1d(64),
                nn.ReLU(),
                nn.Conv1d(64, 64, 3, padding=1),
                nn.BatchNorm1d(64),
                nn.ReLU(),
                nn.AdaptiveAvgPool1d(1),
                nn.Flatten(),
                nn.Linear(64, EMBED_DIM),
            )
            self.head = nn.Sequential(nn.ReLU(), nn.Linear(EMBED_DIM, len(CNN_CLASSES)))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            out: torch.Tensor = self.head(self.features(x))
            return out

    model = PoseCnn()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
    loss_fn = nn.CrossEntropyLoss()
    xt, yt = torch.from_numpy(x_tr), torch.from_numpy(y_tr)
    g = torch.Generator().manual_seed(seed)
    ep = progress_factory("train pose CNN (epochs)", epochs) if progress_factory else None
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(len(xt), generator=g)
        for i in range(0, len(xt), 64):
            idx = perm[i : i + 64]
            xb = xt[idx]
            # augmentation: small scale change and noise (normalised units)
            xb = xb * (1.0 + 0.05 * torch.randn(len(idx), 1, 1, generator=g))
            xb = xb + 0.01 * torch.randn(xb.shape, generator=g)
            opt.zero_grad()
            loss = loss_fn(model(xb), yt[idx])
            loss.backward()
            opt.step()
        if ep:
            ep(1)
    model.eval()
    with torch.no_grad():
        pred = model(torch.from_numpy(x_te)).argmax(1).numpy()
    acc = float((pred == y_te).mean())
    recall = {c: float((pred[y_te == i] == i).mean()) for i, c in enumerate(CNN_CLASSES)}

    out_dir.mkdir(parents=True, exist_ok=True)
    onnx_path = out_dir / "pose_cnn.onnx"
    dummy = torch.zeros(1, POSE_CNN_CHANNELS, POSE_CNN_WINDOW)
    torch.onnx.export(
        model.features,
        (dummy,),
        str(onnx_path),
        input_names=["poses"],
        output_names=["embedding"],
        dynamic_axes={"poses": {0: "n"}, "embedding": {0: "n"}},
        opset_version=17,
        dynamo=False,
    )
    report = PoseCnnReport(
        train_windows=len(x_tr),
        test_windows=len(x_te),
        test_accuracy=acc,
        per_class_recall=recall,
        seconds=time.time() - started,
        onnx_bytes=onnx_path.stat().st_size,
    )
    _write_card(out_dir, report, n_per_class, epochs, seed)
    return report


def _write_card(out_dir: Path, r: PoseCnnReport, n_per_class: int, epochs: int, seed: int) -> None:
    meta = {
        "model": "pose_cnn",
        "data": "SYNTHETIC stick-figure pose windows (soberpay_lab.training.synthetic_pose)",
        "classes": list(CNN_CLASSES),
        "input": f"poses float32 [n, {POSE_CNN_CHANNELS}, {POSE_CNN_WINDOW}] torso-normalised x then y",
        "output": f"embedding float32 [n, {EMBED_DIM}] (L2-normalise before use)",
        "train_windows": r.train_windows,
        "test_windows": r.test_windows,
        "synthetic_test_accuracy": round(r.test_accuracy, 4),
        "synthetic_per_class_recall": {k: round(v, 4) for k, v in r.per_class_recall.items()},
        "n_per_class": n_per_class,
        "epochs": epochs,
        "seed": seed,
        "train_seconds": round(r.seconds, 1),
        "onnx_bytes": r.onnx_bytes,
    }
    (out_dir / "pose_cnn.json").write_text(json.dumps(meta, indent=2) + "\n")
    lines = [
        "# Model card: pose CNN (pose_cnn.onnx)",
        "",
        "- **What**: 1-D CNN (3 conv layers, 32-d embedding) over 3.2 s pose windows (10 Hz, 13 joints,",
        "  torso-normalised x/y). The embedding is compared with the guest's own normal windows;",
        "  it is not a drunkenness classifier.",
        "- **Training data**: SYNTHETIC stick-figure sequences only (`soberpay_lab.training.synthetic_pose`),",
        f"  classes {', '.join(CNN_CLASSES)}; {r.train_windows} windows, {epochs} epochs, seed {seed}.",
        f"- **Measured (SYNTHETIC held-out windows, {r.test_windows})**: accuracy {r.test_accuracy:.3f}.",
        "  Per-class recall: " + ", ".join(f"{k} {v:.2f}" for k, v in r.per_class_recall.items()) + ".",
        "- **Not measured**: anything on real people. Real poses from MediaPipe are noisier and",
        "  partly occluded (KTV sofas hide legs); the per-guest normal model is what makes it usable.",
        f"- **Size**: {r.onnx_bytes} bytes ONNX. Rebuild: `soberpay train sobriety pose-cnn`.",
        "",
    ]
    (out_dir / "pose_cnn.md").write_text("\n".join(lines))


__all__ = ["EMBED_DIM", "PoseCnnReport", "synthetic_windows", "train_pose_cnn"]
