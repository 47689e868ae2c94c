"""Clip → :class:`ClipMeasurements` for presentation-attack detection, from MediaPipe Face Mesh (offline).

Per frame: the 468 face-mesh points (pixels) give yaw (nose against the eye corners), the eye aspect
ratio (blinks) and the mouth width (smile). Per clip:

* ``motion`` — how much the face's *shape* changed: the RMS residual after fitting a similarity
  (rotation, scale, shift) between two frames, in inter-ocular distances (IOD). Sliding a picture
  around changes nothing; tilting it, bending it or turning a head does.
* ``planar_residual`` — the RMS residual after fitting a full homography between the same frames.
  Every view of a flat picture (print or screen, however it is tilted) is one homography of another,
  so this stays at the landmark noise; a turning head shows parallax no homography explains.
* ``moire`` — peak-to-median energy of the face crop's high-frequency spectrum (a screen's pixel
  grid beats with the camera's into periodic stripes). Measured and reported by ``soberpay eval
  liveness``; the decision uses it only if ``max_moire`` is set (see docs/security.md for why).

Both residuals are the worst over pairs of up to ``max_pairs_frames`` evenly spaced frames.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from soberpay.adapters.sobriety.face_signals import LEFT_EYE_EAR, RIGHT_EYE_EAR, FaceMeshSignals, eye_aspect_ratio
from soberpay.domain.liveness import ClipMeasurements, FrameSignals
from soberpay.ports import ImageBGR, StageObserver, ignore_stage

__all__ = ["FaceMeshClipSensor", "moire_score", "shape_residuals"]

F64 = npt.NDArray[np.float64]
NOSE_TIP, RIGHT_EYE_OUTER, LEFT_EYE_OUTER, MOUTH_RIGHT, MOUTH_LEFT = 1, 33, 263, 61, 291
LK: dict[str, Any] = {"winSize": (15, 15), "maxLevel": 3}  # pyramidal Lucas-Kanade
MESH_POINTS = 468  # the iris points (468..477) sit on the eye surface: left out of the shape fits


def _rms(a: F64, b: F64) -> float:
    return float(np.sqrt(np.mean(np.sum((a - b) ** 2, axis=1))))


def shape_residuals(src: F64, dst: F64) -> tuple[float, float]:
    """(similarity residual, homography residual) of ``dst`` against ``src``, both N×2 pixels, in pixels."""
    s32, d32 = src.astype(np.float32), dst.astype(np.float32)
    sim, _ = cv2.estimateAffinePartial2D(s32, d32, method=cv2.LMEDS)
    hom, _ = cv2.findHomography(s32, d32, 0)  # least squares over all points: noise is small and spread
    if sim is None or hom is None:
        return 0.0, 0.0
    sim_pts = src @ sim[:, :2].T + sim[:, 2]
    hom_pts = cv2.perspectiveTransform(s32.reshape(-1, 1, 2), hom).reshape(-1, 2).astype(np.float64)
    return _rms(sim_pts, dst), _rms(hom_pts, dst)


def moire_score(image: ImageBGR, box: tuple[int, int, int, int]) -> float:
    """Peak / median log-spectrum energy in the upper frequency band of the face crop (128×128)."""
    x, y, w, h = box
    crop = image[max(0, y) : y + h, max(0, x) : x + w]
    if crop.size == 0 or min(crop.shape[:2]) < 16:
        return 0.0
    grey = cv2.resize(cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY), (128, 128), interpolation=cv2.INTER_AREA)
    spec = np.log1p(np.abs(np.fft.fftshift(np.fft.fft2(grey.astype(np.float64) - grey.mean()))))
    yy, xx = np.mgrid[-64:64, -64:64]
    band = spec[np.hypot(yy, xx) >= 20]
    return float(band.max() / max(float(np.median(band)), 1e-9))


class FaceMeshClipSensor:
    """Measures a clip for :mod:`soberpay.domain.liveness` (MediaPipe Face Mesh in tracking mode)."""

    def __init__(self, max_frames: int = 45, max_pairs_frames: int = 8, observe: StageObserver = ignore_stage) -> None:
        self.max_frames = max_frames
        self.max_pairs_frames = max_pairs_frames
        self.observe = observe

    def measure(self, frames: Sequence[ImageBGR]) -> ClipMeasurements:
        started = time.perf_counter()
        try:
            return self._measure(frames)
        finally:
            self.observe("liveness", time.perf_counter() - started)

    def _measure(self, frames: Sequence[ImageBGR]) -> ClipMeasurements:
        step = max(1, -(-len(frames) // self.max_frames))
        used = list(frames[::step])
        mesh = FaceMeshSignals(static_image_mode=False)
        signals: list[FrameSignals] = []
        moires: list[float] = []
        iods: list[float] = []
        hull: Any = None
        first_face: int | None = None
        try:
            for k, image in enumerate(used):
                lm = mesh.landmarks(image)
                if lm is None:
                    continue
                h, w = image.shape[:2]
                px = lm[:MESH_POINTS, :2].astype(np.float64) * (w, h)
                iod = float(np.linalg.norm(px[RIGHT_EYE_OUTER] - px[LEFT_EYE_OUTER]))
                if iod < 4.0:
                    continue
                if first_face is None:
                    first_face, hull = k, cv2.convexHull(px.astype(np.int32))
                iods.append(iod)
                signals.append(self._signals(px, iod))
                x0, y0 = px.min(axis=0)
                x1, y1 = px.max(axis=0)
                moires.append(moire_score(image, (int(x0), int(y0), int(x1 - x0), int(y1 - y0))))
        finally:
            mesh.close()
        motion, planar = 0.0, 0.0
        if first_face is not None and hull is not None:
            tracks = _track(used[first_face:], hull)
            motion, planar = _residuals(tracks, self.max_pairs_frames)
            iod = float(np.median(iods))
            motion, planar = motion / iod, planar / iod
        return ClipMeasurements(
            n_frames=len(frames),
            frames=tuple(signals),
            planar_residual=planar,
            motion=motion,
            moire=float(np.median(moires)) if moires else 0.0,
        )

    @staticmethod
    def _signals(px: F64, iod: float) -> FrameSignals:
        mid = (px[RIGHT_EYE_OUTER] + px[LEFT_EYE_OUTER]) / 2.0
        ear = (eye_aspect_ratio(px[list(RIGHT_EYE_EAR)]) + eye_aspect_ratio(px[list(LEFT_EYE_EAR)])) / 2.0
        return FrameSignals(
            yaw=float((px[NOSE_TIP, 0] - mid[0]) / iod),
            ear=ear,
            smile=float(np.linalg.norm(px[MOUTH_RIGHT] - px[MOUTH_LEFT]) / iod),
        )


def _track(frames: Sequence[ImageBGR], hull: Any) -> list[F64]:
    """Texture points inside the face hull of the first frame, followed with pyramidal Lucas-Kanade.

    Points that follow the picture's texture (not the face model's guess of where a 3-D nose would
    be: the mesh "sees" a head turn in a tilted photo) are what a homography test needs. Returns
    one N×2 array per frame over the points tracked through the whole clip."""
    grey: Any = cv2.cvtColor(frames[0], cv2.COLOR_BGR2GRAY)
    mask: Any = np.zeros_like(grey)
    cv2.fillConvexPoly(mask, hull, (255,))
    pts = cv2.goodFeaturesToTrack(grey, maxCorners=200, qualityLevel=0.01, minDistance=4, mask=mask)
    if pts is None or len(pts) < 8:
        return []
    tracks = [pts.reshape(-1, 2).astype(np.float64)]
    alive = np.ones(len(pts), bool)
    prev: Any = grey
    cur: Any = pts.astype(np.float32)
    for image in frames[1:]:
        nxt: Any = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        moved, status, _ = cv2.calcOpticalFlowPyrLK(prev, nxt, cur, np.empty_like(cur), winSize=(15, 15), maxLevel=3)
        back, status_b, _ = cv2.calcOpticalFlowPyrLK(
            nxt, prev, moved, np.empty_like(moved), winSize=(15, 15), maxLevel=3
        )
        # forward-backward check: drop points that do not come back to where they started
        ok = (
            (status.ravel() == 1)
            & (status_b.ravel() == 1)
            & (np.linalg.norm((back - cur).reshape(-1, 2), axis=1) < 0.5)
        )
        alive &= ok
        tracks.append(moved.reshape(-1, 2).astype(np.float64))
        prev, cur = nxt, moved
    if alive.sum() < 8:
        return []
    return [t[alive] for t in tracks]


def _residuals(tracks: list[F64], max_frames: int) -> tuple[float, float]:
    """Worst (similarity, homography) residual over pairs of evenly spaced tracked frames, in pixels."""
    if len(tracks) < 2:
        return 0.0, 0.0
    idx = np.unique(np.linspace(0, len(tracks) - 1, min(len(tracks), max_frames)).astype(int))
    sims, homs = [], []
    for i, j in itertools.combinations(idx, 2):
        s, h = shape_residuals(tracks[i], tracks[j])
        sims.append(s)
        homs.append(h)
    return max(sims), max(homs)
