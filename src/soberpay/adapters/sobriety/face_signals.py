"""Face signals from MediaPipe Face Mesh (478 points with iris): EAR, blinks, PERCLOS, openness,
gaze jitter, head micro-movement and facial colour change against the guest's own baseline.

Per frame, :class:`FaceMeshSignals` returns a :class:`FaceFrame` of raw measurements (the same raw
signals the expression classifier consumes: eye openness, gaze_xy, mouth openness, nose position,
colour change). Over a sliding window, :class:`FaceSignalWindow` turns frames into the face part
of the fusion vector (``FACE_FEATURES``).

Head position: a frame stores the nose tip in pixels and the inter-ocular distance (IOD) in
pixels; the head trajectory of a window (:func:`head_trajectory`) is the nose pixel position
divided by the window's *median* IOD. Dividing each frame by its own IOD (the first version) let
the 0.4-0.6 % frame-to-frame jitter of the measured IOD multiply the nose's whole distance from the
image origin (3-5 IOD), so a motionless head read ≈ 0.03 IOD of movement per frame (head speed
≈ 0.8 IOD/s). With one scale per window, the IOD jitter only rescales the trajectory by a constant
and head motion is the nose's own pixel displacement, in units of the face size.

Colour: pixels are first illumination-normalised with grey-world on the frame (KTV lighting is
strongly coloured and changes with the music), then converted to CIELAB; a* (green→red) is read on
cheek and forehead patches and on the sclera (eye white inside the eye contour, iris removed).
``colour_change = tanh((a* − a*_baseline) / colour_scale_a)`` in −1..1, where the baseline is the
guest's own value at visit start. It is evidence only, never a trigger: alcohol flush (ALDH2
deficiency, common in East Asian guests) reddens the face after a small amount of alcohol without
intoxication, and a hot room, singing or make-up do the same.

Face Mesh is used rather than the Face Landmarker with blendshapes because it is about 3× faster
here (≈6 ms vs ≈18 ms tracking); the blendshape scores are not needed for these geometric signals.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from soberpay.errors import ConfigError

F64 = npt.NDArray[np.float64]

# MediaPipe Face Mesh indices (refine_landmarks=True gives 478 points, iris at 468..477).
RIGHT_EYE_EAR = (33, 160, 158, 133, 153, 144)  # p1..p6 of Soukupová & Čech's EAR
LEFT_EYE_EAR = (362, 385, 387, 263, 373, 380)
RIGHT_EYE_CONTOUR = (33, 246, 161, 160, 159, 158, 157, 173, 133, 155, 154, 153, 145, 144, 163, 7)
LEFT_EYE_CONTOUR = (263, 466, 388, 387, 386, 385, 384, 398, 362, 382, 381, 380, 374, 373, 390, 249)
RIGHT_IRIS = (468, 469, 470, 471, 472)
LEFT_IRIS = (473, 474, 475, 476, 477)
MOUTH_INNER_TOP, MOUTH_INNER_BOTTOM, MOUTH_LEFT, MOUTH_RIGHT = 13, 14, 291, 61
NOSE_TIP = 1
CHEEK_POINTS = (50, 280)  # right cheek, left cheek (subject's)
FOREHEAD_POINT = 151
CLOSED_EAR = 0.05  # EAR of a shut eye; openness is (EAR − 0.05) / (open_ear − 0.05)
MOUTH_OPEN_RATIO = 0.7  # inner-lip gap / mouth width of a wide-open mouth (openness = 1)


# --------------------------------------------------------------------------------------------------
# Pure numeric helpers (tested on synthetic signals)
# --------------------------------------------------------------------------------------------------


def eye_aspect_ratio(pts: npt.ArrayLike) -> float:
    """EAR = (|p2−p6| + |p3−p5|) / (2 |p1−p4|) for six (x, y) points p1..p6."""
    p = np.asarray(pts, dtype=np.float64)[:, :2]
    width = float(np.linalg.norm(p[0] - p[3]))
    if width <= 1e-9:
        return 0.0
    return float((np.linalg.norm(p[1] - p[5]) + np.linalg.norm(p[2] - p[4])) / (2.0 * width))


def openness_from_ear(ear: float, open_ear: float) -> float:
    return float(np.clip((ear - CLOSED_EAR) / max(open_ear - CLOSED_EAR, 1e-6), 0.0, 1.0))


@dataclass(frozen=True)
class Blink:
    start: float
    duration: float


def blink_thresholds(open_ear: float, close_openness: float, reopen_openness: float) -> tuple[float, float]:
    """(close, reopen) EAR thresholds for a guest whose open eye measures ``open_ear``: the eye counts as
    closed below ``close_openness`` of its own opening and as open again above ``reopen_openness``
    (hysteresis: landmark jitter around one threshold used to count hundreds of blinks per minute)."""
    span = max(open_ear - CLOSED_EAR, 1e-3)
    return CLOSED_EAR + close_openness * span, CLOSED_EAR + reopen_openness * span


def detect_blinks(
    t: npt.ArrayLike,
    ear: npt.ArrayLike,
    threshold: float,
    max_duration: float = 2.0,
    reopen_threshold: float | None = None,
) -> list[Blink]:
    """Blinks = runs that start when EAR drops below ``threshold`` and end at the first frame with EAR ≥
    ``reopen_threshold`` (default: the same threshold). A run's duration runs from its first closed
    frame to that first open frame (one frame interval for a one-frame blink). Runs longer than
    ``max_duration`` are eye closures, not blinks (they still count in PERCLOS). A run still open at
    the end of the signal is not counted (it may continue)."""
    tt = np.asarray(t, dtype=np.float64)
    e = np.asarray(ear, dtype=np.float64)
    reopen = threshold if reopen_threshold is None else max(reopen_threshold, threshold)
    blinks: list[Blink] = []
    start_i: int | None = None
    for i, v in enumerate(e):
        if start_i is None and v < threshold:
            start_i = i
        elif start_i is not None and v >= reopen:
            dur = float(tt[i] - tt[start_i])
            if dur <= max_duration:
                blinks.append(Blink(float(tt[start_i]), dur))
            start_i = None
    return blinks


def perclos(openness: npt.ArrayLike, closed_openness: float = 0.2, t: npt.ArrayLike | None = None) -> float:
    """PERCLOS: fraction of time the eyes are at least 80 % closed (openness ≤ 0.2).

    With timestamps, each sample is weighted by the time until the next one (robust to dropped frames).
    """
    o = np.asarray(openness, dtype=np.float64)
    if o.size == 0:
        return float("nan")
    closed = (o <= closed_openness).astype(np.float64)
    if t is None or o.size < 2:
        return float(closed.mean())
    tt = np.asarray(t, dtype=np.float64)
    dt = np.diff(tt)
    dt = np.append(dt, np.median(dt) if dt.size else 0.0)
    total = float(dt.sum())
    return float((closed * dt).sum() / total) if total > 0 else float(closed.mean())


def path_speed(t: npt.ArrayLike, xy: npt.ArrayLike, detrend_frames: int = 0) -> float:
    """Mean speed (units/s) of a 2-D trajectory; with ``detrend_frames`` the moving average over that
    many frames is removed first (keeps micro-movement, drops slow deliberate motion)."""
    tt = np.asarray(t, dtype=np.float64)
    p = np.asarray(xy, dtype=np.float64)
    if p.shape[0] < 2:
        return float("nan")
    if detrend_frames > 1 and p.shape[0] > detrend_frames:
        k = np.ones(detrend_frames) / detrend_frames
        trend = np.stack(
            [
                np.convolve(np.pad(p[:, j], detrend_frames // 2, mode="edge"), k, "valid")[: p.shape[0]]
                for j in range(2)
            ],
            axis=1,
        )
        p = p - trend
    dist = float(np.linalg.norm(np.diff(p, axis=0), axis=1).sum())
    dur = float(tt[-1] - tt[0])
    return dist / dur if dur > 0 else float("nan")


def head_trajectory_from(nose_px: npt.ArrayLike, iod_px: npt.ArrayLike) -> F64:
    """(T, 2) head (nose-tip) trajectory in inter-ocular distances: nose pixels / the window's median
    IOD. One temporally smoothed scale per window, so per-frame IOD jitter is not multiplied by the
    nose's distance from the image origin (see the module docstring)."""
    nose = np.asarray(nose_px, dtype=np.float64).reshape(-1, 2)
    iod = np.asarray(iod_px, dtype=np.float64).reshape(-1)
    good = np.isfinite(iod) & (iod > 1e-6)
    if nose.shape[0] != iod.shape[0] or not good.any():
        return np.full(nose.shape, np.nan)
    return np.asarray(nose / float(np.median(iod[good])))


def head_trajectory(frames: Sequence[FaceFrame]) -> F64:
    """Head trajectory (T, 2) of a window of frames, in inter-ocular distances."""
    return head_trajectory_from([f.nose_px for f in frames], [f.iod_px for f in frames])


def grey_world_gains(image: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
    """Grey-world white-balance gains (per BGR channel), estimated on a small thumbnail."""
    h, w = image.shape[:2]
    step = max(1, max(h, w) // 160)
    means = image[::step, ::step].reshape(-1, 3).astype(np.float32).mean(axis=0)
    gains = float(means.mean()) / np.maximum(means, 1.0)
    return np.asarray(gains, dtype=np.float32)


def grey_world(image: npt.NDArray[np.uint8], gains: npt.NDArray[np.float32] | None = None) -> npt.NDArray[np.float32]:
    """Grey-world white balance: scale channels so their means are equal. Returns float32 in 0..1."""
    g = grey_world_gains(image) if gains is None else gains
    return np.clip(image.astype(np.float32) * (g / 255.0), 0.0, 1.0)


def colour_change(a_now: float, a_baseline: float | None, scale: float) -> float:
    """−1..1: tanh of the a* (redness) change against the guest's own baseline."""
    if a_baseline is None or not math.isfinite(a_now):
        return float("nan")
    return float(math.tanh((a_now - a_baseline) / scale))


# --------------------------------------------------------------------------------------------------
# Per-frame measurement
# --------------------------------------------------------------------------------------------------


@dataclass
class FaceFrame:
    """Raw per-frame face measurements (image-independent units)."""

    t: float
    ear: float
    eye_openness: float
    mouth_openness: float
    gaze_xy: tuple[float, float]  # iris centre relative to the eye-corner midpoint, in eye widths
    nose_px: tuple[float, float]  # nose tip, pixels of the analysed image (see head_trajectory)
    iod_px: float  # inter-ocular distance (eye-contour centres), pixels
    skin_a: float  # CIELAB a* of cheeks/forehead after grey-world (NaN if not measurable)
    sclera_a: float  # CIELAB a* of the sclera (NaN if not measurable)
    box: tuple[int, int, int, int]  # x, y, w, h in the analysed image
    landmarks: npt.NDArray[np.float32] = field(repr=False)  # 478×3 normalised (x, y, z)

    @property
    def redness(self) -> float:
        """Combined a*: 70 % skin + 30 % sclera when both exist."""
        if math.isfinite(self.sclera_a) and math.isfinite(self.skin_a):
            return 0.7 * self.skin_a + 0.3 * self.sclera_a
        return self.skin_a


def _patch_mean_a(lab: npt.NDArray[np.float32], centre: npt.NDArray[np.float64], radius: float) -> float:
    h, w = lab.shape[:2]
    x, y, r = int(round(centre[0])), int(round(centre[1])), max(1, int(round(radius)))
    x0, x1, y0, y1 = max(0, x - r), min(w, x + r + 1), max(0, y - r), min(h, y + r + 1)
    if x1 <= x0 or y1 <= y0:
        return float("nan")
    return float(lab[y0:y1, x0:x1, 1].mean())


def _sclera_a(lab: npt.NDArray[np.float32], px: F64, offset: tuple[int, int]) -> float:
    vals: list[float] = []
    for contour, iris in ((RIGHT_EYE_CONTOUR, RIGHT_IRIS), (LEFT_EYE_CONTOUR, LEFT_IRIS)):
        poly = (px[list(contour)] - offset).astype(np.int32)
        mask = np.zeros(lab.shape[:2], np.uint8)
        cv2.fillPoly(mask, [poly], (255,))
        ic = px[iris[0]] - offset
        ir = float(np.linalg.norm(px[iris[1]] - px[iris[3]]) / 2.0)
        cv2.circle(mask, (int(round(ic[0])), int(round(ic[1]))), int(math.ceil(ir * 1.1)), (0,), -1)
        sel = lab[..., 1][mask > 0]  # a* channel (offset removed by the caller)
        if sel.size >= 4:
            vals.append(float(np.median(sel)))
    return float(np.mean(vals)) if vals else float("nan")


def measure_face(
    t: float,
    image_bgr: npt.NDArray[np.uint8],
    landmarks_norm: npt.NDArray[np.float32],
    open_ear: float = 0.3,
    gains: npt.NDArray[np.float32] | None = None,
) -> FaceFrame:
    """All per-frame face measurements from 478 normalised landmarks on ``image_bgr``."""
    h, w = image_bgr.shape[:2]
    px = landmarks_norm[:, :2].astype(np.float64) * np.array([w, h], dtype=np.float64)
    ear = 0.5 * (eye_aspect_ratio(px[list(RIGHT_EYE_EAR)]) + eye_aspect_ratio(px[list(LEFT_EYE_EAR)]))
    gaze = []
    for (c1, c2), iris in (((33, 133), 468), ((362, 263), 473)):
        mid = (px[c1] + px[c2]) / 2.0
        width = max(float(np.linalg.norm(px[c1] - px[c2])), 1e-6)
        gaze.append((px[iris] - mid) / width)
    g = np.mean(gaze, axis=0)
    eye_r = px[list(RIGHT_EYE_CONTOUR)].mean(axis=0)
    eye_l = px[list(LEFT_EYE_CONTOUR)].mean(axis=0)
    iod = max(float(np.linalg.norm(eye_r - eye_l)), 1e-6)
    nose = px[NOSE_TIP]
    mouth_w = max(float(np.linalg.norm(px[MOUTH_LEFT] - px[MOUTH_RIGHT])), 1e-6)
    gap = float(np.linalg.norm(px[MOUTH_INNER_TOP] - px[MOUTH_INNER_BOTTOM]))
    mouth = float(np.clip(gap / mouth_w / MOUTH_OPEN_RATIO, 0.0, 1.0))

    x0, y0 = np.floor(px.min(axis=0)).astype(int)
    x1, y1 = np.ceil(px.max(axis=0)).astype(int)
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
    skin_a = sclera_a = float("nan")
    if x1 - x0 >= 8 and y1 - y0 >= 8:
        g = grey_world_gains(image_bgr) if gains is None else gains
        crop = np.ascontiguousarray(image_bgr[y0:y1, x0:x1])
        scale = min(1.0, 128.0 / float(x1 - x0))  # colour needs few pixels: work on a ≤128 px crop
        if scale < 1.0:
            crop = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        # 8-bit Lab (a* + 128) is ~20× faster than float Lab here; patch means restore sub-unit precision.
        bal8 = (grey_world(crop, g) * 255.0 + 0.5).astype(np.uint8)
        lab = cv2.cvtColor(bal8, cv2.COLOR_BGR2LAB).astype(np.float32) - np.float32(128.0)
        spx = (px - np.array([x0, y0], dtype=np.float64)) * scale
        r = 0.12 * iod * scale
        patches = [_patch_mean_a(lab, spx[i], r) for i in (*CHEEK_POINTS, FOREHEAD_POINT)]
        finite = [v for v in patches if math.isfinite(v)]
        skin_a = float(np.mean(finite)) if finite else float("nan")
        sclera_a = _sclera_a(lab, spx, (0, 0))
    return FaceFrame(
        t=t,
        ear=ear,
        eye_openness=openness_from_ear(ear, open_ear),
        mouth_openness=mouth,
        gaze_xy=(float(g[0]), float(g[1])),
        nose_px=(float(nose[0]), float(nose[1])),
        iod_px=iod,
        skin_a=skin_a,
        sclera_a=sclera_a,
        box=(int(x0), int(y0), int(x1 - x0), int(y1 - y0)),
        landmarks=landmarks_norm.astype(np.float32),
    )


class FaceMeshSignals:
    """MediaPipe Face Mesh (refine_landmarks → iris) wrapped to return :class:`FaceFrame`.

    The model is loaded lazily on first use (no import-time loading). ``static_image_mode=True`` for
    photos, False for video (tracking, ≈6 ms per frame here).
    """

    def __init__(self, static_image_mode: bool = False, open_ear: float = 0.3, max_num_faces: int = 1) -> None:
        self.static_image_mode = static_image_mode
        self.open_ear = open_ear
        self.max_num_faces = max_num_faces
        self._mesh: Any = None

    def _load(self) -> Any:
        if self._mesh is None:
            try:
                import mediapipe as mp
            except ImportError as exc:  # pragma: no cover - depends on the install
                raise ConfigError("mediapipe is not installed (see requirements-models.txt)") from exc
            self._mesh = mp.solutions.face_mesh.FaceMesh(
                static_image_mode=self.static_image_mode,
                max_num_faces=self.max_num_faces,
                refine_landmarks=True,
                min_detection_confidence=0.5,
                min_tracking_confidence=0.5,
            )
        return self._mesh

    def landmarks(self, image_bgr: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32] | None:
        """Raw MediaPipe call: 478×3 normalised landmarks of the first face, or None."""
        rgb = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB)
        res = self._load().process(rgb)
        if not res.multi_face_landmarks:
            return None
        lm = res.multi_face_landmarks[0].landmark
        return np.array([(p.x, p.y, p.z) for p in lm], dtype=np.float32)

    def analyse(
        self, image_bgr: npt.NDArray[np.uint8], t: float, gains: npt.NDArray[np.float32] | None = None
    ) -> FaceFrame | None:
        lm = self.landmarks(image_bgr)
        if lm is None or lm.shape[0] < 478:
            return None
        return measure_face(t, image_bgr, lm, self.open_ear, gains)

    def close(self) -> None:
        if self._mesh is not None:
            self._mesh.close()
            self._mesh = None


# --------------------------------------------------------------------------------------------------
# Window → face part of the fusion vector
# --------------------------------------------------------------------------------------------------


@dataclass
class FaceSignals:
    eye_openness: float
    mouth_openness: float
    colour_change: float
    blink_rate_per_min: float
    blink_duration_s: float
    perclos: float
    gaze_jitter: float
    head_micro_movement: float
    expression_score: float = float("nan")
    n_frames: int = 0

    def as_dict(self) -> dict[str, float]:
        return {
            "eye_openness": self.eye_openness,
            "mouth_openness": self.mouth_openness,
            "colour_change": self.colour_change,
            "blink_rate_per_min": self.blink_rate_per_min,
            "blink_duration_s": self.blink_duration_s,
            "perclos": self.perclos,
            "gaze_jitter": self.gaze_jitter,
            "head_micro_movement": self.head_micro_movement,
            "expression_score": self.expression_score,
        }


class FaceSignalWindow:
    """Sliding window of :class:`FaceFrame` → :class:`FaceSignals`; keeps the guest's colour baseline and
    their own open-eye EAR (median EAR of the baseline frames: eyes are open > 90 % of the time).

    Blinks are counted against the guest's own eye: a fixed EAR threshold (0.2) counted 200+ blinks per
    minute on a real open-eyed face whose open EAR is 0.19, and none on a singer whose open EAR is 0.37.
    Until the baseline has ``MIN_OPEN_EAR_FRAMES`` frames the window's own median EAR stands in.
    """

    MIN_OPEN_EAR_FRAMES = 30

    def __init__(
        self,
        window_seconds: float = 10.0,
        blink_close_openness: float = 0.55,
        blink_reopen_openness: float = 0.75,
        perclos_closed_openness: float = 0.2,
        colour_scale_a: float = 6.0,
    ) -> None:
        self.window_seconds = window_seconds
        self.blink_close_openness = blink_close_openness
        self.blink_reopen_openness = blink_reopen_openness
        self.perclos_closed_openness = perclos_closed_openness
        self.colour_scale_a = colour_scale_a
        self.frames: deque[FaceFrame] = deque()
        self._baseline_ears: deque[float] = deque(maxlen=5000)
        self._colour_sum = 0.0
        self._colour_n = 0
        self.colour_baseline: float | None = None

    def add(self, frame: FaceFrame, in_baseline: bool = False) -> None:
        self.frames.append(frame)
        while self.frames and frame.t - self.frames[0].t > self.window_seconds:
            self.frames.popleft()
        if in_baseline and math.isfinite(frame.ear):
            self._baseline_ears.append(frame.ear)
        if in_baseline and math.isfinite(frame.redness):
            self._colour_sum += frame.redness
            self._colour_n += 1
            self.colour_baseline = self._colour_sum / self._colour_n

    @property
    def open_ear(self) -> float | None:
        """The guest's own open-eye EAR from the baseline frames (None until there are enough)."""
        if len(self._baseline_ears) < self.MIN_OPEN_EAR_FRAMES:
            return None
        return float(np.median(np.fromiter(self._baseline_ears, np.float64)))

    def set_colour_baseline(self, a_star: float) -> None:
        self.colour_baseline = a_star

    def drop_older_than(self, t: float) -> None:
        while self.frames and t - self.frames[0].t > self.window_seconds:
            self.frames.popleft()

    def signals(self, min_frames: int = 3) -> FaceSignals | None:
        fr: Sequence[FaceFrame] = list(self.frames)
        if len(fr) < min_frames:
            return None
        t = np.array([f.t for f in fr])
        ear = np.array([f.ear for f in fr])
        op = np.array([f.eye_openness for f in fr])
        open_ear = self.open_ear
        close_ear, reopen_ear = blink_thresholds(
            float(np.median(ear)) if open_ear is None else open_ear,
            self.blink_close_openness,
            self.blink_reopen_openness,
        )
        blinks = detect_blinks(t, ear, close_ear, reopen_threshold=reopen_ear)
        span = max(float(t[-1] - t[0]), 1e-6)
        red = np.array([f.redness for f in fr])
        red = red[np.isfinite(red)]
        cc = (
            colour_change(float(np.median(red)), self.colour_baseline, self.colour_scale_a)
            if red.size
            else float("nan")
        )
        fps = (len(fr) - 1) / span
        return FaceSignals(
            eye_openness=float(op.mean()),
            mouth_openness=float(np.mean([f.mouth_openness for f in fr])),
            colour_change=cc,
            blink_rate_per_min=len(blinks) * 60.0 / span,
            blink_duration_s=float(np.mean([b.duration for b in blinks])) if blinks else 0.0,
            perclos=perclos(op, self.perclos_closed_openness, t),
            gaze_jitter=path_speed(t, [f.gaze_xy for f in fr], detrend_frames=max(3, int(fps))),
            head_micro_movement=path_speed(t, head_trajectory(fr), detrend_frames=max(3, int(fps))),
            n_frames=len(fr),
        )


def expression_score_from_frames(
    frames: Sequence[FaceFrame], colour_baseline: float | None, colour_scale_a: float, model: Any
) -> float:
    """Run the expression classifier (``ExpressionClassifier``-like ``model.score``) on a window of
    face frames resampled to ``EXPRESSION_FPS``. NaN when the window is too short or the model refuses.
    Shared by the live monitor and the SYNTHETIC fusion generator so both see the same score."""
    from soberpay.adapters.sobriety.expression_features import expression_sequence
    from soberpay.adapters.sobriety.features import EXPRESSION_FPS
    from soberpay.errors import SoberpayError

    if model is None or len(frames) < 8:
        return float("nan")
    t = np.array([f.t for f in frames])
    grid = np.arange(t[0], t[-1], 1.0 / EXPRESSION_FPS)
    if grid.size < 32:
        return float("nan")

    def rs(v: Any) -> F64:
        a = np.asarray(v, dtype=np.float64)
        if a.ndim == 1:
            good = np.isfinite(a)
            if not good.any():
                return np.zeros(grid.size)
            return np.asarray(np.interp(grid, t[good], a[good]))
        return np.stack([np.interp(grid, t, a[:, j]) for j in range(a.shape[1])], axis=1)

    cc = [colour_change(f.redness, colour_baseline, colour_scale_a) for f in frames]
    try:
        seq = expression_sequence(
            rs([f.eye_openness for f in frames]),
            rs([f.gaze_xy for f in frames]),
            rs([f.mouth_openness for f in frames]),
            rs(head_trajectory(frames)),
            np.nan_to_num(rs(cc)),
            fps=EXPRESSION_FPS,
        )
        return float(model.score(seq))
    except (SoberpayError, ValueError):
        return float("nan")


__all__ = [
    "Blink",
    "blink_thresholds",
    "expression_score_from_frames",
    "FaceFrame",
    "FaceMeshSignals",
    "FaceSignalWindow",
    "FaceSignals",
    "colour_change",
    "detect_blinks",
    "eye_aspect_ratio",
    "grey_world",
    "grey_world_gains",
    "head_trajectory",
    "head_trajectory_from",
    "measure_face",
    "openness_from_ear",
    "path_speed",
    "perclos",
]
