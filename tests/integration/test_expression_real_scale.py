"""The shipped expression classifier on REAL MediaPipe signals of a sober, still face is not saturated.

A webcam watching a still person is simulated from bundled photos (per frame: sub-pixel shift,
brightness flicker, sensor noise, in-memory JPEG re-compression; nothing touches disk) and run
through the real live path: ``FrameAnalyzer`` (MediaPipe Face Mesh, video mode) →
``expression_score_from_frames`` → ``ExpressionClassifier``. Before the generator got a measured
noise floor the classifier gave P(drunk) ≈ 0.95 on these (benchmarks/expression_signal_scales.py).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

cv2 = pytest.importorskip("cv2")
pytest.importorskip("mediapipe")

from soberpay.adapters.sobriety.analyzer import FrameAnalyzer  # noqa: E402
from soberpay.adapters.sobriety.expression import ExpressionClassifier  # noqa: E402
from soberpay.adapters.sobriety.face_signals import FaceMeshSignals, expression_score_from_frames  # noqa: E402

FACES = Path(__file__).resolve().parents[2] / "src" / "soberpay" / "assets" / "faces"
N_FRAMES = 60  # 4 s at 15 fps (the classifier accepts any T >= 32)


def _noisy_still_score(name: str, seed: int, model: ExpressionClassifier) -> float:
    img = cv2.imdecode(np.frombuffer((FACES / name).read_bytes(), np.uint8), cv2.IMREAD_COLOR)
    assert img is not None
    rng = np.random.default_rng(seed)
    h, w = img.shape[:2]
    base = img.astype(np.float32)
    analyser = FrameAnalyzer(FaceMeshSignals(static_image_mode=False, open_ear=0.3), None, max_side=640)
    frames = []
    try:
        for i in range(N_FRAMES):
            dx, dy = rng.normal(0.0, 0.35, 2)
            m = np.array([[1.0, 0.0, dx], [0.0, 1.0, dy]], np.float32)
            f = cv2.warpAffine(base, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
            f = f * (1.0 + rng.normal(0.0, 0.02)) + rng.normal(0.0, 3.0, f.shape)
            ok, enc = cv2.imencode(".jpg", np.clip(f + 0.5, 0, 255).astype(np.uint8),
                                   [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(75, 90))])
            assert ok
            res = analyser.analyse(np.asarray(cv2.imdecode(enc, cv2.IMREAD_COLOR), np.uint8), i / 15.0)
            if res.face is not None:
                frames.append(res.face)
    finally:
        analyser.close()
    assert len(frames) >= 0.8 * N_FRAMES, f"face lost in {name}"
    red = np.array([f.redness for f in frames[:20]])
    baseline = float(np.nanmean(red)) if np.isfinite(red).any() else None
    return expression_score_from_frames(frames, baseline, 6.0, model)


def test_shipped_classifier_is_not_saturated_on_real_still_sober_faces() -> None:
    model = ExpressionClassifier()
    scores = [_noisy_still_score(name, seed, model)
              for seed, name in enumerate(("obama.jpg", "biden.jpg", "grace_hopper.jpg"))]
    assert all(np.isfinite(scores)), scores
    assert float(np.mean(scores)) < 0.5, scores
