"""Rooms: list with live state, create (manager), device tokens (manager), per-room state."""

from __future__ import annotations

from typing import Annotated

import segno
from fastapi import APIRouter, Path, Request, status

from soberpay.errors import Unauthenticated
from soberpay.web.auth import camera_source_shown
from soberpay.web.deps import Manager, MaybeRoom, MaybeStaff, Staff, Web
from soberpay.web.links import link, links
from soberpay.web.schemas import DeviceTokenOut, ErrorOut, PairingOut, RoomIn, RoomOut, RoomStateOut

REVOKE = "/api/rooms/{room_id}/tokens/{token_id}"
NEW_ROOM = {"path.room_id": "$response.body#/room_id"}
ISSUED_TOKEN = {"path.room_id": "$response.body#/room_id", "path.token_id": "$response.body#/token_id"}

router = APIRouter(
    prefix="/api/rooms",
    tags=["rooms"],
    responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}, 404: {"model": ErrorOut}},
)


@router.get("", response_model=list[RoomOut])
def list_rooms(staff: Staff, web: Web) -> list[RoomOut]:
    """All rooms with their live worker state (fps, lag, dropped frames, faces, present guests). Cameras'
    stream URLs in full (with their passwords) for managers; scheme, host and port for cashiers."""

    def shown(spec: str | None) -> str | None:
        return spec if staff.role == "manager" else camera_source_shown(spec)

    return [
        RoomOut(
            room_id=r.id,
            name=r.name,
            camera_source=shown(r.camera_source),
            thermal_camera_source=shown(r.thermal_camera_source),
            live=web.rooms.stats(r.id),
        )
        for r in web.auth.rooms()
    ]


@router.post(
    "",
    response_model=RoomOut,
    status_code=status.HTTP_201_CREATED,
    responses={
        400: {"model": ErrorOut},
        409: {"model": ErrorOut},
        **links(
            201,
            Pairing=link("POST", "/api/rooms/{room_id}/pairing", "pair the room tablet by QR code", NEW_ROOM),
            Token=link("POST", "/api/rooms/{room_id}/tokens", "issue a device token", NEW_ROOM),
            State=link("GET", "/api/rooms/{room_id}/state", "the room's camera state", NEW_ROOM),
        ),
    },
)
def create_room(body: RoomIn, staff: Manager, web: Web) -> RoomOut:
    """Create a room (manager). ``camera_source``: a file path, a device index, an RTSP URL or ``demo``;
    ``thermal_camera_source`` (optional): the room's thermal camera in the same forms."""
    row = web.auth.create_room(
        body.room_id, body.name, body.camera_source, actor=staff.actor, thermal_camera_source=body.thermal_camera_source
    )
    return RoomOut(
        room_id=row.id,
        name=row.name,
        camera_source=row.camera_source,
        thermal_camera_source=row.thermal_camera_source,
    )


@router.post(
    "/{room_id}/tokens",
    response_model=DeviceTokenOut,
    status_code=status.HTTP_201_CREATED,
    responses=links(201, Revoke=link("DELETE", REVOKE, "revoke this token", ISSUED_TOKEN)),
)
def issue_token(room_id: str, staff: Manager, web: Web) -> DeviceTokenOut:
    """Issue a device token for one room's touchscreen (manager). Shown once; stored as a SHA-256 digest."""
    token_id, token = web.auth.issue_device_token(room_id, label="touchscreen", actor=staff.actor)
    return DeviceTokenOut(token_id=token_id, room_id=room_id, token=token)


@router.post(
    "/{room_id}/pairing",
    response_model=PairingOut,
    status_code=status.HTTP_201_CREATED,
    responses=links(201, Revoke=link("DELETE", REVOKE, "unpair: revoke the paired token", ISSUED_TOKEN)),
)
def pairing(room_id: str, request: Request, staff: Manager, web: Web) -> PairingOut:
    """A new device token as a QR code for the room tablet to scan (manager). The code opens the pairing
    page with the token in the URL fragment, which the browser never sends: the page posts it like a
    typed token. The token is shown too, as the typed fallback."""
    token_id, token = web.auth.issue_device_token(room_id, label="touchscreen (QR)", actor=staff.actor)
    url = f"{str(request.base_url).rstrip('/')}/room/{room_id}#pair={token}"
    svg = segno.make(url, error="m").svg_inline(scale=5, border=2, title="pairing QR code")
    return PairingOut(room_id=room_id, token_id=token_id, token=token, url=url, qr_svg=svg)


@router.delete("/{room_id}/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_token(room_id: str, token_id: Annotated[int, Path(ge=1, le=2**31 - 1)], staff: Manager, web: Web) -> None:
    web.auth.revoke_device_token(token_id, actor=staff.actor)


@router.get("/{room_id}/state", response_model=RoomStateOut)
def room_state(room_id: str, web: Web, staff: MaybeStaff, room: MaybeRoom) -> RoomStateOut:
    """Live state of one room: staff see who is present; a room device sees only its own room, no guest ids."""
    if staff is None:
        if room is None:
            raise Unauthenticated("staff sign-in or this room's device token required")
        room.require_room(room_id)
    row = web.auth.room(room_id)
    live = web.rooms.stats(room_id) or {}
    present = list(live.get("present", []))
    return RoomStateOut(
        room_id=row.id,
        name=row.name,
        running=bool(live.get("running", False)),
        fps=float(live.get("fps", 0.0)),
        lag_s=float(live.get("lag_s", 0.0)),
        dropped=int(live.get("dropped", 0)),
        faces=int(live.get("faces", 0)),
        present_count=len(present),
        present=present if staff is not None else None,
    )
