"""Small helpers shared by the route modules."""

from __future__ import annotations

from typing import Annotated

from fastapi import Header, UploadFile

from soberpay.errors import BadImage, InvalidInput, NotFound
from soberpay.services.payments import RiskView
from soberpay.venue_time import local_time
from soberpay.web.deps import Web
from soberpay.web.i18n import ROOM_MESSAGES, alert_message, purchase_message, room_message
from soberpay.web.ports import AlertView, PendingView, PurchaseOutcome
from soberpay.web.schemas import KEY_PATTERN, AlertOut, PendingOut, PurchaseOut, RiskOut, RoomPendingOut, RoomRiskOut


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


def room_purchase_out(o: PurchaseOutcome, lang: str, confirming: bool = False) -> PurchaseOut:
    """The outcome with its explanation replaced by a neutral message in ``lang`` (the domain's explanation
    names the tag reason, which is for staff pages only)."""
    key = f"room.msg.{o.outcome}"
    if o.outcome == "refused" and "balance" in o.rule:
        key = "room.msg.no_balance"
    elif o.outcome == "charged" and confirming:
        key = "room.msg.confirmed"
    elif key not in ROOM_MESSAGES:
        key = "room.msg.refused"
    return PurchaseOut(
        **{**o.__dict__, "requires": list(o.requires), "explanation": room_message(key, lang), "message_key": key}
    )


def purchase_out(o: PurchaseOutcome, web: Web, lang: str) -> PurchaseOut:
    """The decision for the guest; in a language other than English the explanation is the rule's
    sentence in that language (the English one, also in the audit log, is the service's own text)."""
    explanation = o.explanation
    if lang != "en":
        name = item_names(web, lang).get(o.item_id, o.item_id)
        explanation = purchase_message(
            o.rule, lang, item=name, quantity=o.quantity, amount_fen=o.amount_fen, balance_fen=o.balance_fen
        )
    return PurchaseOut(**{**o.__dict__, "explanation": explanation, "requires": list(o.requires)})


def alert_out(a: AlertView, web: Web, lang: str) -> AlertOut:
    """The alert in ``lang``, its time in the venue's zone."""
    return AlertOut(
        id=a.id,
        at=local_time(a.at, web.container.settings.venue.zone),
        kind=a.kind,
        message=alert_message(a.kind, a.message, guest_name(web, a.guest_id), lang),
        guest_id=a.guest_id,
        room_id=a.room_id,
        acknowledged=a.acknowledged,
    )


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


def item_names(web: Web, lang: str) -> dict[str, str]:
    """Menu item names in ``lang`` by item code (bills store the name at purchase time: the menu's wins)."""
    return {m.id: (m.name_zh or m.name) if lang == "zh" else m.name for m in web.payments.menu()}


def guest_name(web: Web, guest_id: str | None) -> str:
    """The name staff know a guest by (the short id when the guest is unknown or erased)."""
    if guest_id is None:
        return ""
    try:
        return web.container.identity.get(guest_id).name
    except NotFound:
        return guest_id[:8]
