"""Face and pose signal extraction on SYNTHETIC inputs with known answers (no camera, no models)."""

from __future__ import annotations

import numpy as np
import pytest

from soberpay.adapters.sobriety.face_signals import (
    FaceFrame,
    FaceSignalWindow,
    colour_change,
    detect_blinks,
    eye_aspect_ratio,
    grey_world,
    openness_from_ear,
    perclos,
)
from soberpay.adapters.sobriety.features import FUSION_FEATURES
from soberpay.adapters.sobriety.fusion import fusion_vector
from soberpay.adapters.sobriety.pose import (
    OneEuroFilter,
    PoseNormalModel,
    PoseTimeSeries,
    angle_rate_per_second,
    dominant_frequency,
)
from soberpay.domain.sobriety import GuestBaseline, angle_rate_flags, trunk_tilt_flag
from soberpay.errors import InvalidInput
from soberpay_lab.training.synthetic_pose import SyntheticPoseParams, synthetic_pose_sequence


def _series(seconds: float = 10.0, fps: float = 15.0, jitter_px: float = 0.5, **kw: object) -> PoseTimeSeries:
    p = SyntheticPoseParams(jitter_px=jitter_px, **kw)  # type: ignore[arg-type]
    t, xy = synthetic_pose_sequence(p, seconds, fps)
    ts = PoseTimeSeries(window_seconds=seconds + 1)
    for ti, x in zip(t, xy, strict=True):
        ts.add(float(ti), x)
    return ts


# --- posture --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("tilt", "flagged"), [(5.0, True), (-5.0, True), (2.0, False), (0.0, False)])
def test_generated_tilt_trips_the_rule(tilt: float, flagged: bool) -> None:
    f = _series(trunk_tilt_deg=tilt).features()
    assert f is not None
    assert f.trunk_tilt_deg == pytest.approx(tilt, abs=0.3)
    assert trunk_tilt_flag(f.trunk_tilt_deg, 3.0) is flagged


@pytest.mark.parametrize(("rate", "flagged"), [(5.0, True), (1.0, False)])
def test_generated_arm_angle_rate_trips_the_rule(rate: float, flagged: bool) -> None:
    f = _series(arm_rate_deg_s=rate).features()
    assert f is not None
    assert f.arm_angle_rate_deg_s == pytest.approx(rate, abs=0.4)
    assert ("arm_angle_rate_deg_s" in angle_rate_flags(f.rates, 3.0)) is flagged


def test_head_rate_and_sway() -> None:
    f = _series(head_rate_deg_s=5.0).features()
    assert f is not None and f.head_angle_rate_deg_s == pytest.approx(5.0, abs=0.4)
    calm = _series().features()
    sway = _series(sway_amp=0.1, sway_hz=0.5, sway_tilt_deg=4.0).features()
    assert calm is not None and sway is not None
    assert sway.sway_path_per_s > 3 * calm.sway_path_per_s
    assert sway.sway_freq_hz == pytest.approx(0.5, abs=0.15)


@pytest.mark.parametrize(
    ("kw", "activity"),
    [({}, "standing"), ({"activity": "sitting"}, "sitting"), ({"activity": "walking", "walk_speed": 1.0}, "walking")],
)
def test_activity_state(kw: dict[str, object], activity: str) -> None:
    f = _series(**kw).features()
    assert f is not None and f.activity == activity
    d = f.as_dict()
    assert d[f"activity_{activity}"] == 1.0


def test_scale_invariance_by_torso_normalisation() -> None:
    # Without detector noise, a person 5× smaller sways the same in torso units. (With fixed pixel
    # noise, small far-away people look shakier: see docs/research/sobriety-assessment.md.)
    small = _series(torso_px=40.0, sway_amp=0.05, jitter_px=0.0).features()
    big = _series(torso_px=200.0, sway_amp=0.05, jitter_px=0.0).features()
    assert small is not None and big is not None
    assert small.sway_path_per_s == pytest.approx(big.sway_path_per_s, rel=0.05)
    assert small.trunk_tilt_deg == pytest.approx(big.trunk_tilt_deg, abs=0.1)


def test_angle_rate_and_frequency_helpers() -> None:
    t = np.arange(0, 10, 0.1)
    assert angle_rate_per_second(t, 3.0 * t) == pytest.approx(3.0, abs=1e-6)
    assert np.isnan(angle_rate_per_second(t[:3], t[:3]))
    assert dominant_frequency(t, np.sin(2 * np.pi * 0.8 * t)) == pytest.approx(0.8, abs=0.1)


def test_one_euro_filter_reduces_jitter() -> None:
    rng = np.random.default_rng(0)
    f = OneEuroFilter(min_cutoff=1.0, beta=0.0)
    noisy = 5.0 + rng.normal(0, 1.0, 300)
    out = np.array([f(x, i / 30) for i, x in enumerate(noisy)]).ravel()
    assert out[50:].std() < 0.5 * noisy[50:].std()


def test_pose_series_rejects_bad_input() -> None:
    ts = PoseTimeSeries()
    with pytest.raises(InvalidInput):
        ts.add(0.0, np.zeros((10, 2)))
    with pytest.raises(InvalidInput):
        ts.add(0.0, np.full((33, 2), np.nan))


def test_cnn_window_shape() -> None:
    w = _series(seconds=5.0).cnn_window()
    assert w is not None and w.shape == (26, 32) and w.dtype == np.float32


def test_isolation_forest_flags_an_outlier() -> None:
    rng = np.random.default_rng(1)
    centre = rng.normal(size=32)
    nm = PoseNormalModel(similarity_threshold=0.8, min_history=8)
    for _ in range(60):
        nm.add_normal(centre + rng.normal(0, 0.05, 32))
    normal = nm.check(centre + rng.normal(0, 0.05, 32))
    outlier = nm.check(rng.normal(size=32))
    assert normal is not None and outlier is not None
    assert not normal.to_verify and not normal.anomaly
    assert outlier.to_verify and outlier.anomaly
    assert outlier.isolation_score > 3 * normal.isolation_score
    assert outlier.forest_score < 0


# --- face -----------------------------------------------------------------------------------------


def test_eye_aspect_ratio_and_openness() -> None:
    open_eye = [(0, 0), (1, -0.3), (2, -0.3), (3, 0), (2, 0.3), (1, 0.3)]
    closed = [(0, 0), (1, -0.05), (2, -0.05), (3, 0), (2, 0.05), (1, 0.05)]
    assert eye_aspect_ratio(open_eye) == pytest.approx(0.2)
    assert eye_aspect_ratio(closed) == pytest.approx(0.1 / 3)
    assert openness_from_ear(0.3, 0.3) == 1.0 and openness_from_ear(0.05, 0.3) == 0.0


def _ear_signal(fps: float = 30.0, seconds: float = 20.0) -> tuple[np.ndarray, np.ndarray]:
    t = np.arange(0, seconds, 1 / fps)
    ear = np.full_like(t, 0.3)
    for start, dur in ((2.0, 0.1), (6.0, 0.2), (11.0, 0.3), (15.0, 3.0)):  # three blinks + one long closure
        ear[(t >= start) & (t < start + dur)] = 0.08
    return t, ear


def test_blink_detector_counts_blinks_and_durations() -> None:
    t, ear = _ear_signal()
    blinks = detect_blinks(t, ear, threshold=0.2)
    assert len(blinks) == 3  # the 3-s closure is not a blink
    assert [b.duration for b in blinks] == pytest.approx([0.1, 0.2, 0.3], abs=0.04)


def test_perclos() -> None:
    t, ear = _ear_signal()
    op = np.array([openness_from_ear(e, 0.3) for e in ear])
    # closed time = 0.1 + 0.2 + 0.3 + 3.0 = 3.6 s of 20 s
    assert perclos(op, 0.2, t) == pytest.approx(3.6 / 20, abs=0.01)
    assert perclos(np.ones(10)) == 0.0


def _frame(t: float, ear: float, redness: float) -> FaceFrame:
    return FaceFrame(
        t,
        ear,
        openness_from_ear(ear, 0.3),
        0.1,
        (0.0, 0.0),
        (300.0, 200.0),
        100.0,
        redness,
        float("nan"),
        (0, 0, 10, 10),
        np.zeros((0, 3), np.float32),
    )


def test_colour_change_relative_to_own_baseline() -> None:
    w = FaceSignalWindow(window_seconds=10.0, colour_scale_a=6.0)
    for i in range(100):  # baseline: a* = 14 (a naturally ruddy guest)
        w.add(_frame(i / 10, 0.3, 14.0), in_baseline=True)
    assert w.colour_baseline == pytest.approx(14.0)
    s = w.signals()
    assert s is not None and s.colour_change == pytest.approx(0.0, abs=1e-6)
    for i in range(100, 200):  # later: a* = 20 → +6 = one scale unit
        w.add(_frame(i / 10, 0.3, 20.0))
    s = w.signals()
    assert s is not None and s.colour_change == pytest.approx(np.tanh(1.0), abs=1e-6)
    assert colour_change(8.0, 14.0, 6.0) < 0  # paler than own baseline → negative
    assert np.isnan(colour_change(8.0, None, 6.0))


def test_grey_world_removes_a_coloured_light_cast() -> None:
    import cv2

    rng = np.random.default_rng(0)
    scene = rng.integers(60, 200, (60, 80, 3)).astype(np.float32)
    skin = np.array([120, 140, 190], np.float32)  # BGR skin tone
    scene[20:40, 30:50] = skin

    def a_star(img: np.ndarray) -> float:
        lab = cv2.cvtColor(img, cv2.COLOR_BGR2LAB)
        return float(lab[20:40, 30:50, 1].mean())

    neutral = np.clip(scene, 0, 255).astype(np.uint8)
    red_light = np.clip(scene * np.array([0.8, 0.9, 1.3], np.float32), 0, 255).astype(np.uint8)
    raw_shift = abs(a_star(red_light.astype(np.float32) / 255) - a_star(neutral.astype(np.float32) / 255))
    bal_shift = abs(a_star(grey_world(red_light)) - a_star(grey_world(neutral)))
    assert raw_shift > 5.0
    assert bal_shift < raw_shift / 3


def test_face_window_blink_rate_and_perclos() -> None:
    t, ear = _ear_signal(fps=15.0, seconds=20.0)
    w = FaceSignalWindow(window_seconds=30.0)
    for ti, e in zip(t, ear, strict=True):
        w.add(_frame(float(ti), float(e), 12.0))
    s = w.signals()
    assert s is not None
    assert s.blink_rate_per_min == pytest.approx(3 * 60 / t[-1], rel=0.02)
    assert s.perclos == pytest.approx(3.6 / 20, abs=0.02)


def test_fusion_vector_uses_own_baseline() -> None:
    b = GuestBaseline()
    for v in (0.04, 0.06):
        b.update({"perclos": v})
    vec = fusion_vector({"perclos": 0.15, "eye_openness": 0.7}, None, b)
    assert vec.shape == (len(FUSION_FEATURES),)
    idx = FUSION_FEATURES.index
    assert vec[idx("perclos")] == pytest.approx(0.15)
    assert vec[idx("delta_perclos")] == pytest.approx(0.10)
    assert np.isnan(vec[idx("delta_eye_openness")])  # no baseline for it yet
    assert np.isnan(vec[idx("trunk_tilt_deg")])  # no pose → NaN, imputed by the model


@pytest.mark.parametrize("open_ear", [0.16, 0.42])  # narrow eyes (below the old fixed 0.2) and wide eyes
def test_blinks_counted_against_the_guests_own_open_eye(open_ear: float) -> None:
    rng = np.random.default_rng(0)
    t = np.arange(0, 40, 1 / 15)
    ear = open_ear + rng.normal(0.0, 0.006, t.size)
    shut = 0.05 + 0.45 * (open_ear - 0.05)  # at 15 fps a blink frame shows the lid at ≈ 45 % of its opening
    starts = (21.0, 25.0, 29.0, 33.0, 37.0)  # five blinks after a 20-s baseline
    for s0 in starts:
        ear[(t >= s0) & (t < s0 + 0.2)] = shut
    w = FaceSignalWindow(window_seconds=20.0)
    for ti, e in zip(t, ear, strict=True):
        w.add(_frame(float(ti), float(e), 12.0), in_baseline=ti < 20.0)
    assert w.open_ear == pytest.approx(open_ear, abs=0.01)
    s = w.signals()
    assert s is not None
    assert s.blink_rate_per_min == pytest.approx(len(starts) * 60 / 20.0, rel=0.1)
