"""The SYNTHETIC face-signal generator moves each feature in the direction the cited physiology says."""

from __future__ import annotations

import numpy as np
import pytest

from soberpay.adapters.sobriety.expression_features import expression_sequence
from soberpay.adapters.sobriety.features import EXPRESSION_FEATURES
from soberpay.errors import InvalidInput
from soberpay.training.synthetic_faces import (
    make_synthetic_dataset,
    synthetic_raw,
    synthetic_subject,
)

COL = {name: i for i, name in enumerate(EXPRESSION_FEATURES)}


@pytest.fixture(scope="module")
def paired_windows() -> dict[str, dict[str, float]]:
    """Same synthetic subjects, sober (dose 0) vs drunk (dose 1): summary statistics."""
    rng = np.random.default_rng(123)
    subjects = [synthetic_subject(i, rng) for i in range(12)]
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
