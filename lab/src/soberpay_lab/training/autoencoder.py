"""Semi-supervised convolutional autoencoder face model (finance patent CN112364828B, claims 1-4).

Architecture (input: aligned grey face, 1x64x64; see docs/research/autoencoder.md for the diagram)::

    x  1x64x64
    conv1  5x5 s2  ->  d1  C1x32x32        conv6  ConvT 4x4 s2 <- u2   ->  u3  C1x32x32   (Loss3: d1 ~ u3)
    conv2  3x3 s2  ->  d2  C2x16x16        conv5  ConvT 4x4 s2 <- u1   ->  u2  C2x16x16   (Loss2: d2 ~ u2)
    conv3  3x3 s2  ->  d3  C3x8x8    ->    conv4  3x3 s1       <- d3   ->  u1  C3x8x8     (Loss1: d3 ~ u1)
    FC head on d3: flatten -> dropout -> Linear(C3*8*8, D) -> BatchNorm1d -> embedding (D)
                   -> classifier (softmax / CosFace / ArcFace) -> logits over training identities

The patent pairs u1 with d3, u2 with d2 and u3 with d1, so u1 must have d3's shape: conv4 keeps the
8x8 resolution (stride 1) and the two spatial upsamplings happen in conv5 and conv6 (transposed
convolutions, stride 2). Channels mirror the encoder (C3 -> C3 -> C2 -> C1).

Losses:

* LossA (supervised, labelled images): cross-entropy over the classifier logits; the classifier is
  plain softmax or a margin head (CosFace / ArcFace) - compared in docs/research/autoencoder.md.
* LossB (unsupervised, unlabelled pool): Loss1(d3, u1) + Loss2(d2, u2) + Loss3(d1, u3). Each term is a
  normalised MSE ``mean((u - sg(d))^2) / mean(sg(d)^2)`` between the decoder output and the *clean*
  encoder feature of the same image (``sg`` = stop-gradient), while the decoder path is fed the
  encoder features of a noise-corrupted copy (a denoising, ladder-network style reading of the
  claim). Stop-gradient on the target plus scale normalisation prevent the trivial solution in
  which the encoder shrinks its features to make the reconstruction error small.
* Loss = gamma * LossA + (1 - gamma) * LossB, gamma in (0.5, 1); gamma = 1 is accepted only as the
  supervised-only ablation.

Stopping (claims 1-3): training ends when LossA has converged AND LossB has converged, where LossB has
converged when Loss1, Loss2 and Loss3 each have. A loss has converged at epoch t when the relative
improvement of its exponential moving average over the last ``patience`` epochs is below ``rel_tol``
(``PlateauDetector``); ``max_epochs`` is a safety cap and ``min_epochs`` a warm-up.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import torch
import torch.nn.functional as F
from torch import nn

from soberpay.errors import InvalidInput

__all__ = [
    "ConvAutoencoderFaceNet",
    "ConvergenceMonitor",
    "EpochLog",
    "LossAKind",
    "ModelConfig",
    "PlateauDetector",
    "TrainConfig",
    "TrainResult",
    "augment_batch",
    "count_parameters",
    "embed_numpy",
    "export_onnx",
    "loss_b_terms",
    "total_loss",
    "train_model",
    "validate_gamma",
]

LossAKind = Literal["softmax", "cosface", "arcface"]


# ----------------------------------------------------------------------------------------------
# model


@dataclass(frozen=True)
class ModelConfig:
    input_size: int = 64
    channels: tuple[int, int, int] = (32, 64, 128)
    embedding_dim: int = 128
    dropout: float = 0.3
    loss_a: LossAKind = "cosface"
    scale: float = 16.0  # s of the margin heads (logit scale on cosines)
    margin: float = 0.35  # m: additive cosine margin (CosFace) or additive angular margin (ArcFace)

    def __post_init__(self) -> None:
        if self.input_size % 8 != 0 or self.input_size < 16:
            raise InvalidInput("input_size must be a multiple of 8 (three stride-2 layers), >= 16")
        if self.loss_a not in ("softmax", "cosface", "arcface"):
            raise InvalidInput(f"unknown LossA kind {self.loss_a!r}")


def _block(conv: nn.Module, out_ch: int) -> nn.Sequential:
    return nn.Sequential(conv, nn.BatchNorm2d(out_ch), nn.ReLU(inplace=False))


class MarginHead(nn.Module):
    """Classifier on the embedding: softmax (linear) or cosine logits with a CosFace/ArcFace margin."""

    def __init__(self, dim: int, n_classes: int, kind: LossAKind, scale: float, margin: float) -> None:
        super().__init__()
        self.kind = kind
        self.scale = scale
        self.margin = margin
        self.weight = nn.Parameter(torch.empty(n_classes, dim))
        nn.init.xavier_uniform_(self.weight)
        self.bias = nn.Parameter(torch.zeros(n_classes)) if kind == "softmax" else None

    def forward(self, emb: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if self.kind == "softmax":
            return F.linear(emb, self.weight, self.bias)
        cos = F.linear(F.normalize(emb), F.normalize(self.weight)).clamp(-1.0 + 1e-7, 1.0 - 1e-7)
        if labels is None:  # inference logits: plain scaled cosines
            return self.scale * cos
        onehot = F.one_hot(labels, cos.shape[1]).to(cos.dtype)
        if self.kind == "cosface":
            target = cos - self.margin
        else:  # arcface: cos(theta + m), with the usual fallback where theta + m > pi
            theta = torch.acos(cos)
            target = torch.where(
                theta + self.margin < math.pi,
                torch.cos(theta + self.margin),
                cos - self.margin * math.sin(self.margin),
            )
        return self.scale * (onehot * target + (1.0 - onehot) * cos)


class ConvAutoencoderFaceNet(nn.Module):
    """conv1-3 encoder (d1, d2, d3), conv4-6 decoder (u1, u2, u3), FC supervised head on d3."""

    def __init__(self, cfg: ModelConfig, n_classes: int) -> None:
        super().__init__()
        self.cfg = cfg
        c1, c2, c3 = cfg.channels
        self.conv1 = _block(nn.Conv2d(1, c1, 5, stride=2, padding=2, bias=False), c1)
        self.conv2 = _block(nn.Conv2d(c1, c2, 3, stride=2, padding=1, bias=False), c2)
        self.conv3 = _block(nn.Conv2d(c2, c3, 3, stride=2, padding=1, bias=False), c3)
        self.conv4 = _block(nn.Conv2d(c3, c3, 3, stride=1, padding=1, bias=False), c3)
        self.conv5 = _block(nn.ConvTranspose2d(c3, c2, 4, stride=2, padding=1, bias=False), c2)
        self.conv6 = _block(nn.ConvTranspose2d(c2, c1, 4, stride=2, padding=1, bias=False), c1)
        side = cfg.input_size // 8
        self.fc = nn.Sequential(
            nn.Flatten(),
            nn.Dropout(cfg.dropout),
            nn.Linear(c3 * side * side, cfg.embedding_dim, bias=False),
            nn.BatchNorm1d(cfg.embedding_dim),
        )
        self.head = MarginHead(cfg.embedding_dim, n_classes, cfg.loss_a, cfg.scale, cfg.margin)

    @staticmethod
    def normalise_input(x: torch.Tensor) -> torch.Tensor:
        return (x - 0.5) / 0.5

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        d1 = self.conv1(self.normalise_input(x))
        d2 = self.conv2(d1)
        d3 = self.conv3(d2)
        return d1, d2, d3

    def decode(self, d3: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        u1 = self.conv4(d3)
        u2 = self.conv5(u1)
        u3 = self.conv6(u2)
        return u1, u2, u3

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Raw (un-normalised) embedding from the FC head on d3."""
        return self.fc(self.encode(x)[2])  # type: ignore[no-any-return]

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        d1, d2, d3 = self.encode(x)
        u1, u2, u3 = self.decode(d3)
        emb = self.fc(d3)
        return {"d1": d1, "d2": d2, "d3": d3, "u1": u1, "u2": u2, "u3": u3, "embedding": emb}


class _EmbeddingGraph(nn.Module):
    """What gets exported: input (N,1,S,S) in [0,1] -> L2-normalised embedding (N,D).

    With ``flip_tta`` the embedding is the sum of the embeddings of the crop and its mirror image
    (test-time augmentation; doubles the tiny inference cost).
    """

    def __init__(self, model: ConvAutoencoderFaceNet, flip_tta: bool = True) -> None:
        super().__init__()
        self.model = model
        self.flip_tta = flip_tta

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e = self.model.embed(x)
        if self.flip_tta:
            e = e + self.model.embed(torch.flip(x, dims=[3]))
        return F.normalize(e, dim=1)


# ----------------------------------------------------------------------------------------------
# losses


def validate_gamma(gamma: float, *, allow_supervised_only: bool = True) -> float:
    """gamma must lie in (0.5, 1) (patent); 1.0 is accepted only as the supervised-only ablation."""
    g = float(gamma)
    if math.isnan(g) or g <= 0.5 or g > 1.0 or (g == 1.0 and not allow_supervised_only):
        raise InvalidInput(
            f"gamma must be in (0.5, 1) (1.0 only for the supervised-only ablation), got {gamma}",
            gamma=gamma,
        )
    return g


def normalised_mse(u: torch.Tensor, target: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    t = target.detach()
    return ((u - t) ** 2).mean() / ((t**2).mean() + eps)


def loss_b_terms(
    clean: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
    recon: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(Loss1, Loss2, Loss3) = (nMSE(u1, d3), nMSE(u2, d2), nMSE(u3, d1)); shapes must match."""
    d1, d2, d3 = clean
    u1, u2, u3 = recon
    for name, d, u in (("d3/u1", d3, u1), ("d2/u2", d2, u2), ("d1/u3", d1, u3)):
        if d.shape != u.shape:
            raise ValueError(f"level {name}: shapes differ {tuple(d.shape)} vs {tuple(u.shape)}")
    return normalised_mse(u1, d3), normalised_mse(u2, d2), normalised_mse(u3, d1)


def total_loss(loss_a: torch.Tensor, loss_b: torch.Tensor, gamma: float) -> torch.Tensor:
    g = validate_gamma(gamma)
    if g == 1.0:
        return loss_a
    return g * loss_a + (1.0 - g) * loss_b


# ----------------------------------------------------------------------------------------------
# convergence


@dataclass
class PlateauDetector:
    """Plateau rule on one loss curve (one value per epoch).

    ``ema_t = alpha * loss_t + (1 - alpha) * ema_{t-1}``; converged at epoch t (t >= patience) when
    ``(ema_{t-patience} - ema_t) / max(|ema_{t-patience}|, floor) < rel_tol``: the smoothed loss
    improved by less than ``rel_tol`` (relative) over the last ``patience`` epochs. A rising loss
    counts as converged too (nothing more to gain by waiting). ``floor`` keeps a loss already near
    zero from looking unconverged because of tiny absolute wiggles.
    """

    rel_tol: float = 0.02
    patience: int = 5
    alpha: float = 0.3
    floor: float = 1e-3
    ema: list[float] = field(default_factory=list)
    converged_at: int | None = None  # first epoch (1-based) at which the rule held

    def __post_init__(self) -> None:
        if not (0 < self.alpha <= 1) or self.patience < 1 or self.rel_tol <= 0:
            raise InvalidInput("plateau detector: need 0 < alpha <= 1, patience >= 1, rel_tol > 0")

    def update(self, value: float) -> bool:
        if not math.isfinite(value):
            raise FloatingPointError(f"loss is not finite: {value}")
        prev = self.ema[-1] if self.ema else value
        self.ema.append(self.alpha * value + (1 - self.alpha) * prev)
        ok = self.is_converged()
        if ok and self.converged_at is None:
            self.converged_at = len(self.ema)
        return ok

    def relative_improvement(self) -> float | None:
        if len(self.ema) <= self.patience:
            return None
        old, new = self.ema[-1 - self.patience], self.ema[-1]
        return (old - new) / max(abs(old), self.floor)

    def is_converged(self) -> bool:
        r = self.relative_improvement()
        return r is not None and r < self.rel_tol


@dataclass
class ConvergenceMonitor:
    """LossA and LossB (= Loss1, Loss2, Loss3 each) must all be on a plateau at the same epoch."""

    rel_tol: float = 0.02
    patience: int = 5
    alpha: float = 0.3
    track_b: bool = True
    detectors: dict[str, PlateauDetector] = field(default_factory=dict)
    converged_epoch: dict[str, int | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        names = ["loss_a"] + (["loss1", "loss2", "loss3"] if self.track_b else [])
        self.detectors = {n: PlateauDetector(self.rel_tol, self.patience, self.alpha) for n in names}

    def update(self, losses: dict[str, float]) -> dict[str, bool]:
        """Feed one epoch's mean losses; returns per-loss plateau flags (incl. ``loss_b`` and ``all``)."""
        epoch = len(next(iter(self.detectors.values())).ema) + 1
        state = {n: d.update(losses[n]) for n, d in self.detectors.items()}
        if self.track_b:
            state["loss_b"] = state["loss1"] and state["loss2"] and state["loss3"]
        state["all"] = all(state[n] for n in (["loss_a", "loss_b"] if self.track_b else ["loss_a"]))
        for n in ("loss_a", "loss_b", "loss1", "loss2", "loss3"):
            if state.get(n) and self.converged_epoch.get(n) is None:
                self.converged_epoch[n] = epoch
        return state


# ----------------------------------------------------------------------------------------------
# augmentation (in memory, torch, seeded)


def augment_batch(
    x: torch.Tensor,
    gen: torch.Generator,
    *,
    max_rot_deg: float = 10.0,
    scale: tuple[float, float] = (0.9, 1.1),
    max_shift: float = 0.06,
    flip: bool = True,
    brightness: float = 0.12,
    contrast: tuple[float, float] = (0.75, 1.25),
) -> torch.Tensor:
    """Random similarity warp + horizontal flip + brightness/contrast jitter of (N,1,S,S) in [0,1]."""
    n = x.shape[0]

    def u(lo: float, hi: float) -> torch.Tensor:
        return lo + (hi - lo) * torch.rand(n, generator=gen)

    ang = u(-max_rot_deg, max_rot_deg) * math.pi / 180
    sc = u(*scale)
    tx, ty = u(-max_shift, max_shift), u(-max_shift, max_shift)
    fl = torch.where(torch.rand(n, generator=gen) < 0.5, -1.0, 1.0) if flip else torch.ones(n)
    cos, sin = torch.cos(ang) / sc, torch.sin(ang) / sc
    theta = torch.stack(
        [torch.stack([cos * fl, -sin, tx], 1), torch.stack([sin * fl, cos, ty], 1)], 1
    ).to(x.dtype)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    out = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    mean = out.mean(dim=(1, 2, 3), keepdim=True)
    c = u(*contrast).view(n, 1, 1, 1)
    b = u(-brightness, brightness).view(n, 1, 1, 1)
    return ((out - mean) * c + mean + b).clamp(0.0, 1.0)


# ----------------------------------------------------------------------------------------------
# training


@dataclass(frozen=True)
class TrainConfig:
    gamma: float = 0.7
    use_unlabelled: bool = True
    model: ModelConfig = field(default_factory=ModelConfig)
    lr: float = 2e-3
    lr_decay: float = 0.95  # per-epoch exponential decay, so that the losses settle onto a plateau
    weight_decay: float = 5e-4
    batch_labelled: int = 32
    batch_unlabelled: int = 48
    views_per_image: int = 2  # augmented views per training image added to the unlabelled pool
    noise_std: float = 0.1  # corruption of the decoder-path input (denoising)
    min_epochs: int = 15
    max_epochs: int = 100
    rel_tol: float = 0.02
    patience: int = 5
    ema_alpha: float = 0.3
    seed: int = 0
    threads: int = 2

    def __post_init__(self) -> None:
        validate_gamma(self.gamma)
        if self.max_epochs < 1 or self.min_epochs < 0 or self.min_epochs > self.max_epochs:
            raise InvalidInput("need 0 <= min_epochs <= max_epochs, max_epochs >= 1")
        if self.batch_labelled < 2 or self.batch_unlabelled < 2:
            raise InvalidInput("batch sizes must be >= 2 (batch norm)")


@dataclass
class EpochLog:
    epoch: int
    loss: float
    loss_a: float
    loss_b: float
    loss1: float
    loss2: float
    loss3: float
    train_acc: float
    seconds: float
    plateau: dict[str, bool]


@dataclass
class TrainResult:
    model: ConvAutoencoderFaceNet
    config: TrainConfig
    history: list[EpochLog]
    converged: bool  # False when max_epochs stopped the run
    stop_reason: str
    convergence_epoch: dict[str, int | None]
    seconds: float

    def summary(self) -> dict[str, Any]:
        last = self.history[-1]
        return {
            "epochs": len(self.history),
            "converged": self.converged,
            "stop_reason": self.stop_reason,
            "convergence_epoch": self.convergence_epoch,
            "final_losses": {
                k: getattr(last, k) for k in ("loss", "loss_a", "loss_b", "loss1", "loss2", "loss3")
            },
            "train_seconds": round(self.seconds, 1),
            "config": asdict(self.config),
        }


ProgressFn = Callable[[EpochLog], None]


def _seed_everything(seed: int) -> torch.Generator:
    torch.manual_seed(seed)
    np.random.seed(seed % (2**32))
    gen = torch.Generator()
    gen.manual_seed(seed)
    return gen


def _batches(n: int, size: int, gen: torch.Generator) -> list[torch.Tensor]:
    perm = torch.randperm(n, generator=gen)
    return [perm[i : i + size] for i in range(0, n, size) if len(perm[i : i + size]) >= 2]


def train_model(
    labelled: npt.NDArray[np.float32],
    labels: npt.NDArray[np.int64],
    unlabelled: npt.NDArray[np.float32] | None,
    config: TrainConfig,
    *,
    on_epoch: ProgressFn | None = None,
) -> TrainResult:
    """Train on labelled crops (N,1,S,S) in [0,1] with integer labels and an unlabelled base set.

    The unlabelled pool for an epoch is ``unlabelled`` (as given) plus ``views_per_image`` fresh
    augmented views of every image in ``unlabelled`` and ``labelled`` (labels not used). With
    ``use_unlabelled=False`` LossB is computed on the labelled batch itself (no extra images).
    With gamma = 1 the decoder is not trained and only LossA has to converge.
    """
    if labelled.ndim != 4 or labelled.shape[1] != 1:
        raise InvalidInput("labelled crops must be (N, 1, S, S)")
    if len(labelled) != len(labels) or len(labelled) < 2:
        raise InvalidInput("need at least 2 labelled images with one label each")
    torch.set_num_threads(config.threads)
    gen = _seed_everything(config.seed)
    n_classes = int(labels.max()) + 1
    model = ConvAutoencoderFaceNet(config.model, n_classes)
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    xl = torch.from_numpy(np.ascontiguousarray(labelled, dtype=np.float32))
    yl = torch.from_numpy(np.ascontiguousarray(labels, dtype=np.int64))
    supervised_only = config.gamma == 1.0
    pool_base = xl
    if config.use_unlabelled and unlabelled is not None and len(unlabelled):
        pool_base = torch.cat([torch.from_numpy(np.ascontiguousarray(unlabelled, dtype=np.float32)), xl])
    withheld = (
        torch.from_numpy(np.ascontiguousarray(unlabelled, dtype=np.float32))
        if config.use_unlabelled and unlabelled is not None and len(unlabelled)
        else xl[:0]
    )
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=config.lr_decay)
    monitor = ConvergenceMonitor(config.rel_tol, config.patience, config.ema_alpha, track_b=not supervised_only)
    history: list[EpochLog] = []
    start = time.perf_counter()
    stop_reason = "max_epochs"
    converged = False
    for epoch in range(1, config.max_epochs + 1):
        t0 = time.perf_counter()
        model.train()
        if config.use_unlabelled and not supervised_only:
            views = [augment_batch(pool_base, gen) for _ in range(config.views_per_image)]
            pool = torch.cat([withheld, *views])
        else:
            pool = xl
        lab_batches = _batches(len(xl), config.batch_labelled, gen)
        u_order = torch.randperm(len(pool), generator=gen)
        sums = dict.fromkeys(("loss", "loss_a", "loss_b", "loss1", "loss2", "loss3"), 0.0)
        correct = seen = 0
        for step, idx in enumerate(lab_batches):
            xb = augment_batch(xl[idx], gen, max_rot_deg=6.0, max_shift=0.04, brightness=0.08)
            yb = yl[idx]
            emb = model.fc(model.encode(xb)[2])
            logits = model.head(emb, yb)
            loss_a = F.cross_entropy(logits, yb)
            with torch.no_grad():
                correct += int((model.head(emb).argmax(1) == yb).sum())
                seen += len(yb)
            if config.use_unlabelled and not supervised_only:
                lo = (step * config.batch_unlabelled) % max(len(pool), 1)
                uidx = u_order[lo : lo + config.batch_unlabelled]
                if len(uidx) < 2:
                    uidx = u_order[: config.batch_unlabelled]
                xu = pool[uidx]
            else:
                xu = xb
            # LossB: decoder path on a noise-corrupted copy; targets are the clean encoder features.
            if supervised_only:  # LossB only logged (decoder untrained), on the first batch of the epoch
                if step == 0:
                    with torch.no_grad():
                        clean = model.encode(xu)
                        l1, l2, l3 = loss_b_terms(clean, model.decode(clean[2]))
                        lb_log = (l1, l2, l3)
                l1, l2, l3 = lb_log
            else:
                with torch.no_grad():
                    clean = model.encode(xu)
                noisy = (xu + config.noise_std * torch.randn(xu.shape, generator=gen)).clamp(0, 1)
                recon = model.decode(model.encode(noisy)[2])
                l1, l2, l3 = loss_b_terms(clean, recon)
            loss_b = l1 + l2 + l3
            loss = total_loss(loss_a, loss_b, config.gamma)
            opt.zero_grad(set_to_none=True)
            loss.backward()  # type: ignore[no-untyped-call]
            opt.step()
            for k, v in (
                ("loss", loss),
                ("loss_a", loss_a),
                ("loss_b", loss_b),
                ("loss1", l1),
                ("loss2", l2),
                ("loss3", l3),
            ):
                sums[k] += float(v.detach())
        sched.step()
        means = {k: v / max(len(lab_batches), 1) for k, v in sums.items()}
        state = monitor.update(means)
        log = EpochLog(
            epoch=epoch,
            train_acc=correct / max(seen, 1),
            seconds=time.perf_counter() - t0,
            plateau=state,
            **means,
        )
        history.append(log)
        if on_epoch is not None:
            on_epoch(log)
        if epoch >= config.min_epochs and state["all"]:
            stop_reason = "converged: LossA and LossB on a plateau" if not supervised_only else (
                "converged: LossA on a plateau (gamma=1, supervised only)"
            )
            converged = True
            break
    model.eval()
    ce = {k: monitor.converged_epoch.get(k) for k in ("loss_a", "loss_b", "loss1", "loss2", "loss3")}
    return TrainResult(model, config, history, converged, stop_reason, ce, time.perf_counter() - start)


# ----------------------------------------------------------------------------------------------
# inference helpers and export


def embed_numpy(
    model: ConvAutoencoderFaceNet, x: npt.NDArray[np.float32], batch: int = 256, *, flip_tta: bool = True
) -> npt.NDArray[np.float32]:
    """L2-normalised embeddings with the torch model (eval mode), as the exported graph computes them."""
    model.eval()
    graph = _EmbeddingGraph(model, flip_tta)
    out = []
    with torch.no_grad():
        for i in range(0, len(x), batch):
            out.append(graph(torch.from_numpy(np.ascontiguousarray(x[i : i + batch], dtype=np.float32))).numpy())
    return np.concatenate(out).astype(np.float32) if out else np.zeros((0, model.cfg.embedding_dim), np.float32)


def export_onnx(model: ConvAutoencoderFaceNet, path: Path, *, opset: int = 17, flip_tta: bool = True) -> Path:
    """Export the embedding branch (input (N,1,S,S) in [0,1] -> unit embedding (N,D)) to ONNX."""
    model.eval()
    graph = _EmbeddingGraph(model, flip_tta)
    s = model.cfg.input_size
    path.parent.mkdir(parents=True, exist_ok=True)
    dummy = torch.zeros(2, 1, s, s)
    with warnings.catch_warnings():  # the TorchScript exporter announces its own deprecation
        warnings.simplefilter("ignore", DeprecationWarning)
        _export(graph, dummy, path, opset)
    return path


def _export(graph: nn.Module, dummy: torch.Tensor, path: Path, opset: int) -> None:
    torch.onnx.export(
        graph,
        (dummy,),
        str(path),
        input_names=["input"],
        output_names=["embedding"],
        dynamic_axes={"input": {0: "n"}, "embedding": {0: "n"}},
        opset_version=opset,
        dynamo=False,
    )


def count_parameters(model: nn.Module, parts: Sequence[str] | None = None) -> int:
    params = model.parameters() if parts is None else (p for n in parts for p in getattr(model, n).parameters())
    return sum(int(p.numel()) for p in params)
