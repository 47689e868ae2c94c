"""Small helpers shared by the route modules."""

from __future__ import annotations

from typing import Annotated

from fastapi import Header, UploadFile

from soberpay.errors import BadImage, InvalidInput
from soberpay.services.payments import RiskView
from soberpay.web.i18n import MESSAGES, translate
from soberpay.web.ports import AlertView, PendingView, PurchaseOutcome
from soberpay.web.schemas import AlertOut, PendingOut, PurchaseOut, RiskOut, RoomPendingOut, RoomRiskOut


async def read_upload(upload: UploadFile, max_bytes: int) -> bytes:
    data = await upload.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise BadImage("upload too large", max_bytes=max_bytes)
    if not data:
        raise BadImage("empty upload")
    return data


def mask_phone(phone: str) -> str:
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 7 else "***"


def high_price_locked(r: RiskView) -> bool:
    """High-price items are locked in every state but normal (tagged, recovering)."""
    return r.state != "normal"


def risk_out(r: RiskView) -> RiskOut:
    return RiskOut(
        guest_id=r.guest_id,
        state=r.state,
        level=r.level,
        reason=r.tag_reason,
        explanation=r.explanation,
        signals=list(r.signals),
        high_price_locked=high_price_locked(r),
        pending_count=len(r.pending),
    )


def pending_out(p: PendingView) -> PendingOut:
    return PendingOut(
        id=p.id,
        guest_id=p.guest_id,
        item_id=p.item_id,
        item_name=p.item_name,
        quantity=p.quantity,
        amount_fen=p.amount_fen,
        reason=p.reason,
        created_at=p.created_at,
        status=p.status,
        room_id=p.room_id,
    )


# --- what the room screen may show: guest-safe, never a staff note or a tag reason ------------------


def room_notice(r: RiskView) -> str:
    return "room.notice.locked" if high_price_locked(r) else ""


def room_risk_out(r: RiskView, balance_fen: int) -> RoomRiskOut:
    return RoomRiskOut(
        state=r.state,
        high_price_locked=high_price_locked(r),
        notice=room_notice(r),
        pending_count=len(r.pending),
        balance_fen=balance_fen,
    )


def room_pending_out(p: PendingView) -> RoomPendingOut:
    return RoomPendingOut(
        id=p.id,
        item_id=p.item_id,
        item_name=p.item_name,
        quantity=p.quantity,
        amount_fen=p.amount_fen,
        created_at=p.created_at,
        status=p.status,
    )


def room_purchase_out(o: PurchaseOutcome, confirming: bool = False) -> PurchaseOut:
    """The outcome with its explanation replaced by a neutral message (the domain's explanation names the
    tag reason, which is for staff pages only)."""
    key = f"room.msg.{o.outcome}"
    if o.outcome == "refused" and "balance" in o.rule:
        key = "room.msg.no_balance"
    elif o.outcome == "charged" and confirming:
        key = "room.msg.confirmed"
    elif key not in MESSAGES:
        key = "room.msg.refused"
    return PurchaseOut(
        **{**o.__dict__, "requires": list(o.requires), "explanation": translate(key, "en"), "message_key": key}
    )


def purchase_out(o: PurchaseOutcome) -> PurchaseOut:
    return PurchaseOut(**{**o.__dict__, "requires": list(o.requires)})


def alert_out(a: AlertView) -> AlertOut:
    return AlertOut(
        id=a.id,
        at=a.at,
        kind=a.kind,
        message=a.message,
        guest_id=a.guest_id,
        room_id=a.room_id,
        acknowledged=a.acknowledged,
    )


KEY_PATTERN = r"^[ -~]+$"  # printable ASCII
IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=8,
        max_length=128,
        pattern=KEY_PATTERN,
        description="the standard header; same key = same result (kept at least 24 h). "
        "Or send the idempotency_key field; both given and different is a 400.",
    ),
]


def idempotency_key(header: str | None, field: str | None) -> str:
    """The request's idempotency key, from the ``Idempotency-Key`` header or the body field."""
    if header is not None and field is not None and header != field:
        raise InvalidInput("the Idempotency-Key header and the idempotency_key field differ", field="idempotency_key")
    key = header if header is not None else field
    if key is None:
        raise InvalidInput("send an Idempotency-Key header or an idempotency_key field", field="idempotency_key")
    if not key.isascii() or not key.isprintable():
        raise InvalidInput("idempotency key must be printable ASCII", field="idempotency_key")
    return key
