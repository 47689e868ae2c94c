"""Live room workers: one camera source per room, processed in a worker thread with back-pressure.

Per room, a **capture thread** reads frames (file path, device index or RTSP URL via OpenCV; the
demo room replays the bundled clip in a loop) into a bounded queue. When the queue is full the
OLDEST frame is dropped (and counted): the processor always works on recent frames and memory never
grows. A **processing thread** takes frames and runs the room processor — face detection,
identification of present guests and, when available and consented, the sobriety monitor — and
pushes judgements to the payment engine. Each worker reports fps, lag (now − capture time of the
frame just processed), dropped frames and who is present. Frames stay in memory only.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from soberpay.ports import FrameSource, ImageBGR

log = logging.getLogger(__name__)

DEMO_CLIP = Path(__file__).resolve().parents[1] / "assets" / "demo_room.avi"


@dataclass(frozen=True)
class GuestJudgement:
    """What the sobriety monitor says about one guest now (mapped onto payments' SobrietyObservation)."""

    customer_id: str
    p_drunk: float | None
    similarity: float | None
    posture_abnormal: bool
    judged_drunk: bool | None
    evidence: str


@dataclass(frozen=True)
class RoomObservation:
    faces: int = 0
    guests: tuple[tuple[str, float], ...] = ()  # (customer_id, similarity) of identified guests
    judgements: tuple[GuestJudgement, ...] = ()
    timings: dict[str, float] = field(default_factory=dict)  # stage → seconds


class RoomProcessor(Protocol):
    def process(self, room_id: str, t: float, frame: ImageBGR) -> RoomObservation: ...


@dataclass
class RoomStats:
    room_id: str
    source: str
    running: bool = False
    fps: float = 0.0
    lag_s: float = 0.0
    captured: int = 0
    processed: int = 0
    dropped: int = 0
    faces: int = 0
    present: dict[str, float] = field(default_factory=dict)  # customer_id → last seen (monotonic)
    last_error: str = ""
    loops: int = 0

    def as_dict(self, now: float | None = None) -> dict[str, Any]:
        now = time.monotonic() if now is None else now
        return {
            "room_id": self.room_id,
            "running": self.running,
            "fps": round(self.fps, 2),
            "lag_s": round(self.lag_s, 3),
            "captured": self.captured,
            "processed": self.processed,
            "dropped": self.dropped,
            "faces": self.faces,
            "present": sorted(cid for cid, seen in self.present.items() if now - seen < 30.0),
            "last_error": self.last_error,
            "loops": self.loops,
        }


def open_source(spec: str) -> Callable[[], FrameSource]:
    """A factory for an OpenCV frame source (imported lazily: the web app starts without OpenCV)."""

    def factory() -> FrameSource:
        from soberpay.adapters.vision.video import OpenCVFrameSource

        return OpenCVFrameSource(spec)

    return factory


class RoomWorker:
    def __init__(
        self,
        room_id: str,
        source_spec: str,
        source_factory: Callable[[], FrameSource],
        processor: RoomProcessor | None,
        *,
        on_observation: Callable[[str, RoomObservation], None] | None = None,
        queue_size: int = 4,
        loop: bool = False,
        max_fps: float = 10.0,
        every_n: int = 1,
    ) -> None:
        self.room_id = room_id
        self.stats = RoomStats(room_id, source_spec)
        self._factory = source_factory
        self._processor = processor
        self._on_observation = on_observation
        self._queue: queue.Queue[tuple[float, float, ImageBGR]] = queue.Queue(maxsize=queue_size)
        self._loop = loop
        self._min_interval = 1.0 / max_fps
        self._every_n = max(1, every_n)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    # --- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        self._stop.clear()
        self.stats.running = True
        for target, name in ((self._capture, "capture"), (self._process, "process")):
            t = threading.Thread(target=target, name=f"room-{self.room_id}-{name}", daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self, timeout: float = 3.0) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout)
        self._threads.clear()
        self.stats.running = False

    # --- threads ------------------------------------------------------------------------------

    def offer(self, t: float, frame: ImageBGR) -> bool:
        """Put a frame in the queue; when full drop the oldest one. Returns False when one was dropped."""
        item = (time.monotonic(), t, frame)
        with self._lock:
            self.stats.captured += 1
            dropped = False
            while True:
                try:
                    self._queue.put_nowait(item)
                    return not dropped
                except queue.Full:
                    try:
                        self._queue.get_nowait()
                        self.stats.dropped += 1
                        dropped = True
                    except queue.Empty:
                        pass

    def _frames(self) -> Iterator[tuple[float, ImageBGR]]:
        while not self._stop.is_set():
            source = self._factory()
            try:
                for t, frame in source.frames():
                    yield t, frame
                    if self._stop.is_set():
                        return
            finally:
                source.close()
            if not self._loop:
                return
            self.stats.loops += 1

    def _capture(self) -> None:
        next_at = time.monotonic()
        try:
            for t, frame in self._frames():
                self.offer(t, frame)
                next_at += self._min_interval
                delay = next_at - time.monotonic()
                if delay > 0:
                    self._stop.wait(delay)
                else:
                    next_at = time.monotonic()
        except Exception as exc:  # a dead camera must show on the dashboard, not kill the server
            log.warning("room %s capture stopped: %s", self.room_id, exc)
            self.stats.last_error = f"capture: {exc}"
        finally:
            if not self._loop:
                self._stop.wait(0.5)

    def _process(self) -> None:
        ema_dt: float | None = None
        last = None
        n = 0
        while not self._stop.is_set():
            try:
                captured_at, t, frame = self._queue.get(timeout=0.2)
            except queue.Empty:
                continue
            n += 1
            if (n - 1) % self._every_n:
                continue
            try:
                obs = self._processor.process(self.room_id, t, frame) if self._processor else RoomObservation()
            except Exception as exc:  # one bad frame is reported, the worker keeps going
                log.warning("room %s processing error: %s", self.room_id, exc)
                self.stats.last_error = f"process: {exc}"
                obs = RoomObservation()
            now = time.monotonic()
            if last is not None:
                dt = now - last
                ema_dt = dt if ema_dt is None else 0.8 * ema_dt + 0.2 * dt
                self.stats.fps = 1.0 / ema_dt if ema_dt > 0 else 0.0
            last = now
            self.stats.lag_s = now - captured_at
            self.stats.processed += 1
            self.stats.faces = obs.faces
            for cid, _score in obs.guests:
                self.stats.present[cid] = now
            if self._on_observation is not None:
                try:
                    self._on_observation(self.room_id, obs)
                except Exception as exc:
                    log.warning("room %s observation handler error: %s", self.room_id, exc)
                    self.stats.last_error = f"engine: {exc}"


class VisionRoomProcessor:
    """Detect faces, identify guests by 1:N search, run the sobriety monitor for consenting guests.

    ``sobriety`` is optional: an object with ``observe(room_id, customer_id, t, frame, face)``
    returning a ``GuestJudgement`` or None (the sobriety service, when installed).
    """

    def __init__(
        self,
        *,
        detector: Any,
        embedder: Any,
        identify_embedding: Callable[[Any], Any],
        has_monitoring_consent: Callable[[str], bool],
        min_face_px: float,
        min_score: float,
        max_side: int = 640,
        sobriety: Any | None = None,
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

    def _consented(self, customer_id: str) -> bool:
        now = time.monotonic()
        hit = self._consent_cache.get(customer_id)
        if hit is None or now - hit[0] > 30.0:
            hit = (now, bool(self._consent(customer_id)))
            self._consent_cache[customer_id] = hit
        return hit[1]

    def process(self, room_id: str, t: float, frame: ImageBGR) -> RoomObservation:
        import cv2

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
            if not decision.accepted or decision.customer_id is None:
                continue
            guests.append((decision.customer_id, float(decision.score)))
            if self._sobriety is not None and self._consented(decision.customer_id):
                t2 = time.perf_counter()
                judgement = self._sobriety.observe(room_id, decision.customer_id, t, frame, face)
                timings["sobriety"] = timings.get("sobriety", 0.0) + time.perf_counter() - t2
                if judgement is not None:
                    judgements.append(judgement)
        return RoomObservation(len(faces), tuple(guests), tuple(judgements), timings)


class RoomManager:
    """Owns the workers of all rooms; the web app starts/stops it with its lifespan."""

    def __init__(self) -> None:
        self.workers: dict[str, RoomWorker] = {}

    def add(self, worker: RoomWorker, start: bool = True) -> None:
        old = self.workers.pop(worker.room_id, None)
        if old is not None:
            old.stop()
        self.workers[worker.room_id] = worker
        if start:
            worker.start()

    def stats(self, room_id: str) -> dict[str, Any] | None:
        w = self.workers.get(room_id)
        return w.stats.as_dict() if w else None

    def stop_all(self) -> None:
        for w in self.workers.values():
            w.stop()
