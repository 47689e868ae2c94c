"""The SYNTHETIC fusion generator's face frames sit on the expression classifier's training scales.

Both generators draw the same measured per-subject camera/MediaPipe noise floor
(``synthetic_faces.draw_noise_floor``); before, the fusion generator's own frames had PERCLOS and
gaze jitter 3-10x the expression generator's and the classifier scored its sober windows ≈ 0.79.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from soberpay.adapters.sobriety.face_signals import expression_score_from_frames, head_trajectory
from soberpay.adapters.sobriety.features import EXPRESSION_FEATURES
from soberpay_lab.training import synthetic_faces, synthetic_sobriety

COL = {n: i for i, n in enumerate(EXPRESSION_FEATURES)}


class _Recorder:
    """Stands in for the classifier: keeps the sequence the live path builds."""

    def __init__(self) -> None:
        self.seqs: list[npt.NDArray[np.float32]] = []

    def score(self, seq: npt.NDArray[np.float32]) -> float:
        self.seqs.append(seq)
        return 0.5


def _fusion_sequences(k: float, n: int = 12, seed: int = 0) -> list[npt.NDArray[np.float32]]:
    rng = np.random.default_rng(seed)
    rec = _Recorder()
    for sid in range(n):
        s = synthetic_sobriety.random_subject(sid, rng)
        frames = synthetic_sobriety.simulate_face_window(s, k, 0.0, rng, 0.0)
        assert all(np.isfinite(f.iod_px) and f.iod_px > 0 for f in frames)
        expression_score_from_frames(frames, s.skin_a * 0.7 + 0.3, 6.0, rec)
    return rec.seqs


def test_fusion_generator_uses_the_shared_floor() -> None:
    assert synthetic_sobriety.draw_noise_floor is synthetic_faces.draw_noise_floor
    rng = np.random.default_rng(3)
    floors = [synthetic_sobriety.random_subject(i, rng).floor for i in range(30)]
    assert all(isinstance(f, synthetic_faces.NoiseFloor) for f in floors)
    assert np.std([f.head_point_jitter for f in floors]) > 0.002  # per subject, not one constant


def test_fusion_sober_windows_are_on_the_expression_generator_scale() -> None:
    fusion = np.stack(_fusion_sequences(0.0))
    rng = np.random.default_rng(1)
    expr = np.stack([synthetic_faces.synthetic_window(synthetic_faces.synthetic_subject(i, rng), 0.0, rng)
                     for i in range(12)])
    for col in ("perclos", "gaze_jitter", "head_speed"):
        f, e = float(fusion[..., COL[col]].mean()), float(expr[..., COL[col]].mean())
        assert f < 2.5 * e + 1e-3, (col, f, e)  # was 3-10x before the shared floor
        assert f > 0.3 * e, (col, f, e)


def test_fusion_drunk_effects_stay_on_top_of_the_floor() -> None:
    sober, drunk = np.stack(_fusion_sequences(0.0, seed=5)), np.stack(_fusion_sequences(1.0, seed=5))
    for col in ("perclos", "blink", "gaze_jitter"):
        assert drunk[..., COL[col]].mean() > 1.2 * sober[..., COL[col]].mean(), col
    assert drunk[..., COL["eye_openness"]].mean() < sober[..., COL["eye_openness"]].mean()


def test_synthetic_head_is_measured_like_live_frames() -> None:
    s = synthetic_sobriety.random_subject(0, np.random.default_rng(0))
    frames = synthetic_sobriety.simulate_face_window(s, 0.0, 0.0, np.random.default_rng(1), 0.0)
    head = head_trajectory(frames)
    # the trajectory is centred on the nose's image position (in IOD), not inflated by it
    assert np.allclose(np.median(head, axis=0), s.floor.head_offset, atol=0.5)
