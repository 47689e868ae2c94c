"""Composition root: builds every adapter and service from ``Settings``. The CLI and the web app call it.

Nothing heavy happens at construction: the database is migrated on ``open()``, models load on
first use. Areas add their services as cached properties here.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import cached_property, partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from soberpay.adapters.clock import SystemClock
from soberpay.adapters.crypto import AesGcmKeyRing, Argon2idHasher
from soberpay.adapters.db.base import make_engine, make_session_factory
from soberpay.adapters.db.unit_of_work import SqlAlchemyUnitOfWork
from soberpay.adapters.private_files import private_dir
from soberpay.config import Settings
from soberpay.errors import ConfigError
from soberpay.ports import AbstractUnitOfWork, Clock, FaceAnalyser, PresenceCheck, StageObserver, TemplateIndex

if TYPE_CHECKING:
    from soberpay.adapters.db.menu import SqlMenu
    from soberpay.adapters.readiness import Readiness
    from soberpay.services.identity import IdentityService
    from soberpay.services.liveness import LivenessService
    from soberpay.services.payments import PaymentService
    from soberpay.services.payments.topup_channels import TopupChannels
    from soberpay.services.sobriety import SobrietyService


class Container:
    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock | None = None,
        analyser: FaceAnalyser | None = None,
        presence: PresenceCheck | None = None,
    ) -> None:
        self.settings = settings
        self.clock: Clock = clock or SystemClock()
        self._analyser_override = analyser
        self._presence_override = presence
        # Who hears how long each stage of a face decision took (the web app's per-stage histogram).
        self.stage_observers: list[StageObserver] = []

    def observe_stage(self, stage: str, seconds: float) -> None:
        for observer in self.stage_observers:
            observer(stage, seconds)

    # --- infrastructure -------------------------------------------------------------------------

    def open(self, migrate: bool = True) -> Container:
        private_dir(self.settings.data_dir)
        if migrate:
            from soberpay.adapters.db.migrate import upgrade

            upgrade(self.settings.resolved_database_url)
        return self

    @cached_property
    def engine(self) -> Engine:
        engine = make_engine(self.settings.resolved_database_url)

        # Each SQL statement's round trip is the "database" stage (connections are per thread: no race).
        @event.listens_for(engine, "before_cursor_execute")
        def _started(conn: Any, *_: Any) -> None:
            conn.info["stage_started"] = time.perf_counter()

        @event.listens_for(engine, "after_cursor_execute")
        def _done(conn: Any, *_: Any) -> None:
            self.observe_stage("database", time.perf_counter() - conn.info.pop("stage_started", time.perf_counter()))

        return engine

    @cached_property
    def session_factory(self) -> sessionmaker[Session]:
        return make_session_factory(self.engine)

    def uow(self) -> AbstractUnitOfWork:
        """The services' unit-of-work factory: a fresh unit of work per call."""
        return SqlAlchemyUnitOfWork(self.session_factory)

    @cached_property
    def cipher(self) -> AesGcmKeyRing:
        return AesGcmKeyRing.from_env_or_file(self.settings.template_key, self.settings.resolved_key_dir)

    @cached_property
    def hasher(self) -> Argon2idHasher:
        return Argon2idHasher()

    @cached_property
    def readiness(self) -> Readiness:
        """Database, free disk and model files; ``/readyz`` reports it and the money routes require it."""
        from soberpay.adapters.readiness import Readiness

        disk = [self.settings.data_dir]
        url = self.engine.url
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            disk.append(Path(url.database).resolve().parent)
        min_free = self.settings.web.min_free_disk_mb * 1024 * 1024
        missing = None
        if self.settings.index == "pgvector":
            from soberpay.adapters.index_pgvector import missing_vectors

            missing = partial(missing_vectors, self.engine)
        return Readiness(self.engine, disk, self.model_files(), min_free, missing_vectors=missing)

    def model_files(self) -> dict[str, Callable[[], Path]]:
        """The model files payments depend on, resolved lazily (a missing file is reported, not raised here)."""
        from soberpay.adapters.vision import models

        ident = self.settings.identity
        files: dict[str, Callable[[], Path]] = {}
        if self._analyser_override is None:
            files["face_detector"] = lambda: models.yunet_model_path(ident.yunet_model)
            if self.settings.embedder == "sface":
                files["face_embedder"] = lambda: models.sface_model_path(ident.sface_model)
            elif self.settings.embedder == "dlib":
                files["face_embedder"] = lambda: models.dlib_model_files(ident.dlib_model_dir).resnet
            else:
                files["face_embedder"] = lambda: ident.autoencoder_model or _autoencoder_default()
        pay = self.settings.payment
        if pay.use_behaviour_model:
            from soberpay.adapters.behaviour_onnx import DEFAULT_MODEL

            files["behaviour"] = lambda: pay.behaviour_model or DEFAULT_MODEL
        return files

    # --- vision ---------------------------------------------------------------------------------

    def build_analyser(self) -> FaceAnalyser:
        if self._analyser_override is not None:
            return self._analyser_override
        from soberpay.adapters.vision.pipeline import FacePipeline, build_embedder, share_cores
        from soberpay.adapters.vision.yunet import YuNetDetector

        share_cores(self.settings.web.model_workers)
        detector = YuNetDetector(model_path=self.settings.identity.yunet_model)
        return FacePipeline(detector, build_embedder(self.settings), self.settings.identity, self.observe_stage)

    def decode_image(self, data: bytes) -> Any:
        from soberpay.adapters.images import decode_image

        ident = self.settings.identity
        started = time.perf_counter()
        image = decode_image(
            data, max_bytes=ident.max_upload_bytes, max_pixels=ident.max_image_pixels, max_side=ident.max_image_side
        )
        self.observe_stage("decode", time.perf_counter() - started)
        return image

    def decode_video(self, video: bytes | str) -> Any:
        from soberpay.adapters.vision.video import OpenCVFrameSource, frames_from_video_bytes

        limit = self.settings.identity.video_max_frames
        if isinstance(video, bytes | bytearray):
            return frames_from_video_bytes(bytes(video), max_frames=limit)
        # The source stops itself at the cap: a live camera would otherwise never end.
        return (frame for _, frame in OpenCVFrameSource(video, max_frames=limit).frames())

    def build_presence(self) -> PresenceCheck:
        """Liveness for account actions: the presentation-attack detection service (active challenge and
        passive flat-picture check), unless a test hands in its own."""
        if self._presence_override is not None:
            return self._presence_override
        return self.liveness

    def decode_clip(self, data: bytes) -> list[Any]:
        """A short uploaded video (tablet clip), decoded in memory: at most ``liveness.clip_max_frames``
        frames of at most ``CLIP_MAX_FRAME_PIXELS`` each, so one request stays under ~170 MB."""
        from soberpay.adapters.vision.video import CLIP_MAX_FRAME_PIXELS, MemoryVideoSource
        from soberpay.errors import BadImage

        live = self.settings.liveness
        source = MemoryVideoSource(
            data, max_frames=live.clip_max_frames, max_bytes=live.clip_max_bytes, max_frame_pixels=CLIP_MAX_FRAME_PIXELS
        )
        started = time.perf_counter()
        frames = [frame for _, frame in source.frames()]
        self.observe_stage("decode", time.perf_counter() - started)
        if not frames:
            raise BadImage("the video contains no decodable frames")
        return frames

    # --- services -------------------------------------------------------------------------------

    def build_index(self) -> TemplateIndex:
        """The 1:N backend named by ``settings.index`` (docs/scaling.md)."""
        ident = self.settings.identity
        if self.settings.index == "pgvector":
            from soberpay.adapters.index_pgvector import PgVectorTemplateIndex

            return PgVectorTemplateIndex(
                self.engine, self.settings.embedder, ef_search=ident.index_ef_search, candidates=ident.index_candidates
            )
        if self.settings.index == "hnsw":
            try:
                from soberpay.adapters.index_faiss import FaissHnswTemplateIndex
            except ImportError as exc:
                raise ConfigError("index = 'hnsw' needs FAISS: pip install 'soberpay[scale]'") from exc

            return FaissHnswTemplateIndex(
                m=ident.hnsw_m,
                ef_construction=ident.hnsw_ef_construction,
                ef_search=ident.index_ef_search,
                candidates=ident.index_candidates,
            )
        from soberpay.adapters.index import NumpyTemplateIndex

        return NumpyTemplateIndex()

    @cached_property
    def identity(self) -> IdentityService:
        from soberpay.adapters.embeddings import Float32EmbeddingCodec
        from soberpay.domain.identity import PasswordPolicy
        from soberpay.services.identity import IdentityService

        pay = self.settings.payment
        return IdentityService(
            uow=self.uow,
            cipher=self.cipher,
            hasher=self.hasher,
            clock=self.clock,
            settings=self.settings.identity,
            embedder_name=self.settings.embedder,
            match_threshold=self.settings.match_threshold,
            analyser_factory=self.build_analyser,
            index=self.build_index(),
            codec=Float32EmbeddingCodec(),
            decode_image=self.decode_image,
            decode_video=self.decode_video,
            password_policy=PasswordPolicy(
                pay.password_max_failures, pay.password_lockout_minutes, pay.password_lockout_max_minutes
            ),
            presence=self.build_presence(),
            observe_stage=self.observe_stage,
        )

    @cached_property
    def liveness(self) -> LivenessService:
        """Presentation-attack detection (issue 11): the ``PresenceCheck`` every face action uses."""
        from soberpay.adapters.vision.liveness import FaceMeshClipSensor
        from soberpay.adapters.vision.liveness_store import MemoryChallengeStore
        from soberpay.services.liveness import LivenessService

        return LivenessService(
            sensor=FaceMeshClipSensor(observe=self.observe_stage),
            challenges=MemoryChallengeStore(self.clock.now),
            clock=self.clock,
            settings=self.settings.liveness,
        )

    @cached_property
    def menu(self) -> SqlMenu:
        """The menu in the database (back office), seeded from ``payment.catalogue_file`` on first use."""
        from soberpay.adapters.catalogue_file import load_catalogue
        from soberpay.adapters.db.menu import SqlMenu

        return SqlMenu(self.session_factory, self.clock, lambda: load_catalogue(self.settings.payment.catalogue_file))

    @cached_property
    def payments(self) -> PaymentService:
        """Payment risk engine + ledger, fed by the sobriety service through ``sobriety_signal``."""
        from soberpay.adapters.behaviour_onnx import DEFAULT_MODEL, OnnxBehaviourScorer
        from soberpay.services.payments import PaymentService

        pay = self.settings.payment
        behaviour = None
        model = pay.behaviour_model or DEFAULT_MODEL
        if pay.use_behaviour_model and model.is_file():
            behaviour = OnnxBehaviourScorer(model)
        return PaymentService(
            uow=self.uow,
            identity=self.identity,
            clock=self.clock,
            settings=pay,
            catalogue=self.menu.catalogue(),
            menu=self.menu.catalogue,
            sobriety=self.sobriety_signal,
            behaviour=behaviour,
            sobriety_settings=self.settings.sobriety,
        )

    @cached_property
    def topups(self) -> TopupChannels:
        """Top-up by WeChat Pay / Alipay QR (docs/guide/top-up.md); no channel configured: none offered."""
        from soberpay.services.payments.topup_channels import TopupChannels

        top = self.settings.topup
        if top.wechat.mchid or top.alipay.appid:
            from soberpay.adapters.payment_providers import build_providers

            providers = build_providers(self.settings)
        else:
            providers = {}
        return TopupChannels(self.payments.context, providers, top.min_fen, top.max_fen)

    @cached_property
    def sobriety(self) -> SobrietyService:
        """Sobriety monitoring (issue 5): per-guest monitors behind sobriety_monitoring consent."""
        from soberpay.adapters.sobriety.guests import VisionGuestMonitors
        from soberpay.adapters.sobriety.store import SqlSobrietyStore
        from soberpay.adapters.sobriety.thermal_store import SqlThermalLog
        from soberpay.domain.identity import ConsentPurpose
        from soberpay.services.sobriety import SobrietyService

        def has_consent(guest_id: str) -> bool:
            return self.identity.has_consent(guest_id, ConsentPurpose.SOBRIETY_MONITORING)

        store = SqlSobrietyStore(self.session_factory)
        monitors = VisionGuestMonitors(self.settings.sobriety, store, self.cipher, has_consent, self.clock.now)
        sob = self.settings.sobriety
        return SobrietyService(
            monitors,
            store,
            has_consent,
            self.clock.now,
            thermal=SqlThermalLog(self.session_factory),
            thermal_weight=sob.thermal_weight,
            thermal_max_age_seconds=sob.thermal_max_age_seconds,
        )

    @property
    def sobriety_signal(self) -> Any:
        """The payments' ``SobrietySignal`` port, implemented by the sobriety service."""
        return self.sobriety

    def close(self) -> None:
        if "engine" in self.__dict__:
            self.engine.dispose()


def _autoencoder_default() -> Path:
    from soberpay.adapters.vision.autoencoder import default_model_path

    return default_model_path()


def build_container(settings: Settings | None = None, **kwargs: Any) -> Container:
    return Container(settings or Settings(), **kwargs).open()
