"""One room frame, one way: detect faces → identify guests → sobriety for consenting guests → judgements.

``VisionRoomProcessor`` is the room worker's processor. For each accepted identification of a guest
with ``sobriety_monitoring`` consent it asks ``SobrietyRoomMonitor`` for a judgement; the monitor
crops the guest out of the room frame, feeds the sobriety service and converts its assessment once
(``risk_observation``) into the payments' risk input carried by ``GuestJudgement``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from soberpay.ports import DetectedFace, Embedding, ImageBGR
from soberpay.rooms.events import GuestJudgement, RoomObservation
from soberpay.services.sobriety import Assessed, risk_observation

CONSENT_CACHE_S = 30.0  # consent is re-read this often per guest, not on every frame


class _Detector(Protocol):
    def detect(self, image: ImageBGR) -> list[DetectedFace]: ...


class _Embedder(Protocol):
    def embed(self, image: ImageBGR, face: DetectedFace) -> Embedding: ...


class _Decision(Protocol):
    @property
    def accepted(self) -> bool: ...
    @property
    def guest_id(self) -> str | None: ...
    @property
    def score(self) -> float: ...


class GuestSobriety(Protocol):
    """Judges one identified guest in a room frame (``SobrietyRoomMonitor``; a fake in tests)."""

    def observe(
        self, room_id: str, guest_id: str, t: float, frame: ImageBGR, face: DetectedFace
    ) -> GuestJudgement | None: ...


class FrameSobriety(Protocol):
    """``SobrietyService.process_frame``."""

    def process_frame(self, guest_id: str, frame: object, t: float) -> Assessed | None: ...


class SobrietyRoomMonitor:
    """Feeds a room camera's view of one identified guest to ``SobrietyService.process_frame``.

    A room frame shows several people, so the guest's region is cropped around their face box:
    1.5 face widths to each side, half a face height above and 7 face heights below (head, trunk
    and arms for the pose signals). The crop is a view of the in-memory frame; nothing is stored.
    Consent is checked by the room processor before this is called (and again by the service).
    """

    def __init__(self, service: FrameSobriety) -> None:
        self.service = service

    @staticmethod
    def crop(frame: ImageBGR, box: tuple[float, float, float, float]) -> ImageBGR:
        x, y, w, h = box
        height, width = frame.shape[:2]
        x0, x1 = max(0, int(x - 1.5 * w)), min(width, int(x + 2.5 * w))
        y0, y1 = max(0, int(y - 0.5 * h)), min(height, int(y + 8.0 * h))
        return frame[y0:y1, x0:x1]

    def observe(
        self, room_id: str, guest_id: str, t: float, frame: ImageBGR, face: DetectedFace
    ) -> GuestJudgement | None:
        assessment = self.service.process_frame(guest_id, self.crop(frame, face.box), t)
        if assessment is None:
            return None
        return GuestJudgement(guest_id, risk_observation(assessment.judgement))


class VisionRoomProcessor:
    """Detect faces, identify guests by 1:N search, run the sobriety monitor for consenting guests."""

    def __init__(
        self,
        *,
        detector: _Detector,
        embedder: _Embedder,
        identify_embedding: Callable[[Embedding], _Decision],
        has_monitoring_consent: Callable[[str], bool],
        min_face_px: float,
        min_score: float,
        max_side: int = 640,
        sobriety: GuestSobriety | None = None,
    ) -> None:
        self._detector = detector
        self._embedder = embedder
        self._identify = identify_embedding
        self._consent = has_monitoring_consent
        self._min_face_px = min_face_px
        self._min_score = min_score
        self._max_side = max_side
        self._sobriety = sobriety
        self._consent_cache: dict[str, tuple[float, bool]] = {}

    def _consented(self, guest_id: str) -> bool:
        now = time.monotonic()
        hit = self._consent_cache.get(guest_id)
        if hit is None or now - hit[0] > CONSENT_CACHE_S:
            hit = (now, bool(self._consent(guest_id)))
            self._consent_cache[guest_id] = hit
        return hit[1]

    def process(self, room_id: str, t: float, frame: ImageBGR) -> RoomObservation:
        import cv2  # the rooms process needs OpenCV; importing this module does not

        timings: dict[str, float] = {}
        h, w = frame.shape[:2]
        if max(h, w) > self._max_side:
            s = self._max_side / max(h, w)
            frame = cv2.resize(frame, (int(w * s), int(h * s)), interpolation=cv2.INTER_AREA).astype("uint8")
        t0 = time.perf_counter()
        faces = self._detector.detect(frame)
        timings["detect"] = time.perf_counter() - t0
        guests: list[tuple[str, float]] = []
        judgements: list[GuestJudgement] = []
        for face in faces:
            if face.score < self._min_score or min(face.box[2], face.box[3]) < self._min_face_px:
                continue
            t1 = time.perf_counter()
            decision = self._identify(self._embedder.embed(frame, face))
            timings["identify"] = timings.get("identify", 0.0) + time.perf_counter() - t1
            if not decision.accepted or decision.guest_id is None:
                continue
            guests.append((decision.guest_id, float(decision.score)))
            if self._sobriety is not None and self._consented(decision.guest_id):
                t2 = time.perf_counter()
                judgement = self._sobriety.observe(room_id, decision.guest_id, t, frame, face)
                timings["sobriety"] = timings.get("sobriety", 0.0) + time.perf_counter() - t2
                if judgement is not None:
                    judgements.append(judgement)
        return RoomObservation(len(faces), tuple(guests), tuple(judgements), timings)


__all__ = ["FrameSobriety", "GuestSobriety", "SobrietyRoomMonitor", "VisionRoomProcessor"]
