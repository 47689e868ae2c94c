"""Liveness API: issue an active challenge; pay by face from a short clip (passive + active PAD).

``POST /api/liveness/challenge`` (a room device) → the actions to perform, in order, and the expiry.
``POST /api/rooms/{room_id}/identify/clip`` takes 1–3 s of camera frames — several JPEG ``frames``
files (a burst) or one ``video`` — and the ``challenge_id`` shown to the guest (optional: without
one only the passive layer runs). The clip is decoded in memory, bounded in frames and bytes; the
same frames feed liveness and identification. Decoding, liveness and identification run on the bounded
model pool (``web.model_workers`` at once; past the queue 503 ``busy``).
"""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from pydantic import BaseModel

from soberpay.domain.liveness import PadPurpose
from soberpay.errors import AuthError, BadImage, InvalidInput, Unauthenticated
from soberpay.ports import ImageBGR
from soberpay.web.auth import SELF_SERVICE_SCOPE
from soberpay.web.deps import GuestTokenHeader, MaybeRoom, Room, Web, guest_from_token
from soberpay.web.i18n import lang_of
from soberpay.web.schemas import ErrorOut, IdentifiedOut

router = APIRouter(
    prefix="/api",
    tags=["liveness"],
    responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}, 429: {"model": ErrorOut}},
)


class ChallengeOut(BaseModel):
    challenge_id: str
    actions: list[str]  # blink | turn_left | turn_right | smile, in the order to perform them
    expires_at: str


@router.post("/liveness/challenge", response_model=ChallengeOut)
def new_challenge(room: MaybeRoom, web: Web, x_guest_token: GuestTokenHeader = None) -> ChallengeOut:
    """A randomised, time-limited, single-use liveness challenge for a room device, or for the kiosk's
    self-service (``kiosk:self`` guest token), to show."""
    guest = guest_from_token(web, x_guest_token)
    if room is not None:
        web.limits.check("identify", "room:" + room.room_id)
    elif guest is not None and guest.scope == SELF_SERVICE_SCOPE:
        web.limits.check("identify", "guest:" + guest.guest_id)
    else:
        raise Unauthenticated("room device token or a self-service guest token required")
    c = web.container.liveness.issue()
    return ChallengeOut(challenge_id=c.id, actions=[a.value for a in c.actions], expires_at=c.expires_at.isoformat())


async def face_from_clip(
    web: Web, guest_id: str, item_id: str, frames: list[UploadFile], challenge_id: str | None
) -> bytes:
    """The face factor of a purchase from a frame burst: passive always, active when the venue policy asks
    (tagged guest, high-price item). Returns the middle frame's bytes for the 1:1 verification."""
    item = next((m for m in web.payments.menu() if m.id == item_id), None)
    tagged = web.payments.risk(guest_id).state != "normal"
    _, active = web.container.liveness.required(
        PadPurpose.PURCHASE, tagged=tagged, high_price=bool(item and item.high_price)
    )
    if active and not challenge_id:
        raise AuthError("this purchase needs a liveness challenge: get one from /api/liveness/challenge")
    encoded = await _read_burst(web, frames)
    clip = await web.models.run(_decode_burst, web, encoded)
    presence = await web.models.run(web.container.liveness.check, clip, challenge_id or None)
    if not presence.live:
        raise AuthError("liveness check failed: " + ", ".join(presence.reasons), reasons=list(presence.reasons))
    return encoded[len(encoded) // 2]


def _decode_burst(web: Web, encoded: list[bytes]) -> list[ImageBGR]:
    """All frames of a burst in one model-pool call (one thread hop, not one per frame)."""
    return [web.container.decode_image(d) for d in encoded]


async def _read_burst(web: Web, frames: list[UploadFile]) -> list[bytes]:
    live = web.container.settings.liveness
    if len(frames) > live.clip_max_frames:
        raise InvalidInput(f"too many frames: at most {live.clip_max_frames}", max_frames=live.clip_max_frames)
    encoded, total = [], 0
    for f in frames:
        data = await f.read(live.clip_max_bytes - total + 1)
        total += len(data)
        if total > live.clip_max_bytes:
            raise BadImage("clip too large", max_bytes=live.clip_max_bytes)
        encoded.append(data)
    return encoded


async def _clip_frames(web: Web, frames: list[UploadFile] | None, video: UploadFile | None) -> list[ImageBGR]:
    live = web.container.settings.liveness
    if bool(frames) == (video is not None):
        raise InvalidInput("send either several 'frames' images or one 'video'")
    if video is not None:
        data = await video.read(live.clip_max_bytes + 1)
        if len(data) > live.clip_max_bytes:
            raise BadImage("clip too large", max_bytes=live.clip_max_bytes)
        return list(await web.models.run(web.container.decode_clip, data))
    assert frames is not None
    return await web.models.run(_decode_burst, web, await _read_burst(web, frames))


@router.post(
    "/rooms/{room_id}/identify/clip",
    response_model=IdentifiedOut,
    responses={400: {"model": ErrorOut}, 422: {"model": ErrorOut}},
)
async def identify_clip(
    room_id: str,
    room: Room,
    web: Web,
    request: Request,
    frames: Annotated[list[UploadFile] | None, File(description="a burst of JPEG camera frames, in order")] = None,
    video: Annotated[UploadFile | None, File(description="or: one short video (1-3 s)")] = None,
    challenge_id: Annotated[str | None, Form(max_length=64)] = None,
    phone_last4: Annotated[
        str | None, Form(min_length=4, max_length=4, description="last 4 phone digits, when the answer asked for them")
    ] = None,
) -> IdentifiedOut:
    """Pay by face from a clip: liveness first (a photo or a screen is refused), then 1:N identification
    fused over the best frames. A refusal with ``ask_phone_last4`` asks for the last 4 phone digits:
    send a new clip with them (docs/scaling.md)."""
    from soberpay.web.routes.purchases import check_identify_limits, face_refused, identified  # it imports us

    check_identify_limits(web, room_id, phone_last4)
    clip = await _clip_frames(web, frames, video)
    started = time.perf_counter()
    presence = await web.models.run(web.container.liveness.check, clip, challenge_id or None)
    web.metrics.model_seconds.labels("liveness").observe(time.perf_counter() - started)
    if not presence.live:
        web.metrics.identifications.labels("not_live").inc()
        raise AuthError("liveness check failed: " + ", ".join(presence.reasons), reasons=list(presence.reasons))
    started = time.perf_counter()
    decision = await web.models.run(
        web.container.identity.identify_frames, clip, web.container.settings.liveness.fuse_top_frames, phone_last4
    )
    web.metrics.model_seconds.labels("identify").observe(time.perf_counter() - started)
    web.metrics.identifications.labels(decision.status.value).inc()
    if not decision.accepted or decision.guest_id is None:
        raise face_refused(decision, phone_last4)
    return identified(web, room, lang_of(request), decision.guest_id, decision.explanation, round(decision.score, 3))
