"""``soberpay rooms`` in its own process on the bundled demo clip; a web app on the same database shows
the room's live status from the heartbeat rows, and the status says stopped after SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from fastapi.testclient import TestClient

from soberpay.adapters.clock import SystemClock
from soberpay.bootstrap import Container
from soberpay.config import Settings
from soberpay.rooms.status import SqlRoomStatus
from tests.e2e.web_support import login, make_app


def test_rooms_command_runs_the_demo_room_and_the_web_sees_it(tmp_path: Path) -> None:
    data = tmp_path / "var"
    container = Container(Settings(data_dir=data, env="test"), clock=SystemClock()).open()
    app = make_app(container)  # the web process's view: rooms off here
    app.state.web.auth.create_room("demo", "Demo room", "demo")
    status = SqlRoomStatus(container.session_factory, container.clock.now)
    env = {**os.environ, "SOBERPAY_DATA_DIR": str(data), "SOBERPAY_ENV": "test", "SOBERPAY_WEB__ROOM_MAX_FPS": "5"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "soberpay", "rooms"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 90
        while not ("demo" in status.statuses() and status.statuses()["demo"].processed > 0):
            assert proc.poll() is None, proc.communicate()[0].decode()
            assert time.monotonic() < deadline, "no heartbeat from soberpay rooms"
            time.sleep(0.2)
        client = TestClient(app)
        login(client)
        state = client.get("/api/rooms/demo/state").json()
        assert state["running"] and state["fps"] > 0 and state["lag_s"] >= 0
        live = {r["room_id"]: r["live"] for r in client.get("/api/rooms").json()}
        assert live["demo"]["captured"] > 0
        proc.send_signal(signal.SIGTERM)
        out = proc.communicate(timeout=30)[0].decode()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, out
    assert "rooms running: demo" in out and "frames analysed" in out
    assert not status.statuses()["demo"].running
    container.close()
