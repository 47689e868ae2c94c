"""Posture signals from MediaPipe Pose (33 landmarks), method step S104.

Pipeline per guest:

1. :class:`PoseEstimator` — MediaPipe Pose ``model_complexity=1`` (the only bundled model; 0 and 2
   try to download). For small people in wide shots it tracks a person ROI: full frame first, then a
   HOG people detector on a downscaled frame when the track is lost; the ROI then follows the
   landmarks.
2. Cleaning and denoising — joints below the visibility floor are dropped, short gaps are held,
   coordinates pass a One-Euro filter, and everything is normalised by torso length
   (shoulder-midpoint ↔ hip-midpoint) so that distance to the camera does not matter.
3. :class:`PoseTimeSeries` — per-frame joint angles (head, trunk tilt, upper arms, thighs, elbows,
   knees), positions and velocities; window features: change rate of head/arm/leg angles
   (|θ(t) − θ(t − 1 s)| per second, as in the method's example), trunk tilt from vertical, sway
   (centre-of-mass path length per second after removing slow translation, and its dominant
   frequency), activity (standing / sitting / walking), and the fixed-size window the pose CNN reads.
4. :class:`PoseCnnEmbedder` (ONNX via onnxruntime) + :class:`PoseNormalModel` — similarity to the
   guest's historical normal pose embeddings; below ``pose_similarity_threshold`` the window is
   "to verify"; an IsolationForest fitted on the guest's normal embeddings decides whether it is an
   anomaly, with the method's isolation score s_i (mean distance to the other points); anomalies go
   to the abnormal-pattern book (domain) and its table.

Limits: angles are measured in the 2-D image plane, so "vertical" is the camera's vertical (a rolled
camera adds a constant tilt — the per-guest baseline removes it from the deltas, not from the
absolute rule), and out-of-plane lean is invisible.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from soberpay.adapters.onnx_cpu import cpu_session
from soberpay.adapters.sobriety.features import ACTIVITIES, POSE_CNN_JOINTS, POSE_CNN_WINDOW
from soberpay.domain.sobriety import isolation_score
from soberpay.errors import ConfigError, InvalidInput

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]

# MediaPipe Pose indices.
NOSE, L_SHOULDER, R_SHOULDER, L_ELBOW, R_ELBOW, L_WRIST, R_WRIST = 0, 11, 12, 13, 14, 15, 16
L_HIP, R_HIP, L_KNEE, R_KNEE, L_ANKLE, R_ANKLE = 23, 24, 25, 26, 27, 28
N_LANDMARKS = 33
CNN_SAMPLE_HZ = 10.0  # the CNN window is resampled to 10 Hz → 32 samples = 3.2 s
HAND_AT_MOUTH = 0.7  # wrist–nose distance in torso lengths (singer clip: median 0.5; walkers: 1.2)


# --------------------------------------------------------------------------------------------------
# Denoising
# --------------------------------------------------------------------------------------------------


class OneEuroFilter:
    """One-Euro filter (Casiez et al. 2012) on arrays: low lag when moving, smooth when still."""

    def __init__(self, min_cutoff: float = 1.0, beta: float = 0.05, d_cutoff: float = 1.0) -> None:
        self.min_cutoff, self.beta, self.d_cutoff = min_cutoff, beta, d_cutoff
        self._x: F64 | None = None
        self._dx: F64 | None = None
        self._t: float | None = None

    @staticmethod
    def _alpha(cutoff: F64 | float, dt: float) -> F64 | float:
        tau = 1.0 / (2.0 * math.pi * np.asarray(cutoff))
        return np.asarray(1.0 / (1.0 + tau / dt), dtype=np.float64)

    def reset(self) -> None:
        self._x = self._dx = None
        self._t = None

    def __call__(self, x: npt.ArrayLike, t: float) -> F64:
        xv = np.asarray(x, dtype=np.float64)
        if self._x is None or self._t is None or t <= self._t or self._x.shape != xv.shape:
            self._x, self._dx, self._t = xv.copy(), np.zeros_like(xv), t
            return xv.copy()
        dt = t - self._t
        assert self._dx is not None
        dx = (xv - self._x) / dt
        a_d = self._alpha(self.d_cutoff, dt)
        self._dx = self._dx + a_d * (dx - self._dx)
        cutoff = self.min_cutoff + self.beta * np.abs(self._dx)
        a = self._alpha(cutoff, dt)
        self._x = self._x + a * (xv - self._x)
        self._t = t
        return self._x.copy()


# --------------------------------------------------------------------------------------------------
# Estimation
# --------------------------------------------------------------------------------------------------


@dataclass
class PoseFrame:
    t: float
    xy: F64  # 33×2 image pixels
    visibility: F64  # 33
    box: tuple[int, int, int, int]  # person box in image pixels
    track: int = 0  # increments whenever the person is (re)acquired: the series restarts


class PoseEstimator:
    """MediaPipe Pose with a person-ROI tracker. Lazy model loading."""

    def __init__(self, min_visibility: float = 0.5, use_person_detector: bool = True) -> None:
        self.min_visibility = min_visibility
        self.use_person_detector = use_person_detector
        self._pose: Any = None
        self._hog: Any = None
        self._roi: tuple[int, int, int, int] | None = None
        self._lost = 0
        self._misses = 0
        self._track = 0
        self._tracking = False
        self._prev_box: tuple[int, int, int, int] | None = None

    def _load(self) -> Any:
        if self._pose is None:
            try:
                import mediapipe as mp
            except ImportError as exc:  # pragma: no cover
                raise ConfigError("mediapipe is not installed (see requirements-models.txt)") from exc
            # model_complexity=1 only: 0 and 2 are not bundled and try to download.
            self._pose = mp.solutions.pose.Pose(
                static_image_mode=False,
                model_complexity=1,
                smooth_landmarks=True,
                min_detection_confidence=0.5,
                min_tracking_confidence=0.5,
            )
        return self._pose

    def raw(self, image_bgr: npt.NDArray[np.uint8]) -> Any:
        """The bare MediaPipe call (used by the benchmark as the baseline)."""
        return self._load().process(cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB))

    def _run(self, image_bgr: npt.NDArray[np.uint8]) -> tuple[F64, F64] | None:
        res = self.raw(image_bgr)
        if res.pose_landmarks is None:
            return None
        h, w = image_bgr.shape[:2]
        lm = res.pose_landmarks.landmark
        xy = np.array([(p.x * w, p.y * h) for p in lm], dtype=np.float64)
        vis = np.array([p.visibility for p in lm], dtype=np.float64)
        return xy, vis

    def _detect_person(self, image_bgr: npt.NDArray[np.uint8]) -> tuple[int, int, int, int] | None:
        if self._hog is None:
            self._hog = cv2.HOGDescriptor()
            people = cv2.HOGDescriptor_getDefaultPeopleDetector()  # type: ignore[attr-defined]
            self._hog.setSVMDetector(people)
        h, w = image_bgr.shape[:2]
        scale = min(1.0, 480.0 / max(h, w))
        small = cv2.resize(image_bgr, None, fx=scale, fy=scale) if scale < 1.0 else image_bgr
        rects, _ = self._hog.detectMultiScale(small, winStride=(8, 8), padding=(8, 8), scale=1.1)
        if len(rects) == 0:
            return None
        x, y, rw, rh = max(rects, key=lambda r: int(r[2]) * int(r[3]))
        return int(x / scale), int(y / scale), int(rw / scale), int(rh / scale)

    @staticmethod
    def _square(box: tuple[int, int, int, int], shape: tuple[int, ...], margin: float) -> tuple[int, ...]:
        x, y, bw, bh = box
        cx, cy, s = x + bw / 2.0, y + bh / 2.0, max(bw, bh) * margin
        h, w = shape[:2]
        x0, y0 = int(max(0, cx - s / 2)), int(max(0, cy - s / 2))
        x1, y1 = int(min(w, cx + s / 2)), int(min(h, cy + s / 2))
        return x0, y0, x1, y1

    def _run_roi(self, image_bgr: npt.NDArray[np.uint8], box: tuple[int, int, int, int]) -> tuple[F64, F64] | None:
        """Pose on a square crop around ``box`` scaled to 256 px; landmarks mapped back to the frame."""
        x0, y0, x1, y1 = self._square(box, image_bgr.shape, 1.3)
        crop = image_bgr[y0:y1, x0:x1]
        if crop.shape[0] < 16 or crop.shape[1] < 16:
            return None
        s = 256.0 / max(crop.shape[:2])
        if s < 0.99 or s > 1.01:
            crop = np.asarray(cv2.resize(crop, None, fx=s, fy=s), dtype=np.uint8)
        got = self._run(np.ascontiguousarray(crop))
        if got is None:
            return None
        return got[0] / s + np.array([x0, y0]), got[1]

    def estimate(self, image_bgr: npt.NDArray[np.uint8], t: float) -> PoseFrame | None:
        """Track one person: ROI crop when we have one, else full frame, else (every 5th lost frame)
        the HOG people detector. A ROI survives 3 misses before it is dropped."""
        h, w = image_bgr.shape[:2]
        out: tuple[F64, F64] | None = None
        if self._roi is not None:
            out = self._run_roi(image_bgr, self._roi)
            if out is None:
                self._misses += 1
                if self._misses > 3:
                    self._roi = None
        if out is None and self._roi is None:
            out = self._run(image_bgr)
            if out is None and self.use_person_detector and self._lost % 5 == 0:
                box = self._detect_person(image_bgr)
                if box is not None:
                    self._roi, self._misses = box, 0
                    out = self._run_roi(image_bgr, box)
        if out is None:
            self._lost += 1
            if self._roi is None:
                self._tracking = False
            return None
        if not self._tracking:
            self._track += 1  # (re)acquired: possibly another person
            self._tracking = True
        self._lost = 0
        self._misses = 0
        xy, vis = out
        ok = vis >= self.min_visibility
        pts = xy[ok] if ok.sum() >= 4 else xy
        bx0, by0 = np.clip(pts.min(axis=0), 0, [w, h])
        bx1, by1 = np.clip(pts.max(axis=0), 0, [w, h])
        box = (int(bx0), int(by0), int(max(1, bx1 - bx0)), int(max(1, by1 - by0)))
        if self._prev_box is not None:  # also after a full-frame re-detection: it may be someone else
            px, py, pw, ph = self._prev_box
            jump = math.hypot(box[0] + box[2] / 2 - px - pw / 2, box[1] + box[3] / 2 - py - ph / 2)
            if jump > 0.75 * max(pw, ph, 1):
                self._track += 1  # the ROI landed on someone else
        self._prev_box = box
        self._roi = box
        return PoseFrame(t=t, xy=xy, visibility=vis, box=box, track=self._track)

    def reset(self) -> None:
        self._roi = None
        self._prev_box = None
        self._tracking = False
        self._lost = 0

    def close(self) -> None:
        if self._pose is not None:
            self._pose.close()
            self._pose = None


# --------------------------------------------------------------------------------------------------
# Geometry
# --------------------------------------------------------------------------------------------------


def segment_angle_deg(a: F64, b: F64) -> F64:
    """Signed angle of the segment a→b from image vertical, degrees (0 = b straight above/below a).

    Works on (…, 2) arrays. Image y points down; we measure from 'down' for limbs and the caller
    flips for upward segments (trunk, head)."""
    d = np.asarray(b, dtype=np.float64) - np.asarray(a, dtype=np.float64)
    return np.asarray(np.degrees(np.arctan2(d[..., 0], d[..., 1])), dtype=np.float64)


def joint_angle_deg(a: F64, b: F64, c: F64) -> F64:
    """Interior angle at b of a-b-c, degrees (180 = straight)."""
    v1 = np.asarray(a, dtype=np.float64) - b
    v2 = np.asarray(c, dtype=np.float64) - b
    cos = (v1 * v2).sum(-1) / np.maximum(np.linalg.norm(v1, axis=-1) * np.linalg.norm(v2, axis=-1), 1e-9)
    return np.asarray(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))), dtype=np.float64)


def _ang_from_up(dx: float, dy: float) -> float:
    return math.degrees(math.atan2(dx, -dy))


def _ang_from_down(dx: float, dy: float) -> float:
    return math.degrees(math.atan2(dx, dy))


def _joint(a: tuple[float, float], b: tuple[float, float], c: tuple[float, float]) -> float:
    v1x, v1y, v2x, v2y = a[0] - b[0], a[1] - b[1], c[0] - b[0], c[1] - b[1]
    den = math.hypot(v1x, v1y) * math.hypot(v2x, v2y)
    if den <= 1e-12:
        return float("nan")
    return math.degrees(math.acos(max(-1.0, min(1.0, (v1x * v2x + v1y * v2y) / den))))


def frame_geometry(xy: F64) -> dict[str, float]:
    """Per-frame angles (degrees) and torso-normalised positions from 33×2 image points.

    Plain-float arithmetic: this runs for every frame of every guest, numpy overhead on 2-vectors
    would dominate."""
    p = [(float(x), float(y)) for x, y in xy.tolist()]
    shx, shy = (p[L_SHOULDER][0] + p[R_SHOULDER][0]) / 2.0, (p[L_SHOULDER][1] + p[R_SHOULDER][1]) / 2.0
    hx, hy = (p[L_HIP][0] + p[R_HIP][0]) / 2.0, (p[L_HIP][1] + p[R_HIP][1]) / 2.0
    torso = max(math.hypot(shx - hx, shy - hy), 1e-6)
    return {
        "torso_px": torso,
        "trunk_tilt_deg": _ang_from_up(shx - hx, shy - hy),  # hip→shoulder from straight up
        "head_angle_deg": _ang_from_up(p[NOSE][0] - shx, p[NOSE][1] - shy),
        "arm_l_deg": _ang_from_down(p[L_ELBOW][0] - p[L_SHOULDER][0], p[L_ELBOW][1] - p[L_SHOULDER][1]),
        "arm_r_deg": _ang_from_down(p[R_ELBOW][0] - p[R_SHOULDER][0], p[R_ELBOW][1] - p[R_SHOULDER][1]),
        "leg_l_deg": _ang_from_down(p[L_KNEE][0] - p[L_HIP][0], p[L_KNEE][1] - p[L_HIP][1]),
        "leg_r_deg": _ang_from_down(p[R_KNEE][0] - p[R_HIP][0], p[R_KNEE][1] - p[R_HIP][1]),
        "elbow_l_deg": _joint(p[L_SHOULDER], p[L_ELBOW], p[L_WRIST]),
        "elbow_r_deg": _joint(p[R_SHOULDER], p[R_ELBOW], p[R_WRIST]),
        "knee_l_deg": _joint(p[L_HIP], p[L_KNEE], p[L_ANKLE]),
        "knee_r_deg": _joint(p[R_HIP], p[R_KNEE], p[R_ANKLE]),
        "com_x": (shx + hx) / 2.0 / torso,  # trunk centre as a centre-of-mass proxy
        "com_y": (shy + hy) / 2.0 / torso,
        "hip_x": hx / torso,
        # nearest wrist to the nose, torso lengths: a hand-held microphone keeps it ≈ 0.5 (singer clip)
        "wrist_nose": min(
            math.hypot(p[L_WRIST][0] - p[NOSE][0], p[L_WRIST][1] - p[NOSE][1]),
            math.hypot(p[R_WRIST][0] - p[NOSE][0], p[R_WRIST][1] - p[NOSE][1]),
        )
        / torso,
    }


def normalise_pose(xy: F64) -> F64:
    """33×2 points centred on the hip midpoint and divided by torso length."""
    sh = (xy[L_SHOULDER] + xy[R_SHOULDER]) / 2.0
    hip = (xy[L_HIP] + xy[R_HIP]) / 2.0
    torso = max(float(np.linalg.norm(sh - hip)), 1e-6)
    return np.asarray((xy - hip) / torso, dtype=np.float64)


def _unwrap_deg(a: F64) -> F64:
    return np.degrees(np.unwrap(np.radians(a)))


def angle_rate_per_second(t: F64, angle_deg: F64, lag_s: float = 1.0) -> float:
    """Mean of |θ(t) − θ(t − lag)| / lag over the series, on a uniform grid (the method's 1-s example)."""
    if t.size < 2 or float(t[-1] - t[0]) < lag_s:
        return float("nan")
    a = _unwrap_deg(angle_deg)
    grid = np.arange(t[0], t[-1] + 1e-9, lag_s / 4.0)
    g = np.interp(grid, t, a)
    k = 4
    return float(np.mean(np.abs(g[k:] - g[:-k])) / lag_s)


def dominant_frequency(t: F64, x: F64, fmin: float = 0.1, fmax: float = 3.0, fs: float = 10.0) -> float:
    """Peak of the amplitude spectrum of x (uniformly resampled at fs) within [fmin, fmax] Hz."""
    if t.size < 4 or float(t[-1] - t[0]) < 2.0 / fmax:
        return float("nan")
    grid = np.arange(t[0], t[-1], 1.0 / fs)
    if grid.size < 8:
        return float("nan")
    g = np.interp(grid, t, x)
    g = g - g.mean()
    spec = np.abs(np.fft.rfft(g * np.hanning(g.size)))
    freqs = np.fft.rfftfreq(g.size, 1.0 / fs)
    band = (freqs >= fmin) & (freqs <= fmax)
    if not band.any() or spec[band].max() <= 1e-12:
        return float("nan")
    return float(freqs[band][np.argmax(spec[band])])


def _detrend(t: F64, x: F64, window_s: float) -> F64:
    """x minus its centred moving average over window_s (removes walking translation, keeps sway)."""
    out = np.empty_like(x)
    for i, ti in enumerate(t):
        sel = np.abs(t - ti) <= window_s / 2.0
        out[i] = x[i] - x[sel].mean()
    return out


@dataclass
class PoseWindowFeatures:
    activity: str  # standing / sitting / walking / unknown
    head_angle_rate_deg_s: float
    arm_angle_rate_deg_s: float
    leg_angle_rate_deg_s: float
    trunk_tilt_deg: float
    sway_path_per_s: float
    sway_freq_hz: float
    walking_speed: float  # torso lengths per second
    n_frames: int
    hand_at_mouth: bool = False  # a visible wrist within HAND_AT_MOUTH torso lengths of the nose (median)
    isolation_score: float = float("nan")
    similarity_to_normal: float = float("nan")
    to_verify: bool = False
    anomaly: bool = False

    def as_dict(self) -> dict[str, float]:
        d = {f"activity_{a}": float(self.activity == a) for a in ACTIVITIES}
        d.update(
            head_angle_rate_deg_s=self.head_angle_rate_deg_s,
            arm_angle_rate_deg_s=self.arm_angle_rate_deg_s,
            leg_angle_rate_deg_s=self.leg_angle_rate_deg_s,
            trunk_tilt_deg=abs(self.trunk_tilt_deg),  # magnitude: leaning either way counts
            sway_path_per_s=self.sway_path_per_s,
            sway_freq_hz=self.sway_freq_hz,
            isolation_score=self.isolation_score,
        )
        return d

    @property
    def rates(self) -> dict[str, float | None]:
        def f(v: float) -> float | None:
            return v if math.isfinite(v) else None

        return {
            "head_angle_rate_deg_s": f(self.head_angle_rate_deg_s),
            "arm_angle_rate_deg_s": f(self.arm_angle_rate_deg_s),
            "leg_angle_rate_deg_s": f(self.leg_angle_rate_deg_s),
        }


@dataclass
class _Sample:
    t: float
    norm: F64  # 33×2 torso-normalised, hip-centred
    vis: F64
    geo: dict[str, float] = field(default_factory=dict)


class PoseTimeSeries:
    """Per-guest cleaned, denoised pose time series with window features."""

    def __init__(
        self,
        window_seconds: float = 10.0,
        min_visibility: float = 0.5,
        one_euro: tuple[float, float] = (1.0, 0.05),
        max_gap_s: float = 1.0,
    ) -> None:
        self.window_seconds = window_seconds
        self.min_visibility = min_visibility
        self.max_gap_s = max_gap_s
        self._filter = OneEuroFilter(*one_euro)
        self._last_xy: F64 | None = None
        self._last_t: float | None = None
        self.samples: deque[_Sample] = deque()

    def add(self, t: float, xy: npt.ArrayLike, visibility: npt.ArrayLike | None = None) -> None:
        """Clean (hold low-visibility joints at their last value), denoise (One-Euro), normalise."""
        p = np.asarray(xy, dtype=np.float64)
        if p.shape != (N_LANDMARKS, 2):
            raise InvalidInput("pose must be 33×2 points")
        if not np.all(np.isfinite(p)):
            raise InvalidInput("pose contains NaN or inf")
        vis = np.ones(N_LANDMARKS) if visibility is None else np.asarray(visibility, dtype=np.float64)
        if self._last_t is not None and t - self._last_t > self.max_gap_s:
            self._filter.reset()
            self._last_xy = None
        low = vis < self.min_visibility
        if self._last_xy is not None and low.any():
            p = p.copy()
            p[low] = self._last_xy[low]
        p = self._filter(p, t)
        self._last_xy, self._last_t = p, t
        self.samples.append(_Sample(t, normalise_pose(p), vis, frame_geometry(p)))
        while self.samples and t - self.samples[0].t > self.window_seconds:
            self.samples.popleft()

    def drop_older_than(self, t: float) -> None:
        while self.samples and t - self.samples[0].t > self.window_seconds:
            self.samples.popleft()

    def reset(self) -> None:
        """Start a new series (a new track: the previous person may not be this one)."""
        self.samples.clear()
        self._filter.reset()
        self._last_xy = None
        self._last_t = None

    def __len__(self) -> int:
        return len(self.samples)

    def series(self, key: str) -> tuple[F64, F64]:
        t = np.array([s.t for s in self.samples])
        return t, np.array([s.geo[key] for s in self.samples])

    def features(self, min_seconds: float = 2.0) -> PoseWindowFeatures | None:
        if len(self.samples) < 4:
            return None
        t = np.array([s.t for s in self.samples])
        if float(t[-1] - t[0]) < min_seconds:
            return None
        g = {k: np.array([s.geo[k] for s in self.samples]) for k in self.samples[0].geo}
        vis = np.array([s.vis for s in self.samples])
        legs_visible = float(np.median(vis[:, [L_KNEE, R_KNEE]])) >= self.min_visibility
        wrists_visible = float(np.median(vis[:, [L_WRIST, R_WRIST]].max(axis=1))) >= self.min_visibility
        hand_at_mouth = wrists_visible and float(np.median(g["wrist_nose"])) < HAND_AT_MOUTH

        head_rate = angle_rate_per_second(t, g["head_angle_deg"])
        arm_rate = float(
            np.nanmean([angle_rate_per_second(t, g["arm_l_deg"]), angle_rate_per_second(t, g["arm_r_deg"])])
        )
        leg_rate = (
            float(np.nanmean([angle_rate_per_second(t, g["leg_l_deg"]), angle_rate_per_second(t, g["leg_r_deg"])]))
            if legs_visible
            else float("nan")
        )
        tilt = float(np.median(g["trunk_tilt_deg"]))

        # Sway: trunk-centre path after removing slow translation (2-s moving average).
        cx = _detrend(t, g["com_x"], 2.0)
        cy = _detrend(t, g["com_y"], 2.0)
        dur = float(t[-1] - t[0])
        path = float(np.sum(np.hypot(np.diff(cx), np.diff(cy)))) / dur
        freq = dominant_frequency(t, cx)
        # Walking: net horizontal hip speed in torso lengths per second (robust slope).
        speed = abs(float(np.polyfit(t - t[0], g["hip_x"], 1)[0]))

        knee = np.nanmedian(np.concatenate([g["knee_l_deg"], g["knee_r_deg"]]))
        thigh = np.nanmedian(np.abs(np.concatenate([g["leg_l_deg"], g["leg_r_deg"]])))
        if speed > 0.4 and legs_visible:
            activity = "walking"
        elif legs_visible and (knee < 125.0 or thigh > 50.0):
            activity = "sitting"
        elif legs_visible:
            activity = "standing"
        else:
            activity = "sitting" if speed < 0.1 else "unknown"  # legs hidden: typically behind a table
        return PoseWindowFeatures(
            activity=activity,
            head_angle_rate_deg_s=head_rate,
            arm_angle_rate_deg_s=arm_rate,
            leg_angle_rate_deg_s=leg_rate,
            trunk_tilt_deg=tilt,
            sway_path_per_s=path,
            sway_freq_hz=freq,
            walking_speed=speed,
            n_frames=len(self.samples),
            hand_at_mouth=hand_at_mouth,
        )

    def cnn_window(self, seconds: float = POSE_CNN_WINDOW / CNN_SAMPLE_HZ) -> F32 | None:
        """(C, T) tensor for the pose CNN: torso-normalised (x, y) of POSE_CNN_JOINTS resampled to 10 Hz
        over the last ``seconds``; None when the series is shorter than 80 % of that."""
        if len(self.samples) < 4:
            return None
        t = np.array([s.t for s in self.samples])
        if float(t[-1] - t[0]) < 0.8 * seconds:
            return None
        grid = t[-1] - seconds + (np.arange(POSE_CNN_WINDOW) + 1) / CNN_SAMPLE_HZ
        pts = np.array([s.norm[list(POSE_CNN_JOINTS)] for s in self.samples])  # N×J×2
        flat = pts.reshape(len(t), -1)
        out = np.stack([np.interp(grid, t, flat[:, c]) for c in range(flat.shape[1])], axis=0)
        return pose_window_channels(out)


def pose_window_channels(flat_ct: F64) -> F32:
    """(2J, T) interleaved x,y → (2J, T) channels-first float32 (x of all joints, then y)."""
    j = flat_ct.shape[0] // 2
    x = flat_ct[0::2]
    y = flat_ct[1::2]
    assert x.shape[0] == j
    return np.asarray(np.concatenate([x, y], axis=0), dtype=np.float32)


# --------------------------------------------------------------------------------------------------
# Pose CNN embeddings (ONNX) and the guest's normal model
# --------------------------------------------------------------------------------------------------


def default_model_dir() -> Path:
    return Path(str(resources.files("soberpay") / "models" / "sobriety"))


class PoseCnnEmbedder:
    """1-D CNN over (C, T) pose windows → L2-normalised embedding; ONNX Runtime, 1 thread, lazy."""

    def __init__(self, model_path: Path | None = None) -> None:
        self.model_path = model_path or default_model_dir() / "pose_cnn.onnx"
        self._sess: Any = None

    def _load(self) -> Any:
        if self._sess is None:
            if not self.model_path.is_file():
                raise ConfigError(
                    "pose CNN model missing; run `soberpay train sobriety pose-cnn`", path=str(self.model_path)
                )
            self._sess = cpu_session(self.model_path, intra_op_threads=1, inter_op_threads=1)
        return self._sess

    @property
    def available(self) -> bool:
        return self.model_path.is_file()

    def embed(self, windows: F32) -> F32:
        w = np.asarray(windows, dtype=np.float32)
        if w.ndim == 2:
            w = w[None]
        sess = self._load()
        out = sess.run(None, {sess.get_inputs()[0].name: w})[0].astype(np.float32)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return np.asarray(out / np.maximum(norms, 1e-9), dtype=np.float32)


@dataclass
class NormalCheck:
    similarity: float  # cosine to the centroid of the guest's normal embeddings
    to_verify: bool  # similarity < threshold
    anomaly: bool  # isolation forest says outlier (only evaluated when to_verify)
    isolation_score: float  # method's s_i: mean Euclidean distance to the normal points (0..2)
    forest_score: float  # sklearn decision_function (negative = outlier); NaN when not evaluated


class PoseNormalModel:
    """The guest's historical normal pose embeddings; to-verify test + isolation forest."""

    def __init__(
        self,
        similarity_threshold: float = 0.8,
        contamination: float = 0.05,
        max_history: int = 500,
        min_history: int = 8,
        seed: int = 0,
        isolation_ratio: float = 3.0,
    ) -> None:
        self.isolation_ratio = isolation_ratio
        self.similarity_threshold = similarity_threshold
        self.contamination = contamination
        self.max_history = max_history
        self.min_history = min_history
        self.seed = seed
        self.history: deque[F32] = deque(maxlen=max_history)
        self._forest: Any = None
        self._forest_n = 0
        self._normal_si = float("nan")

    def add_normal(self, embedding: npt.ArrayLike) -> None:
        e = np.asarray(embedding, dtype=np.float32).ravel()
        self.history.append(e / max(float(np.linalg.norm(e)), 1e-9))

    @property
    def ready(self) -> bool:
        return len(self.history) >= self.min_history

    def centroid(self) -> F32:
        c = np.mean(np.stack(self.history), axis=0)
        return np.asarray(c / max(float(np.linalg.norm(c)), 1e-9), dtype=np.float32)

    def _fit(self) -> Any:
        if self._forest is None or len(self.history) >= 1.5 * self._forest_n:
            from sklearn.ensemble import IsolationForest

            data = np.stack(self.history)
            self._forest = IsolationForest(
                n_estimators=100, contamination=self.contamination, random_state=self.seed
            ).fit(data)
            self._forest_n = len(self.history)
            self._normal_si = self.baseline_isolation()
        return self._forest

    def check(self, embedding: npt.ArrayLike, force_forest: bool = False) -> NormalCheck | None:
        if not self.ready:
            return None
        e = np.asarray(embedding, dtype=np.float32).ravel()
        e = e / max(float(np.linalg.norm(e)), 1e-9)
        sim = float(np.dot(self.centroid(), e))
        hist = np.stack(self.history)
        si = isolation_score(e.tolist(), hist.tolist())
        to_verify = sim < self.similarity_threshold
        anomaly = False
        fscore = float("nan")
        if to_verify or force_forest:
            forest = self._fit()
            fscore = float(forest.decision_function(e[None])[0])
            # An isolation forest cannot isolate points beyond the range its trees saw any better
            # than the boundary ones, so far-away windows also count when s_i is several times the
            # typical s_i among the guest's normal windows (the method's "s_i above a threshold").
            far = math.isfinite(self._normal_si) and si > self.isolation_ratio * max(self._normal_si, 1e-3)
            anomaly = to_verify and (fscore < 0.0 or far)  # decision_function < 0 ⇔ predict == −1
        return NormalCheck(sim, to_verify, anomaly, si, fscore)

    def baseline_isolation(self) -> float:
        """Typical s_i of a normal window (mean pairwise distance), to put s_i on a guest-relative scale."""
        h = np.stack(self.history)
        if h.shape[0] < 2:
            return float("nan")
        d = np.linalg.norm(h[:, None] - h[None], axis=-1)
        return float(d.sum() / (h.shape[0] * (h.shape[0] - 1)))


__all__ = [
    "CNN_SAMPLE_HZ",
    "HAND_AT_MOUTH",
    "NormalCheck",
    "OneEuroFilter",
    "PoseCnnEmbedder",
    "PoseEstimator",
    "PoseFrame",
    "PoseNormalModel",
    "PoseTimeSeries",
    "PoseWindowFeatures",
    "angle_rate_per_second",
    "default_model_dir",
    "dominant_frequency",
    "frame_geometry",
    "joint_angle_deg",
    "normalise_pose",
    "segment_angle_deg",
]
