"""After payment: refunds and voids (manager only), the "to deliver" board (JSON, server-sent events,
page, printable ticket) and the guest's receipt (page and thermal printer)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from soberpay.domain.delivery import Delivery, DeliveryState
from soberpay.ports import PrintLine
from soberpay.services.payments import RefundResult
from soberpay.services.payments.receipts import Receipt, build_receipt, receipt_lines, ticket_lines
from soberpay.venue_time import local_time
from soberpay.web.deps import Manager, Staff, Web
from soberpay.web.i18n import gettext_for, lang_of
from soberpay.web.routes._util import IdempotencyKeyHeader, guest_name, idempotency_key, item_names
from soberpay.web.routes.health import REQUIRE_READY
from soberpay.web.routes.pages import render, staff_or_redirect
from soberpay.web.schemas import DeliveryMoveIn, DeliveryOut, ErrorOut, PrintOut, RefundIn, RefundOut, VoidIn

router = APIRouter(
    tags=["orders"],
    responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}, 404: {"model": ErrorOut}},
)
MONEY: dict[int | str, dict[str, Any]] = {400: {"model": ErrorOut}, 409: {"model": ErrorOut}, 503: {"model": ErrorOut}}


def _refund_out(r: RefundResult) -> RefundOut:
    return RefundOut(**r.__dict__)


# --- refunds and voids --------------------------------------------------------------------------


@router.post(
    "/api/staff/orders/{order_id}/refund", response_model=RefundOut, responses=MONEY, dependencies=REQUIRE_READY
)
def refund(
    order_id: str, body: RefundIn, staff: Manager, web: Web, idempotency_header: IdempotencyKeyHeader = None
) -> RefundOut:
    """Refund part (``amount_fen``) or all that is left of a charged order to the guest's balance (manager
    only; a reason is required; idempotent by key). A reversing ledger posting, never an edit."""
    key = idempotency_key(idempotency_header, body.idempotency_key)
    r = web.payments.refund(
        order_id, amount_fen=body.amount_fen, reason=body.reason, actor=staff.actor, idempotency_key=key
    )
    return _refund_out(r)


@router.post("/api/staff/orders/{order_id}/void", response_model=RefundOut, responses=MONEY, dependencies=REQUIRE_READY)
def void(
    order_id: str, body: VoidIn, staff: Manager, web: Web, idempotency_header: IdempotencyKeyHeader = None
) -> RefundOut:
    """Void an order not yet delivered: refund all that is left and cancel its delivery (manager only;
    409 once it is delivered — refund it instead)."""
    key = idempotency_key(idempotency_header, body.idempotency_key)
    return _refund_out(web.payments.void(order_id, reason=body.reason, actor=staff.actor, idempotency_key=key))


# --- the "to deliver" board ---------------------------------------------------------------------


def _delivery_out(d: Delivery, web: Web, names: dict[str, str]) -> DeliveryOut:
    zone = web.container.settings.venue.zone
    return DeliveryOut(
        order_id=d.order_id,
        guest_id=d.guest_id,
        guest_name=guest_name(web, d.guest_id),
        room_id=d.room_id,
        item_id=d.sku,
        item_name=names.get(d.sku, d.name),
        quantity=d.quantity,
        state=d.state.value,
        created_at=local_time(d.created_at, zone),
        updated_at=local_time(d.updated_at, zone),
        updated_by=d.updated_by,
    )


def _board(web: Web, lang: str) -> list[DeliveryOut]:
    names = item_names(web, lang)
    return [_delivery_out(d, web, names) for d in web.payments.deliveries()]


@router.get("/api/staff/deliveries", response_model=list[DeliveryOut])
def deliveries(staff: Staff, web: Web, request: Request) -> list[DeliveryOut]:
    """Paid items to carry to the rooms: open ones (new, preparing), then those finished in the last two
    hours; oldest first (the page groups them by room)."""
    return _board(web, lang_of(request))


@router.post("/api/staff/deliveries/{order_id}/state", response_model=DeliveryOut, responses={409: {"model": ErrorOut}})
def move_delivery(order_id: str, body: DeliveryMoveIn, staff: Staff, web: Web, request: Request) -> DeliveryOut:
    """Move a delivery to ``preparing`` or ``delivered`` (any staff; audited). Cancelling is a void."""
    d = web.payments.move_delivery(order_id, DeliveryState(body.state), actor=staff.actor)
    return _delivery_out(d, web, item_names(web, lang_of(request)))


@router.get("/api/staff/deliveries/stream", response_class=StreamingResponse)
async def deliveries_stream(
    request: Request, staff: Staff, web: Web, max_seconds: Annotated[float, Query(ge=0, le=3600)] = 600
) -> StreamingResponse:
    """Server-sent events: a ``board`` event with the whole board whenever it changes (checked each second)."""
    lang = lang_of(request)

    async def events() -> Any:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max_seconds
        last = ""
        yield "retry: 2000\n\n"
        while True:
            board = await run_in_threadpool(_board, web, lang)
            data = "[" + ",".join(d.model_dump_json() for d in board) + "]"
            if data != last:
                last = data
                yield f"event: board\ndata: {data}\n\n"
            signed_out = web.auth.session_staff(staff.session) is None
            if loop.time() >= deadline or await request.is_disconnected() or signed_out:
                return
            await asyncio.sleep(1.0)

    return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})


def _print(web: Web, lines: list[PrintLine], lang: str) -> PrintOut:
    if web.printer is None:
        return PrintOut(printed=False, error="no printer configured (printer.url)")
    error = web.printer.print_lines(lines, lang)
    return PrintOut(printed=error is None, error=error or "")


def _ticket(web: Web, order_id: str, lang: str) -> tuple[Delivery, list[PrintLine]]:
    d = web.payments.delivery(order_id)
    name = item_names(web, lang).get(d.sku, d.name)
    at = local_time(d.created_at, web.container.settings.venue.zone)
    width = web.container.settings.printer.width
    return d, ticket_lines(d, name, at, guest_name(web, d.guest_id), gettext_for(lang), width)


@router.post("/api/staff/deliveries/{order_id}/print", response_model=PrintOut)
def print_ticket(order_id: str, staff: Staff, web: Web, request: Request) -> PrintOut:
    """Print the delivery's ticket on the thermal printer (best-effort: ``printed`` false with the error)."""
    lang = lang_of(request)
    return _print(web, _ticket(web, order_id, lang)[1], lang)


# --- receipts -----------------------------------------------------------------------------------


def _receipt(web: Web, guest_id: str, lang: str) -> Receipt:
    bill = web.payments.receipt_bill(guest_id)  # the open visit, else a reprint of the last one
    at = local_time(bill.closed_at or web.container.clock.now(), web.container.settings.venue.zone)
    return build_receipt(
        bill.visit_id or "",
        bill.lines,
        bill.balance_fen,
        web.payments.venue_name(),
        at,
        guest_name(web, guest_id),
        item_names(web, lang),
    )


@router.post("/api/staff/guests/{guest_id}/receipt/print", response_model=PrintOut)
def print_receipt(guest_id: str, staff: Staff, web: Web, request: Request) -> PrintOut:
    """Print the guest's itemised receipt: the open visit, else the last closed one (best-effort, as tickets)."""
    lang = lang_of(request)
    r = _receipt(web, guest_id, lang)
    return _print(web, receipt_lines(r, gettext_for(lang), web.container.settings.printer.width), lang)


# --- pages --------------------------------------------------------------------------------------


@router.get("/staff/deliveries", response_class=HTMLResponse, include_in_schema=False)
def board_page(request: Request, web: Web) -> Response:
    staff = staff_or_redirect(request, web)
    if isinstance(staff, RedirectResponse):
        return staff
    return render(request, web, "deliveries.html", staff=staff, csrf=staff.csrf, printer=web.printer is not None)


@router.get("/staff/deliveries/{order_id}/ticket", response_class=HTMLResponse, include_in_schema=False)
def ticket_page(order_id: str, request: Request, web: Web) -> Response:
    staff = staff_or_redirect(request, web)
    if isinstance(staff, RedirectResponse):
        return staff
    d, lines = _ticket(web, order_id, lang_of(request))
    return render(request, web, "ticket.html", staff=staff, csrf=staff.csrf, delivery=d, lines=lines)


@router.get("/staff/guests/{guest_id}/receipt", response_class=HTMLResponse, include_in_schema=False)
def receipt_page(guest_id: str, request: Request, web: Web) -> Response:
    staff = staff_or_redirect(request, web)
    if isinstance(staff, RedirectResponse):
        return staff
    r = _receipt(web, guest_id, lang_of(request))
    return render(
        request,
        web,
        "receipt.html",
        staff=staff,
        csrf=staff.csrf,
        receipt=r,
        guest_id=guest_id,
        printer=web.printer is not None,
        status_code=status.HTTP_200_OK,
    )
