"""Live room workers: bounded queue that drops the oldest frames, fps/lag reporting, error isolation,
and the vision pipeline's identify → consent-gated sobriety path (with hand-written fakes)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from soberpay.domain.risk import SobrietyObservation
from soberpay.ports import DetectedFace
from soberpay.rooms import (
    DEMO_CLIP,
    GuestJudgement,
    RoomObservation,
    RoomWorker,
    SobrietyRoomMonitor,
    VisionRoomProcessor,
    open_source,
)


def _frame(i: int) -> np.ndarray:
    return np.full((8, 8, 3), i % 255, dtype=np.uint8)


class ListSource:
    def __init__(self, n: int) -> None:
        self.n = n

    def frames(self) -> Iterator[tuple[float, np.ndarray]]:
        for i in range(self.n):
            yield i / 10.0, _frame(i)

    def close(self) -> None:
        pass


class SlowProcessor:
    def __init__(self, delay: float, fail_every: int = 0) -> None:
        self.delay = delay
        self.fail_every = fail_every
        self.seen: list[int] = []

    def process(self, room_id: str, t: float, frame: np.ndarray) -> RoomObservation:
        time.sleep(self.delay)
        self.seen.append(int(frame[0, 0, 0]))
        if self.fail_every and len(self.seen) % self.fail_every == 0:
            raise RuntimeError("synthetic processing failure")
        return RoomObservation(faces=1)


def _wait(cond: object, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.02)


def test_offer_drops_the_oldest_frame_when_full() -> None:
    worker = RoomWorker("r1", "list", lambda: ListSource(0), None, queue_size=2)
    results = [worker.offer(float(i), _frame(i)) for i in range(5)]
    assert results == [True, True, False, False, False]
    assert worker.stats.captured == 5 and worker.stats.dropped == 3
    kept = [worker._queue.get_nowait()[2][0, 0, 0] for _ in range(2)]
    assert kept == [3, 4]  # the newest frames survive


def test_slow_processor_drops_frames_and_reports_fps_and_lag() -> None:
    processor = SlowProcessor(delay=0.03)
    seen: list[RoomObservation] = []
    worker = RoomWorker(
        "r1",
        "list",
        lambda: ListSource(250),
        processor,
        on_observation=lambda r, o: seen.append(o),
        queue_size=3,
        reconnect=False,  # exactly the 250 frames
        max_fps=1000.0,
    )
    worker.start()
    try:
        _wait(lambda: worker.stats.captured >= 250 and worker.stats.processed >= 5)
    finally:
        worker.stop()
    stats = worker.stats.snapshot().as_dict()
    assert stats["dropped"] > 0  # back-pressure: frames dropped, not queued without bound
    assert stats["captured"] == 250 and stats["processed"] + stats["dropped"] <= 250
    assert stats["fps"] > 0 and stats["lag_s"] >= 0 and stats["faces"] == 1
    assert len(seen) == stats["processed"]
    assert processor.seen == sorted(processor.seen)  # frames are processed in capture order


def test_processing_errors_are_reported_and_the_worker_keeps_going() -> None:
    processor = SlowProcessor(delay=0.0, fail_every=2)
    worker = RoomWorker("r1", "list", lambda: ListSource(40), processor, queue_size=64, reconnect=False, max_fps=1000.0)
    worker.start()
    try:
        _wait(lambda: worker.stats.processed >= 40)
    finally:
        worker.stop()
    assert worker.stats.last_error.startswith("process: synthetic processing failure")


def test_demo_clip_loops_and_a_missing_file_is_reported() -> None:
    worker = RoomWorker("demo", str(DEMO_CLIP), open_source(str(DEMO_CLIP)), None, loop=True, max_fps=1000.0)
    worker.start()
    try:
        _wait(lambda: worker.stats.loops >= 1)
    finally:
        worker.stop()
    assert worker.stats.captured > 100  # the 100-frame clip played past its end
    broken = RoomWorker("x", "/nonexistent.avi", open_source("/nonexistent.avi"), None, max_fps=1000.0)
    broken.start()
    try:
        _wait(lambda: bool(broken.stats.last_error))
    finally:
        broken.stop()
    assert "capture" in broken.stats.last_error


@dataclass
class FakeDecision:
    accepted: bool
    guest_id: str | None
    score: float


class FakeDetector:
    def detect(self, image: np.ndarray) -> list[DetectedFace]:
        return [
            DetectedFace((0, 0, 80, 80), ((0.0, 0.0),) * 5, 0.95),
            DetectedFace((100, 0, 80, 80), ((0.0, 0.0),) * 5, 0.95),
            DetectedFace((200, 0, 10, 10), ((0.0, 0.0),) * 5, 0.95),  # too small: ignored
        ]


class FakeEmbedder:
    def embed(self, image: np.ndarray, face: DetectedFace) -> str:
        return "alice" if face.box[0] == 0 else "bob"


class FakeMonitor:
    def __init__(self) -> None:
        self.calls: list[str] = []
        self.lock = threading.Lock()

    def observe(self, room_id: str, guest_id: str, t: float, frame: np.ndarray, face: DetectedFace) -> GuestJudgement:
        self.calls.append(guest_id)
        return GuestJudgement(guest_id, SobrietyObservation(0.8, True, 0.6, True, "synthetic"))


def test_vision_processor_identifies_and_monitors_only_consenting_guests() -> None:
    monitor = FakeMonitor()
    processor = VisionRoomProcessor(
        detector=FakeDetector(),
        embedder=FakeEmbedder(),
        identify_embedding=lambda emb: FakeDecision(True, emb, 0.9),
        has_monitoring_consent=lambda guest_id: guest_id == "alice",
        min_face_px=40,
        min_score=0.8,
        max_side=640,
        sobriety=monitor,
    )
    obs = processor.process("r1", 0.0, np.zeros((480, 1280, 3), dtype=np.uint8))
    assert obs.faces == 3 and [g[0] for g in obs.guests] == ["alice", "bob"]
    assert monitor.calls == ["alice"]  # bob did not consent to sobriety monitoring
    assert [j.guest_id for j in obs.judgements] == ["alice"] and "detect" in obs.timings


class FakeSobrietyService:
    """Stands in for SobrietyService.process_frame: records the crop, returns a judgement-like object."""

    def __init__(self) -> None:
        self.shapes: list[tuple[int, ...]] = []

    def process_frame(self, guest_id: str, frame: np.ndarray, t: float) -> object:
        from soberpay.domain.sobriety import SobrietyJudgement, SobrietyState

        self.shapes.append(frame.shape)

        @dataclass
        class A:
            judgement: SobrietyJudgement

        return A(SobrietyJudgement(t, SobrietyState.DRUNK, 0.82, 0.85, True, 0.61, reason="synthetic"))


def test_sobriety_room_monitor_crops_the_guest_and_maps_the_judgement() -> None:
    service = FakeSobrietyService()
    monitor = SobrietyRoomMonitor(service)
    face = DetectedFace((100, 50, 40, 40), ((0.0, 0.0),) * 5, 0.9)
    j = monitor.observe("r1", "alice", 3.0, np.zeros((480, 640, 3), dtype=np.uint8), face)
    assert service.shapes == [(340, 160, 3)]  # y 30..370, x 40..200: the guest, not the whole room
    assert j is not None and j.guest_id == "alice"
    o = j.observation
    assert o.judged_drunk is True and o.p_drunk == 0.82 and o.similarity_to_normal == 0.61
    assert o.posture_abnormal and "drunk" in o.reason
