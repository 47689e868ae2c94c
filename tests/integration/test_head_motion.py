"""Head micro-movement: not inflated by where the face sits in the image, still responsive to motion.

The first ``head_xy`` was the nose pixel position / that frame's inter-ocular distance (IOD), so the
IOD's 0.4-0.6 % per-frame jitter was multiplied by the nose's distance from the image origin and a
motionless head measured ≈ 0.8 IOD/s. Now the trajectory is nose pixels / the window's median IOD
(``head_trajectory``). Pure-numeric checks plus a real MediaPipe check on synthetic shifted-image
sequences built in memory from a bundled photo (nothing touches disk).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from soberpay.adapters.sobriety.face_signals import FaceFrame, head_trajectory, head_trajectory_from, path_speed

FPS = 15.0


def test_iod_jitter_is_not_multiplied_by_the_face_position() -> None:
    rng = np.random.default_rng(0)
    n, iod0 = 150, 80.0
    t = np.arange(n) / FPS
    iod = iod0 * (1.0 + rng.normal(0.0, 0.005, n))  # 0.5 % IOD jitter, as measured
    nose = np.tile([400.0, 300.0], (n, 1))  # motionless nose 5 × 3.75 IOD from the origin
    old = nose / iod[:, None]  # the first definition
    new = head_trajectory_from(nose, iod)
    assert path_speed(t, old, 15) > 0.3  # the artefact: a still head "moves" ~0.5 IOD/s
    assert path_speed(t, new, 15) < 1e-9  # now: no motion at all
    # a window-constant IOD error only rescales a real motion, it does not add any
    sway = nose + np.stack([8.0 * np.sin(2 * np.pi * 3.0 * t), np.zeros(n)], axis=1)  # 0.1 IOD at 3 Hz
    v = path_speed(t, head_trajectory_from(sway, iod), 15)
    assert v == pytest.approx(4 * 0.1 * 3.0, rel=0.1)  # mean |d/dt A sin| = 4 A f


def test_head_trajectory_handles_missing_iod() -> None:
    out = head_trajectory_from(np.ones((4, 2)), np.full(4, np.nan))
    assert out.shape == (4, 2) and np.isnan(out).all()
    assert head_trajectory_from([[10.0, 20.0], [12.0, 20.0]], [2.0, np.nan]) == pytest.approx(
        np.array([[5.0, 10.0], [6.0, 10.0]])
    )


def _frames(img: np.ndarray, shifts: np.ndarray, seed: int) -> list[FaceFrame]:
    cv2 = pytest.importorskip("cv2")
    from soberpay.adapters.sobriety.analyzer import FrameAnalyzer
    from soberpay.adapters.sobriety.face_signals import FaceMeshSignals

    rng = np.random.default_rng(seed)
    h, w = img.shape[:2]
    base = img.astype(np.float32)
    analyser = FrameAnalyzer(FaceMeshSignals(static_image_mode=False, open_ear=0.3), None, max_side=640)
    out = []
    try:
        for i, (dx, dy) in enumerate(shifts):
            m = np.array([[1.0, 0.0, dx], [0.0, 1.0, dy]], np.float32)
            f = cv2.warpAffine(base, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
            f = f + rng.normal(0.0, 3.0, f.shape)
            ok, enc = cv2.imencode(".jpg", np.clip(f + 0.5, 0, 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, 85])
            assert ok
            res = analyser.analyse(np.asarray(cv2.imdecode(enc, cv2.IMREAD_COLOR), np.uint8), i / FPS)
            if res.face is not None:
                out.append(res.face)
    finally:
        analyser.close()
    return out


def test_real_mediapipe_still_vs_moving_head() -> None:
    cv2 = pytest.importorskip("cv2")
    pytest.importorskip("mediapipe")
    path = Path(__file__).resolve().parents[2] / "src" / "soberpay" / "assets" / "faces" / "obama.jpg"
    img = cv2.imdecode(np.frombuffer(path.read_bytes(), np.uint8), cv2.IMREAD_COLOR)
    assert img is not None and max(img.shape[:2]) <= 640  # analysed at full size: shifts are in analysed px
    n = 45
    t = np.arange(n) / FPS
    still = _frames(img, np.zeros((n, 2)), 0)
    assert len(still) >= 0.9 * n
    iod = float(np.median([f.iod_px for f in still]))
    amp = 0.1 * iod  # 0.1 IOD head sway at 3 Hz, horizontal
    moving = _frames(img, np.stack([amp * np.sin(2 * np.pi * 3.0 * t), np.zeros(n)], axis=1), 1)
    assert len(moving) >= 0.9 * n

    def speed(frames: list[FaceFrame]) -> float:
        return path_speed([f.t for f in frames], head_trajectory(frames), 15)

    def old_speed(frames: list[FaceFrame]) -> float:
        xy = np.array([f.nose_px for f in frames]) / np.array([f.iod_px for f in frames])[:, None]
        return path_speed([f.t for f in frames], xy, 15)

    v_still, v_moving, expected = speed(still), speed(moving), 4 * 0.1 * 3.0
    assert v_still < 0.3 * expected, (v_still, old_speed(still))
    assert v_still <= old_speed(still)  # never worse than the per-frame definition
    assert v_moving == pytest.approx(expected, rel=0.35), v_moving  # the real motion is measured
    assert v_moving > 3.0 * v_still
