"""Ports: the interfaces the services depend on. Adapters implement them; tests use fakes.

Vision ports speak numpy (they sit at the adapter boundary); the pure domain never sees arrays,
only the floats and decisions these ports produce.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

ImageBGR = npt.NDArray[np.uint8]  # H×W×3 uint8, OpenCV channel order
Embedding = npt.NDArray[np.float32]  # 1-d, L2-normalised


@dataclass(frozen=True)
class DetectedFace:
    """One face found by a detector, in image pixel coordinates."""

    box: tuple[float, float, float, float]  # x, y, w, h
    landmarks: tuple[tuple[float, float], ...]  # 5 points: right eye, left eye, nose, mouth R, mouth L
    score: float


@dataclass(frozen=True)
class FaceQuality:
    """Per-face quality measurements used to qualify a frame (finance patent step 1)."""

    detector_score: float
    sharpness: float  # variance of Laplacian on the face crop
    face_size: float  # shorter side of the box, pixels
    brightness: float  # mean grey 0..255
    contrast: float  # std grey
    yaw_deg: float
    pitch_deg: float
    n_faces: int
    passed: bool
    reasons: tuple[str, ...] = field(default_factory=tuple)


@runtime_checkable
class FaceDetector(Protocol):
    def detect(self, image: ImageBGR) -> list[DetectedFace]: ...


@runtime_checkable
class Embedder(Protocol):
    """Turns an image + detected face into an L2-normalised embedding."""

    name: str
    dim: int

    def embed(self, image: ImageBGR, face: DetectedFace) -> Embedding: ...


@dataclass(frozen=True)
class IndexHit:
    key: str  # guest id
    score: float  # cosine similarity


@runtime_checkable
class TemplateIndex(Protocol):
    """1:N search over enrolled templates (several per guest)."""

    def add(self, key: str, embedding: Embedding) -> None: ...
    def remove(self, key: str) -> None: ...
    def search(self, embedding: Embedding, k: int = 2) -> list[IndexHit]: ...
    def __len__(self) -> int: ...


@runtime_checkable
class Cipher(Protocol):
    """Authenticated encryption with key ids, so keys can rotate."""

    @property
    def current_key_id(self) -> str: ...
    def encrypt(self, plaintext: bytes, associated_data: bytes = b"") -> tuple[str, bytes]: ...
    def decrypt(self, key_id: str, blob: bytes, associated_data: bytes = b"") -> bytes: ...


@runtime_checkable
class PasswordHasher(Protocol):
    def hash(self, secret: str) -> str: ...
    def verify(self, hashed: str, secret: str) -> bool: ...


@runtime_checkable
class Clock(Protocol):
    def now(self) -> datetime: ...


@runtime_checkable
class FrameSource(Protocol):
    """Camera, video file or RTSP stream. Frames stay in memory."""

    def frames(self) -> Iterator[tuple[float, ImageBGR]]: ...  # (timestamp seconds, frame)
    def close(self) -> None: ...


Frames = Sequence[ImageBGR]


@dataclass(frozen=True)
class FaceAnalysis:
    """One usable face: where it is, its embedding and its quality measurements."""

    face: DetectedFace
    embedding: Embedding
    quality: FaceQuality


@runtime_checkable
class FaceAnalyser(Protocol):
    """Detect → quality-gate → align → embed. Raises NoFace / MultipleFaces / FaceTooSmall / LowQuality."""

    def analyse(self, image: ImageBGR) -> FaceAnalysis: ...
    def best_from_frames(self, frames: Iterable[ImageBGR], top_k: int = 5) -> list[FaceAnalysis]: ...
