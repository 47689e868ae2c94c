"""Quality gates and frame selection, with a hand-written fake detector (no model needed)."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from soberpay.adapters.vision.quality import (
    assess_quality,
    cheap_sharpness,
    estimate_yaw_pitch,
    quality_score,
    reason_code,
    select_frames,
)
from soberpay.config import IdentitySettings
from soberpay.ports import DetectedFace, ImageBGR

S = IdentitySettings()

# Frontal layout in a 100-px face: eyes at y=40, YuNet-style nose at 0.58 of the eye→mouth span, mouth at y=80
FRONTAL = ((35.0, 40.0), (65.0, 40.0), (50.0, 40.0 + 0.58 * 40.0), (38.0, 80.0), (62.0, 80.0))


def make_face(
    x: float = 100, y: float = 100, size: float = 100, score: float = 0.95, landmarks=FRONTAL
) -> DetectedFace:
    k = size / 100.0
    pts = tuple((x + px * k, y + py * k) for px, py in landmarks)
    return DetectedFace(box=(x, y, size, size), landmarks=pts, score=score)


def textured(h: int = 400, w: int = 400, mean: float = 128, std: float = 40, seed: int = 0) -> ImageBGR:
    """Coarse checkerboard (contrast that survives blur) + fine noise (sharpness that does not)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    coarse = np.where(((yy // 25) + (xx // 25)) % 2 == 0, std, -std)
    grey = np.clip(mean + coarse + rng.normal(0, std / 2, (h, w)), 0, 255).astype(np.uint8)
    return cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR)


class FakeDetector:
    """Returns pre-set faces for frame i (by the frame's [0, 0, 0] pixel value)."""

    def __init__(self, faces_by_tag: dict[int, list[DetectedFace]]) -> None:
        self.faces_by_tag = faces_by_tag

    def detect(self, image: ImageBGR) -> list[DetectedFace]:
        return list(self.faces_by_tag.get(int(image[0, 0, 0]), []))


def tagged(tag: int, image: ImageBGR) -> ImageBGR:
    out = image.copy()
    out[0, 0, 0] = tag
    return out


def test_frontal_landmarks_give_small_angles() -> None:
    yaw, pitch = estimate_yaw_pitch(FRONTAL)
    assert abs(yaw) < 1 and abs(pitch) < 1


def test_roll_does_not_change_yaw_or_pitch() -> None:
    a = math.radians(25)
    rot = [
        (50 + (x - 50) * math.cos(a) - (y - 60) * math.sin(a), 60 + (x - 50) * math.sin(a) + (y - 60) * math.cos(a))
        for x, y in FRONTAL
    ]
    yaw, pitch = estimate_yaw_pitch(tuple(rot))
    assert abs(yaw) < 1 and abs(pitch) < 1


def test_turned_and_tilted_heads() -> None:
    turned = list(FRONTAL)
    turned[2] = (50.0 + 15.0, turned[2][1])  # nose 0.5 IOD to the right → atan(1) = 45°
    yaw, _ = estimate_yaw_pitch(tuple(turned))
    assert yaw == pytest.approx(45, abs=1)
    down = list(FRONTAL)
    down[2] = (50.0, 40.0 + 0.80 * 40.0)
    _, pitch = estimate_yaw_pitch(tuple(down))
    assert pitch > 20
    up = list(FRONTAL)
    up[2] = (50.0, 40.0 + 0.40 * 40.0)
    assert estimate_yaw_pitch(tuple(up))[1] < -20


def test_degenerate_landmarks_fail_pose() -> None:
    assert estimate_yaw_pitch(((0.0, 0.0),) * 5) == (90.0, 90.0)
    assert estimate_yaw_pitch(((0.0, 0.0),) * 3) == (90.0, 90.0)


def test_good_face_passes() -> None:
    q = assess_quality(textured(), [make_face()], S)
    assert q.passed, q.reasons
    assert q.n_faces == 1 and q.face_size == 100
    assert 100 < q.brightness < 160 and q.contrast > 20 and q.sharpness > S.min_sharpness


@pytest.mark.parametrize(
    ("image", "face", "code"),
    [
        (textured(), make_face(size=30), "face too small"),
        (textured(), make_face(score=0.6), "low detector confidence"),
        (cv2.GaussianBlur(textured(), (0, 0), 5), make_face(), "blurry"),
        (textured(mean=15, std=5), make_face(), "too dark"),
        (textured(mean=245, std=5), make_face(), "too bright"),
        (textured(std=3), make_face(), "low contrast"),
    ],
)
def test_each_gate_reports_its_reason(image: ImageBGR, face: DetectedFace, code: str) -> None:
    q = assess_quality(image, [face], S)
    assert not q.passed
    assert code in {reason_code(r) for r in q.reasons}, q.reasons


def test_pose_gates() -> None:
    turned = list(FRONTAL)
    turned[2] = (65.0, turned[2][1])
    q = assess_quality(textured(), [make_face(landmarks=tuple(turned))], S)
    assert "head turned" in {reason_code(r) for r in q.reasons}
    down = list(FRONTAL)
    down[2] = (50.0, 40.0 + 0.9 * 40.0)
    q = assess_quality(textured(), [make_face(landmarks=tuple(down))], S)
    assert "head tilted up/down" in {reason_code(r) for r in q.reasons}


def test_several_faces_and_weak_second_face() -> None:
    two = [make_face(x=20, y=20), make_face(x=250, y=250, score=0.9)]
    q = assess_quality(textured(), two, S)
    assert q.n_faces == 2 and "several faces" in {reason_code(r) for r in q.reasons}
    weak_second = [make_face(x=20, y=20), make_face(x=250, y=250, score=0.55)]
    assert assess_quality(textured(), weak_second, S).passed


def test_no_face() -> None:
    q = assess_quality(textured(), [], S)
    assert not q.passed and q.reasons == ("no face",) and q.n_faces == 0


def test_thresholds_come_from_settings() -> None:
    strict = IdentitySettings(min_face_px=150)
    assert not assess_quality(textured(), [make_face()], strict).passed
    lax = IdentitySettings(min_sharpness=0.0)
    assert assess_quality(cv2.GaussianBlur(textured(), (0, 0), 5), [make_face()], lax).passed


def test_face_partly_outside_image() -> None:
    q = assess_quality(textured(200, 200), [make_face(x=150, y=150, size=100)], S)
    assert q.face_size == 100  # measured on the visible part, no crash
    q = assess_quality(textured(200, 200), [make_face(x=500, y=500)], S)
    assert not q.passed


def test_quality_score_prefers_frontal_sharp_faces() -> None:
    img = textured()
    good = assess_quality(img, [make_face()], S)
    turned = list(FRONTAL)
    turned[2] = (56.0, turned[2][1])
    side = assess_quality(img, [make_face(landmarks=tuple(turned))], S)
    assert 0 < quality_score(side, S) < quality_score(good, S) <= 1


def test_select_frames_ranks_and_counts_rejections() -> None:
    base = textured()
    blurred = cv2.GaussianBlur(base, (0, 0), 5)
    frames = [
        tagged(1, base),  # good, score .95
        tagged(2, base),  # no face
        tagged(3, blurred),  # blurry
        tagged(4, base),  # small + low confidence
        tagged(5, base),  # good, score .99
        tagged(6, base),  # two faces
    ]
    det = FakeDetector(
        {
            1: [make_face(score=0.95)],
            3: [make_face()],
            4: [make_face(size=20, score=0.5)],
            5: [make_face(score=0.99)],
            6: [make_face(x=10, y=10), make_face(x=250, y=250)],
        }
    )
    sel = select_frames(frames, det, S, top_k=5)
    assert sel.n_frames == 6 and sel.n_qualified == 2
    assert [s.index for s in sel.selected] == [4, 0]
    # the 20 px face is also blurry once brought to the 112 px measuring scale: one frame, several reasons
    assert sel.rejections["blurry"] >= 1
    assert {k: v for k, v in sel.rejections.items() if k != "blurry"} == {
        "no face": 1,
        "face too small": 1,
        "low detector confidence": 1,
        "several faces": 1,
    }
    assert sel.summary().startswith("2 of 6 frames qualified; rejected:")


def test_select_frames_prefers_spread_frames_then_fills() -> None:
    base = textured()
    frames = [tagged(i + 1, base) for i in range(6)]
    det = FakeDetector({i + 1: [make_face(score=0.90 + 0.01 * i)] for i in range(6)})
    sel = select_frames(frames, det, S, top_k=3, min_gap=2)
    assert [s.index for s in sel.selected] == [5, 3, 1]
    sel = select_frames(frames, det, S, top_k=5, min_gap=2)
    assert len(sel.selected) == 5  # only 3 are spread out; the best remaining fill up


def test_detect_budget_sends_only_the_sharpest_frames_to_the_detector() -> None:
    base = textured()
    blurred = cv2.GaussianBlur(base, (0, 0), 5)
    frames = [tagged(i, base if i in (2, 5, 7) else blurred) for i in range(1, 9)]
    seen: list[int] = []

    class CountingDetector(FakeDetector):
        def detect(self, image: ImageBGR) -> list[DetectedFace]:
            seen.append(int(image[0, 0, 0]))
            return super().detect(image)

    det = CountingDetector({i: [make_face(score=0.9 + i / 100)] for i in range(1, 9)})
    stages: list[str] = []
    sel = select_frames(frames, det, S, top_k=2, detect_budget=3, observe=lambda stage, _: stages.append(stage))
    assert sorted(seen) == [2, 5, 7]  # the blurred frames never reach the (expensive) detector
    assert sel.n_frames == 8 and sel.n_examined == 3 and sel.n_qualified == 3
    assert {s.index for s in sel.selected} <= {1, 4, 6}
    assert stages.count("detect") == 3 and stages.count("preselect") == 1
    assert cheap_sharpness(base) > cheap_sharpness(blurred)
