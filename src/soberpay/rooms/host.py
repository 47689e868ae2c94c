"""The room host: builds one worker per room with a camera, runs them, reports to its ``RoomEvents``.

The same host runs inside ``soberpay serve``/``soberpay demo`` (the web app subscribes) and as its own
process under ``soberpay rooms`` (``PaymentsRoomEvents`` + heartbeat rows); see ``soberpay.rooms.events``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from soberpay.ports import FrameSource
from soberpay.rooms.events import HEARTBEAT_S, CameraAlerts, CameraState, RoomEvents, RoomObservation, RoomStatus
from soberpay.rooms.pipeline import SobrietyRoomMonitor, VisionRoomProcessor
from soberpay.rooms.worker import DEMO_CLIP, Backoff, RoomProcessor, RoomWorker, open_source

if TYPE_CHECKING:
    from soberpay.bootstrap import Container

log = logging.getLogger(__name__)

NO_MODELS = "face models unavailable: frames are counted but not analysed"


def vision_processor(container: Container) -> VisionRoomProcessor:
    """Face detection + identification + consent-gated sobriety, over the container's services."""
    from soberpay.adapters.vision.pipeline import build_detector, build_embedder
    from soberpay.domain.identity import ConsentPurpose

    settings = container.settings
    identity = container.identity
    return VisionRoomProcessor(
        detector=build_detector(settings),
        embedder=build_embedder(settings),
        identify_embedding=identity.identify_embedding,
        has_monitoring_consent=lambda guest_id: identity.has_consent(guest_id, ConsentPurpose.SOBRIETY_MONITORING),
        min_face_px=settings.identity.min_face_px,
        min_score=settings.identity.min_detector_score,
        max_side=settings.sobriety.max_frame_side,
        sobriety=SobrietyRoomMonitor(container.sobriety),
    )


class RoomHost:
    """Runs the room workers and reports each observation and a periodic heartbeat to ``events``.

    Also the web's ``RoomStatusSource`` when the rooms run in the web process (live, no database).
    With each heartbeat it raises one ``alerts.stalled`` when a room camera stalls and ``alerts.recovered``
    when frames flow again (also at start, which clears an alert a previous run left open).
    """

    def __init__(
        self,
        events: RoomEvents,
        now: Callable[[], datetime],
        heartbeat_s: float = HEARTBEAT_S,
        alerts: CameraAlerts | None = None,
    ) -> None:
        self.events = events
        self.alerts = alerts
        self._stalled: dict[str, bool] = {}  # room → stalled as last told to ``alerts`` (absent: not yet told)
        self.workers: dict[str, RoomWorker] = {}
        self.thermal_workers: dict[str, RoomWorker] = {}  # optional thermal camera per room (not on the dashboard)
        self._now = now
        self._heartbeat_s = heartbeat_s
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None

    @classmethod
    def for_rooms(
        cls,
        container: Container,
        rooms: Iterable[tuple[str, str]],
        events: RoomEvents,
        *,
        processor: RoomProcessor | None = None,
        heartbeat_s: float = HEARTBEAT_S,
        thermal: Iterable[tuple[str, str]] = (),
        thermal_processor: RoomProcessor | None = None,
        alerts: CameraAlerts | None = None,
    ) -> RoomHost:
        """A host with one worker per (room id, camera source); ``processor`` defaults to the vision pipeline.

        ``thermal``: (room id, thermal camera source) of rooms that have one; each gets a second worker
        running ``thermal_processor`` (default: ``thermal_room_processor``). ``alerts`` defaults to staff
        notifications in the container's database."""
        from soberpay.rooms.status import SqlCameraAlerts

        if alerts is None:
            alerts = SqlCameraAlerts(container.session_factory)
        host = cls(events, container.clock.now, heartbeat_s, alerts)
        problem = ""
        if processor is None:
            try:
                processor = vision_processor(container)
            except Exception as exc:  # models missing: rooms still report fps/lag, the dashboard shows why
                log.warning("room vision unavailable: %s", exc)
                problem = NO_MODELS
        web, camera = container.settings.web, container.settings.camera
        backoff = Backoff(camera.reconnect_first_s, camera.reconnect_max_s)

        def opener(spec: str) -> Callable[[], FrameSource]:
            return open_source(spec, camera.open_timeout_s, camera.read_timeout_s)

        for room_id, source in rooms:
            demo = source == "demo"
            spec = str(DEMO_CLIP) if demo else source
            worker = RoomWorker(
                room_id,
                spec,
                opener(spec),
                processor,
                on_observation=host._observed,
                queue_size=web.room_queue_size,
                loop=demo or not _live(spec),
                backoff=backoff,
                stall_after_s=camera.stall_after_s,
                max_fps=web.room_max_fps,
                every_n=web.room_process_every_n,
            )
            worker.stats.last_error = problem
            host.workers[room_id] = worker
        thermal = list(thermal)
        if thermal and thermal_processor is None:
            thermal_processor = thermal_room_processor(container, host.present)
        for room_id, source in thermal:
            host.thermal_workers[room_id] = RoomWorker(
                room_id,
                source,
                opener(source),
                thermal_processor,
                queue_size=2,
                loop=not _live(source),
                backoff=backoff,
                stall_after_s=camera.stall_after_s,
                max_fps=1.0,  # the report is refreshed every few seconds; more frames buy nothing
            )
        return host

    def present(self, room_id: str) -> tuple[str, ...]:
        """Guests the room's RGB worker identified recently."""
        worker = self.workers.get(room_id)
        return () if worker is None else worker.stats.snapshot().present

    def _observed(self, room_id: str, observation: RoomObservation) -> None:
        self.events.observed(room_id, observation)

    # --- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        self._stop.clear()
        for worker in (*self.workers.values(), *self.thermal_workers.values()):
            worker.start()
        self._beat = threading.Thread(target=self._heartbeats, name="rooms-heartbeat", daemon=True)
        self._beat.start()

    def stop(self) -> None:
        self._stop.set()
        if self._beat is not None:
            self._beat.join(self._heartbeat_s + 5.0)
            self._beat = None
        for worker in (*self.workers.values(), *self.thermal_workers.values()):
            worker.stop()
        self._publish()  # the last word: stopped, so readers do not wait for the heartbeat to go stale

    def _heartbeats(self) -> None:
        while not self._stop.wait(self._heartbeat_s):
            self._publish()

    def _publish(self) -> None:
        statuses = self.statuses()
        try:
            self.events.heartbeat(list(statuses.values()), self._now())
        except Exception as exc:  # a database hiccup must not stop the cameras
            log.warning("room heartbeat failed: %s", exc)
        self._alert(statuses)

    def _alert(self, statuses: dict[str, RoomStatus]) -> None:
        """Tell ``alerts`` about each change between stalled and connected (one alert per stall, not per beat)."""
        if self.alerts is None:
            return
        for room_id, status in statuses.items():
            stalled = status.state == CameraState.STALLED
            settled = status.state in (CameraState.STALLED, CameraState.CONNECTED)
            if not settled or self._stalled.get(room_id) == stalled:
                continue
            try:
                if stalled:
                    age = "never" if status.frame_age_s is None else f"{status.frame_age_s:.0f} s ago"
                    message = f"room {room_id}: camera stalled, last frame {age}; {status.last_error or 'no error'}"
                    self.alerts.stalled(room_id, message, self._now())
                else:
                    self.alerts.recovered(room_id, self._now())
                self._stalled[room_id] = stalled
            except Exception as exc:  # retried with the next heartbeat
                log.warning("camera alert for room %s failed: %s", room_id, exc)

    # --- RoomStatusSource ---------------------------------------------------------------------

    def statuses(self) -> dict[str, RoomStatus]:
        return {room_id: w.stats.snapshot() for room_id, w in self.workers.items()}

    def stats(self, room_id: str) -> dict[str, Any] | None:
        worker = self.workers.get(room_id)
        return None if worker is None else worker.stats.snapshot().as_dict()


def _live(spec: str) -> bool:
    """A camera index or a stream URL (reconnects when lost), not a file (replays)."""
    return "://" in spec or spec.isdigit()


def thermal_room_processor(container: Container, present: Callable[[str], Sequence[str]]) -> RoomProcessor:
    """The thermal channel's processor: the shipped HOG face-state model, reports kept by the sobriety service."""
    from soberpay.adapters.sobriety.face_state import HogFaceState
    from soberpay.rooms.thermal import ThermalRoomProcessor

    settings = container.settings
    return ThermalRoomProcessor(
        HogFaceState.from_settings(settings), container.sobriety, present, view=settings.sobriety.thermal_view
    )


def run_rooms(container: Container, stop: threading.Event, *, processor: RoomProcessor | None = None) -> RoomHost:
    """Run every room with a camera in this process until ``stop`` is set (``soberpay rooms``).

    Judgements step the payments' risk state; each room's status is written as a heartbeat row that
    the web reads. Rooms added while running start with the next run.
    """
    from soberpay.rooms.events import PaymentsRoomEvents
    from soberpay.rooms.status import SqlRoomStatus, camera_rooms, thermal_rooms

    status = SqlRoomStatus(container.session_factory, container.clock.now)
    events = PaymentsRoomEvents(container.payments, status)
    host = RoomHost.for_rooms(
        container,
        camera_rooms(container.session_factory),
        events,
        processor=processor,
        thermal=thermal_rooms(container.session_factory),
    )
    host.start()
    try:
        stop.wait()
    finally:
        host.stop()
    return host


__all__ = ["NO_MODELS", "RoomHost", "run_rooms", "thermal_room_processor", "vision_processor"]
