"""Room touchscreen API: menu, identify (face or phone + password), purchase, pending requests.

Every route under ``/api/rooms/{room_id}`` needs a device token of THAT room. Guest data needs, in
addition, the guest token returned by identification in the same room. Identifying puts the guest in the
room (room presence). The guest token only says who is at the screen: every charge needs a fresh factor
(a face frame or the payment password) sent with it. Responses here are guest-safe: no tag reason or staff
note, only neutral messages (``message_key``).
"""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from starlette.concurrency import run_in_threadpool

from soberpay.domain.identity import IdentityDecision, MatchStatus, normalise_phone
from soberpay.errors import AuthError, Forbidden, InvalidInput
from soberpay.web.auth import RoomPrincipal
from soberpay.web.context import WebContext
from soberpay.web.deps import GuestTokenHeader, PublicRate, Room, Web, require_guest_in_room
from soberpay.web.i18n import ROOM_MESSAGES, gettext_for, lang_of
from soberpay.web.links import SAME_ROOM_GUEST, link, links
from soberpay.web.routes._util import (
    IdempotencyKeyHeader,
    high_price_locked,
    idempotency_key,
    read_upload,
    room_notice,
    room_pending_out,
    room_purchase_out,
    room_risk_out,
)
from soberpay.web.routes.health import REQUIRE_READY
from soberpay.web.routes.liveness import face_from_clip
from soberpay.web.schemas import (
    KEY_PATTERN,
    ErrorOut,
    IdentifiedOut,
    IdentifyPhoneIn,
    MenuItemOut,
    PurchaseOut,
    RoomPendingOut,
    RoomRiskOut,
)

CONFIRM = "/api/rooms/{room_id}/pending/{pending_id}/confirm"
DISCARD = "/api/rooms/{room_id}/pending/{pending_id}/discard"
HELD = {**SAME_ROOM_GUEST, "path.pending_id": "$response.body#/pending_id"}
FIRST_PENDING = {**SAME_ROOM_GUEST, "path.pending_id": "$response.body#/0/id"}

router = APIRouter(
    prefix="/api",
    tags=["purchases"],
    responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}, 404: {"model": ErrorOut}, 429: {"model": ErrorOut}},
)


@router.get("/menu", response_model=list[MenuItemOut], dependencies=[PublicRate])
def menu(web: Web) -> list[MenuItemOut]:
    """The venue menu with prices in integer fen and the high-price tier flag."""
    return [MenuItemOut(**m.__dict__) for m in web.payments.menu()]


def identified(
    web: Web, room: RoomPrincipal, lang: str, guest_id: str, explanation: str, similarity: float | None
) -> IdentifiedOut:
    room_id = room.room_id
    web.payments.check_in(guest_id, room_id, actor=room.actor, source="tablet")
    guest = web.container.identity.get(guest_id)
    if lang != "en":  # the English explanation carries the matcher's detail; guests read a sentence
        _ = gettext_for(lang)
        explanation = _("Identified.")
    risk = web.payments.risk(guest_id)
    return IdentifiedOut(
        guest_id=guest_id,
        name=guest.name,
        guest_token=web.guest_token(guest_id, room_id),
        risk_state=risk.state,
        high_price_locked=high_price_locked(risk),
        explanation=explanation,
        similarity=similarity,
        balance_fen=web.payments.balance(guest_id),
        notice=room_notice(risk),
    )


@router.post(
    "/rooms/{room_id}/identify/face",
    response_model=IdentifiedOut,
    responses={400: {"model": ErrorOut}, 422: {"model": ErrorOut}},
)
async def identify_face(
    room_id: str,
    room: Room,
    web: Web,
    request: Request,
    file: Annotated[UploadFile, File(description="one camera frame")],
    phone_last4: Annotated[
        str | None, Form(min_length=4, max_length=4, description="last 4 phone digits: narrows a large gallery")
    ] = None,
) -> IdentifiedOut:
    """Pay by face from one still (only if ``liveness.allow_still_face``: a photo of the guest passes it;
    the tablet uses ``identify/clip``). Ambiguous or weak matches are refused (use phone + password); a large
    gallery asks for the last 4 phone digits first (docs/scaling.md)."""
    if not web.container.settings.liveness.allow_still_face:
        raise Forbidden("a still image is not accepted: send a short clip to /identify/clip")
    check_identify_limits(web, room_id, phone_last4)
    data = await read_upload(file, web.container.settings.identity.max_upload_bytes)
    started = time.perf_counter()
    decision = await web.models.run(web.container.identity.identify, data, phone_last4)
    web.metrics.model_seconds.labels("identify").observe(time.perf_counter() - started)
    web.metrics.identifications.labels(decision.status.value).inc()
    if not decision.accepted or decision.guest_id is None:
        raise face_refused(decision, phone_last4)
    return identified(web, room, lang_of(request), decision.guest_id, decision.explanation, round(decision.score, 3))


def check_identify_limits(web: WebContext, room_id: str, phone_last4: str | None) -> None:
    """Identifications per room; attempts with phone digits also count under their own, lower limit
    (shared by every node in the database): each guess narrows the search to a new ~1/10,000 of the
    guests at a threshold for that small set, so unlimited guesses would add up to a whole-gallery
    search at the small-set threshold."""
    web.limits.check("identify", "room:" + room_id)
    if phone_last4 is not None:
        web.limits.check("phone_digits", "room:" + room_id)


def face_refused(decision: IdentityDecision, phone_last4: str | None) -> AuthError:
    """The refusal of a face identification; ``ask_phone_last4`` tells the tablet to ask for the last
    4 phone digits (a large gallery, or two guests too close to tell apart) unless it just sent them."""
    ask = decision.status is MatchStatus.AMBIGUOUS and phone_last4 is None
    return AuthError(f"face not recognised: {decision.explanation}", status=decision.status.value, ask_phone_last4=ask)


@router.post("/rooms/{room_id}/identify/phone", response_model=IdentifiedOut, responses={400: {"model": ErrorOut}})
def identify_phone(room_id: str, body: IdentifyPhoneIn, request: Request, room: Room, web: Web) -> IdentifiedOut:
    """Identify without face consent: phone number + 6-digit payment password.

    Rate-limited per canonical number, and under the guest's one password lockout (423 while locked).
    An unknown number gets the same answer, in the same time, as a wrong password."""
    try:
        phone = normalise_phone(body.phone)  # one limit per number, however it is spelt
    except InvalidInput as exc:
        raise AuthError("wrong phone number or password") from exc
    web.limits.check("password", "phone:" + phone)
    web.limits.check("identify", "room:" + room_id)
    guest = web.container.identity.identify_by_phone(phone, body.password, actor=room.actor)
    web.metrics.identifications.labels("phone").inc()
    return identified(web, room, lang_of(request), guest.id, "phone number and payment password verified", None)


@router.get("/rooms/{room_id}/me", response_model=RoomRiskOut)
def my_state(room_id: str, room: Room, web: Web, x_guest_token: GuestTokenHeader = None) -> RoomRiskOut:
    """The identified guest's state as the room may show it: locked or not, a neutral notice, the balance."""
    guest = require_guest_in_room(web, x_guest_token, room_id)
    return room_risk_out(web.payments.risk(guest.guest_id), web.payments.balance(guest.guest_id))


async def _optional_face(face: UploadFile | None, web: Web) -> bytes | None:
    if face is None or not face.filename and not face.size:
        return None
    return await read_upload(face, web.container.settings.identity.max_upload_bytes)


def _require_fresh_factor(password: str | None, image: bytes | None) -> None:
    """No standing session for charges: the guest confirms each one in the moment."""
    if not password and image is None:
        key = "room.msg.need_factor"
        raise InvalidInput(ROOM_MESSAGES[key], field="face", message_key=key)


@router.post(
    "/rooms/{room_id}/purchases",
    response_model=PurchaseOut,
    responses={
        400: {"model": ErrorOut},
        409: {"model": ErrorOut},
        422: {"model": ErrorOut},
        503: {"model": ErrorOut},
        **links(
            200,
            Pending=link("GET", "/api/rooms/{room_id}/pending", "the guest's held requests", SAME_ROOM_GUEST),
            ConfirmHeld=link("POST", CONFIRM, "confirm the held request (outcome suspended)", HELD),
            DiscardHeld=link("POST", DISCARD, "discard the held request (outcome suspended)", HELD),
        ),
    },
    dependencies=REQUIRE_READY,
)
async def purchase(
    room_id: str,
    room: Room,
    web: Web,
    request: Request,
    item_id: Annotated[str, Form(max_length=64)],
    idempotency_key_field: Annotated[
        str | None, Form(alias="idempotency_key", min_length=8, max_length=128, pattern=KEY_PATTERN)
    ] = None,
    quantity: Annotated[int, Form(ge=1, le=99)] = 1,
    password: Annotated[str | None, Form(max_length=6)] = None,
    face: Annotated[UploadFile | None, File(description="a fresh camera frame of the guest (face factor)")] = None,
    frames: Annotated[list[UploadFile] | None, File(description="or: a frame burst (face + liveness)")] = None,
    challenge_id: Annotated[str | None, Form(max_length=64)] = None,
    x_guest_token: GuestTokenHeader = None,
    idempotency_header: IdempotencyKeyHeader = None,
) -> PurchaseOut:
    """Buy an item for the guest identified in this room (multipart form), confirmed by a fresh factor:
    ``face`` (a new camera frame, verified 1:1 against the guest) or ``password`` — without either, 400.

    Outcomes: ``charged``; ``suspended`` (tagged guest + high-price item: saved as a pending request,
    NOT charged); ``verification_required`` (tagged guest + regular item: send ``face`` AND the 6-digit
    ``password`` with the same idempotency key — dual verification); ``password_rejected``;
    ``locked_out``; ``face_rejected``; ``refused`` (e.g. balance). The same idempotency key replays a
    stored result; with other parameters it is a 409. The face factor as ``frames`` (+ ``challenge_id``
    when the guest is tagged or the item high-price) passes liveness first; a still ``face`` is accepted
    only with ``liveness.allow_still_face``."""
    guest = require_guest_in_room(web, x_guest_token, room_id)
    key = idempotency_key(idempotency_header, idempotency_key_field)
    if password:
        web.limits.check("password", "guest:" + guest.guest_id)
    if frames:
        image: bytes | None = await face_from_clip(web, guest.guest_id, item_id, frames, challenge_id)
    else:
        image = await _optional_face(face, web)
        if image is not None and not web.container.settings.liveness.allow_still_face:
            raise Forbidden("a still face is not accepted: send 'frames' (a short clip)")
    _require_fresh_factor(password, image)
    started = time.perf_counter()
    # With a face frame the purchase does model work (bounded pool); without, it is a plain database call.
    run = web.models.run if image is not None else run_in_threadpool
    outcome = await run(
        web.payments.purchase,
        guest_id=guest.guest_id,
        item_id=item_id,
        quantity=quantity,
        idempotency_key=key,
        password=password or None,
        face_image=image,
        room_id=room_id,
        actor=room.actor,
    )
    web.metrics.model_seconds.labels("purchase").observe(time.perf_counter() - started)
    if not outcome.replayed:
        web.metrics.purchase(outcome)
    return room_purchase_out(outcome, lang_of(request))


@router.get(
    "/rooms/{room_id}/pending",
    response_model=list[RoomPendingOut],
    responses=links(
        200,
        Confirm=link("POST", CONFIRM, "confirm the first held request", FIRST_PENDING),
        Discard=link("POST", DISCARD, "discard the first held request", FIRST_PENDING),
    ),
)
def my_pending(room_id: str, room: Room, web: Web, x_guest_token: GuestTokenHeader = None) -> list[RoomPendingOut]:
    """The identified guest's held (suspended) requests, to confirm or discard after recovery."""
    guest = require_guest_in_room(web, x_guest_token, room_id)
    return [room_pending_out(p) for p in web.payments.pending(guest.guest_id)]


@router.post(
    "/rooms/{room_id}/pending/{pending_id}/confirm",
    response_model=PurchaseOut,
    responses={409: {"model": ErrorOut}, 422: {"model": ErrorOut}, 503: {"model": ErrorOut}},
    dependencies=REQUIRE_READY,
)
async def confirm_pending(
    room_id: str,
    pending_id: str,
    room: Room,
    web: Web,
    request: Request,
    idempotency_key_field: Annotated[
        str | None, Form(alias="idempotency_key", min_length=8, max_length=128, pattern=KEY_PATTERN)
    ] = None,
    password: Annotated[str | None, Form(max_length=6)] = None,
    face: Annotated[UploadFile | None, File(description="a fresh camera frame of the guest")] = None,
    x_guest_token: GuestTokenHeader = None,
    idempotency_header: IdempotencyKeyHeader = None,
) -> PurchaseOut:
    """Confirm a pending request after recovery (face or password): charged now at the original price."""
    guest = require_guest_in_room(web, x_guest_token, room_id)
    key = idempotency_key(idempotency_header, idempotency_key_field)
    if password:
        web.limits.check("password", "guest:" + guest.guest_id)
    image = await _optional_face(face, web)
    _require_fresh_factor(password, image)
    run = web.models.run if image is not None else run_in_threadpool
    outcome = await run(
        web.payments.confirm_pending,
        pending_id,
        guest_id=guest.guest_id,
        idempotency_key=key,
        password=password or None,
        face_image=image,
        actor=room.actor,
    )
    if not outcome.replayed:
        web.metrics.purchase(outcome)
    return room_purchase_out(outcome, lang_of(request), confirming=True)


@router.post(
    "/rooms/{room_id}/pending/{pending_id}/discard",
    response_model=RoomPendingOut,
    responses={409: {"model": ErrorOut}},
)
def discard_pending(
    room_id: str, pending_id: str, room: Room, web: Web, x_guest_token: GuestTokenHeader = None
) -> RoomPendingOut:
    """Discard a held request: it is cancelled and never charged."""
    guest = require_guest_in_room(web, x_guest_token, room_id)
    return room_pending_out(web.payments.discard_pending(pending_id, guest_id=guest.guest_id, actor=room.actor))
