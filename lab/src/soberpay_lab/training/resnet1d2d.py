"""Small ResNets in plain torch (torchvision is not usable beside the local torch wheel).

* ``ResNet2d`` - thermal face-state feature extractor: residual basic blocks (He et al., 2016,
  "Deep Residual Learning for Image Recognition") on a 1×64×80 grey image → L2-normalised embedding,
  plus a linear head used only for training (binary cross-entropy).
* ``ResNet1d`` - expression classifier over a (F, T) feature sequence: 1-D residual blocks, global
  average pooling over time (any T), a classifier head giving one logit. Per-feature standardisation
  (training mean/std) is a buffer inside the model, so the exported ONNX takes raw features.

``fit_binary`` is the training loop both use: mini-batches of augmented inputs, binary cross-entropy
on one logit, AdamW with a one-cycle learning-rate schedule.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt
import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812


class _Block2d(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.short: nn.Module = nn.Identity()
        if stride != 1 or cin != cout:
            self.short = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.short(x))


class ResNet2d(nn.Module):
    """Stem (stride 2) → residual stages → global average pool → linear → L2-normalised embedding."""

    def __init__(
        self, widths: Sequence[int] = (16, 32, 64), embed_dim: int = 32, dropout: float = 0.2, input_pool: int = 1
    ) -> None:
        super().__init__()
        # optional average pooling of the input: coarser thermal patterns generalise better across
        # people than fine texture on this small data set (measured; see docs/research/sobriety-models.md)
        self.pool: nn.Module = nn.AvgPool2d(input_pool) if input_pool > 1 else nn.Identity()
        self.stem = nn.Sequential(
            nn.Conv2d(1, widths[0], 3, 2, 1, bias=False), nn.BatchNorm2d(widths[0]), nn.ReLU(inplace=True)
        )
        blocks: list[nn.Module] = []
        cin = widths[0]
        for i, w in enumerate(widths):
            blocks.append(_Block2d(cin, w, 1 if i == 0 else 2))
            cin = w
        self.blocks = nn.Sequential(*blocks)
        self.drop = nn.Dropout(dropout)
        self.proj = nn.Linear(cin, embed_dim)
        self.head = nn.Linear(embed_dim, 1)
        self.embed_dim = embed_dim

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Un-normalised embedding (used by the training head)."""
        h = self.blocks(self.stem(self.pool(x)))
        h = h.mean(dim=(2, 3))
        out: torch.Tensor = self.proj(self.drop(h))
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """L2-normalised embedding - this is what is exported to ONNX."""
        return F.normalize(self.features(x), dim=1)

    def logit(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.head(F.relu(self.features(x)))
        return out.squeeze(1)


class _Block1d(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, kernel: int = 5) -> None:
        super().__init__()
        pad = kernel // 2
        self.conv1 = nn.Conv1d(cin, cout, kernel, stride, pad, bias=False)
        self.bn1 = nn.BatchNorm1d(cout)
        self.conv2 = nn.Conv1d(cout, cout, kernel, 1, pad, bias=False)
        self.bn2 = nn.BatchNorm1d(cout)
        self.short: nn.Module = nn.Identity()
        if stride != 1 or cin != cout:
            self.short = nn.Sequential(nn.Conv1d(cin, cout, 1, stride, bias=False), nn.BatchNorm1d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.short(x))


class ResNet1d(nn.Module):
    """Input (B, T, F) raw features → standardise → 1-D ResNet over time → one logit per sequence.

    Mean and max pooling over time are concatenated: blinks and saccades are short events, so the
    peak response matters as well as the average.
    """

    mean: torch.Tensor
    std: torch.Tensor

    def __init__(
        self,
        n_features: int,
        widths: Sequence[int] = (32, 48, 64),
        dropout: float = 0.2,
        mean: Sequence[float] | None = None,
        std: Sequence[float] | None = None,
    ) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean if mean is not None else [0.0] * n_features))
        self.register_buffer("std", torch.tensor(std if std is not None else [1.0] * n_features))
        self.stem = nn.Sequential(
            nn.Conv1d(n_features, widths[0], 7, 1, 3, bias=False), nn.BatchNorm1d(widths[0]), nn.ReLU(inplace=True)
        )
        blocks: list[nn.Module] = []
        cin = widths[0]
        for i, w in enumerate(widths):
            blocks.append(_Block1d(cin, w, 1 if i == 0 else 2))
            cin = w
        self.blocks = nn.Sequential(*blocks)
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(2 * cin, 32), nn.ReLU(), nn.Linear(32, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = (x - self.mean) / self.std
        h = self.blocks(self.stem(z.transpose(1, 2)))
        pooled = torch.cat([h.mean(dim=2), h.amax(dim=2)], dim=1)
        out: torch.Tensor = self.classifier(pooled)
        return out.squeeze(1)


def fit_binary(
    model: nn.Module,
    logit: Callable[[torch.Tensor], torch.Tensor],
    x: npt.NDArray[np.float32],
    y: npt.NDArray[np.int64],
    augment: Callable[[torch.Tensor, torch.Generator], torch.Tensor],
    *,
    seed: int,
    epochs: int,
    batch_size: int,
    lr: float,
    weight_decay: float,
    pos_weight: torch.Tensor | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> None:
    """Train ``model`` in place on ``(x, y)`` with ``logit(augment(batch, gen))`` as its one-logit output.

    Batches are drawn from a permutation seeded by ``seed`` (batches of fewer than 2 are skipped);
    the model is left in eval mode. ``progress(epoch, epochs)`` is called after every epoch.
    """
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    steps = max(1, int(np.ceil(len(y) / batch_size)))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=epochs * steps)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y).float()
    model.train()
    for epoch in range(epochs):
        perm = torch.randperm(len(yt), generator=gen)
        for b in range(steps):
            idx = perm[b * batch_size : (b + 1) * batch_size]
            if len(idx) < 2:
                continue
            loss = F.binary_cross_entropy_with_logits(logit(augment(xt[idx], gen)), yt[idx], pos_weight=pos_weight)
            opt.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
            opt.step()
            sched.step()
        if progress is not None:
            progress(epoch + 1, epochs)
    model.eval()


__all__ = ["ResNet1d", "ResNet2d", "fit_binary"]
