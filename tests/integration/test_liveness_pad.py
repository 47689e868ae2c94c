"""Passive PAD with the real face mesh: a photo replayed as a clip is refused; a real face video passes.

The photo-replay tests FAIL when the passive check is removed (``passive_reasons`` returning ``()``).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from soberpay.adapters.clock import ManualClock
from soberpay.adapters.images import decode_image
from soberpay.adapters.vision.liveness import FaceMeshClipSensor, shape_residuals
from soberpay.adapters.vision.liveness_store import MemoryChallengeStore
from soberpay.adapters.vision.video import OpenCVFrameSource
from soberpay.assets import read_asset
from soberpay.config import LivenessSettings
from soberpay.services.liveness import LivenessService

pytest.importorskip("mediapipe")
SINGER = Path("/work/shared/data/samples/singer_stage_whitehouse.mp4")


@pytest.fixture(scope="module")
def checker() -> LivenessService:
    clock = ManualClock()
    return LivenessService(
        sensor=FaceMeshClipSensor(),
        challenges=MemoryChallengeStore(clock.now),
        clock=clock,
        settings=LivenessSettings(),
    )


def _photo() -> np.ndarray:
    img = decode_image(read_asset("faces", "obama.jpg"))
    return np.asarray(cv2.copyMakeBorder(img, 80, 80, 80, 80, cv2.BORDER_REPLICATE))


def _held_print(photo: np.ndarray, n: int = 30) -> list[np.ndarray]:
    """The photo as a print in a moving hand: tilted (perspective) and shifted a little more each frame."""
    h, w = photo.shape[:2]
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    frames = []
    for i in range(n):
        t = i / (n - 1)
        k = 0.25 * np.sin(2 * np.pi * t)  # up to 25 % keystone: the print swings about its vertical axis
        dst = np.float32([[w * k, h * k * 0.5], [w, 0], [w, h], [w * k, h * (1 - k * 0.5)]]) + 8 * t
        m = cv2.getPerspectiveTransform(src, dst)
        frames.append(np.asarray(cv2.warpPerspective(photo, m, (w, h), borderMode=cv2.BORDER_REPLICATE)))
    return frames


def test_still_photo_clip_is_refused(checker: LivenessService) -> None:
    result = checker.check([_photo()] * 20, None)
    assert not result.live
    assert "too_still" in result.reasons


def test_photo_moved_like_a_print_is_refused(checker: LivenessService) -> None:
    frames = _held_print(_photo())
    m = checker._sensor.measure(frames)
    assert m.motion >= LivenessSettings().min_motion, "the warp must move the face enough to be judged"
    result = checker.check(frames, None)
    assert not result.live
    assert result.reasons == ("planar_motion",)


def test_homography_explains_a_plane_but_not_a_3d_shape() -> None:
    rng = np.random.default_rng(0)
    flat = rng.uniform(0, 100, (60, 2))
    h = np.array([[1.0, 0.05, 3.0], [0.02, 0.95, -2.0], [1e-4, 2e-4, 1.0]])
    warped = cv2.perspectiveTransform(flat.reshape(-1, 1, 2), h).reshape(-1, 2)
    assert shape_residuals(flat, warped)[1] < 1e-3
    depth = rng.uniform(0, 40, 60)  # a 3-D cloud turned about the vertical axis shows parallax
    turned = np.stack([flat[:, 0] * np.cos(0.4) + depth * np.sin(0.4), flat[:, 1]], 1)
    assert shape_residuals(flat, turned)[1] > 1.0


@pytest.mark.skipif(not SINGER.is_file(), reason="shared sample video not present")
def test_real_face_video_passes(checker: LivenessService) -> None:
    frames = [f for _, f in OpenCVFrameSource(SINGER, max_frames=175).frames()]
    result = checker.check(frames[130:175], None)  # a close-up, 1.5 s, no scene cut
    assert result.live, result.reasons


def test_eval_liveness_json_on_stills(tmp_path: Path) -> None:
    """``soberpay eval liveness --json``: one object with the ISO/IEC 30107-3 keys; a still photo is
    refused whichever folder it sits in (so here BPCER is 1 and APCER 0)."""
    import json

    from typer.testing import CliRunner

    from soberpay.cli import app

    photo = read_asset("faces", "obama.jpg")
    for folder in ("bona_fide", "attack/print"):
        (tmp_path / "set" / folder).mkdir(parents=True)
        (tmp_path / "set" / folder / "obama.jpg").write_bytes(photo)
    result = CliRunner().invoke(
        app, ["eval", "liveness", "--dataset", str(tmp_path / "set"), "--json", "--plots-dir", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout.strip().splitlines()[-1])
    assert {"apcer_max", "apcer", "bpcer", "n_bona_fide", "n_attack"} <= set(payload)
    assert payload["apcer"] == {"print": 0.0} and payload["bpcer"] == 1.0
    assert payload["n_bona_fide"] == 1 and payload["n_attack"] == 1
