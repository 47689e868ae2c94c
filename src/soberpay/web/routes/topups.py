"""Top-up by QR (WeChat Pay, Alipay): the guest's order and its live status, the providers' notification
endpoints, and the kiosk page ``/topup``.

The notification endpoints are public: the provider's signature is the credential. The body is read
under ``topup.notify_max_bytes`` before anything else, verified by the channel's adapter, and only then
settled (see ``services.payments.topup_channels``). Answers are what each provider expects: WeChat Pay
204 (success) or a JSON ``{"code": "FAIL"}`` with an error status; Alipay the plain text ``success``, or
``fail`` (Alipay retries until it reads ``success``).
"""

from __future__ import annotations

from typing import Annotated, Literal

import segno
from fastapi import APIRouter, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, Field

from soberpay.errors import InvalidNotification, SoberpayError
from soberpay.ports import TopupRecord
from soberpay.web.deps import GuestTokenHeader, MaybeStaff, PublicRate, Web, client_ip, require_self_or_staff
from soberpay.web.i18n import error_message, lang_of
from soberpay.web.schemas import ErrorOut, Fen

router = APIRouter(tags=["topups"], responses={400: {"model": ErrorOut}, 401: {"model": ErrorOut}})

Channel = Annotated[str, Path(pattern="^(wechat|alipay)$")]
TopupId = Annotated[str, Path(pattern="^[0-9a-f]{32}$")]


class TopupIn(BaseModel):
    channel: Literal["wechat", "alipay"]
    amount_fen: Fen = Field(gt=0, le=100_000_000)


class TopupOut(BaseModel):
    id: str
    guest_id: str
    channel: str
    amount_fen: int
    state: str  # created / paid / closed / failed
    code_url: str
    qr_svg: str = ""
    balance_fen: int | None = None


class ChannelsOut(BaseModel):
    channels: list[str]


def _out(web: Web, t: TopupRecord, with_qr: bool) -> TopupOut:
    svg = ""
    if with_qr and t.code_url and t.state == "created":
        svg = segno.make(t.code_url, error="m").svg_inline(scale=5, border=2, title=f"{t.channel} QR code")
    balance = web.container.payments.balance(t.guest_id) if t.state == "paid" else None
    return TopupOut(
        id=t.id,
        guest_id=t.guest_id,
        channel=t.channel,
        amount_fen=t.amount_fen,
        state=t.state,
        code_url=t.code_url,
        qr_svg=svg,
        balance_fen=balance,
    )


_GUEST_ERRORS: dict[int | str, dict[str, object]] = {403: {"model": ErrorOut}, 404: {"model": ErrorOut}}


@router.get(
    "/api/topups/channels", response_model=ChannelsOut, dependencies=[PublicRate], responses={429: {"model": ErrorOut}}
)
def channels(web: Web) -> ChannelsOut:
    """The QR top-up channels this venue has configured (none: cash at the counter only)."""
    return ChannelsOut(channels=web.container.topups.channels)


@router.post("/api/guests/{guest_id}/topups", response_model=TopupOut, status_code=201, responses=_GUEST_ERRORS)
def create_topup(
    guest_id: str, body: TopupIn, web: Web, staff: MaybeStaff, x_guest_token: GuestTokenHeader = None
) -> TopupOut:
    """A QR order for the guest's own top-up (guest token) or at the counter (staff): scan and pay, then
    poll ``GET …/topups/{id}`` until ``state`` is ``paid``."""
    actor, _ = require_self_or_staff(web, x_guest_token, staff, guest_id)
    order = web.container.topups.create(guest_id, body.channel, body.amount_fen, actor)
    return _out(web, order, with_qr=True)


@router.get("/api/guests/{guest_id}/topups/{topup_id}", response_model=TopupOut, responses=_GUEST_ERRORS)
def get_topup(
    guest_id: str, topup_id: TopupId, web: Web, staff: MaybeStaff, x_guest_token: GuestTokenHeader = None
) -> TopupOut:
    """One top-up's state (and the new balance once paid). Only the guest it belongs to, or staff."""
    require_self_or_staff(web, x_guest_token, staff, guest_id)
    order = web.container.topups.status(topup_id, guest_id)
    return _out(web, order, with_qr=False)


@router.post("/topups/notify/{channel}", include_in_schema=False)
async def notify(channel: Channel, request: Request, web: Web) -> Response:
    """A provider's asynchronous payment notification (no staff auth: the signature is the credential)."""
    cap = web.container.settings.topup.notify_max_bytes
    declared = request.headers.get("content-length")
    body = b""
    try:
        # Anonymous senders must not grow the audit log without bound: refused before anything is written.
        web.limits.check("notify", f"{channel}:{client_ip(request)}")
        too_large = declared is not None and (not declared.isdigit() or int(declared) > cap)
        if not too_large:
            async for chunk in request.stream():  # bounded: stop reading as soon as the cap is passed
                body += chunk
                if len(body) > cap:
                    too_large = True
                    break
        if too_large:
            await run_in_threadpool(web.container.topups.audit_rejection, None, channel, "too_large", "")
            raise InvalidNotification("notification body too large")
        headers = {k.lower(): v for k, v in request.headers.items()}
        await run_in_threadpool(web.container.topups.notified, channel, headers, body)
    except SoberpayError as exc:
        if channel == "alipay":
            return PlainTextResponse("fail", status_code=exc.http_status)
        message = error_message(exc.code, exc.message, lang_of(request))
        return JSONResponse({"code": "FAIL", "message": message}, status_code=exc.http_status)
    if channel == "alipay":
        return PlainTextResponse("success")
    return Response(status_code=204)


@router.get("/topup", response_class=HTMLResponse, include_in_schema=False, dependencies=[PublicRate])
def topup_page(request: Request, web: Web) -> HTMLResponse:
    """Kiosk page: phone + password, then an amount and a channel → a QR code and the live status."""
    from soberpay.web.routes.pages import render

    return render(request, web, "topup.html", channels=web.container.topups.channels)
