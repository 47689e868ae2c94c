"""Room touchscreen API: menu, identify (face or phone + password), purchase, pending requests.

Every route under ``/api/rooms/{room_id}`` needs a device token of THAT room. Guest data needs, in
addition, the guest token returned by identification in the same room.
"""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from starlette.concurrency import run_in_threadpool

from soberpay.errors import AuthError, InvalidInput, NotFound
from soberpay.web.deps import GuestTokenHeader, Room, Web, require_guest_in_room
from soberpay.web.i18n import gettext_for, lang_of
from soberpay.web.routes._util import high_price_locked, pending_out, purchase_out, read_upload, require_key, risk_out
from soberpay.web.schemas import (
    ErrorOut,
    IdentifiedOut,
    IdentifyPhoneIn,
    MenuItemOut,
    PendingOut,
    PurchaseOut,
    RiskOut,
)

router = APIRouter(
    prefix="/api",
    tags=["purchases"],
    responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}, 404: {"model": ErrorOut}, 429: {"model": ErrorOut}},
)


@router.get("/menu", response_model=list[MenuItemOut])
def menu(web: Web) -> list[MenuItemOut]:
    """The venue menu with prices in integer fen and the high-price tier flag."""
    return [MenuItemOut(**m.__dict__) for m in web.payments.menu()]


def _identified(
    web: Web, request: Request, room_id: str, guest_id: str, explanation: str, similarity: float | None
) -> IdentifiedOut:
    guest = web.container.identity.get(guest_id)
    lang = lang_of(request)
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
) -> IdentifiedOut:
    """Pay by face, step 1: 1:N identification. Ambiguous or weak matches are refused (use phone + password)."""
    web.limits.check("identify", "room:" + room_id)
    data = await read_upload(file, web.settings.max_upload_bytes)
    started = time.perf_counter()
    decision = await run_in_threadpool(web.container.identity.identify, data)
    web.metrics.model_seconds.labels("identify").observe(time.perf_counter() - started)
    web.metrics.identifications.labels(decision.status.value).inc()
    if not decision.accepted or decision.guest_id is None:
        raise AuthError(f"face not recognised: {decision.explanation}", status=decision.status.value)
    return _identified(web, request, room_id, decision.guest_id, decision.explanation, round(decision.score, 3))


@router.post("/rooms/{room_id}/identify/phone", response_model=IdentifiedOut, responses={400: {"model": ErrorOut}})
def identify_phone(room_id: str, body: IdentifyPhoneIn, request: Request, room: Room, web: Web) -> IdentifiedOut:
    """Identify without face consent: phone number + 6-digit payment password (rate-limited)."""
    web.limits.check("password", "phone:" + body.phone)
    web.limits.check("identify", "room:" + room_id)
    ident = web.container.identity
    try:
        guest = ident.find_by_phone(body.phone)
    except (NotFound, InvalidInput) as exc:  # unknown phone and wrong password look the same to the caller
        raise AuthError("wrong phone number or password") from exc
    if not ident.check_password(guest.id, body.password):
        raise AuthError("wrong phone number or password")
    web.metrics.identifications.labels("phone").inc()
    return _identified(web, request, room_id, guest.id, "phone number and payment password verified", None)


@router.get("/rooms/{room_id}/me", response_model=RiskOut)
def my_state(room_id: str, room: Room, web: Web, x_guest_token: GuestTokenHeader = None) -> RiskOut:
    """The identified guest's risk state (is anything locked, and why)."""
    guest = require_guest_in_room(web, x_guest_token, room_id)
    return risk_out(web.payments.risk(guest.guest_id))


async def _optional_face(face: UploadFile | None, web: Web) -> bytes | None:
    if face is None or not face.filename and not face.size:
        return None
    return await read_upload(face, web.settings.max_upload_bytes)


@router.post(
    "/rooms/{room_id}/purchases",
    response_model=PurchaseOut,
    responses={400: {"model": ErrorOut}, 409: {"model": ErrorOut}, 422: {"model": ErrorOut}},
)
async def purchase(
    room_id: str,
    room: Room,
    web: Web,
    request: Request,
    item_id: Annotated[str, Form(max_length=64)],
    idempotency_key: Annotated[str, Form(min_length=8, max_length=128)],
    quantity: Annotated[int, Form(ge=1, le=99)] = 1,
    password: Annotated[str | None, Form(max_length=6)] = None,
    face: Annotated[UploadFile | None, File(description="a fresh camera frame of the guest (face factor)")] = None,
    x_guest_token: GuestTokenHeader = None,
) -> PurchaseOut:
    """Buy an item for the guest identified in this room (multipart form).

    Outcomes: ``charged``; ``suspended`` (tagged guest + high-price item: saved as a pending request,
    NOT charged); ``verification_required`` (tagged guest + regular item: send ``face`` AND the 6-digit
    ``password`` with the same idempotency key — dual verification); ``password_rejected``;
    ``locked_out``; ``face_rejected``; ``refused`` (e.g. balance). The same idempotency key replays a
    stored result; with other parameters it is a 409."""
    guest = require_guest_in_room(web, x_guest_token, room_id)
    require_key(idempotency_key)
    if password:
        web.limits.check("password", "guest:" + guest.guest_id)
    image = await _optional_face(face, web)
    started = time.perf_counter()
    outcome = await run_in_threadpool(
        web.payments.purchase,
        guest_id=guest.guest_id,
        item_id=item_id,
        quantity=quantity,
        idempotency_key=idempotency_key,
        password=password or None,
        face_image=image,
        room_id=room_id,
        actor=room.actor,
    )
    web.metrics.model_seconds.labels("purchase").observe(time.perf_counter() - started)
    if not outcome.replayed:
        web.metrics.decisions.labels(outcome.outcome, outcome.rule).inc()
    return purchase_out(outcome, web, lang_of(request))


@router.get("/rooms/{room_id}/pending", response_model=list[PendingOut])
def my_pending(room_id: str, room: Room, web: Web, x_guest_token: GuestTokenHeader = None) -> list[PendingOut]:
    """The identified guest's pending (suspended) requests, to confirm or discard after recovery."""
    guest = require_guest_in_room(web, x_guest_token, room_id)
    return [pending_out(p) for p in web.payments.pending(guest.guest_id)]


@router.post(
    "/rooms/{room_id}/pending/{pending_id}/confirm",
    response_model=PurchaseOut,
    responses={409: {"model": ErrorOut}, 422: {"model": ErrorOut}},
)
async def confirm_pending(
    room_id: str,
    pending_id: str,
    room: Room,
    web: Web,
    request: Request,
    idempotency_key: Annotated[str, Form(min_length=8, max_length=128)],
    password: Annotated[str | None, Form(max_length=6)] = None,
    face: Annotated[UploadFile | None, File(description="a fresh camera frame of the guest")] = None,
    x_guest_token: GuestTokenHeader = None,
) -> PurchaseOut:
    """Confirm a pending request after recovery (face or password): charged now at the original price."""
    guest = require_guest_in_room(web, x_guest_token, room_id)
    require_key(idempotency_key)
    if password:
        web.limits.check("password", "guest:" + guest.guest_id)
    image = await _optional_face(face, web)
    outcome = await run_in_threadpool(
        web.payments.confirm_pending,
        pending_id,
        guest_id=guest.guest_id,
        idempotency_key=idempotency_key,
        password=password or None,
        face_image=image,
        actor=room.actor,
    )
    if not outcome.replayed:
        web.metrics.decisions.labels(outcome.outcome, outcome.rule).inc()
    return purchase_out(outcome, web, lang_of(request))


@router.post(
    "/rooms/{room_id}/pending/{pending_id}/discard", response_model=PendingOut, responses={409: {"model": ErrorOut}}
)
def discard_pending(
    room_id: str, pending_id: str, room: Room, web: Web, x_guest_token: GuestTokenHeader = None
) -> PendingOut:
    """Discard a pending request: it is cancelled and never charged."""
    guest = require_guest_in_room(web, x_guest_token, room_id)
    return pending_out(web.payments.discard_pending(pending_id, guest_id=guest.guest_id, actor=room.actor))
