"""Rooms in their own process: judgements step the payments' risk state, heartbeat rows carry each room's
status to any web process, a stopped or silent rooms process shows as not running (hand-written fakes)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import numpy as np
from fastapi.testclient import TestClient

from soberpay.bootstrap import Container
from soberpay.domain.risk import SobrietyObservation
from soberpay.rooms import GuestJudgement, RoomObservation, RoomStatus, run_rooms
from soberpay.rooms.status import SqlRoomStatus, camera_rooms
from tests.e2e.web_support import login, make_app, national_id


class JudgingProcessor:
    """Sees one guest in every frame and judges them drunk."""

    def __init__(self, guest_id: str) -> None:
        self.guest_id = guest_id

    def process(self, room_id: str, t: float, frame: np.ndarray) -> RoomObservation:
        drunk = SobrietyObservation(0.95, True, 0.3, judged_drunk=True, reason="synthetic: drunk")
        return RoomObservation(1, ((self.guest_id, 0.9),), (GuestJudgement(self.guest_id, drunk),), {"detect": 0.001})


def _wait(cond: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.05)


def test_rooms_process_steps_risk_and_the_web_reads_its_heartbeat(fake_container: Container) -> None:
    c = fake_container
    c.settings.web.room_max_fps = 20.0
    app = make_app(c)  # the web side: no rooms in this process
    app.state.web.auth.create_room("demo", "Demo room", "demo")
    guest = c.identity.register(name="Sam", phone="13800000031", national_id=national_id(31), password="135790")
    assert camera_rooms(c.session_factory) == [("demo", "demo")]
    status = SqlRoomStatus(c.session_factory, c.clock.now)
    stop = threading.Event()
    rooms = threading.Thread(target=run_rooms, args=(c, stop), kwargs={"processor": JudgingProcessor(guest.id)})
    rooms.start()
    try:
        _wait(lambda: "demo" in status.statuses() and status.statuses()["demo"].processed > 0)
        client = TestClient(app)
        login(client)
        live = {r["room_id"]: r["live"] for r in client.get("/api/rooms").json()}
        assert live["r1"] is None  # no camera, no heartbeat
        assert live["demo"]["running"] and live["demo"]["processed"] > 0 and live["demo"]["present"] == [guest.id]
        state = client.get("/api/rooms/demo/state").json()
        assert state["running"] and state["faces"] == 1 and state["present_count"] == 1
        assert c.payments.risk_status(guest.id).state == "tagged"  # the judgement reached payments
        assert 'soberpay_room_fps{room="demo"}' in client.get("/metrics").text
    finally:
        stop.set()
        rooms.join(15)
    assert not rooms.is_alive()
    assert not status.statuses()["demo"].running  # the host's last heartbeat says it stopped


def test_a_silent_heartbeat_shows_the_room_as_stopped(fake_container: Container) -> None:
    c = fake_container
    status = SqlRoomStatus(c.session_factory, c.clock.now, stale_after_s=15.0)
    status.save([RoomStatus("r1", running=True, fps=9.5, processed=40)], c.clock.now())
    assert status.statuses()["r1"].running and status.stats("r1") == RoomStatus("r1", True, 9.5, processed=40).as_dict()
    c.clock.advance(seconds=16)  # type: ignore[attr-defined]
    stale = status.statuses()["r1"]
    assert not stale.running and stale.fps == 0.0 and stale.processed == 40
    assert stale.last_error.startswith("no heartbeat since")
    assert status.stats("nope") is None


def test_rooms_inside_the_web_process_report_live_and_judge_through_the_payments_port(
    fake_container: Container,
) -> None:
    from soberpay.web.app import WebRoomEvents

    c = fake_container
    c.settings.web.room_max_fps = 20.0
    app = make_app(c, run_rooms=True)
    app.state.web.auth.create_room("demo", "Demo room", "demo")
    with TestClient(app) as client:  # the lifespan starts the room host in this process
        login(client)
        _wait(lambda: _processed(client))
        assert client.get("/api/rooms/demo/state").json()["running"]
    assert not app.state.web.rooms.statuses()["demo"].running  # stopped with the app
    web = app.state.web
    guest = c.identity.register(name="Kim", phone="13800000032", national_id=national_id(32), password="135790")
    WebRoomEvents(web).observed("demo", JudgingProcessor(guest.id).process("demo", 0.0, np.zeros((4, 4, 3), np.uint8)))
    assert web.payments.risk(guest.id).state == "tagged"
    assert [p.p_drunk for p in web.payments.sobriety_history(guest.id)] == [0.95]  # the staff plot's point


def _processed(client: TestClient) -> bool:
    live = {r["room_id"]: r["live"] for r in client.get("/api/rooms").json()}
    return bool(live["demo"] and live["demo"]["processed"] > 0)
