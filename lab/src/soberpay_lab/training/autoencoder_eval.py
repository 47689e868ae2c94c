"""Held-out evaluation protocol for face embedders (numpy only; metrics from soberpay_lab.evaluation.metrics).

On the held-out people only (never seen in training):

* identification: gallery = each person's first image (natural file order), probes = the others;
  closed-set rank-1 over the held-out people;
* verification: every unordered pair of held-out images (ORL, 10 people x 10 images: 450 genuine,
  4500 impostor pairs); TAR at FAR 1% / 0.1%, EER, ROC, and the cosine threshold at FAR 0.1%.
  With 4500 impostor pairs, FAR 0.1% means at most 4 accepted impostors - a coarse estimate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from soberpay_lab.evaluation.metrics import (
    RocCurve,
    eer,
    l2_normalise,
    rank1,
    roc_curve,
    tar_at_far,
    threshold_at_far,
)


@dataclass
class HeldoutResult:
    rank1: float
    tar_at_far_1e2: float
    tar_at_far_1e3: float
    eer: float
    threshold_far_1e3: float
    threshold_far_1e2: float
    n_people: int
    n_images: int
    n_probes: int
    n_genuine: int
    n_impostor: int
    roc: RocCurve

    def as_dict(self) -> dict[str, Any]:
        return {
            "rank1": round(self.rank1, 4),
            "tar_at_far_1pct": round(self.tar_at_far_1e2, 4),
            "tar_at_far_0.1pct": round(self.tar_at_far_1e3, 4),
            "eer": round(self.eer, 4),
            "threshold_at_far_0.1pct": round(self.threshold_far_1e3, 4),
            "threshold_at_far_1pct": round(self.threshold_far_1e2, 4),
            "people": self.n_people,
            "images": self.n_images,
            "probes": self.n_probes,
            "genuine_pairs": self.n_genuine,
            "impostor_pairs": self.n_impostor,
            "protocol": "rank-1: gallery = first image per held-out person, probes = the rest; "
            "verification: all pairs of held-out images",
        }


def pair_scores(
    emb: npt.ArrayLike, persons: Sequence[str]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Cosine scores of all unordered pairs, split into (genuine, impostor)."""
    e = l2_normalise(emb).astype(np.float64)
    p = np.asarray(persons)
    iu = np.triu_indices(len(p), 1)
    s = (e @ e.T)[iu]
    same = p[iu[0]] == p[iu[1]]
    return s[same], s[~same]


def evaluate_heldout(emb: npt.ArrayLike, persons: Sequence[str]) -> HeldoutResult:
    """Metrics on held-out embeddings ordered so each person's first occurrence is their gallery image."""
    e = l2_normalise(emb)
    p = np.asarray(persons)
    first: dict[str, int] = {}
    for i, name in enumerate(p.tolist()):
        first.setdefault(name, i)
    g_idx = np.array(sorted(first.values()))
    mask = np.zeros(len(p), dtype=bool)
    mask[g_idx] = True
    r1 = rank1(e[mask], p[mask], e[~mask], p[~mask])
    gen, imp = pair_scores(e, p.tolist())
    return HeldoutResult(
        rank1=r1,
        tar_at_far_1e2=tar_at_far(gen, imp, 1e-2),
        tar_at_far_1e3=tar_at_far(gen, imp, 1e-3),
        eer=eer(gen, imp),
        threshold_far_1e3=threshold_at_far(imp, 1e-3),
        threshold_far_1e2=threshold_at_far(imp, 1e-2),
        n_people=len(first),
        n_images=len(p),
        n_probes=int((~mask).sum()),
        n_genuine=len(gen),
        n_impostor=len(imp),
        roc=roc_curve(gen, imp),
    )
