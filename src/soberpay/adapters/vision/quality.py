"""Face quality measurements and quality-qualified frame selection (finance patent, step 1).

For the primary (highest-scoring) face we measure:

* **detector confidence** — YuNet's score;
* **sharpness** — variance of the Laplacian of the grey face crop, after resizing the crop to
  112×112 so the number does not depend on how large the face is in the picture;
* **face size** — shorter side of the detector box, in pixels;
* **brightness / contrast** — mean and standard deviation of the grey face crop (0..255);
* **yaw / pitch** — estimated from the 5 landmarks (see :func:`estimate_yaw_pitch`; a geometric
  approximation good to roughly ±10°, enough to reject profile and strongly tilted faces);
* **single face** — number of detections at or above ``min_detector_score``.

Each measurement is compared with its ``IdentitySettings`` minimum/maximum; every failed gate adds
a human-readable reason of the form ``"<gate>: <detail>"`` (the part before the colon is stable and
used to count rejections). Nothing here writes images anywhere.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import cv2
import numpy as np

from soberpay.config import IdentitySettings
from soberpay.ports import DetectedFace, FaceDetector, FaceQuality, ImageBGR, StageObserver, ignore_stage

__all__ = [
    "REASON_BLURRY",
    "REASON_DARK",
    "REASON_LOW_CONFIDENCE",
    "REASON_LOW_CONTRAST",
    "REASON_MULTIPLE_FACES",
    "REASON_NO_FACE",
    "REASON_PITCH",
    "REASON_TOO_BRIGHT",
    "REASON_TOO_SMALL",
    "REASON_YAW",
    "FrameSelection",
    "SelectedFrame",
    "assess_quality",
    "cheap_sharpness",
    "estimate_yaw_pitch",
    "quality_score",
    "reason_code",
    "select_frames",
]

REASON_NO_FACE = "no face"
REASON_MULTIPLE_FACES = "several faces"
REASON_LOW_CONFIDENCE = "low detector confidence"
REASON_TOO_SMALL = "face too small"
REASON_BLURRY = "blurry"
REASON_DARK = "too dark"
REASON_TOO_BRIGHT = "too bright"
REASON_LOW_CONTRAST = "low contrast"
REASON_YAW = "head turned"
REASON_PITCH = "head tilted up/down"

_CROP_SIDE = 112
# Frontal landmark geometry. YuNet puts the nose point 0.58 of the way from the eye line to the mouth
# line on frontal faces (median over the first ORL image of each of 40 people + the sample photos,
# measured with this detector; the ArcFace template's 0.49 is lower because it marks a different
# nose point). The nose tip protrudes about half the inter-ocular distance in front of the face plane.
_FRONTAL_NOSE_RATIO = 0.58
_NOSE_DEPTH_PER_IOD = 0.5
_IOD_PER_EYE_MOUTH = 35.24 / 40.69


def reason_code(reason: str) -> str:
    """The stable gate name of a reason string (``"face too small: 31 px < 40 px"`` → ``"face too small"``)."""
    return reason.split(":", 1)[0].strip()


def estimate_yaw_pitch(landmarks: tuple[tuple[float, float], ...]) -> tuple[float, float]:
    """Approximate head yaw and pitch in degrees from 5 landmarks (right eye, left eye, nose, mouth R, mouth L).

    The points are first de-rotated by the eye-line roll. Yaw: the nose tip, which stands out of the
    face plane by ≈ half the inter-ocular distance (IOD), shifts sideways from the eye/mouth midline
    by ``depth·sin(yaw)`` while the projected IOD shrinks by ``cos(yaw)``. Pitch: the nose moves up or
    down relative to its frontal position between the eye line and the mouth line. Signs: positive yaw
    = nose towards image right; positive pitch = nose lower than frontal (looking down).
    """
    pts = np.asarray(landmarks, dtype=np.float64)
    if pts.shape != (5, 2) or not np.all(np.isfinite(pts)):
        return 90.0, 90.0
    eye_r, eye_l, nose, mouth_r, mouth_l = pts
    eye_vec = eye_l - eye_r
    roll = math.atan2(eye_vec[1], eye_vec[0])
    c, s = math.cos(-roll), math.sin(-roll)
    rot = np.array([[c, -s], [s, c]])
    p = (pts - pts.mean(axis=0)) @ rot.T
    eye_r, eye_l, nose, mouth_r, mouth_l = p
    iod = abs(eye_l[0] - eye_r[0])
    eye_mid = (eye_r + eye_l) / 2.0
    mouth_mid = (mouth_r + mouth_l) / 2.0
    eye_mouth = mouth_mid[1] - eye_mid[1]
    if iod < 1e-6 or eye_mouth < 1e-6:
        return 90.0, 90.0
    midline_x = (eye_mid[0] + mouth_mid[0]) / 2.0
    yaw = math.degrees(math.atan(((nose[0] - midline_x) / iod) / _NOSE_DEPTH_PER_IOD))
    ratio = (nose[1] - eye_mid[1]) / eye_mouth
    depth = _NOSE_DEPTH_PER_IOD * _IOD_PER_EYE_MOUTH  # nose depth in eye-mouth units
    pitch = math.degrees(math.atan((ratio - _FRONTAL_NOSE_RATIO) / depth))
    return yaw, pitch


def _face_crop(image: ImageBGR, face: DetectedFace) -> ImageBGR:
    h, w = image.shape[:2]
    x, y, bw, bh = face.box
    x0, y0 = max(0, int(math.floor(x))), max(0, int(math.floor(y)))
    x1, y1 = min(w, int(math.ceil(x + bw))), min(h, int(math.ceil(y + bh)))
    if x1 - x0 < 2 or y1 - y0 < 2:
        return np.zeros((0, 0), dtype=np.uint8)
    crop = image[y0:y1, x0:x1]
    grey = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY) if crop.ndim == 3 else crop
    return np.asarray(grey, dtype=np.uint8)


def assess_quality(
    image: ImageBGR, faces: list[DetectedFace], settings: IdentitySettings, *, upscale: float = 1.0
) -> FaceQuality:
    """Measure the highest-scoring face of ``faces`` (as found in ``image``) against the quality gates.

    ``upscale`` > 1 says ``image`` was enlarged from the original (``pad_small_image``); the face size
    is then reported in original pixels so the size gate still measures real resolution.
    """
    if not faces:
        return FaceQuality(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0, False, (REASON_NO_FACE,))
    face = max(faces, key=lambda f: f.score)
    n_faces = sum(1 for f in faces if f.score >= settings.min_detector_score)
    grey = _face_crop(image, face)
    if grey.size:
        interp = cv2.INTER_AREA if min(grey.shape) >= _CROP_SIDE else cv2.INTER_LINEAR
        norm = cv2.resize(grey, (_CROP_SIDE, _CROP_SIDE), interpolation=interp)
        sharpness = float(cv2.Laplacian(norm, cv2.CV_64F).var())
        brightness = float(grey.mean())
        contrast = float(grey.std())
    else:
        sharpness = brightness = contrast = 0.0
    face_size = float(min(face.box[2], face.box[3])) / max(upscale, 1e-6)
    yaw, pitch = estimate_yaw_pitch(face.landmarks)

    reasons: list[str] = []
    if n_faces > 1:
        reasons.append(f"{REASON_MULTIPLE_FACES}: {n_faces} faces in view")
    if face.score < settings.min_detector_score:
        reasons.append(f"{REASON_LOW_CONFIDENCE}: {face.score:.2f} < {settings.min_detector_score:.2f}")
    if face_size < settings.min_face_px:
        reasons.append(f"{REASON_TOO_SMALL}: {face_size:.0f} px < {settings.min_face_px} px")
    if sharpness < settings.min_sharpness:
        reasons.append(f"{REASON_BLURRY}: sharpness {sharpness:.1f} < {settings.min_sharpness:.1f}")
    if brightness < settings.min_brightness:
        reasons.append(f"{REASON_DARK}: brightness {brightness:.0f} < {settings.min_brightness:.0f}")
    if brightness > settings.max_brightness:
        reasons.append(f"{REASON_TOO_BRIGHT}: brightness {brightness:.0f} > {settings.max_brightness:.0f}")
    if contrast < settings.min_contrast:
        reasons.append(f"{REASON_LOW_CONTRAST}: contrast {contrast:.1f} < {settings.min_contrast:.1f}")
    if abs(yaw) > settings.max_yaw_deg:
        reasons.append(f"{REASON_YAW}: yaw {yaw:+.0f}° beyond ±{settings.max_yaw_deg:.0f}°")
    if abs(pitch) > settings.max_pitch_deg:
        reasons.append(f"{REASON_PITCH}: pitch {pitch:+.0f}° beyond ±{settings.max_pitch_deg:.0f}°")
    return FaceQuality(
        detector_score=float(face.score),
        sharpness=sharpness,
        face_size=face_size,
        brightness=brightness,
        contrast=contrast,
        yaw_deg=float(yaw),
        pitch_deg=float(pitch),
        n_faces=n_faces,
        passed=not reasons,
        reasons=tuple(reasons),
    )


_CHEAP_SIDE = 160


def cheap_sharpness(image: ImageBGR) -> float:
    """Variance of the Laplacian of the whole frame shrunk to 160 px wide: motion blur and defocus, the
    usual reasons a clip frame fails, show here before any model runs."""
    h, w = image.shape[:2]
    scale = _CHEAP_SIDE / max(w, 1)
    small = cv2.resize(image, (_CHEAP_SIDE, max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    return float(cv2.Laplacian(cv2.cvtColor(small, cv2.COLOR_BGR2GRAY), cv2.CV_32F).var())


def quality_score(q: FaceQuality, settings: IdentitySettings) -> float:
    """A single number in [0, 1] to rank qualified frames: confidence × sharpness × size × frontalness.

    Sharpness and size saturate at 4× and 2× their minimums, so beyond "clearly good" the most
    frontal, most confident frame wins.
    """
    if q.n_faces == 0 and q.detector_score == 0.0:
        return 0.0
    sharp = min(1.0, q.sharpness / max(4.0 * settings.min_sharpness, 1e-6))
    size = min(1.0, q.face_size / max(2.0 * settings.min_face_px, 1e-6))
    pose = max(0.0, math.cos(math.radians(q.yaw_deg))) * max(0.0, math.cos(math.radians(q.pitch_deg)))
    return float(q.detector_score * sharp * size * pose)


@dataclass(frozen=True)
class SelectedFrame:
    index: int  # position in the input sequence
    image: ImageBGR
    face: DetectedFace
    quality: FaceQuality
    score: float  # quality_score


@dataclass
class FrameSelection:
    """The best qualified frames and why the others were rejected."""

    selected: list[SelectedFrame] = field(default_factory=list)
    n_frames: int = 0
    n_qualified: int = 0
    n_examined: int = 0  # frames the detector and the gates judged (all of them without a detect budget)
    rejections: Counter[str] = field(default_factory=Counter)  # gate name → number of frames failing it

    def summary(self) -> str:
        """One line such as ``"3 of 40 frames qualified; rejected: blurry 20, no face 17"``."""
        parts = ", ".join(f"{k} {v}" for k, v in self.rejections.most_common())
        text = f"{self.n_qualified} of {self.n_examined} frames qualified"
        return f"{text}; rejected: {parts}" if parts else text


def select_frames(
    frames: Iterable[ImageBGR],
    detector: FaceDetector,
    settings: IdentitySettings,
    top_k: int = 5,
    *,
    min_gap: int = 2,
    detect_budget: int | None = None,
    observe: StageObserver = ignore_stage,
) -> FrameSelection:
    """Score every frame's primary face, keep those passing all gates and return the ``top_k`` best.

    Selection is greedy by :func:`quality_score`, preferring frames at least ``min_gap`` positions
    apart (so five near-identical consecutive frames are not all chosen); if that leaves fewer than
    ``top_k``, the remaining best qualified frames fill up. A frame failing several gates counts once
    per gate in ``rejections``. Only the kept frames are retained in memory.

    With ``detect_budget``, a clip longer than the budget is first ranked by a cheap whole-frame
    sharpness (:func:`cheap_sharpness`, ~0.3 ms a frame) and only the ``detect_budget`` sharpest frames
    go to the detector (~12 ms a frame): the gates then judge those (``n_examined``).
    """
    result = FrameSelection()
    pool: list[SelectedFrame] = []
    keep = max(top_k * 4, top_k)
    indexed: Iterable[tuple[int, ImageBGR]] = enumerate(frames)
    if detect_budget is not None:
        listed = list(indexed)
        result.n_frames = len(listed)
        if len(listed) > detect_budget:
            started = time.perf_counter()
            ranked = sorted(listed, key=lambda f: cheap_sharpness(f[1]), reverse=True)[:detect_budget]
            observe("preselect", time.perf_counter() - started)
            listed = sorted(ranked, key=lambda f: f[0])
        indexed = listed
    for i, frame in indexed:
        if detect_budget is None:
            result.n_frames += 1
        result.n_examined += 1
        started = time.perf_counter()
        faces = detector.detect(frame)
        detected = time.perf_counter()
        q = assess_quality(frame, faces, settings)
        observe("detect", detected - started)
        observe("quality", time.perf_counter() - detected)
        if not q.passed:
            for r in q.reasons:
                result.rejections[reason_code(r)] += 1
            continue
        result.n_qualified += 1
        face = max(faces, key=lambda f: f.score)
        pool.append(SelectedFrame(i, frame, face, q, quality_score(q, settings)))
        if len(pool) > keep * 2:  # bound memory on long videos
            pool.sort(key=lambda s: s.score, reverse=True)
            del pool[keep:]
    pool.sort(key=lambda s: s.score, reverse=True)
    chosen: list[SelectedFrame] = []
    for cand in pool:
        if len(chosen) >= top_k:
            break
        if all(abs(cand.index - c.index) >= min_gap for c in chosen):
            chosen.append(cand)
    if len(chosen) < top_k:
        taken = {c.index for c in chosen}
        chosen.extend([c for c in pool if c.index not in taken][: top_k - len(chosen)])
        chosen.sort(key=lambda s: s.score, reverse=True)
    result.selected = chosen
    return result
