"""Helpers for the web tests: an app over the fake-analyser container, staff/room/guest set-up."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from soberpay.bootstrap import Container
from tests.fakes import fake_image

MANAGER = ("boss", "manager-pass-1")
CASHIER = ("till", "cashier-pass-1")
GUEST_PASSWORD = "246810"


def national_id(seq: int) -> str:
    from soberpay.domain.identity import prc_id_check_digit

    first17 = f"11010519900101{seq:03d}"
    return first17 + prc_id_check_digit(first17)


_TEMPLATE_DB: list[Path] = []


def _migrated_template() -> Path:
    """Run the migrations once per test process; each test copies the resulting SQLite file."""
    if not _TEMPLATE_DB:
        from soberpay.adapters.db.migrate import upgrade

        path = Path(tempfile.mkdtemp(prefix="soberpay-webdb-")) / "template.db"
        upgrade(f"sqlite:///{path}")
        _TEMPLATE_DB.append(path)
    return _TEMPLATE_DB[0]


def sqlite_container(settings: Any, clock: Any) -> Container:
    """A migrated SQLite container with the fake face analyser (most web tests need only one database).

    Password hashing stays argon2id, with small cost parameters to keep the suite fast."""
    from soberpay.adapters.crypto import Argon2idHasher
    from tests.fakes import FakeAnalyser, FakePresence, fake_decode_image, fake_decode_video

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = settings.data_dir / "web-test.db"
    shutil.copyfile(_migrated_template(), db)
    settings.database_url = f"sqlite:///{db}"
    settings.liveness.allow_still_face = True  # fake "images" are strings: the still-image API path is tested
    container = Container(settings, clock=clock, analyser=FakeAnalyser(), presence=FakePresence()).open(migrate=False)
    container.__dict__["hasher"] = Argon2idHasher(time_cost=1, memory_cost=1024)
    container.decode_image = fake_decode_image  # type: ignore[method-assign]
    container.decode_video = fake_decode_video  # type: ignore[method-assign]
    return container


def make_app(container: Container, run_rooms: bool = False) -> FastAPI:
    from soberpay.web.app import create_app

    app = create_app(container, run_rooms=run_rooms)
    auth = app.state.web.auth
    auth.create_staff(*MANAGER, "manager")
    auth.create_staff(*CASHIER, "cashier")
    for room_id in ("r1", "r2"):
        auth.create_room(room_id, f"Room {room_id}", None)
    return app


@dataclass
class Venue:
    app: FastAPI
    tokens: dict[str, str]

    def client(self) -> TestClient:
        # These tests read the English messages; the venue's default language (zh) is tested in test_i18n_web.
        return TestClient(self.app, headers={"Accept-Language": "en"})

    def room(self, room_id: str) -> dict[str, str]:
        return {"Authorization": "Bearer " + self.tokens[room_id]}


def venue(container: Container) -> Venue:
    app = make_app(container)
    auth = app.state.web.auth
    return Venue(app, {r: auth.issue_device_token(r)[1] for r in ("r1", "r2")})


def login(client: TestClient, who: tuple[str, str] = MANAGER) -> dict[str, str]:
    r = client.post("/api/auth/login", json={"username": who[0], "password": who[1]})
    assert r.status_code == 200, r.text
    return {"X-CSRF-Token": r.json()["csrf_token"]}


def register(
    client: TestClient, name: str = "Alice", seq: int = 1, consents: tuple[str, ...] = ("face_payment",)
) -> dict[str, Any]:
    r = client.post(
        "/api/guests",
        json={
            "name": name,
            "phone": f"1380000{seq:04d}",
            "national_id": national_id(seq),
            "password": GUEST_PASSWORD,
            "consents": list(consents),
        },
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


def enrol(client: TestClient, guest: dict[str, Any], person: str) -> None:
    files = [("files", (f"{i}.jpg", fake_image(person, i), "image/jpeg")) for i in range(3)]
    r = client.post(
        f"/api/guests/{guest['guest_id']}/face", files=files, headers={"X-Guest-Token": guest["guest_token"]}
    )
    assert r.status_code == 200, r.text


def topup(client: TestClient, csrf: dict[str, str], guest_id: str, amount_fen: int = 500_000) -> None:
    r = client.post(
        f"/api/staff/guests/{guest_id}/topup",
        json={"amount_fen": amount_fen, "idempotency_key": f"topup-{guest_id}"},
        headers=csrf,
    )
    assert r.status_code == 200, r.text


def identify(client: TestClient, v: Venue, room_id: str, person: str) -> dict[str, Any]:
    r = client.post(
        f"/api/rooms/{room_id}/identify/face",
        files={"file": ("f.jpg", fake_image(person, 7), "image/jpeg")},
        headers=v.room(room_id),
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


def buy(
    client: TestClient,
    v: Venue,
    room_id: str,
    guest_token: str,
    item: str,
    key: str,
    *,
    password: str | None = None,
    face: bytes | None = None,
    quantity: int = 1,
    fresh_factor: bool = True,
) -> Any:
    """Every charge is confirmed in the moment: without ``face`` or ``password`` the guest's payment
    password is sent (``fresh_factor=False`` sends neither, which the API refuses)."""
    data: dict[str, Any] = {"item_id": item, "idempotency_key": key, "quantity": str(quantity)}
    if password is None and face is None and fresh_factor:
        password = GUEST_PASSWORD
    if password is not None:
        data["password"] = password
    files = {"face": ("face.jpg", face, "image/jpeg")} if face is not None else None
    return client.post(
        f"/api/rooms/{room_id}/purchases",
        data=data,
        files=files,
        headers={**v.room(room_id), "X-Guest-Token": guest_token},
    )
