"""Real sober footage as sobriety-monitor input: the shared clips, and still photos turned into clips.

Used by the false-alarm benchmark (``benchmarks/sobriety_false_alarms.py``) and the real-footage
tests. Frames are decoded and analysed in memory; only landmark-level ``FrameAnalysis`` objects
(no images) leave :func:`analyse_frames`.

A still photo becomes a webcam clip of a motionless person (per frame: sub-pixel translation, tiny
scale jitter, brightness flicker, sensor noise, JPEG re-compression): everything that moves in it is
camera and landmark noise, which is exactly what a guest's own normal must absorb.

The singer clip holds only ≈ 6 s of the singer, shorter than one signal window plus a baseline, so
:func:`pingpong` plays it forward, backward, forward … (angle rates, sway and blink statistics are
the same backwards); results on it are labelled "looped".
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from soberpay.adapters.sobriety.analyzer import FrameAnalysis, FrameAnalyzer
from soberpay.adapters.sobriety.face_signals import FaceMeshSignals
from soberpay.adapters.sobriety.fusion import FusionModel
from soberpay.adapters.sobriety.monitor import Assessment, GuestMonitor
from soberpay.adapters.sobriety.pose import PoseCnnEmbedder
from soberpay.config import SobrietySettings
from soberpay.domain.sobriety import AbnormalPatternBook

SINGER_START_S = 3.0  # before this the singer clip shows the audience


@dataclass(frozen=True)
class Nuisance:
    """Per-frame camera nuisances of a webcam filming a still person (level 1 = ordinary webcam)."""

    shift_px: float = 0.35  # std of the sub-pixel translation (camera/mount micro-vibration)
    scale: float = 0.002  # std of the relative scale jitter
    flicker: float = 0.02  # std of the brightness gain (mains flicker, auto-exposure)
    sensor_sigma: float = 3.0  # Gaussian sensor noise, grey levels
    jpeg_quality: tuple[int, int] = (80, 92)

    def scaled(self, level: float) -> Nuisance:
        q0 = int(np.clip(92 - 10 * level, 50, 95))
        return Nuisance(
            self.shift_px * level, self.scale * level, self.flicker * level, self.sensor_sigma * level, (q0 - 10, q0)
        )


def noisy_still_frames(
    img: npt.NDArray[np.uint8], n: int, rng: np.random.Generator, nz: Nuisance
) -> Iterator[npt.NDArray[np.uint8]]:
    """``n`` frames of a still photo as a webcam would deliver them (all in memory)."""
    h, w = img.shape[:2]
    base = img.astype(np.float32)
    for _ in range(n):
        s = 1.0 + rng.normal(0.0, nz.scale)
        dx, dy = rng.normal(0.0, nz.shift_px, 2)
        m = np.array([[s, 0.0, (1 - s) * w / 2 + dx], [0.0, s, (1 - s) * h / 2 + dy]], np.float32)
        f = cv2.warpAffine(base, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        f = f * (1.0 + rng.normal(0.0, nz.flicker)) + rng.normal(0.0, nz.sensor_sigma, f.shape)
        f8 = np.clip(f + 0.5, 0, 255).astype(np.uint8)
        quality = int(rng.integers(*nz.jpeg_quality, endpoint=True))
        ok, enc = cv2.imencode(".jpg", f8, [cv2.IMWRITE_JPEG_QUALITY, quality])
        yield np.asarray(cv2.imdecode(enc, cv2.IMREAD_COLOR), np.uint8) if ok else f8


def analyse_frames(
    frames: Iterable[tuple[float, npt.NDArray[np.uint8]]], s: SobrietySettings, pose: bool = True
) -> list[FrameAnalysis]:
    """Face Mesh (+ Pose) on each (t, frame), video tracking mode; returns the analyses without images."""
    if pose:
        an = FrameAnalyzer.from_settings(s)
    else:
        an = FrameAnalyzer(FaceMeshSignals(open_ear=s.open_ear), None, max_side=s.max_frame_side)
    try:
        return [an.analyse(f, t) for t, f in frames]
    finally:
        an.close()


def video_frames(path: Path) -> Iterator[tuple[float, npt.NDArray[np.uint8]]]:
    from soberpay.adapters.vision.video import OpenCVFrameSource

    src = OpenCVFrameSource(path)
    try:
        yield from src.frames()
    finally:
        src.close()


def still_clip(path: Path, seconds: float, fps: float = 10.0, seed: int = 0) -> Iterator[tuple[float, Any]]:
    img = cv2.imdecode(np.frombuffer(path.read_bytes(), np.uint8), cv2.IMREAD_COLOR)
    if img is None:
        raise ValueError(f"cannot decode {path}")
    frames = noisy_still_frames(np.asarray(img, np.uint8), int(seconds * fps), np.random.default_rng(seed), Nuisance())
    for i, f in enumerate(frames):
        yield i / fps, f


def pingpong(analyses: Sequence[FrameAnalysis], loops: int) -> list[FrameAnalysis]:
    """The analyses played forward, backward, forward … ``loops`` times on one continuous clock."""
    if not analyses:
        return []
    t_first, t_last = analyses[0].t, analyses[-1].t
    dt = float(np.median(np.diff([a.t for a in analyses]))) if len(analyses) > 1 else 0.1
    out: list[FrameAnalysis] = []
    for k in range(loops):
        seq = analyses if k % 2 == 0 else analyses[::-1]
        for a in seq:
            offset = a.t - t_first if k % 2 == 0 else t_last - a.t
            t = t_first + k * (t_last - t_first + dt) + offset
            face = dataclasses.replace(a.face, t=t) if a.face is not None else None
            pose = dataclasses.replace(a.pose, t=t) if a.pose is not None else None
            out.append(dataclasses.replace(a, t=t, face=face, pose=pose))
    return out


def split_by_track(analyses: Sequence[FrameAnalysis]) -> list[list[FrameAnalysis]]:
    """One list per pose track (a wide shot of several people: each track is a different 'guest')."""
    out: dict[int, list[FrameAnalysis]] = {}
    for a in analyses:
        if a.pose is not None:
            out.setdefault(a.pose.track, []).append(a)
    return list(out.values())


def replay(analyses: Sequence[FrameAnalysis], s: SobrietySettings, expression: Any = None) -> list[Assessment]:
    """One guest's monitor over the analyses, assessed once per second (as ``soberpay assess``)."""
    book = AbnormalPatternBook(s.pattern_similarity, lambda: uuid.uuid4().hex)
    mon = GuestMonitor(
        "replay", s, FusionModel(s.fusion_model), PoseCnnEmbedder(s.pose_cnn_model), book, expression=expression
    )
    rows: list[Assessment] = []
    last = -np.inf
    for a in analyses:
        mon.add(a)
        if a.t - last >= 1.0:
            last = a.t
            rows.append(mon.assess(a.t))
    return rows


__all__ = [
    "SINGER_START_S",
    "Nuisance",
    "analyse_frames",
    "noisy_still_frames",
    "pingpong",
    "replay",
    "split_by_track",
    "still_clip",
    "video_frames",
]
