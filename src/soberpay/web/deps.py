"""Annotated dependencies: every route reaches the app's objects and its caller's identity through here."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

from fastapi import Depends, Header, Request

from soberpay.errors import CsrfFailed, Forbidden, Unauthenticated
from soberpay.web.auth import (
    ROOM_COOKIE,
    SESSION_COOKIE,
    GuestPrincipal,
    RoomPrincipal,
    StaffPrincipal,
    csrf_ok,
)
from soberpay.web.context import WebContext

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def get_web(request: Request) -> WebContext:
    web: WebContext = request.app.state.web
    return web


Web = Annotated[WebContext, Depends(get_web)]


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def public_rate(request: Request, web: Web) -> None:
    """Rate limit for endpoints that need no credential (per client IP; 429 + Retry-After)."""
    web.limits.check("public", client_ip(request))


PublicRate = Depends(public_rate)


def _csrf_given(request: Request) -> str | None:
    return request.headers.get("x-csrf-token")


def staff_from_cookie(request: Request, web: WebContext) -> StaffPrincipal | None:
    raw = request.cookies.get(SESSION_COOKIE)
    if not raw:
        return None
    data = web.signer.loads(raw, salt="sp-session", max_age=web.settings.session_max_age_s)
    if not data:
        return None
    # The signature only proves we issued the cookie; the session record says whether it is still live.
    row = web.auth.session_staff(str(data.get("sid", "")))
    if row is None:
        return None
    return StaffPrincipal(row.id, row.username, row.role, str(data.get("csrf", "")), session=str(data["sid"]))


def optional_staff(request: Request, web: Web) -> StaffPrincipal | None:
    """The signed-in staff member, if any; ``csrf_valid`` says whether an unsafe request carried the token."""
    staff = staff_from_cookie(request, web)
    if staff is not None and request.method in UNSAFE and not csrf_ok(staff.csrf, _csrf_given(request)):
        staff = replace(staff, csrf_valid=False)
    return staff


def current_staff(staff: Annotated[StaffPrincipal | None, Depends(optional_staff)]) -> StaffPrincipal:
    if staff is None:
        raise Unauthenticated("staff sign-in required")
    staff.require_csrf()
    return staff


def current_manager(staff: Annotated[StaffPrincipal, Depends(current_staff)]) -> StaffPrincipal:
    staff.require("manager")
    return staff


Staff = Annotated[StaffPrincipal, Depends(current_staff)]
Manager = Annotated[StaffPrincipal, Depends(current_manager)]
MaybeStaff = Annotated[StaffPrincipal | None, Depends(optional_staff)]


def room_from_request(request: Request, web: WebContext) -> RoomPrincipal | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        row = web.auth.device_token(auth[7:].strip())
        if row is None:
            raise Unauthenticated("invalid or revoked device token")
        return RoomPrincipal(row.room_id, row.id, None)
    raw = request.cookies.get(ROOM_COOKIE)
    if not raw:
        return None
    data = web.signer.loads(raw, salt="sp-room", max_age=365 * 86400)
    if not data:
        return None
    room_id, token_id = str(data.get("room", "")), int(data.get("tid", -1))
    if not web.auth.device_token_active(token_id, room_id):
        return None
    principal = RoomPrincipal(room_id, token_id, str(data.get("csrf", "")))
    if request.method in UNSAFE and not csrf_ok(principal.csrf, _csrf_given(request)):
        raise CsrfFailed("missing or wrong CSRF token")
    return principal


def optional_room(request: Request, web: Web) -> RoomPrincipal | None:
    return room_from_request(request, web)


def current_room(room: Annotated[RoomPrincipal | None, Depends(optional_room)], room_id: str) -> RoomPrincipal:
    """The caller must be a device of THIS room (path parameter ``room_id``)."""
    if room is None:
        raise Unauthenticated("room device token required")
    room.require_room(room_id)
    return room


Room = Annotated[RoomPrincipal, Depends(current_room)]
MaybeRoom = Annotated[RoomPrincipal | None, Depends(optional_room)]

GuestTokenHeader = Annotated[
    str | None, Header(alias="X-Guest-Token", description="token returned by registration or identification")
]


def guest_from_token(web: WebContext, token: str | None) -> GuestPrincipal | None:
    if not token:
        return None
    data = web.signer.loads(token, salt="sp-guest", max_age=web.settings.guest_token_max_age_s)
    if not data:
        return None
    return GuestPrincipal(str(data.get("guest_id", "")), str(data.get("scope", "")))


def require_guest_in_room(web: WebContext, token: str | None, room_id: str) -> GuestPrincipal:
    guest = guest_from_token(web, token)
    if guest is None:
        raise Unauthenticated("identify the guest first (missing or expired guest token)")
    if guest.scope != room_id:
        raise Forbidden("this guest token was issued for another room")
    return guest


def require_self_or_staff(
    web: WebContext, token: str | None, staff: StaffPrincipal | None, guest_id: str
) -> tuple[str, GuestPrincipal | None]:
    """A guest may act on their own record (kiosk or room token); staff on anyone. Returns the actor.

    A guest token, when sent, takes precedence (a kiosk in a browser where staff are signed in)."""
    guest = guest_from_token(web, token)
    if guest is None:
        if staff is not None:
            staff.require_csrf()
            return staff.actor, None
        raise Unauthenticated("guest token or staff sign-in required")
    if guest.guest_id != guest_id:
        raise Forbidden("a guest can only see their own record")
    return "guest", guest
