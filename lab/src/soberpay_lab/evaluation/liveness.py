"""ISO/IEC 30107-3 figures for the passive presentation-attack detection on a labelled clip set.

Layout: ``DIR/bona_fide/*`` and ``DIR/attack/<species>/*``; each file a clip (``.mp4``, ``.avi``,
``.mkv``, ``.webm``) or a still image (a still is presented as a clip of identical frames: a photo
held perfectly still). APCER is computed per species (share of attack presentations accepted as
live), the worst species is reported as ``apcer_max``; BPCER is the share of bona fide presentations
refused. The DET curve sweeps the passive score (the homography residual, 0 when the clip is too
still to judge) over all attacks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from soberpay.domain.liveness import ClipMeasurements, LivenessThresholds, passive_reasons
from soberpay.ports import ImageBGR

__all__ = ["PadEvalResult", "evaluate_pad", "list_pad_dataset", "plot_pad_det"]

VIDEO_SUFFIXES = {".mp4", ".avi", ".mkv", ".webm", ".mov"}
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".pgm", ".webp"}
STILL_FRAMES = 30


@dataclass
class PadEvalResult:
    dataset: str
    n_bona_fide: int
    n_attack: int
    apcer: dict[str, float]
    bpcer: float
    bona_fide_scores: list[float] = field(default_factory=list)
    attack_scores: dict[str, list[float]] = field(default_factory=dict)
    reasons: dict[str, dict[str, int]] = field(default_factory=dict)  # class → refusal reason → count

    @property
    def apcer_max(self) -> float:
        return max(self.apcer.values(), default=0.0)

    @property
    def worst_species(self) -> str | None:
        return max(self.apcer, key=self.apcer.__getitem__) if self.apcer else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "apcer_max": self.apcer_max,
            "worst_species": self.worst_species,
            "apcer": self.apcer,
            "bpcer": self.bpcer,
            "n_bona_fide": self.n_bona_fide,
            "n_attack": self.n_attack,
            "reasons": self.reasons,
        }


def list_pad_dataset(root: Path) -> tuple[list[Path], dict[str, list[Path]]]:
    def media(folder: Path) -> list[Path]:
        if not folder.is_dir():
            return []
        return sorted(p for p in folder.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES | IMAGE_SUFFIXES)

    bona = media(root / "bona_fide")
    attack_root = root / "attack"
    species = {d.name: media(d) for d in sorted(attack_root.iterdir()) if d.is_dir()} if attack_root.is_dir() else {}
    species = {k: v for k, v in species.items() if v}
    if not bona or not species:
        raise ValueError(f"{root}: need bona_fide/* and attack/<species>/* clips or images")
    return bona, species


def load_clip(path: Path, max_frames: int = 90) -> list[ImageBGR]:
    from soberpay.adapters.images import load_image_file
    from soberpay.adapters.vision.video import OpenCVFrameSource

    if path.suffix.lower() in IMAGE_SUFFIXES:
        return [load_image_file(path)] * STILL_FRAMES
    return [f for _, f in OpenCVFrameSource(path, max_frames=max_frames).frames()]


def passive_score(m: ClipMeasurements, t: LivenessThresholds) -> float:
    """Higher = more live-like: the homography residual, or 0 when the clip cannot be judged."""
    if len(m.frames) < t.min_face_frames or m.motion < t.min_motion:
        return 0.0
    return m.planar_residual


def evaluate_pad(root: Path, measure: Any, thresholds: LivenessThresholds, progress: Any = None) -> PadEvalResult:
    """``measure(frames) -> ClipMeasurements`` (the runtime sensor); decisions by the runtime rule."""
    bona, species = list_pad_dataset(root)
    reasons: dict[str, dict[str, int]] = {}

    def run(label: str, paths: Sequence[Path]) -> tuple[list[float], int]:
        scores, accepted = [], 0
        for p in paths:
            m = measure(load_clip(p))
            why = passive_reasons(m, thresholds)
            for r in why:
                reasons.setdefault(label, {}).setdefault(r, 0)
                reasons[label][r] += 1
            accepted += not why
            scores.append(passive_score(m, thresholds))
            if progress is not None:
                progress(label, p)
        return scores, accepted

    bona_scores, bona_accepted = run("bona_fide", bona)
    apcer: dict[str, float] = {}
    attack_scores: dict[str, list[float]] = {}
    for name, paths in species.items():
        attack_scores[name], accepted = run(name, paths)
        apcer[name] = accepted / len(paths)
    return PadEvalResult(
        dataset=root.name,
        n_bona_fide=len(bona),
        n_attack=sum(len(v) for v in species.values()),
        apcer=apcer,
        bpcer=1.0 - bona_accepted / len(bona),
        bona_fide_scores=bona_scores,
        attack_scores=attack_scores,
        reasons=reasons,
    )


def plot_pad_det(result: PadEvalResult, out_dir: Path, stem: str) -> Path:
    """DET (BPCER vs APCER over the passive score threshold), one curve per species and all attacks."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    bona = np.asarray(result.bona_fide_scores)
    fig, ax = plt.subplots(figsize=(6, 4.5))
    curves = dict(result.attack_scores)
    curves["all attacks"] = [s for v in result.attack_scores.values() for s in v]
    for name, scores in curves.items():
        att = np.asarray(scores)
        ths = np.unique(np.r_[0.0, bona, att, np.inf])
        apcer = [(att >= t).mean() if t > 0 else 1.0 for t in ths]
        bpcer = [(bona < t).mean() if t > 0 else 0.0 for t in ths]
        ax.plot(apcer, bpcer, marker=".", label=name, lw=2 if name == "all attacks" else 1)
    ax.set_xlabel("APCER (attacks accepted as live)")
    ax.set_ylabel("BPCER (bona fide refused)")
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(-0.02, 1.02)
    ax.set_title(f"PAD DET (linear axes) — {result.dataset}")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    path = out_dir / f"{stem}_pad_det.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
