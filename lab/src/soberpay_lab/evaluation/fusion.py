"""Multi-frame identification: the runtime's top-3 score fusion against the single best frame, and
quality-weighted fusion, on a one-folder-per-person dataset read as clips (e.g. KTV-conditioned ORL).

Protocol (the embedders are pre-trained and never saw the data, so every person is held out):

1. each image is padded if small (as in ``eval faces``), detected, gated and ranked exactly like a
   clip frame at run time (``assess_quality`` + ``quality_score`` with the configured
   ``IdentitySettings``); frames failing a gate are dropped, as ``best_from_frames`` drops them;
2. per person the first image is the gallery (enrolment at a lit kiosk); a *clip* is ``frames`` of
   the person's other images, drawn ``clips`` times (seeded; by default one clip of all of them);
3. every clip is scored against every gallery person by each fusion rule; the clip's own person
   gives a genuine score, every other person an impostor score. A clip with no qualified frame is
   a failure to acquire (FTA, counted apart: the same for every rule); TAR and EER are over the
   acquired clips, and ``TAR × (1 − FTA rate)`` is the share of all clips accepted.

Fusion rules over the qualified frames ranked by quality (``k`` = ``fuse_top``):

* ``best``: the score of the single best frame;
* ``top-k mean``: mean score of the best ``k`` frames (what ``IdentityService.identify_frames`` does);
* ``top-k quality-weighted``: the same frames, each score weighted by its quality score.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from soberpay.adapters.images import load_image_file, pad_small_image
from soberpay.adapters.vision.quality import assess_quality, quality_score
from soberpay.config import IdentitySettings
from soberpay.ports import Embedder, FaceDetector
from soberpay_lab.evaluation.faces import list_dataset
from soberpay_lab.evaluation.metrics import eer, l2_normalise, tar_at_far, threshold_at_far

__all__ = ["RULES", "Frame", "FusionResult", "embed_frames", "evaluate_fusion", "load"]

RULES = ("best", "top-k mean", "top-k quality-weighted")
FAR = 1e-3


@dataclass(frozen=True)
class Frame:
    person: str
    embedding: npt.NDArray[np.float32] | None  # None: no face, or a quality gate failed
    quality: float  # quality_score in [0, 1]


@dataclass
class FusionResult:
    n_people: int
    n_clips: int
    frames_per_clip: int
    fuse_top: int
    failed_to_acquire: int  # clips without a single qualified frame
    tar: dict[str, float]  # rule → TAR at FAR 1e-3
    eer: dict[str, float]
    threshold: dict[str, float]  # rule → threshold at FAR 1e-3
    n_genuine: int
    n_impostor: int


def embed_frames(
    embedder: Embedder,
    detector: FaceDetector,
    settings: IdentitySettings,
    people: Sequence[tuple[str, Sequence[Path]]],
    *,
    gates: bool = True,
) -> list[list[Frame]]:
    """Per person, its images as frames (gallery first), gated and quality-scored as at run time
    (``gates=False`` keeps every detected face, to measure what the gates cost)."""
    out: list[list[Frame]] = []
    for person, paths in people:
        frames: list[Frame] = []
        for path in paths:
            original = load_image_file(path)
            image = pad_small_image(original)
            faces = detector.detect(image)
            upscale = image.shape[0] / original.shape[0] if image is not original else 1.0
            q = assess_quality(image, faces, settings, upscale=upscale)
            # the gallery image is embedded even if a gate fails: enrolment is a separate, supervised step
            keep = bool(faces) and (q.passed or not gates or not frames)
            emb = embedder.embed(image, max(faces, key=lambda f: f.score)) if keep else None
            frames.append(Frame(person, emb, quality_score(q, settings)))
        out.append(frames)
    return out


def _fuse(scores: npt.NDArray[np.float64], qualities: npt.NDArray[np.float64], rule: str, k: int) -> Any:
    """Fused scores (one per gallery person) from ``scores`` (frames × people), frames ranked by quality."""
    if rule == "best":
        return scores[0]
    top, w = scores[:k], qualities[:k]
    if rule == "top-k mean":
        return top.mean(axis=0)
    return (top * w[:, None]).sum(axis=0) / max(float(w.sum()), 1e-12)


def evaluate_fusion(
    per_person: Sequence[Sequence[Frame]], *, frames: int = 0, clips: int = 1, fuse_top: int = 3, seed: int = 5
) -> FusionResult:
    """TAR at FAR 1e-3 and EER of each rule (see the module docstring); ``frames`` 0 = all probe images."""
    gallery_people = [p for p in per_person if p and p[0].embedding is not None]
    names = [p[0].person for p in gallery_people]
    gallery = l2_normalise(np.stack([p[0].embedding for p in gallery_people if p[0].embedding is not None]))
    rng = np.random.default_rng(seed)
    genuine: dict[str, list[float]] = {r: [] for r in RULES}
    impostor: dict[str, list[float]] = {r: [] for r in RULES}
    n_clips = fta = 0
    size = 0
    for person in gallery_people:
        probes = list(person[1:])
        size = len(probes) if frames <= 0 else min(frames, len(probes))
        own = names.index(person[0].person)
        for _ in range(clips):
            clip = [probes[i] for i in rng.choice(len(probes), size=size, replace=False)]
            usable = sorted((f for f in clip if f.embedding is not None), key=lambda f: -f.quality)
            n_clips += 1
            if not usable:
                fta += 1
                continue
            emb = l2_normalise(np.stack([f.embedding for f in usable if f.embedding is not None]))
            scores = (emb @ gallery.T).astype(np.float64)
            qualities = np.asarray([f.quality for f in usable], dtype=np.float64)
            for r in RULES:
                fused = _fuse(scores, qualities, r, fuse_top)
                genuine[r].append(float(fused[own]))
                impostor[r].extend(float(s) for i, s in enumerate(fused) if i != own)
    return FusionResult(
        n_people=len(names),
        n_clips=n_clips,
        frames_per_clip=size,
        fuse_top=fuse_top,
        failed_to_acquire=fta,
        tar={r: tar_at_far(genuine[r], impostor[r], FAR) for r in RULES},
        eer={r: eer(genuine[r], impostor[r]) for r in RULES},
        threshold={r: threshold_at_far(impostor[r], FAR) for r in RULES},
        n_genuine=len(genuine[RULES[0]]),
        n_impostor=len(impostor[RULES[0]]),
    )


def load(
    dataset: Path, embedder: Embedder, detector: FaceDetector, settings: IdentitySettings, *, gates: bool = True
) -> list[list[Frame]]:
    """Embed a one-folder-per-person dataset as clip frames."""
    return embed_frames(embedder, detector, settings, list_dataset(dataset), gates=gates)
