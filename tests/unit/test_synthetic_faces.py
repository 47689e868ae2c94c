"""The SYNTHETIC face-signal generator moves each feature in the direction the cited physiology says,
on top of a label-independent measurement noise floor that covers the real MediaPipe floor."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from soberpay.adapters.sobriety.expression_features import expression_sequence
from soberpay.adapters.sobriety.features import EXPRESSION_FEATURES
from soberpay.errors import InvalidInput
from soberpay_lab.training.synthetic_faces import (
    make_synthetic_dataset,
    synthetic_raw,
    synthetic_subject,
    synthetic_window,
    without_noise_floor,
)

COL = {name: i for i, name in enumerate(EXPRESSION_FEATURES)}


@pytest.fixture(scope="module")
def paired_windows() -> dict[str, dict[str, float]]:
    """Same synthetic subjects, sober (dose 0) vs drunk (dose 1), camera noise floor switched off so
    the physiology alone is checked: summary statistics."""
    rng = np.random.default_rng(123)
    subjects = [without_noise_floor(synthetic_subject(i, rng)) for i in range(12)]
    stats: dict[str, dict[str, list[float]]] = {"sober": {}, "drunk": {}}
    for state, dose in (("sober", 0.0), ("drunk", 1.0)):
        acc: dict[str, list[float]] = {k: [] for k in ("blink_dur", "peak_v", "perclos", "colour", "head",
                                                        "jitter", "mouth", "eye")}
        for s in subjects:
            for _ in range(6):
                raw = synthetic_raw(s, dose, 150, 15.0, rng)
                x = expression_sequence(raw.eye_openness, raw.gaze_xy, raw.mouth_openness, raw.head_xy,
                                        raw.colour_change, raw.fps)
                acc["blink_dur"] += list(raw.blink_durations)
                acc["peak_v"] += list(raw.saccade_peak_velocities)
                acc["perclos"].append(float(x[:, COL["perclos"]].mean()))
                acc["colour"].append(float(x[:, COL["colour_change"]].mean()))
                acc["head"].append(float(x[:, COL["head_speed"]].mean()))
                acc["jitter"].append(float(x[:, COL["gaze_jitter"]].mean()))
                acc["mouth"].append(float(x[:, COL["mouth_openness"]].mean()))
                acc["eye"].append(float(x[:, COL["eye_openness"]].mean()))
        stats[state] = acc  # type: ignore[assignment]
    return {st: {k: float(np.mean(v)) for k, v in d.items()} for st, d in stats.items()}  # type: ignore[misc]


def test_blinks_get_longer(paired_windows: dict[str, dict[str, float]]) -> None:
    assert paired_windows["drunk"]["blink_dur"] > 1.3 * paired_windows["sober"]["blink_dur"]


def test_perclos_rises_and_eyes_close_more(paired_windows: dict[str, dict[str, float]]) -> None:
    assert paired_windows["drunk"]["perclos"] > paired_windows["sober"]["perclos"]
    assert paired_windows["drunk"]["eye"] < paired_windows["sober"]["eye"]


def test_saccade_peak_velocity_drops(paired_windows: dict[str, dict[str, float]]) -> None:
    # main-sequence peak velocity of the simulated saccades (at 15 fps a saccade fits in one frame,
    # and at 60 fps the larger drunk gaze jitter masks it, so the check is on the simulated saccades)
    assert paired_windows["drunk"]["peak_v"] < 0.95 * paired_windows["sober"]["peak_v"]


def test_flush_head_sway_and_jitter_rise(paired_windows: dict[str, dict[str, float]]) -> None:
    assert paired_windows["drunk"]["colour"] > paired_windows["sober"]["colour"] + 0.05
    assert paired_windows["drunk"]["head"] > 1.2 * paired_windows["sober"]["head"]
    assert paired_windows["drunk"]["jitter"] > paired_windows["sober"]["jitter"]


def test_mouth_is_an_alcohol_free_control(paired_windows: dict[str, dict[str, float]]) -> None:
    assert abs(paired_windows["drunk"]["mouth"] - paired_windows["sober"]["mouth"]) < 0.05


def test_subjects_have_their_own_baselines() -> None:
    rng = np.random.default_rng(0)
    subs = [synthetic_subject(i, rng) for i in range(50)]
    assert np.std([s.blink_rate_per_min for s in subs]) > 2.0
    assert np.std([s.head_sway for s in subs]) > 0.003
    assert 0.15 < np.mean([s.flusher for s in subs]) < 0.6


# Real MediaPipe floor of a still, sober face (benchmarks/expression_signal_scales.py, level 1,
# docs/research/sobriety-models.md): mean per window of head_speed, gaze_jitter; std of eye_openness diffs.
REAL_STILL_HEAD_SPEED = 0.29
REAL_STILL_GAZE_JITTER = 0.0006
REAL_STILL_EYE_DIFF_STD = 0.031


@pytest.fixture(scope="module")
def floor_windows() -> dict[str, np.ndarray]:
    """With the noise floor on: per-window stats of sober and drunk windows of the same subjects."""
    rng = np.random.default_rng(5)
    out: dict[str, list[list[float]]] = {"sober": [], "drunk": []}
    for i in range(40):
        s = synthetic_subject(i, rng)
        for state, dose in (("sober", 0.0), ("drunk", 1.0)):
            x = synthetic_window(s, dose, rng)
            out[state].append([
                float(x[:, COL["head_speed"]].mean()),
                float(x[:, COL["gaze_jitter"]].mean()),
                float(np.diff(x[:, COL["eye_openness"]]).std()),
                float(x[:, COL["eye_openness"]].mean()),
                float(x[:, COL["colour_change"]].mean()),
                float(x[:, COL["perclos"]].mean()),
            ])
    return {k: np.array(v) for k, v in out.items()}


def test_sober_noise_floor_covers_the_real_mediapipe_floor(floor_windows: dict[str, np.ndarray]) -> None:
    sober = floor_windows["sober"]
    for j, real in ((0, REAL_STILL_HEAD_SPEED), (1, REAL_STILL_GAZE_JITTER), (2, REAL_STILL_EYE_DIFF_STD)):
        lo, hi = np.percentile(sober[:, j], [2, 98])
        assert lo < real < hi, (j, lo, real, hi)


def test_noise_floor_is_per_subject_and_label_independent() -> None:
    rng = np.random.default_rng(0)
    subs = [synthetic_subject(i, rng) for i in range(60)]
    for field in ("head_iod_jitter", "head_point_jitter", "gaze_noise", "eye_noise", "colour_noise"):
        vals = np.array([getattr(s, field) for s in subs])
        assert vals.max() > 4 * vals.min(), field  # a wide per-subject range, not one level
    # the floor does not depend on dose: a noise-free subject's drunk windows are smoother than
    # a noisy subject's sober windows (noise level alone cannot tell the label)
    quiet = without_noise_floor(subs[0])
    x_drunk_quiet = synthetic_window(quiet, 1.0, np.random.default_rng(1))
    x_sober_noisy = synthetic_window(
        replace(subs[0], head_point_jitter=0.02, head_iod_jitter=0.01), 0.0, np.random.default_rng(1)
    )
    assert x_sober_noisy[:, COL["head_speed"]].mean() > x_drunk_quiet[:, COL["head_speed"]].mean()


def test_alcohol_effects_survive_the_noise_floor(floor_windows: dict[str, np.ndarray]) -> None:
    sober, drunk = floor_windows["sober"], floor_windows["drunk"]
    assert drunk[:, 3].mean() < sober[:, 3].mean()  # eye openness
    assert drunk[:, 4].mean() > sober[:, 4].mean() + 0.05  # colour
    assert drunk[:, 5].mean() > sober[:, 5].mean()  # PERCLOS
    assert drunk[:, 1].mean() > sober[:, 1].mean()  # gaze jitter


def test_dataset_is_labelled_synthetic_and_balanced() -> None:
    d = make_synthetic_dataset(n_subjects=4, windows_per_state=2, n_frames=64, seed=1)
    assert d.synthetic is True
    assert d.x.shape == (16, 64, len(EXPRESSION_FEATURES))
    assert d.y.sum() == 8 and set(np.unique(d.subject)) == {0, 1, 2, 3}
    assert np.all(d.dose[d.y == 0] == 0) and np.all(d.dose[d.y == 1] >= 0.3)
    assert np.isfinite(d.x).all()


def test_expression_sequence_known_answers() -> None:
    t = 30
    eye = np.full(t, 0.8)
    eye[10:13] = 0.1  # a 3-frame closure
    gaze = np.zeros((t, 2))
    gaze[20:, 0] = 0.1  # one step of 0.1 eye widths at frame 20
    head = np.zeros((t, 2))
    head[:, 1] = np.arange(t) * 0.01  # constant drift 0.01 IOD per frame
    x = expression_sequence(eye, gaze, np.zeros(t), head, np.full(t, 0.2), fps=10.0)
    assert x.shape == (t, len(EXPRESSION_FEATURES)) and x.dtype == np.float32
    assert x[:, COL["blink"]].sum() == 3
    assert x[12, COL["perclos"]] == pytest.approx(3 / 13)
    assert x[20, COL["gaze_speed"]] == pytest.approx(1.0)  # 0.1 ew in 0.1 s
    assert x[5:, COL["head_speed"]] == pytest.approx(np.full(t - 5, 0.1), abs=1e-6)
    assert x[:, COL["colour_change"]] == pytest.approx(np.full(t, 0.2))


def test_expression_sequence_rejects_bad_input() -> None:
    with pytest.raises(InvalidInput):
        expression_sequence(np.ones(10), np.zeros((9, 2)), np.zeros(10), np.zeros((10, 2)), np.zeros(10))
    with pytest.raises(InvalidInput):
        expression_sequence(np.full(10, np.nan), np.zeros((10, 2)), np.zeros(10), np.zeros((10, 2)), np.zeros(10))
