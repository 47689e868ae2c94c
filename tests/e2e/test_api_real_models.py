"""The HTTP API with the real face models (YuNet + SFace) and the bundled sample faces: enrol two
photos, pay by face with a third photo of the same person, refuse a different person and a photo
with no face. Slower than the fake-analyser tests (models load once per module)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from soberpay.adapters.clock import ManualClock
from soberpay.assets import read_asset
from soberpay.bootstrap import Container
from soberpay.config import Settings
from tests.e2e.web_support import Venue, buy, login, make_app, national_id, topup


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Venue]]:
    tmp: Path = tmp_path_factory.mktemp("real-models")
    settings = Settings(data_dir=tmp / "var", env="test", liveness={"allow_still_face": True})
    container = Container(settings, clock=ManualClock()).open()
    app = make_app(container)
    v = Venue(app, {"r1": app.state.web.auth.issue_device_token("r1")[1]})
    with TestClient(app) as client:
        yield client, v
    container.close()


def test_pay_by_face_with_the_real_models(real: tuple[TestClient, Venue]) -> None:
    client, v = real
    r = client.post(
        "/api/guests",
        json={
            "name": "Barack Obama",
            "phone": "13900000001",
            "national_id": national_id(1),
            "password": "123456",
            "consents": ["face_payment"],
        },
    )
    assert r.status_code == 201, r.text
    guest: dict[str, Any] = r.json()
    h = {"X-Guest-Token": guest["guest_token"]}
    files = [("files", (n, read_asset("faces", n), "image/jpeg")) for n in ("obama.jpg", "obama2.jpg")]
    enrolled = client.post(f"/api/guests/{guest['guest_id']}/face", files=files, headers=h)
    assert enrolled.status_code == 200 and enrolled.json()["templates_stored"] == 2, enrolled.text
    quality = client.post(
        "/api/face/quality", files={"file": ("o.jpg", read_asset("faces", "obama3.jpg"), "image/jpeg")}
    )
    assert quality.json()["ok"] is True
    csrf = login(client)
    topup(client, csrf, guest["guest_id"], 10_000)
    client.cookies.clear()
    room = v.room("r1")

    def ident(name: str) -> Any:
        return client.post(
            "/api/rooms/r1/identify/face", files={"file": (name, read_asset("faces", name), "image/jpeg")}, headers=room
        )

    who = ident("obama3.jpg")  # not an enrolment photo
    assert who.status_code == 200 and who.json()["guest_id"] == guest["guest_id"], who.text
    fresh = read_asset("faces", "obama3.jpg")  # the confirmation step: a fresh face, verified 1:1
    paid = buy(client, v, "r1", who.json()["guest_token"], "cola", "real-0000001", face=fresh)
    assert paid.json()["outcome"] == "charged"
    other = ident("biden.jpg")
    assert other.status_code == 401 and other.json()["error"] == "auth_failed"
    noface = client.post(
        "/api/rooms/r1/identify/face", files={"file": ("a.jpg", _blank_jpeg(), "image/jpeg")}, headers=room
    )
    assert noface.status_code == 422 and noface.json()["error"] == "no_face"


def _blank_jpeg() -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (320, 240), (128, 128, 128)).save(buf, format="JPEG")
    return buf.getvalue()
