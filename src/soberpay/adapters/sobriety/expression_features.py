"""Per-frame expression features: raw face signals → the (T, F) matrix the expression classifier reads.

One implementation is shared by the SYNTHETIC training generator
(``soberpay_lab.training.synthetic_faces``) and by live inference from MediaPipe signals, so the model
sees the same definitions in training and in use. Column order: ``EXPRESSION_FEATURES``.

Inputs are raw per-frame signals sampled at ``fps`` (resample to ``EXPRESSION_FPS`` first):

* ``eye_openness`` (T,) 0..1, mean of both eyes (1 - MediaPipe ``eyeBlink`` blendshape, or EAR scaled);
* ``gaze_xy`` (T, 2) iris centre relative to the eye corners, in eye widths;
* ``mouth_openness`` (T,) 0..1 (``jawOpen`` blendshape or lip gap / face height, scaled);
* ``head_xy`` (T, 2) nose-tip position in inter-ocular distances;
* ``colour_change`` (T,) -1..1, CIELAB a* of cheeks/forehead relative to the guest's own baseline.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from soberpay.adapters.sobriety.features import EXPRESSION_FEATURES, EXPRESSION_FPS
from soberpay.errors import InvalidInput

FloatArray = npt.NDArray[np.float32]

EXPRESSION_BLINK_CLOSED = 0.35  # eye_openness below this counts as "closed" (blink in progress)
PERCLOS_CLOSED = 0.2  # eyes >= 80 % closed
PERCLOS_WINDOW_S = 10.0  # trailing window of the per-frame PERCLOS column


def _as_1d(name: str, x: npt.ArrayLike, n: int | None = None) -> npt.NDArray[np.float64]:
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 1 or (n is not None and arr.shape[0] != n):
        raise InvalidInput(f"{name} must be a 1-d array of length {n if n is not None else 'T'}")
    if not np.all(np.isfinite(arr)):
        raise InvalidInput(f"{name} contains NaN or inf; interpolate missing frames first")
    return arr


def _as_xy(name: str, x: npt.ArrayLike, n: int) -> npt.NDArray[np.float64]:
    arr = np.asarray(x, dtype=np.float64)
    if arr.shape != (n, 2):
        raise InvalidInput(f"{name} must have shape (T, 2) with T={n}")
    if not np.all(np.isfinite(arr)):
        raise InvalidInput(f"{name} contains NaN or inf; interpolate missing frames first")
    return arr


def _speed(xy: npt.NDArray[np.float64], fps: float) -> npt.NDArray[np.float64]:
    step = np.zeros(xy.shape[0])
    step[1:] = np.linalg.norm(np.diff(xy, axis=0), axis=1)
    return step * fps


def _running_median3(xy: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    padded = np.concatenate([xy[:1], xy, xy[-1:]], axis=0)
    stacked = np.stack([padded[:-2], padded[1:-1], padded[2:]], axis=0)
    return np.asarray(np.median(stacked, axis=0))


def _trailing_mean(x: npt.NDArray[np.float64], window: int) -> npt.NDArray[np.float64]:
    csum = np.concatenate([[0.0], np.cumsum(x)])
    idx = np.arange(1, x.shape[0] + 1)
    start = np.maximum(0, idx - window)
    return np.asarray((csum[idx] - csum[start]) / (idx - start))


def expression_sequence(
    eye_openness: npt.ArrayLike,
    gaze_xy: npt.ArrayLike,
    mouth_openness: npt.ArrayLike,
    head_xy: npt.ArrayLike,
    colour_change: npt.ArrayLike,
    fps: float = EXPRESSION_FPS,
) -> FloatArray:
    """Return the (T, len(EXPRESSION_FEATURES)) float32 feature sequence for raw per-frame signals."""
    eye = _as_1d("eye_openness", eye_openness)
    n = eye.shape[0]
    if n < 2:
        raise InvalidInput("need at least 2 frames")
    if not fps > 0:
        raise InvalidInput("fps must be positive")
    gaze = _as_xy("gaze_xy", gaze_xy, n)
    mouth = _as_1d("mouth_openness", mouth_openness, n)
    head = _as_xy("head_xy", head_xy, n)
    colour = _as_1d("colour_change", colour_change, n)

    eye = np.clip(eye, 0.0, 1.0)
    blink = (eye < EXPRESSION_BLINK_CLOSED).astype(np.float64)
    closed80 = (eye <= PERCLOS_CLOSED).astype(np.float64)
    perclos = _trailing_mean(closed80, max(1, round(PERCLOS_WINDOW_S * fps)))
    gaze_speed = _speed(gaze, fps)
    jitter = np.linalg.norm(gaze - _running_median3(gaze), axis=1)
    head_speed = _speed(head, fps)
    columns = {
        "eye_openness": eye,
        "blink": blink,
        "perclos": perclos,
        "gaze_speed": gaze_speed,
        "gaze_jitter": jitter,
        "mouth_openness": np.clip(mouth, 0.0, 1.0),
        "head_speed": head_speed,
        "colour_change": np.clip(colour, -1.0, 1.0),
    }
    out: FloatArray = np.stack([columns[name] for name in EXPRESSION_FEATURES], axis=1).astype(np.float32)
    return out


__all__ = [
    "EXPRESSION_BLINK_CLOSED",
    "PERCLOS_CLOSED",
    "PERCLOS_WINDOW_S",
    "expression_sequence",
]
