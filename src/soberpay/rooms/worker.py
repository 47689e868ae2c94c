"""Live room workers: one camera source per room, processed in a worker thread with back-pressure.

Per room, a **capture thread** reads frames (file path, device index or RTSP URL via OpenCV; the
demo room replays the bundled clip in a loop) into a bounded queue. When the queue is full the
OLDEST frame is dropped (and counted): the processor always works on recent frames and memory never
grows. A **processing thread** takes frames and runs the room processor — face detection,
identification of present guests and, when available and consented, the sobriety monitor
(``soberpay.rooms.pipeline``) — and hands each observation to the host's subscriber. Each worker
reports fps, lag (now − capture time of the frame just processed), dropped frames and who is
present. Frames stay in memory only.

**Cameras that drop** come back: when a live source fails to open, fails a read or ends, the capture
thread reopens it after an exponential back-off with jitter (``Backoff``), for as long as the worker
runs; the first frame after a reconnect resets the back-off. A file source with ``loop`` replays at
once. The worker's camera health (``CameraState``: connected, reconnecting, stalled — no frame for
``stall_after_s``) is part of its status; the host turns a stall into one staff alert.
"""

from __future__ import annotations

import logging
import queue
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from soberpay.ports import FrameSource, ImageBGR
from soberpay.rooms.events import PRESENT_S, CameraState, RoomObservation, RoomStatus

log = logging.getLogger(__name__)

DEMO_CLIP = Path(__file__).resolve().parents[1] / "assets" / "demo_room.avi"


class RoomProcessor(Protocol):
    def process(self, room_id: str, t: float, frame: ImageBGR) -> RoomObservation: ...


@dataclass(frozen=True)
class Backoff:
    """Waits between reconnect attempts: doubling from ``first_s`` up to ``max_s``, with "equal jitter"
    (half fixed, half random) so a venue's cameras do not all retry in step after a switch reboots."""

    first_s: float = 0.5
    max_s: float = 30.0

    def delay(self, attempt: int, rand: Callable[[], float] = random.random) -> float:
        base = min(self.max_s, self.first_s * 2.0 ** min(attempt, 32))
        return base / 2 + rand() * base / 2


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
    present: dict[str, float] = field(default_factory=dict)  # guest_id → last seen (monotonic)
    last_error: str = ""
    loops: int = 0
    stall_after_s: float = 10.0
    connected: bool = False
    ended: bool = False
    reconnects: int = 0  # reconnects after a failure or an end, counted as each begins (file replays are loops)
    started_at: float = 0.0  # monotonic
    last_frame_at: float | None = None  # monotonic
    queued: int = 0  # frames waiting for the processor
    stage_s: dict[str, float] = field(default_factory=dict)  # stage → seconds per frame (moving average)

    def state(self, now: float) -> CameraState:
        if not self.running:
            return CameraState.STOPPED
        if self.ended:
            return CameraState.ENDED
        if now - (self.last_frame_at if self.last_frame_at is not None else self.started_at) > self.stall_after_s:
            return CameraState.STALLED
        if self.connected:
            return CameraState.CONNECTED
        return CameraState.CONNECTING if self.reconnects == 0 else CameraState.RECONNECTING

    def snapshot(self, now: float | None = None) -> RoomStatus:
        now = time.monotonic() if now is None else now
        return RoomStatus(
            room_id=self.room_id,
            running=self.running,
            fps=self.fps,
            lag_s=self.lag_s,
            captured=self.captured,
            processed=self.processed,
            dropped=self.dropped,
            faces=self.faces,
            present=tuple(sorted(g for g, seen in self.present.items() if now - seen < PRESENT_S)),
            last_error=self.last_error,
            loops=self.loops,
            state=self.state(now).value,
            frame_age_s=None if self.last_frame_at is None else now - self.last_frame_at,
            reconnects=self.reconnects,
            queued=self.queued,
            stage_s=dict(self.stage_s),
        )


def open_source(spec: str, open_timeout_s: float = 10.0, read_timeout_s: float = 5.0) -> Callable[[], FrameSource]:
    """A factory for an OpenCV frame source (imported lazily: the web app starts without OpenCV)."""

    def factory() -> FrameSource:
        from soberpay.adapters.vision.video import OpenCVFrameSource

        return OpenCVFrameSource(spec, open_timeout_s=open_timeout_s, read_timeout_s=read_timeout_s)

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
        reconnect: bool = True,
        backoff: Backoff = Backoff(),
        stall_after_s: float = 10.0,
        max_fps: float = 10.0,
        every_n: int = 1,
    ) -> None:
        self.room_id = room_id
        self.stats = RoomStats(room_id, source_spec, stall_after_s=stall_after_s)
        self._factory = source_factory
        self._processor = processor
        self._on_observation = on_observation
        self._queue: queue.Queue[tuple[float, float, ImageBGR]] = queue.Queue(maxsize=queue_size)
        self._loop = loop
        self._reconnect = reconnect
        self._backoff = backoff
        self._min_interval = 1.0 / max_fps
        self._every_n = max(1, every_n)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    # --- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        self._stop.clear()
        self.stats.running = True
        self.stats.started_at = time.monotonic()
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
                    self.stats.queued = self._queue.qsize()
                    return not dropped
                except queue.Full:
                    try:
                        self._queue.get_nowait()
                        self.stats.dropped += 1
                        dropped = True
                    except queue.Empty:
                        pass

    def _capture(self) -> None:
        """Read frames until stopped; reopen the source after a failure or an end (see module doc)."""
        attempt = 0  # failed or ended opens since the last frame
        while not self._stop.is_set():
            got_frame = False
            try:
                source = self._factory()
                try:
                    next_at = time.monotonic()
                    for t, frame in source.frames():
                        if not got_frame:
                            got_frame, attempt = True, 0
                            self.stats.connected = True
                        self.stats.last_frame_at = time.monotonic()
                        self.offer(t, frame)
                        if self._stop.is_set():
                            return
                        next_at += self._min_interval
                        delay = next_at - time.monotonic()
                        if delay > 0:
                            self._stop.wait(delay)
                        else:
                            next_at = time.monotonic()
                finally:
                    source.close()
                if self._loop and got_frame:  # a file replays at once; an empty one waits like a failure
                    self.stats.loops += 1
                    continue
                if not self._reconnect:
                    self.stats.ended = True
                    return
                problem = "capture: stream ended"
            except Exception as exc:  # a dead camera must show on the dashboard, not kill the server
                problem = f"capture: {exc}"
            self.stats.connected = False
            self.stats.last_error = problem
            delay = self._backoff.delay(attempt)
            attempt += 1
            self.stats.reconnects += 1
            log.warning("room %s camera lost (%s); reconnecting in %.1fs", self.room_id, problem, delay)
            if self._stop.wait(delay):
                return

    def _process(self) -> None:
        ema_dt: float | None = None
        last = None
        n = 0
        while not self._stop.is_set():
            try:
                captured_at, t, frame = self._queue.get(timeout=0.2)
            except queue.Empty:
                continue
            self.stats.queued = self._queue.qsize()
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
            for stage, seconds in obs.timings.items():
                before = self.stats.stage_s.get(stage)
                self.stats.stage_s[stage] = seconds if before is None else 0.8 * before + 0.2 * seconds
            for guest_id, _score in obs.guests:
                self.stats.present[guest_id] = now
            if self._on_observation is not None:
                try:
                    self._on_observation(self.room_id, obs)
                except Exception as exc:
                    log.warning("room %s observation handler error: %s", self.room_id, exc)
                    self.stats.last_error = f"engine: {exc}"
