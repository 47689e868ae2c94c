"""Face pipeline: detect → quality-gate → align → embed (the ``FaceAnalyser`` port).

Public surface used by the identity service::

    detector = YuNetDetector(settings.identity.yunet_model)
    pipeline = FacePipeline(detector, build_embedder(settings), settings.identity)
    analysis = pipeline.analyse(image)             # one still: FaceAnalysis(face, embedding, quality)
    analyses = pipeline.best_from_frames(frames)   # video: the best quality-qualified frames

``analyse`` raises, in this order:

* :class:`NoFace` — the detector found nothing;
* :class:`MultipleFaces` — two or more faces at or above ``min_detector_score``;
* :class:`FaceTooSmall` — the face's shorter side is below ``min_face_px``;
* :class:`LowQuality` — any other gate failed (confidence, blur, light, contrast, pose), with
  ``reasons`` in the error context.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable

import cv2

from soberpay.adapters.images import pad_small_image
from soberpay.adapters.vision.quality import (
    REASON_MULTIPLE_FACES,
    REASON_NO_FACE,
    REASON_TOO_SMALL,
    FrameSelection,
    assess_quality,
    reason_code,
    select_frames,
)
from soberpay.config import IdentitySettings, Settings
from soberpay.errors import ConfigError, FaceTooSmall, LowQuality, MultipleFaces, NoFace
from soberpay.ports import (
    DetectedFace,
    Embedder,
    Embedding,
    FaceAnalysis,
    FaceDetector,
    ImageBGR,
    StageObserver,
    ignore_stage,
)

__all__ = ["FacePipeline", "build_detector", "build_embedder", "build_pipeline", "share_cores"]

SMALL_IMAGE_SIDE = 200
SMALL_IMAGE_SCALE = 2.0
# A clip sends at most this many frames per selected one to the detector, the sharpest by a cheap measure
# (quality.cheap_sharpness): 9 of a 2-second tablet burst for 3 fused frames.
DETECT_PER_SELECTED = 3
MIN_DETECT_BUDGET = 8


class FacePipeline:
    """``FaceAnalyser`` over any ``FaceDetector`` + ``Embedder`` with ``IdentitySettings`` quality gates."""

    def __init__(
        self,
        detector: FaceDetector,
        embedder: Embedder,
        settings: IdentitySettings,
        observe: StageObserver = ignore_stage,
    ) -> None:
        self.detector = detector
        self.embedder = embedder
        self.settings = settings
        self.observe = observe

    @property
    def embedder_name(self) -> str:
        return self.embedder.name

    def analyse(self, image: ImageBGR) -> FaceAnalysis:
        """Exactly one usable face in a still image, or a ``FaceError`` explaining why not.

        A small, tightly cropped picture (shorter side < 200 px, e.g. a 92×112 ID-style crop) in which
        the detector finds nothing is retried once upscaled 2× and padded (``pad_small_image``); the
        face size gate still uses original pixels.
        """
        started = time.perf_counter()
        faces = self.detector.detect(image)
        upscale = 1.0
        if not faces and min(image.shape[:2]) < SMALL_IMAGE_SIDE:
            image = pad_small_image(image, min_side=SMALL_IMAGE_SIDE, scale=SMALL_IMAGE_SCALE)
            upscale = SMALL_IMAGE_SCALE
            faces = self.detector.detect(image)
        detected = time.perf_counter()
        self.observe("detect", detected - started)
        if not faces:
            raise NoFace("no face found in the image")
        quality = assess_quality(image, faces, self.settings, upscale=upscale)
        self.observe("quality", time.perf_counter() - detected)
        if quality.n_faces > 1:
            raise MultipleFaces(
                f"{quality.n_faces} faces in the image; exactly one person must face the camera",
                n_faces=quality.n_faces,
            )
        codes = {reason_code(r) for r in quality.reasons}
        if REASON_TOO_SMALL in codes:
            raise FaceTooSmall(
                f"face too small: {quality.face_size:.0f} px < {self.settings.min_face_px} px; come closer",
                face_px=round(quality.face_size),
                min_face_px=self.settings.min_face_px,
            )
        if not quality.passed:
            raise LowQuality("face quality too low: " + "; ".join(quality.reasons), reasons=list(quality.reasons))
        face = max(faces, key=lambda f: f.score)
        return FaceAnalysis(face=face, embedding=self._embed(image, face), quality=quality)

    def _embed(self, image: ImageBGR, face: DetectedFace) -> Embedding:
        started = time.perf_counter()
        embedding = self.embedder.embed(image, face)
        self.observe("embed", time.perf_counter() - started)
        return embedding

    def select(self, frames: Iterable[ImageBGR], top_k: int = 5) -> FrameSelection:
        """Quality-qualified frame selection without embedding (see ``quality.select_frames``): the
        detector sees only the ``DETECT_PER_SELECTED × top_k`` sharpest frames of a longer clip."""
        budget = max(DETECT_PER_SELECTED * top_k, MIN_DETECT_BUDGET)
        return select_frames(
            frames, self.detector, self.settings, top_k=top_k, detect_budget=budget, observe=self.observe
        )

    def best_from_frames(self, frames: Iterable[ImageBGR], top_k: int = 5) -> list[FaceAnalysis]:
        """Embed the ``top_k`` best qualified frames; if none qualifies, raise with the rejection counts."""
        selection = self.select(frames, top_k=top_k)
        if not selection.selected:
            counts = dict(selection.rejections)
            if selection.n_frames == 0:
                raise NoFace("the video has no frames", n_frames=0)
            examined = selection.n_examined
            if set(counts) == {REASON_NO_FACE}:
                raise NoFace(f"no face in any of the {examined} frames examined", n_frames=selection.n_frames)
            if counts.get(REASON_MULTIPLE_FACES, 0) == examined:
                raise MultipleFaces(
                    f"several faces in all {examined} frames examined; exactly one person must face the camera",
                    n_frames=selection.n_frames,
                )
            raise LowQuality(
                f"no frame passed the quality gates ({selection.summary()})",
                n_frames=selection.n_frames,
                rejections=counts,
            )
        return [
            FaceAnalysis(face=s.face, embedding=self._embed(s.image, s.face), quality=s.quality)
            for s in selection.selected
        ]


def share_cores(model_workers: int) -> int:
    """Give each of the ``model_workers`` threads running models its share of the cores for OpenCV's DNN
    (YuNet, SFace). Its default, one thread per core *per call*, has concurrent calls fight over the same
    cores: on this 2-core machine under load one thread per call was as fast or faster (docs/scaling.md)."""
    threads = max(1, (os.cpu_count() or 1) // max(1, model_workers))
    cv2.setNumThreads(threads)
    return threads


def build_embedder(settings: Settings, name: str | None = None) -> Embedder:
    """The embedder chosen by ``settings.embedder`` (or ``name``): ``sface`` | ``dlib`` | ``autoencoder``."""
    choice = name or settings.embedder
    ident = settings.identity
    if choice == "sface":
        from soberpay.adapters.vision.sface import SFaceEmbedder

        return SFaceEmbedder(ident.sface_model)
    if choice == "dlib":
        from soberpay.adapters.vision.dlib_embedder import DlibEmbedder

        return DlibEmbedder(ident.dlib_model_dir)
    if choice == "autoencoder":
        try:
            from soberpay.adapters.vision.autoencoder import AutoencoderEmbedder
        except ImportError as exc:
            raise ConfigError(f"the autoencoder embedder is not available: {exc}") from exc
        embedder: Embedder = AutoencoderEmbedder(ident.autoencoder_model)
        return embedder
    raise ConfigError(f"unknown embedder {choice!r} (choose sface, dlib or autoencoder)", embedder=choice)


def build_detector(settings: Settings) -> FaceDetector:
    from soberpay.adapters.vision.yunet import YuNetDetector

    return YuNetDetector(settings.identity.yunet_model)


def build_pipeline(settings: Settings) -> FacePipeline:
    """Detector + configured embedder + identity quality gates (models load on first use)."""
    return FacePipeline(build_detector(settings), build_embedder(settings), settings.identity)
