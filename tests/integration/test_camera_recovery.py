"""Room cameras that drop come back: back-off with jitter, health states, ONE staff alert per stall and
its clearing on recovery — with a fake FrameSource that fails, ends and stalls, and with a real MJPEG
camera over HTTP (tests/support/mjpeg_server.py) that is killed and restarted on the same port."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from soberpay.bootstrap import Container
from soberpay.rooms import DEMO_CLIP, RoomHost, RoomObservation, RoomStatus, RoomWorker, open_source
from soberpay.rooms.events import CameraState
from soberpay.rooms.status import CAMERA_STALLED, SqlCameraAlerts
from soberpay.rooms.worker import Backoff
from tests.support.servers import free_port

FAST = Backoff(first_s=0.01, max_s=0.05)
REPO = Path(__file__).resolve().parents[2]


def _wait(cond: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.02)


class ScriptedSource:
    """One open of a camera: ``"fail"`` raises, ``("end", n)`` yields n frames then ends, ``("stall", n)``
    yields n frames then blocks until ``release`` is set, ``"live"`` yields frames until closed."""

    def __init__(self, step: object, release: threading.Event) -> None:
        self.step = step
        self.release = release
        self.closed = threading.Event()

    def frames(self) -> Iterator[tuple[float, np.ndarray]]:
        if self.step == "fail":
            raise OSError("synthetic: cannot open camera")
        frame = np.zeros((4, 4, 3), np.uint8)
        if isinstance(self.step, tuple):
            kind, n = self.step
            for i in range(n):
                yield float(i), frame
            if kind == "stall":
                while not self.release.is_set() and not self.closed.is_set():
                    time.sleep(0.01)
            return
        i = 0
        while not self.closed.is_set():
            i += 1
            yield float(i), frame
            time.sleep(0.01)

    def close(self) -> None:
        self.closed.set()


class Camera:
    """A factory that plays a script of opens (the last step repeats) and counts them."""

    def __init__(self, *script: object) -> None:
        self.script = list(script)
        self.opens = 0
        self.release = threading.Event()

    def __call__(self) -> ScriptedSource:
        step = self.script[min(self.opens, len(self.script) - 1)]
        self.opens += 1
        return ScriptedSource(step, self.release)


class Recorder:
    """``CameraAlerts`` and ``RoomEvents`` that remember what they were told."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def stalled(self, room_id: str, message: str, at: datetime) -> None:
        self.calls.append(("stalled", room_id))

    def recovered(self, room_id: str, at: datetime) -> None:
        self.calls.append(("recovered", room_id))

    def observed(self, room_id: str, observation: RoomObservation) -> None:
        pass

    def heartbeat(self, statuses: object, at: datetime) -> None:
        pass


def _host(worker: RoomWorker, alerts: Recorder) -> RoomHost:
    host = RoomHost(alerts, lambda: datetime.now(UTC), heartbeat_s=0.05, alerts=alerts)
    host.workers[worker.room_id] = worker
    return host


def test_backoff_doubles_up_to_its_cap_with_jitter() -> None:
    b = Backoff(first_s=0.5, max_s=4.0)
    assert [b.delay(a, lambda: 1.0) for a in range(6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert [b.delay(a, lambda: 0.0) for a in range(4)] == [0.25, 0.5, 1.0, 2.0]  # jitter: half of it is random
    assert b.delay(10_000) <= 4.0  # a camera away for days does not overflow


def test_failures_and_ends_reconnect_and_frames_reset_the_backoff() -> None:
    camera = Camera("fail", "fail", ("end", 5), "fail", "live")
    worker = RoomWorker("r1", "cam", camera, None, backoff=FAST, max_fps=1000.0)
    assert worker.stats.snapshot().state == "stopped"
    worker.start()
    try:
        _wait(lambda: camera.opens >= 5 and worker.stats.snapshot().state == CameraState.CONNECTED)
    finally:
        worker.stop()
    status = worker.stats.snapshot()
    assert status.reconnects == 4 and status.captured > 5
    assert status.last_error == "capture: synthetic: cannot open camera"
    assert status.frame_age_s is not None and status.state == "stopped"


def test_backoff_paces_a_dead_camera() -> None:
    """Protection: without the back-off a dead camera would be reopened in a tight loop."""
    camera = Camera("fail")
    worker = RoomWorker("r1", "cam", camera, None, backoff=Backoff(first_s=0.2, max_s=10.0))
    worker.start()
    try:
        time.sleep(1.0)
        status = worker.stats.snapshot()
    finally:
        worker.stop()
    # Waits of 0.1–0.2, 0.2–0.4, 0.4–0.8 s: at most four opens in a second.
    assert 2 <= camera.opens <= 4 and status.state == CameraState.RECONNECTING


def test_a_file_without_loop_or_reconnect_ends() -> None:
    worker = RoomWorker("r1", "file", Camera(("end", 3)), None, loop=False, reconnect=False, max_fps=1000.0)
    worker.start()
    try:
        _wait(lambda: worker.stats.snapshot().state == CameraState.ENDED)
    finally:
        worker.stop()
    assert worker.stats.captured == 3 and worker.stats.reconnects == 0


def test_a_stalled_camera_raises_one_alert_and_recovery_clears_it() -> None:
    camera = Camera(("stall", 3), "live")
    worker = RoomWorker("r1", "cam", camera, None, backoff=FAST, stall_after_s=0.3, max_fps=1000.0)
    alerts = Recorder()
    host = _host(worker, alerts)
    host.start()
    try:
        _wait(lambda: worker.stats.snapshot().state == CameraState.STALLED)
        time.sleep(0.5)  # ten heartbeats while stalled
        assert alerts.calls == [("recovered", "r1"), ("stalled", "r1")]  # first beat clears a stale alert
        assert camera.opens == 1  # a read that blocks is not a failure: the stall shows without reopening
        camera.release.set()
        _wait(lambda: worker.stats.snapshot().state == CameraState.CONNECTED)
        _wait(lambda: len(alerts.calls) == 3)
    finally:
        host.stop()
    assert alerts.calls[-1] == ("recovered", "r1")
    assert worker.stats.reconnects == 1


def test_stall_alerts_are_stored_once_per_room_and_cleared(fake_container: Container) -> None:
    c = fake_container
    alerts = SqlCameraAlerts(c.session_factory)
    now = c.clock.now()
    alerts.stalled("r1", "room r1: camera stalled", now)
    alerts.stalled("r1", "room r1: camera stalled", now)  # e.g. a restarted rooms process
    alerts.stalled("r2", "room r2: camera stalled", now)
    open_alerts = [a for a in c.payments.alerts() if a.kind == CAMERA_STALLED]
    assert sorted(a.room_id or "" for a in open_alerts) == ["r1", "r2"]
    alerts.recovered("r1", now)
    open_alerts = [a for a in c.payments.alerts() if a.kind == CAMERA_STALLED]
    assert [a.room_id for a in open_alerts] == ["r2"]
    alerts.stalled("r1", "room r1: camera stalled again", now)  # a new stall after the recovery is news
    assert len([a for a in c.payments.alerts() if a.kind == CAMERA_STALLED]) == 2


def test_status_round_trips_camera_health() -> None:
    status = RoomStatus("r1", running=True, state="stalled", frame_age_s=12.5, reconnects=3, queued=2)
    assert RoomStatus.from_dict(status.as_dict()) == status
    old = RoomStatus.from_dict({"room_id": "r1", "running": True})  # a heartbeat row written before this field
    assert old.state == "connected" and old.frame_age_s is None


def _serve(port: int) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.support.mjpeg_server", str(port), str(DEMO_CLIP), "25"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


def _kill(proc: subprocess.Popen[str]) -> None:
    proc.kill()
    proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()


def test_an_http_camera_that_is_killed_and_restarted_comes_back() -> None:
    """OpenCV reads a real MJPEG stream by URL; killing the server stalls the room (one alert), restarting
    it on the same port brings frames back through the reconnect loop (the alert clears)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    server = _serve(port)
    worker = RoomWorker(
        "r1", url, open_source(url, 2.0, 1.0), None, backoff=Backoff(0.1, 0.5), stall_after_s=1.5, max_fps=100.0
    )
    alerts = Recorder()
    host = _host(worker, alerts)
    host.start()
    try:
        _wait(lambda: worker.stats.captured > 10 and worker.stats.snapshot().state == CameraState.CONNECTED)
        _kill(server)
        _wait(lambda: worker.stats.snapshot().state == CameraState.STALLED)
        time.sleep(0.5)
        assert alerts.calls == [("recovered", "r1"), ("stalled", "r1")]
        assert worker.stats.reconnects >= 1 and worker.stats.last_error.startswith("capture:")
        captured = worker.stats.captured
        server = _serve(port)
        _wait(lambda: worker.stats.snapshot().state == CameraState.CONNECTED and worker.stats.captured > captured)
        _wait(lambda: len(alerts.calls) == 3)
    finally:
        host.stop()
        _kill(server)
    assert alerts.calls[-1] == ("recovered", "r1")
    status = worker.stats.snapshot()
    assert status.frame_age_s is not None and status.frame_age_s < 1.5
