"""Face recognition evaluation on any one-folder-per-person dataset (e.g. ORL / AT&T faces).

Protocol (subject-disjoint from nothing — these are *pre-trained* embedders that never saw ORL):

1. every image is decoded in memory; images whose shorter side is < 200 px (ORL is 92×112) are
   upscaled 2× and padded so the full-scene detector YuNet finds the face
   (:func:`soberpay.adapters.images.pad_small_image`);
2. YuNet detects faces; the highest-scoring face is aligned and embedded. Images without a
   detection count against ``detect_rate`` and are left out of the metrics (there is no
   "center-crop" fallback, so ``detect_rate`` must be read alongside the other numbers);
3. per person, images in natural file-name order: the first ``gallery_per_person`` detected images
   form the gallery (enrolment), all others are probes;
4. **rank-1**: share of probes whose nearest gallery template belongs to the right person;
   **verification**: every probe against every gallery person (best score over that person's
   gallery templates) gives genuine and impostor cosine scores, from which TAR at FAR 1e-2 / 1e-3,
   the thresholds at those FARs and the EER follow (``soberpay_lab.evaluation.metrics``).

No quality gate is applied here: this measures the recogniser, not the enrolment policy.
:func:`evaluate_embedder` is reusable (the autoencoder training uses it on held-out people);
:func:`evaluate_embeddings` takes precomputed embeddings.
"""

from __future__ import annotations

import re
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from soberpay.adapters.images import load_image_file, pad_small_image
from soberpay.errors import InvalidInput
from soberpay.ports import Embedder, FaceDetector
from soberpay_lab.evaluation.metrics import eer, rank1, roc_curve, tar_at_far, threshold_at_far, verification_scores

__all__ = [
    "IMAGE_SUFFIXES",
    "FaceEvalResult",
    "embed_dataset",
    "evaluate_embedder",
    "evaluate_embeddings",
    "list_dataset",
    "plot_roc_det",
]

IMAGE_SUFFIXES = {".pgm", ".ppm", ".pbm", ".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}
FARS = (1e-2, 1e-3)


def _natural_key(path: Path) -> list[Any]:
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", path.name)]


def list_dataset(
    dataset_dir: str | Path,
    *,
    max_people: int | None = None,
    max_images_per_person: int | None = None,
    only_people: Collection[str] | None = None,
) -> list[tuple[str, list[Path]]]:
    """``[(person, [image paths in natural order]), ...]`` for each sub-folder holding images.

    ``only_people`` keeps just those folder names (e.g. the people held out from training).
    """
    root = Path(dataset_dir)
    if not root.is_dir():
        raise InvalidInput(f"dataset folder not found: {root}", path=str(root))
    people: list[tuple[str, list[Path]]] = []
    for sub in sorted((p for p in root.iterdir() if p.is_dir()), key=_natural_key):
        if only_people is not None and sub.name not in only_people:
            continue
        images = sorted(
            (p for p in sub.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES), key=_natural_key
        )
        if max_images_per_person is not None:
            images = images[:max_images_per_person]
        if images:
            people.append((sub.name, images))
        if max_people is not None and len(people) >= max_people:
            break
    if len(people) < 2:
        raise InvalidInput(f"need at least 2 people (one folder each) in {root}, found {len(people)}")
    return people


@dataclass
class EmbeddedImage:
    person: str
    path: Path
    embedding: npt.NDArray[np.float32] | None  # None: no face detected


@dataclass
class FaceEvalResult:
    """Metrics of one embedder on one dataset; ``to_dict`` gives the ``--json`` object."""

    embedder: str
    dataset: str
    n_people: int
    n_images: int
    n_detected: int
    gallery_per_person: int
    n_gallery: int
    n_probes: int
    rank1: float
    tar_at_far: dict[float, float]
    threshold_at_far: dict[float, float]
    eer: float
    ms_per_image: float
    genuine: npt.NDArray[np.float64] = field(repr=False)
    impostor: npt.NDArray[np.float64] = field(repr=False)

    @property
    def detect_rate(self) -> float:
        return self.n_detected / self.n_images if self.n_images else 0.0

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "embedder": self.embedder,
            "dataset": self.dataset,
            "rank1": round(self.rank1, 6),
        }
        for far in FARS:
            out[f"tar_at_far_{far:.0e}".replace("e-0", "e-")] = round(self.tar_at_far[far], 6)
        out["eer"] = round(self.eer, 6)
        out["n_people"] = self.n_people
        out["n_images"] = self.n_images
        out["detect_rate"] = round(self.detect_rate, 6)
        for far in FARS:
            out[f"threshold_at_far_{far:.0e}".replace("e-0", "e-")] = round(self.threshold_at_far[far], 6)
        out.update(
            gallery_per_person=self.gallery_per_person,
            n_gallery=self.n_gallery,
            n_probes=self.n_probes,
            n_genuine=int(self.genuine.size),
            n_impostor=int(self.impostor.size),
            ms_per_image=round(self.ms_per_image, 2),
        )
        return out


def embed_dataset(
    embedder: Embedder,
    people: Sequence[tuple[str, Sequence[Path]]],
    *,
    detector: FaceDetector | None = None,
    min_side: int = 200,
    console: Any = None,
) -> tuple[list[EmbeddedImage], float]:
    """Detect + embed every image; returns the records and the mean milliseconds per image."""
    if detector is None:
        from soberpay.adapters.vision.yunet import YuNetDetector

        detector = YuNetDetector()
    total = sum(len(paths) for _, paths in people)
    records: list[EmbeddedImage] = []
    elapsed = 0.0

    def run(advance: Any) -> None:
        nonlocal elapsed
        for person, paths in people:
            for path in paths:
                image = pad_small_image(load_image_file(path), min_side=min_side)
                t0 = time.perf_counter()
                faces = detector.detect(image)
                emb = embedder.embed(image, max(faces, key=lambda f: f.score)) if faces else None
                elapsed += time.perf_counter() - t0
                records.append(EmbeddedImage(person, path, emb))
                advance()

    if console is None:
        run(lambda: None)
    else:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        ) as progress:
            task = progress.add_task(f"{embedder.name}: detect + embed", total=total)
            run(lambda: progress.advance(task))
    return records, (1000.0 * elapsed / max(1, total))


def evaluate_embeddings(
    records: Sequence[EmbeddedImage],
    *,
    embedder_name: str,
    dataset: str,
    gallery_per_person: int = 1,
    ms_per_image: float = float("nan"),
) -> FaceEvalResult:
    """Metrics from embedded images (see the module docstring for the split and the metrics)."""
    if gallery_per_person < 1:
        raise InvalidInput("gallery_per_person must be at least 1")
    people = list(dict.fromkeys(r.person for r in records))
    g_emb: list[npt.NDArray[np.float32]] = []
    g_lab: list[str] = []
    p_emb: list[npt.NDArray[np.float32]] = []
    p_lab: list[str] = []
    for person in people:
        detected = [r for r in records if r.person == person and r.embedding is not None]
        for i, r in enumerate(detected):
            assert r.embedding is not None
            if i < gallery_per_person:
                g_emb.append(r.embedding)
                g_lab.append(person)
            else:
                p_emb.append(r.embedding)
                p_lab.append(person)
    if len(set(g_lab)) < 2 or not p_emb:
        raise InvalidInput(
            "too few detected faces to evaluate (need a gallery of 2+ people and at least one probe)",
            n_gallery=len(g_emb),
            n_probes=len(p_emb),
        )
    gallery, probes = np.stack(g_emb), np.stack(p_emb)
    genuine, impostor = verification_scores(gallery, g_lab, probes, p_lab)
    # probes of people without a gallery template cannot be genuine matches: count them as impostors only
    probe_known = np.isin(np.asarray(p_lab), np.asarray(g_lab))
    r1 = rank1(gallery, g_lab, probes[probe_known], np.asarray(p_lab)[probe_known]) if probe_known.any() else 0.0
    return FaceEvalResult(
        embedder=embedder_name,
        dataset=dataset,
        n_people=len(people),
        n_images=len(records),
        n_detected=sum(1 for r in records if r.embedding is not None),
        gallery_per_person=gallery_per_person,
        n_gallery=len(g_emb),
        n_probes=len(p_emb),
        rank1=r1,
        tar_at_far={far: tar_at_far(genuine, impostor, far) for far in FARS},
        threshold_at_far={far: threshold_at_far(impostor, far) for far in FARS},
        eer=eer(genuine, impostor),
        ms_per_image=ms_per_image,
        genuine=genuine,
        impostor=impostor,
    )


def evaluate_embedder(
    embedder: Embedder,
    dataset_dir: str | Path,
    *,
    detector: FaceDetector | None = None,
    gallery_per_person: int = 1,
    max_people: int | None = None,
    max_images_per_person: int | None = None,
    only_people: Collection[str] | None = None,
    console: Any = None,
) -> FaceEvalResult:
    """Detect, embed and score a one-folder-per-person dataset with ``embedder``.

    ``console`` (a ``rich.console.Console``) shows a progress bar; ``None`` runs silently.
    """
    people = list_dataset(
        dataset_dir, max_people=max_people, max_images_per_person=max_images_per_person, only_people=only_people
    )
    records, ms = embed_dataset(embedder, people, detector=detector, console=console)
    return evaluate_embeddings(
        records,
        embedder_name=embedder.name,
        dataset=Path(dataset_dir).name,
        gallery_per_person=gallery_per_person,
        ms_per_image=ms,
    )


def plot_roc_det(results: Sequence[FaceEvalResult], out_dir: str | Path, *, stem: str = "faces") -> list[Path]:
    """Write ``<stem>_roc.png`` (TAR vs FAR, log FAR) and ``<stem>_det.png`` (FRR vs FAR, normal-deviate axes).

    Only aggregate curves are drawn; no face image is ever written.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from scipy.stats import norm

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    title_data = ", ".join(sorted({r.dataset for r in results}))

    fig, ax = plt.subplots(figsize=(6, 4.5))
    for r in results:
        roc = roc_curve(r.genuine, r.impostor)
        ax.step(np.clip(roc.far, 1e-5, 1.0), roc.tar, where="post", label=f"{r.embedder} (EER {100 * r.eer:.2f}%)")
    for far_mark in FARS:
        ax.axvline(far_mark, color="grey", lw=0.6, ls=":")
    ax.set_xscale("log")
    ax.set_xlim(1e-4, 1.0)
    ax.set_ylim(max(0.0, min(min(r.tar_at_far[1e-3] for r in results) - 0.05, 0.9)), 1.005)
    ax.set_xlabel("false accept rate (FAR)")
    ax.set_ylabel("true accept rate (TAR)")
    ax.set_title(f"ROC — {title_data}")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    roc_path = out / f"{stem}_roc.png"
    fig.savefig(roc_path, dpi=120)
    plt.close(fig)

    eps = 1e-4
    fig, ax = plt.subplots(figsize=(6, 4.5))
    for r in results:
        roc = roc_curve(r.genuine, r.impostor)
        ax.plot(
            norm.ppf(np.clip(roc.far, eps, 1 - eps)),
            norm.ppf(np.clip(roc.frr, eps, 1 - eps)),
            label=f"{r.embedder} (EER {100 * r.eer:.2f}%)",
        )
    ticks = [1e-4, 1e-3, 1e-2, 0.05, 0.2, 0.5]
    ax.set_xticks(norm.ppf(ticks))
    ax.set_xticklabels([f"{100 * t:g}%" for t in ticks])
    ax.set_yticks(norm.ppf(ticks))
    ax.set_yticklabels([f"{100 * t:g}%" for t in ticks])
    lim = (norm.ppf(eps), norm.ppf(0.5))
    ax.set_xlim(*lim)
    ax.set_ylim(*lim)
    ax.plot(lim, lim, color="grey", lw=0.6, ls=":")  # FAR = FRR line (EER)
    ax.set_xlabel("false accept rate (FAR)")
    ax.set_ylabel("false reject rate (FRR)")
    ax.set_title(f"DET — {title_data}")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper right")
    fig.tight_layout()
    det_path = out / f"{stem}_det.png"
    fig.savefig(det_path, dpi=120)
    plt.close(fig)
    return [roc_path, det_path]
