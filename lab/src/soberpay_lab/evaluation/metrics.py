"""Biometric accuracy metrics over embeddings (pure numpy, no model code).

All scores are cosine similarities between L2-normalised embeddings: higher means "more alike".
Conventions (ISO/IEC 19795-1 style):

* a *genuine* score compares two samples of the same person, an *impostor* score two different people;
* FAR(t) = fraction of impostor scores >= t; TAR(t) = fraction of genuine scores >= t;
* ``threshold_at_far(impostor, far)`` is the smallest threshold whose empirical FAR is <= ``far``;
* EER is the point on the ROC where FAR == FRR (= 1 - TAR), linearly interpolated.

With few impostor pairs a FAR below ``1 / n_impostor`` cannot be measured; ``threshold_at_far`` then
returns a threshold just above the highest impostor score (FAR = 0 empirically) and callers should
report the number of impostor pairs so readers can judge the resolution.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = [
    "RocCurve",
    "eer",
    "l2_normalise",
    "rank1",
    "roc_curve",
    "tar_at_far",
    "threshold_at_far",
    "verification_scores",
]

FloatArray = npt.NDArray[np.float64]


def l2_normalise(x: npt.ArrayLike) -> npt.NDArray[np.float32]:
    """Row-wise L2 normalisation (zero rows stay zero)."""
    a = np.asarray(x, dtype=np.float32)
    if a.ndim == 1:
        a = a[None, :]
    n = np.linalg.norm(a, axis=1, keepdims=True)
    out: npt.NDArray[np.float32] = (a / np.maximum(n, 1e-12)).astype(np.float32)
    return out


def _as_labels(labels: Sequence[object] | npt.ArrayLike) -> npt.NDArray[np.str_]:
    return np.asarray([str(v) for v in np.asarray(labels).ravel()])


def rank1(
    gallery_emb: npt.ArrayLike,
    gallery_labels: Sequence[object] | npt.ArrayLike,
    probe_emb: npt.ArrayLike,
    probe_labels: Sequence[object] | npt.ArrayLike,
) -> float:
    """Closed-set rank-1 identification rate: share of probes whose most similar gallery sample has their label.

    Several gallery samples per person are allowed (the best one per person decides implicitly,
    because the nearest sample overall is taken).
    """
    g = l2_normalise(gallery_emb)
    p = l2_normalise(probe_emb)
    gl = _as_labels(gallery_labels)
    pl = _as_labels(probe_labels)
    if len(pl) == 0:
        raise ValueError("no probes")
    if len(gl) == 0:
        raise ValueError("empty gallery")
    sims = p @ g.T
    best = np.argmax(sims, axis=1)
    return float(np.mean(gl[best] == pl))


def verification_scores(
    gallery_emb: npt.ArrayLike,
    gallery_labels: Sequence[object] | npt.ArrayLike,
    probe_emb: npt.ArrayLike,
    probe_labels: Sequence[object] | npt.ArrayLike,
) -> tuple[FloatArray, FloatArray]:
    """All probe × gallery cosine scores split into (genuine, impostor) arrays.

    When the gallery holds several samples of a person, the score for a (probe, person) pair is the
    best over that person's samples — the way the 1:N index scores a guest with several templates.
    """
    g = l2_normalise(gallery_emb)
    p = l2_normalise(probe_emb)
    gl = _as_labels(gallery_labels)
    pl = _as_labels(probe_labels)
    people = np.unique(gl)
    sims = p.astype(np.float64) @ g.T.astype(np.float64)  # (n_probe, n_gallery)
    per_person = np.stack([sims[:, gl == person].max(axis=1) for person in people], axis=1)
    same = pl[:, None] == people[None, :]
    return per_person[same].astype(np.float64), per_person[~same].astype(np.float64)


def threshold_at_far(impostor: npt.ArrayLike, far: float) -> float:
    """Smallest cosine threshold t with empirical FAR(t) = mean(impostor >= t) <= ``far``."""
    imp = np.sort(np.asarray(impostor, dtype=np.float64).ravel())[::-1]  # descending
    n = imp.size
    if n == 0:
        raise ValueError("no impostor scores")
    if not 0.0 <= far <= 1.0:
        raise ValueError("far must be in [0, 1]")
    allowed = int(np.floor(far * n + 1e-9))  # number of impostors we may accept
    if allowed >= n:
        return float(imp[-1])
    # accept the top `allowed` impostors at most: threshold just above imp[allowed]
    return float(np.nextafter(imp[allowed], np.inf))


def tar_at_far(genuine: npt.ArrayLike, impostor: npt.ArrayLike, far: float) -> float:
    """True-accept rate at the threshold where the empirical false-accept rate is <= ``far``."""
    gen = np.asarray(genuine, dtype=np.float64).ravel()
    if gen.size == 0:
        raise ValueError("no genuine scores")
    t = threshold_at_far(impostor, far)
    return float(np.mean(gen >= t))


@dataclass(frozen=True)
class RocCurve:
    """ROC points, ordered by decreasing threshold (so FAR and TAR increase)."""

    thresholds: FloatArray
    far: FloatArray
    tar: FloatArray

    @property
    def frr(self) -> FloatArray:
        return 1.0 - self.tar


def roc_curve(genuine: npt.ArrayLike, impostor: npt.ArrayLike) -> RocCurve:
    """Empirical ROC: one point per distinct score, plus the (0, 0) start."""
    gen = np.asarray(genuine, dtype=np.float64).ravel()
    imp = np.asarray(impostor, dtype=np.float64).ravel()
    if gen.size == 0 or imp.size == 0:
        raise ValueError("need genuine and impostor scores")
    scores = np.concatenate([gen, imp])
    is_gen = np.concatenate([np.ones(gen.size, dtype=bool), np.zeros(imp.size, dtype=bool)])
    order = np.argsort(-scores, kind="mergesort")
    scores, is_gen = scores[order], is_gen[order]
    tp = np.cumsum(is_gen)
    fp = np.cumsum(~is_gen)
    # keep the last index of each run of equal scores (accepting ">= threshold" takes ties together)
    last = np.r_[np.nonzero(np.diff(scores))[0], scores.size - 1]
    thresholds = np.r_[np.inf, scores[last]]
    tar = np.r_[0.0, tp[last] / gen.size]
    far = np.r_[0.0, fp[last] / imp.size]
    return RocCurve(thresholds=thresholds, far=far, tar=tar)


def eer(genuine: npt.ArrayLike, impostor: npt.ArrayLike) -> float:
    """Equal error rate: where FAR equals FRR on the ROC, linearly interpolated between points."""
    roc = roc_curve(genuine, impostor)
    diff = roc.far - roc.frr  # starts at -1 (FAR 0, FRR 1), ends >= 0
    idx = np.nonzero(diff >= 0)[0]
    if idx.size == 0:
        return float(roc.far[-1])
    i = int(idx[0])
    if i == 0 or diff[i] == 0:
        return float(roc.far[i])
    d0, d1 = diff[i - 1], diff[i]
    w = d0 / (d0 - d1)  # fraction of the way from i-1 to i where diff == 0
    far = roc.far[i - 1] + w * (roc.far[i] - roc.far[i - 1])
    frr = roc.frr[i - 1] + w * (roc.frr[i] - roc.frr[i - 1])
    return float((far + frr) / 2.0)
