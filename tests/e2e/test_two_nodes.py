"""Two API nodes on one PostgreSQL + pgvector (two `soberpay serve` processes, real face models): a
guest enrolled through one node is identified by the other at once, and once erased through one
node is unmatched by the other at once: the 1:N search runs in the database, not in a node's cache."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from soberpay.assets import read_asset
from soberpay.bootstrap import Container
from soberpay.config import Settings
from tests.e2e.web_support import MANAGER, make_app, national_id
from tests.support.servers import serve_processes

pytestmark = pytest.mark.postgres


@pytest.fixture
def nodes(tmp_path: Path, pg_url: str) -> Iterator[tuple[str, str, str]]:
    """Base URLs of two nodes and the room token; both share the database, the key file and the
    session secret (one data dir), as nodes behind a load balancer share their configuration."""
    data = tmp_path / "var"
    container = Container(Settings(data_dir=data, env="test", database_url=pg_url, index="pgvector")).open()
    app = make_app(container)  # staff and rooms, written to the shared database
    room_token = app.state.web.auth.issue_device_token("r1")[1]
    container.close()
    env = {
        **os.environ,
        "SOBERPAY_DATA_DIR": str(data),
        "SOBERPAY_ENV": "test",
        "SOBERPAY_DATABASE_URL": pg_url,
        "SOBERPAY_INDEX": "pgvector",
        "SOBERPAY_WEB__RUN_ROOMS": "false",
        # one still per identification keeps this test about the shared gallery (liveness has its own tests)
        "SOBERPAY_LIVENESS__ALLOW_STILL_FACE": "true",
    }
    with serve_processes(env) as (a, b):
        yield a, b, room_token


def test_enrolled_on_one_node_identified_on_the_other_and_erased_everywhere_at_once(
    nodes: tuple[str, str, str],
) -> None:
    a, b, room_token = nodes
    room = {"Authorization": "Bearer " + room_token}
    r = httpx.post(
        a + "/api/guests",
        json={
            "name": "Barack Obama",
            "phone": "13900000001",
            "national_id": national_id(1),
            "password": "123456",
            "consents": ["face_payment"],
        },
    )
    assert r.status_code == 201, r.text
    guest = r.json()
    token = {"X-Guest-Token": guest["guest_token"]}

    def identify_on_b() -> httpx.Response:
        files = {"file": ("o.jpg", read_asset("faces", "obama3.jpg"), "image/jpeg")}
        return httpx.post(b + "/api/rooms/r1/identify/face", files=files, headers=room, timeout=60)

    assert identify_on_b().status_code == 401  # not enrolled yet: B has nothing cached to go stale
    files = [("files", (n, read_asset("faces", n), "image/jpeg")) for n in ("obama.jpg", "obama2.jpg")]
    enrolled = httpx.post(a + f"/api/guests/{guest['guest_id']}/face", files=files, headers=token, timeout=60)
    assert enrolled.status_code == 200, enrolled.text
    who = identify_on_b()
    assert who.status_code == 200 and who.json()["guest_id"] == guest["guest_id"], who.text
    with httpx.Client(base_url=a) as staff:  # erasure is an account action: a manager with a reason here
        csrf = staff.post("/api/auth/login", json={"username": MANAGER[0], "password": MANAGER[1]}).json()
        erased = staff.request(
            "DELETE",
            f"/api/guests/{guest['guest_id']}",
            data={"reason": "guest asked at the counter"},
            headers={"X-CSRF-Token": csrf["csrf_token"]},
        )
    assert erased.status_code == 204, erased.text
    gone = identify_on_b()
    assert gone.status_code == 401 and gone.json()["error"] == "auth_failed", gone.text
