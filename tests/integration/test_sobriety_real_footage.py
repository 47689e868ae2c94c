"""The sobriety guard on REAL sober people: no posture false alarms, no DRUNK, signals the fusion can read.

Real footage through the live path (MediaPipe Face Mesh + Pose → ``GuestMonitor``): the singer clip
(a sober man singing into a microphone; looped forward/backward because it holds only ≈ 6 s of him)
and a still sample photo as a webcam clip. Figures for all the real footage and long synthetic
visits: ``benchmarks/sobriety_false_alarms.py`` (docs/research/sobriety-assessment.md).
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("mediapipe")

from soberpay.adapters.sobriety.analyzer import FrameAnalysis  # noqa: E402
from soberpay.adapters.sobriety.face_signals import FaceSignalWindow, detect_blinks  # noqa: E402
from soberpay.adapters.sobriety.monitor import Assessment  # noqa: E402
from soberpay.config import Settings, SobrietySettings  # noqa: E402
from soberpay.domain.sobriety import SobrietyState  # noqa: E402
from soberpay_lab.evaluation.real_clips import (  # noqa: E402
    SINGER_START_S,
    analyse_frames,
    pingpong,
    replay,
    still_clip,
    video_frames,
)
from tests.conftest import SHARED_DATA, need  # noqa: E402

SAMPLES = SHARED_DATA / "samples"


def _settings(**kw: float) -> SobrietySettings:
    return SobrietySettings(**{**Settings().sobriety.model_dump(), **kw})


@pytest.fixture(scope="module")
def singer() -> list[FrameAnalysis]:
    clip = SAMPLES / "singer_stage_whitehouse.mp4"
    need(clip.is_file(), f"singer clip not found at {clip}")
    return [a for a in analyse_frames(video_frames(clip), _settings()) if a.t >= SINGER_START_S]


@pytest.fixture(scope="module")
def singer_rows(singer: list[FrameAnalysis]) -> list[Assessment]:
    return replay(pingpong(singer, 6), _settings(baseline_seconds=10.0))


def test_the_singer_is_singing(singer_rows: list[Assessment]) -> None:
    acts = [r.activity for r in singer_rows if r.activity is not None]
    assert acts and acts.count("singing") >= 0.6 * len(acts), acts


def test_a_sober_singer_is_not_abnormal_and_never_drunk(singer_rows: list[Assessment]) -> None:
    post = [r for r in singer_rows if not r.in_baseline]
    assert len(post) >= 20
    # The method's absolute rules fire on this sober singer almost all the time …
    rules = [
        r.pose is not None and (r.pose["trunk_tilt_deg"] > 3.0 or r.pose["head_angle_rate_deg_s"] > 3.0) for r in post
    ]
    assert sum(rules) >= 0.5 * len(post)
    # … but posture is judged against his own normal while singing.
    assert sum(r.judgement.posture_abnormal for r in post) <= 0.05 * len(post)
    assert not any(r.judgement.state is SobrietyState.DRUNK for r in post)
    shown = post[-1].to_dict()
    assert shown["activity_normal"] and "head_angle_rate_deg_s" in shown["activity_normal"]
    assert any("own normal" in e and "rule > 3°/s" in e for e in shown["posture_evidence"])


def test_fusion_reads_real_singer_windows(singer_rows: list[Assessment]) -> None:
    """A probability, not "outside the training range", on most windows with a signal."""
    seen = [r for r in singer_rows if r.face is not None or r.pose is not None]
    with_p = [r for r in seen if r.judgement.raw_p_drunk is not None]
    assert len(with_p) >= 0.8 * len(seen), [r.judgement.reason for r in seen if r.judgement.raw_p_drunk is None][:3]


@pytest.fixture(scope="module")
def still_face() -> list[FrameAnalysis]:
    photo = SAMPLES / "obama.jpg"
    need(photo.is_file(), f"sample photo not found at {photo}")
    return analyse_frames(still_clip(photo, 20.0, seed=3), _settings())


def test_fusion_reads_a_real_still_face(still_face: list[FrameAnalysis]) -> None:
    rows = replay(still_face, _settings(baseline_seconds=8.0))
    post = [r for r in rows if not r.in_baseline and r.face is not None]
    assert len(post) >= 8
    assert sum(r.judgement.raw_p_drunk is not None for r in post) >= 0.8 * len(post)
    assert not any(r.judgement.posture_abnormal or r.judgement.state is SobrietyState.DRUNK for r in post)


def test_blinks_count_against_the_guests_own_open_eye(still_face: list[FrameAnalysis]) -> None:
    """This face's open eye measures EAR ≈ 0.198, just under the old fixed threshold 0.2."""
    faces = [a.face for a in still_face if a.face is not None]
    t = np.array([f.t for f in faces])
    ear = np.array([f.ear for f in faces])
    assert float(np.median(ear)) < 0.2
    minutes = float(t[-1] - t[0]) / 60.0
    assert len(detect_blinks(t, ear, 0.2)) / minutes > 60  # the fixed threshold: jitter counted as blinks
    w = FaceSignalWindow(window_seconds=30.0)
    for f in faces[: len(faces) // 2]:
        w.add(f, in_baseline=True)
    for f in faces[len(faces) // 2 :]:
        w.add(f)
    assert w.open_ear is not None and w.open_ear < 0.2
    s = w.signals()
    assert s is not None and s.blink_rate_per_min < 5.0  # a photo does not blink


def test_hysteresis_counts_one_blink_per_closure() -> None:
    """EAR bouncing around the close threshold while the lid reopens is one blink, not several."""
    t = np.arange(0, 3, 1 / 30)
    ear = np.full_like(t, 0.18)
    ear[30:36] = [0.12, 0.07, 0.06, 0.11, 0.13, 0.11]  # closing, shut, reopening with jitter
    ear[36:40] = [0.125, 0.12, 0.14, 0.15]
    close, reopen = 0.12, 0.15
    assert len(detect_blinks(t, ear, close)) > 1
    assert len(detect_blinks(t, ear, close, reopen_threshold=reopen)) == 1
