"""The sobriety service's ``GuestMonitors`` port over MediaPipe, the fusion model and the pose CNN.

``VisionGuestMonitors`` opens a monitor for a guest (restoring their encrypted baseline and normal pose
embeddings from the store), saves it back, and captures the consent-gated feature record;
``VisionGuest`` is one open guest (their ``GuestMonitor`` plus their own ``FrameAnalyzer``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from soberpay.adapters.sobriety.analyzer import FrameAnalysis, FrameAnalyzer
from soberpay.adapters.sobriety.capture import CaptureResult, FeatureRecordCapturer
from soberpay.adapters.sobriety.features import FACE_FEATURES, POSE_FEATURES
from soberpay.adapters.sobriety.fusion import FusionModel
from soberpay.adapters.sobriety.monitor import MIN_STD, Assessment, GuestMonitor, default_expression
from soberpay.adapters.sobriety.pose import PoseCnnEmbedder
from soberpay.adapters.sobriety.store import PersistentPatternBook, SobrietyStore, decrypt_json, encrypt_json
from soberpay.config import SobrietySettings
from soberpay.domain.sobriety import GuestBaseline
from soberpay.ports import Cipher


class VisionGuest:
    """One monitored guest: frame analysis, the monitor, and saving the guest's normal for the next visit."""

    def __init__(self, monitor: GuestMonitor, analyzer: FrameAnalyzer, owner: VisionGuestMonitors) -> None:
        self.monitor = monitor
        self._analyzer = analyzer
        self._owner = owner

    @property
    def guest_id(self) -> str:
        return self.monitor.guest_id

    @property
    def last(self) -> Assessment | None:
        return self.monitor.last

    def in_baseline(self, t: float) -> bool:
        return self.monitor.in_baseline(t)

    def observe(self, frame: Any, t: float, capture: bool) -> bool:
        """Analyse one frame; with ``capture`` also store the encrypted feature record. True when captured."""
        a = self._analyzer.analyse(frame, t, keep_image=capture)
        self.monitor.add(a)
        try:
            if capture and (a.face is not None or a.pose is not None) and a.image is not None:
                self._owner.capture(self.monitor, a)
                return True
            return False
        finally:
            a.image = None  # frames are never kept

    def assess(self, t: float) -> Assessment:
        res = self.monitor.assess(t)
        if self.monitor.baseline_just_frozen:
            self.monitor.baseline_just_frozen = False
            self.save_normal()
        return res

    def save_normal(self) -> None:
        """Persist the guest's baseline and normal pose embeddings (encrypted), once the baseline is frozen."""
        if self.monitor.baseline.frozen:
            self._owner.save_normal(self.monitor)

    def close(self) -> None:
        self._analyzer.close()


class VisionGuestMonitors:
    """``soberpay.services.sobriety.GuestMonitors`` over MediaPipe, the fusion model and the pose CNN."""

    def __init__(
        self,
        settings: SobrietySettings,
        store: SobrietyStore,
        cipher: Cipher,
        has_consent: Callable[[str], bool],
        now: Callable[[], datetime],
        fusion: FusionModel | None = None,
        embedder: PoseCnnEmbedder | None = None,
        analyzer_factory: Callable[[], FrameAnalyzer] | None = None,
        expression: Any = None,
    ) -> None:
        self.s = settings
        self.store = store
        self.cipher = cipher
        self.now = now
        self.expression = expression if expression is not None else default_expression()
        self.fusion = fusion if fusion is not None else FusionModel(settings.fusion_model)
        self.embedder = embedder if embedder is not None else PoseCnnEmbedder(settings.pose_cnn_model)
        self._analyzer_factory = analyzer_factory or (lambda: FrameAnalyzer.from_settings(settings))
        self.capturer = FeatureRecordCapturer(cipher, store, has_consent, now, settings.sift_max_keypoints)

    def open(self, guest_id: str) -> VisionGuest:
        baseline: GuestBaseline | None = None
        normal: list[list[float]] = []
        posture: dict[str, dict[str, list[float]]] = {}
        stored = self.store.load_baseline(guest_id)
        if stored is not None:
            doc = decrypt_json(self.cipher, "baseline", guest_id, *stored)
            baseline = GuestBaseline.from_dict(doc["baseline"], MIN_STD)
            normal = doc.get("normal_embeddings", [])
            posture = doc.get("posture_baseline", {})
        book = PersistentPatternBook(self.store, self.cipher, guest_id, self.s.pattern_similarity, self.now)
        monitor = GuestMonitor(
            guest_id,
            self.s,
            self.fusion,
            self.embedder,
            book,
            baseline,
            normal,
            expression=self.expression,
            posture_baseline=posture,
        )
        return VisionGuest(monitor, self._analyzer_factory(), self)

    def save_normal(self, monitor: GuestMonitor) -> None:
        kid, blob = encrypt_json(self.cipher, "baseline", monitor.guest_id, monitor.normal_state())
        self.store.save_baseline(monitor.guest_id, kid, blob, self.now())

    def capture(self, monitor: GuestMonitor, a: FrameAnalysis) -> CaptureResult:
        assert a.image is not None
        signals: dict[str, float] = {}
        if monitor.last is not None:
            signals = {**(monitor.last.face or {}), **(monitor.last.pose or {})}
        return self.capturer.capture(
            monitor.guest_id,
            a.image,
            face_box=a.face.box if a.face else None,
            face_landmarks=a.face.landmarks if a.face else None,
            person_box=a.pose.box if a.pose else None,
            pose_xy=a.pose.xy if a.pose else None,
            pose_visibility=a.pose.visibility if a.pose else None,
            signals={k: v for k, v in signals.items() if k in FACE_FEATURES + POSE_FEATURES},
            t=a.t,
        )


__all__ = ["VisionGuest", "VisionGuestMonitors"]
