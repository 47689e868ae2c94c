"""Method step 1: consent-gated capture of one integrated, encrypted feature record.

With ``sobriety_monitoring`` consent only: SIFT descriptors (OpenCV) of the face crop and of the
person crop, the face landmarks, the pose landmarks and the window signals are packed into one
record (numpy ``.npz`` in memory, float16 coordinates, uint8 SIFT descriptors), encrypted with the
Cipher port (AES-256-GCM, associated data binds it to the guest) and stored. Crops are grey,
resized and live only inside :meth:`FeatureRecordCapturer.capture`; no pixels are stored and
nothing is written to disk except the ciphertext through the store.

Measured size: see docs/research/sobriety-assessment.md (``soberpay assess --image ... --json`` prints it too).
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from soberpay.adapters.sobriety.store import SobrietyStore
from soberpay.errors import ConsentRequired, InvalidInput
from soberpay.ports import Cipher

RECORD_SCHEMA = 1
FACE_CROP = (128, 128)  # w, h of the grey face crop SIFT runs on
PERSON_CROP = (96, 192)  # w, h of the grey person crop


@dataclass(frozen=True)
class CaptureResult:
    record_id: int
    ciphertext_bytes: int  # what the database stores (nonce + ciphertext + tag)
    plaintext_bytes: int
    face_keypoints: int
    person_keypoints: int


def _crop(image: npt.NDArray[np.uint8], box: tuple[int, int, int, int], margin: float) -> npt.NDArray[np.uint8]:
    h, w = image.shape[:2]
    x, y, bw, bh = box
    cx, cy = x + bw / 2.0, y + bh / 2.0
    hw, hh = bw * (1 + margin) / 2.0, bh * (1 + margin) / 2.0
    x0, y0, x1, y1 = int(max(0, cx - hw)), int(max(0, cy - hh)), int(min(w, cx + hw)), int(min(h, cy + hh))
    if x1 - x0 < 4 or y1 - y0 < 4:
        return np.zeros((0, 0), np.uint8)
    c = image[y0:y1, x0:x1]
    return c if c.ndim == 2 else np.asarray(cv2.cvtColor(c, cv2.COLOR_BGR2GRAY), dtype=np.uint8)


class SiftExtractor:
    """OpenCV SIFT on a fixed-size grey crop; keeps the strongest ``max_keypoints``."""

    def __init__(self, max_keypoints: int = 32) -> None:
        self.max_keypoints = max_keypoints
        self._sift: Any = None

    def __call__(
        self, grey: npt.NDArray[np.uint8], size: tuple[int, int]
    ) -> tuple[npt.NDArray[np.float16], npt.NDArray[np.uint8]]:
        if grey.size == 0:
            return np.zeros((0, 4), np.float16), np.zeros((0, 128), np.uint8)
        if self._sift is None:
            self._sift = cv2.SIFT_create(nfeatures=self.max_keypoints)  # type: ignore[attr-defined]
        img = cv2.resize(grey, size, interpolation=cv2.INTER_AREA)
        kps, desc = self._sift.detectAndCompute(img, None)
        if desc is None or not kps:
            return np.zeros((0, 4), np.float16), np.zeros((0, 128), np.uint8)
        order = np.argsort([-k.response for k in kps])[: self.max_keypoints]
        kp = np.array([(kps[i].pt[0], kps[i].pt[1], kps[i].size, kps[i].angle) for i in order], np.float16)
        # SIFT descriptor components are clipped to ≤ 255 by OpenCV: uint8 is lossless here.
        d = np.clip(np.rint(desc[order]), 0, 255).astype(np.uint8)
        return kp, d


class FeatureRecordCapturer:
    def __init__(
        self,
        cipher: Cipher,
        store: SobrietyStore,
        has_consent: Callable[[str], bool],
        now: Callable[[], datetime],
        max_keypoints: int = 32,
    ) -> None:
        self.cipher = cipher
        self.store = store
        self.has_consent = has_consent
        self.now = now
        self.sift = SiftExtractor(max_keypoints)

    @staticmethod
    def aad(guest_id: str) -> bytes:
        return f"sobriety-record:{guest_id}".encode()

    def build(
        self,
        image_bgr: npt.NDArray[np.uint8],
        face_box: tuple[int, int, int, int] | None,
        face_landmarks: npt.NDArray[np.float32] | None,
        person_box: tuple[int, int, int, int] | None,
        pose_xy: npt.NDArray[np.float64] | None,
        pose_visibility: npt.NDArray[np.float64] | None,
        signals: Mapping[str, float],
        t: float,
    ) -> tuple[bytes, int, int]:
        """The plaintext record (npz bytes) and keypoint counts. No pixels are included."""
        if image_bgr.ndim != 3 or image_bgr.shape[2] != 3:
            raise InvalidInput("capture expects a BGR frame")
        arrays: dict[str, npt.NDArray[Any]] = {}
        nf = npn = 0
        if face_box is not None:
            kp, d = self.sift(_crop(image_bgr, face_box, 0.1), FACE_CROP)
            arrays["face_sift_kp"], arrays["face_sift"] = kp, d
            nf = len(d)
        if face_landmarks is not None:
            arrays["face_landmarks"] = np.asarray(face_landmarks, np.float16)
        if person_box is not None:
            kp, d = self.sift(_crop(image_bgr, person_box, 0.1), PERSON_CROP)
            arrays["person_sift_kp"], arrays["person_sift"] = kp, d
            npn = len(d)
        if pose_xy is not None:
            h, w = image_bgr.shape[:2]
            arrays["pose_xy"] = (np.asarray(pose_xy, np.float64) / np.array([w, h])).astype(np.float16)
            vis = np.ones(len(pose_xy)) if pose_visibility is None else pose_visibility
            arrays["pose_visibility"] = np.clip(np.asarray(vis) * 255, 0, 255).astype(np.uint8)
        meta = {
            "schema": RECORD_SCHEMA,
            "t": round(float(t), 3),
            "signals": {k: (None if not np.isfinite(v) else round(float(v), 5)) for k, v in signals.items()},
        }
        arrays["meta"] = np.frombuffer(json.dumps(meta, separators=(",", ":")).encode(), np.uint8)
        buf = io.BytesIO()
        np.savez_compressed(buf, **arrays)
        return buf.getvalue(), nf, npn

    def capture(
        self,
        guest_id: str,
        image_bgr: npt.NDArray[np.uint8],
        *,
        face_box: tuple[int, int, int, int] | None = None,
        face_landmarks: npt.NDArray[np.float32] | None = None,
        person_box: tuple[int, int, int, int] | None = None,
        pose_xy: npt.NDArray[np.float64] | None = None,
        pose_visibility: npt.NDArray[np.float64] | None = None,
        signals: Mapping[str, float] | None = None,
        t: float = 0.0,
    ) -> CaptureResult:
        if not self.has_consent(guest_id):
            raise ConsentRequired("sobriety capture needs sobriety_monitoring consent", guest_id=guest_id)
        plain, nf, npn = self.build(
            image_bgr, face_box, face_landmarks, person_box, pose_xy, pose_visibility, signals or {}, t
        )
        key_id, blob = self.cipher.encrypt(plain, self.aad(guest_id))
        rid = self.store.add_record(guest_id, self.now(), RECORD_SCHEMA, key_id, blob)
        return CaptureResult(rid, len(blob), len(plain), nf, npn)

    def open(self, guest_id: str, key_id: str, blob: bytes) -> dict[str, Any]:
        """Decrypt and unpack a stored record (staff audit, tests)."""
        plain = self.cipher.decrypt(key_id, blob, self.aad(guest_id))
        with np.load(io.BytesIO(plain), allow_pickle=False) as z:
            out: dict[str, Any] = {k: z[k] for k in z.files if k != "meta"}
            out["meta"] = json.loads(bytes(z["meta"]).decode())
        return out


__all__ = ["CaptureResult", "FeatureRecordCapturer", "RECORD_SCHEMA", "SiftExtractor"]
