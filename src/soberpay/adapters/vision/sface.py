"""SFace 128-d face embedder (OpenCV ``FaceRecognizerSF``) behind the ``Embedder`` port.

``alignCrop`` warps the face to the 112×112 ArcFace template from YuNet's 5 landmarks (similarity
transform); ``feature`` runs the int8 SFace ONNX (OpenCV DNN: the int8 file does not load in
onnxruntime as-is). The output is L2-normalised, so cosine similarity is a dot product.
OpenCV ≥ 4.12 changed ``FaceRecognizerSF``; the project pins OpenCV < 4.12.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from soberpay.adapters.vision.embedding import unit_embedding
from soberpay.adapters.vision.models import sface_model_path
from soberpay.adapters.vision.yunet import face_to_yunet_row
from soberpay.errors import FaceError
from soberpay.ports import DetectedFace, Embedding, ImageBGR

__all__ = ["SFaceEmbedder"]


class SFaceEmbedder:
    """``Embedder`` "sface": 5-landmark alignment to 112×112 + SFace, 128-d unit vectors."""

    name = "sface"
    dim = 128

    def __init__(self, model_path: Path | str | None = None) -> None:
        self._model_override = model_path
        self._net: Any = None
        self._lock = threading.Lock()

    @property
    def model_path(self) -> Path:
        return sface_model_path(self._model_override)

    def _load(self) -> Any:
        if self._net is None:
            self._net = cv2.FaceRecognizerSF.create(str(self.model_path), "")
        return self._net

    def align(self, image: ImageBGR, face: DetectedFace) -> ImageBGR:
        """The 112×112 aligned crop (in memory only)."""
        if len(face.landmarks) != 5:
            raise FaceError("SFace needs 5 face landmarks", n_landmarks=len(face.landmarks))
        with self._lock:
            net = self._load()
            aligned = net.alignCrop(image, face_to_yunet_row(face))
        return np.asarray(aligned, dtype=np.uint8)

    def embed(self, image: ImageBGR, face: DetectedFace) -> Embedding:
        aligned = self.align(image, face)
        with self._lock:
            feat = self._net.feature(aligned)
        return unit_embedding(feat, "SFace")
