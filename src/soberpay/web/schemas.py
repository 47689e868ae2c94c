"""Request and response bodies of the HTTP API (pydantic; they document the OpenAPI schema)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field


def _json_integer(value: object) -> object:
    # Lax parsing would read JSON ``true`` as 1 fen and "100" as 100; 100.0 is a JSON Schema integer, so it stays.
    if isinstance(value, bool | str):
        raise ValueError("must be a JSON integer number of fen")
    return value


Fen = Annotated[int, BeforeValidator(_json_integer)]
"""A request's amount of money: a JSON integer of fen, nothing that merely converts to one."""

KEY_PATTERN = r"^[ -~]+$"  # printable ASCII
IdempotencyKeyIn = Annotated[
    str | None, Field(min_length=8, max_length=128, pattern=KEY_PATTERN, description="or the Idempotency-Key header")
]
"""A JSON body's idempotency key (the header, ``IdempotencyKeyHeader``, is the other place for it)."""


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorOut(BaseModel):
    error: str
    message: str


class LoginIn(_In):
    username: str = Field(max_length=64)
    password: str = Field(max_length=256)


class StaffOut(BaseModel):
    username: str
    role: str
    csrf_token: str


class SessionOut(BaseModel):
    id: int
    username: str
    created_at: datetime
    expires_at: datetime
    client: str = Field(description="IP address at sign-in")
    current: bool = Field(description="this is the caller's own session")


# Patterns state what the server checks (it also strips spaces and lower-cases ids).
NOT_BLANK = r"\S"
USERNAME = r"^\s*[A-Za-z0-9._-]{3,64}\s*$"
ROOM_ID = r"^\s*[A-Za-z0-9_-]{1,32}\s*$"
PHONE = r"^[\s()-]*(\+86|0086)?([\s()-]*[0-9]){11}[\s()-]*$"
NATIONAL_ID = r"^\s*[0-9]{17}[0-9Xx]\s*$"  # plus a valid birth date and the MOD 11-2 check digit
PAYMENT_PASSWORD = r"^[0-9]{6}$"


class StaffCreateIn(_In):
    username: str = Field(max_length=64, pattern=USERNAME)
    password: str = Field(min_length=8, max_length=256)
    role: Literal["cashier", "manager"]


class RegisterIn(_In):
    name: str = Field(min_length=1, max_length=64, pattern=NOT_BLANK)
    phone: str = Field(max_length=20, pattern=PHONE, description="11-digit mainland mobile number (1[3-9]…)")
    national_id: str = Field(max_length=18, pattern=NATIONAL_ID)
    password: str = Field(max_length=6, pattern=PAYMENT_PASSWORD, description="6-digit payment password")
    sex: Literal["M", "F", ""] | None = None
    weight_kg: float | None = Field(None, ge=25, le=300)
    consents: list[Literal["face_payment", "sobriety_monitoring", "behaviour_profiling"]] = Field(
        default_factory=list, max_length=3
    )
    consent_version: str | None = Field(
        None, max_length=32, description="version of the consent texts shown (default: the current one)"
    )
    consent_language: Literal["zh", "en"] | None = Field(
        None, description="language of the consent texts shown (default: the request's language)"
    )


class ConsentIn(_In):
    purpose: Literal["face_payment", "sobriety_monitoring", "behaviour_profiling"]
    consent_version: str | None = Field(
        None, max_length=32, description="version of the consent text shown (default: the current one)"
    )
    consent_language: Literal["zh", "en"] | None = Field(
        None, description="language of the consent text shown (default: the request's language)"
    )


class ConsentOut(BaseModel):
    purpose: str
    granted_at: datetime
    text_version: str
    language: str
    revoked_at: datetime | None = None


class GuestOut(BaseModel):
    guest_id: str
    name: str
    phone_masked: str
    national_id_masked: str
    consents: list[ConsentOut]
    templates: int


class RegisteredOut(GuestOut):
    guest_token: str


class SelfServiceOut(GuestOut):
    """The guest's record for self-service at the kiosk; the token only reads this record (every change
    still needs the payment password and a live face)."""

    guest_token: str


class EnrolOut(BaseModel):
    guest_id: str
    templates_stored: int
    qualities: list[float]
    rejected: dict[str, int]


class QualityOut(BaseModel):
    ok: bool
    reason: str
    message: str
    sharpness: float | None = None
    face_px: float | None = None
    brightness: float | None = None


class IdentifyPhoneIn(_In):
    phone: str = Field(max_length=20)
    password: str = Field(max_length=6)


class IdentifiedOut(BaseModel):
    guest_id: str
    name: str
    guest_token: str
    risk_state: str
    high_price_locked: bool
    explanation: str
    similarity: float | None = None
    balance_fen: int = 0  # shown in the confirmation step ("… ¥959.00 left")
    notice: str = ""  # guest-safe notice key (room.notice.*), never a staff note


class PurchaseOut(BaseModel):
    outcome: str
    rule: str
    explanation: str
    item_id: str
    quantity: int
    amount_fen: int
    risk_state: str
    charged_fen: int = 0
    balance_fen: int = 0
    requires: list[str] = Field(default_factory=list)
    order_id: str | None = None
    pending_id: str | None = None
    replayed: bool = False
    message_key: str | None = None  # room responses: the guest-safe message (``explanation`` is its English)


class PendingOut(BaseModel):
    id: str
    guest_id: str
    item_id: str
    item_name: str
    quantity: int
    amount_fen: int
    reason: str
    created_at: datetime
    status: str
    room_id: str | None = None


class RoomRiskOut(BaseModel):
    """The identified guest's state as the room screen shows it: no reason, no staff note, no signals."""

    state: str
    high_price_locked: bool
    notice: str  # room.notice.locked or ""
    pending_count: int = 0
    balance_fen: int = 0


class RoomPendingOut(BaseModel):
    """A held request as the guest sees it (without the reason it was held)."""

    id: str
    item_id: str
    item_name: str
    quantity: int
    amount_fen: int
    created_at: datetime
    status: str


class PresenceOut(BaseModel):
    guest_id: str
    name: str
    state: str
    reason: str  # staff only
    high_price_locked: bool
    balance_fen: int
    since: datetime
    source: str


class RoomOverviewOut(BaseModel):
    """One room of the staff dashboard: who is in it, their state, held items and open alerts."""

    room_id: str | None  # None: guests, holds and alerts not tied to a room
    name: str
    live: dict[str, object] | None = None
    guests: list[PresenceOut]
    held: list[PendingOut]
    alerts: list[AlertOut]


class CheckInIn(_In):
    room_id: str = Field(min_length=1, max_length=32)


class PairingOut(BaseModel):
    room_id: str
    token_id: int
    token: str  # the fallback: type it on the pairing page
    url: str  # what the QR code opens (the token is in the fragment, never sent in a request line)
    qr_svg: str


class RiskOut(BaseModel):
    guest_id: str
    state: str
    level: str
    reason: str
    explanation: str
    signals: list[str]
    high_price_locked: bool
    pending_count: int = 0


class OverrideIn(_In):
    action: Literal["tag", "untag", "unlock"]
    reason: str = Field(min_length=3, max_length=500)


class AlertOut(BaseModel):
    id: int
    at: datetime
    kind: str
    message: str
    guest_id: str | None = None
    room_id: str | None = None
    acknowledged: bool = False


class MenuItemOut(BaseModel):
    id: str
    name: str
    name_zh: str
    category: str
    price_fen: int
    high_price: bool


class BillLineOut(BaseModel):
    at: datetime
    item_id: str
    item_name: str
    quantity: int
    amount_fen: int
    order_id: str = ""
    refunded_fen: int = 0


class BillOut(BaseModel):
    guest_id: str
    visit_id: str | None
    lines: list[BillLineOut]
    total_fen: int
    closed: bool
    balance_fen: int
    discarded: list[str] = Field(default_factory=list)
    refunds_fen: int = 0


class TopupIn(_In):
    amount_fen: Fen = Field(ge=1, le=10_000_000)
    idempotency_key: IdempotencyKeyIn = None


class AuditOut(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    guest_id: str | None
    details: str


class RoomIn(_In):
    room_id: str = Field(max_length=32, pattern=ROOM_ID)
    name: str = Field(min_length=1, max_length=64, pattern=NOT_BLANK)
    camera_source: str | None = Field(None, max_length=512)
    thermal_camera_source: str | None = Field(
        None, max_length=512, description="optional thermal camera (file path, device index, RTSP URL)"
    )


class RoomOut(BaseModel):
    room_id: str
    name: str
    camera_source: str | None = None
    thermal_camera_source: str | None = None
    live: dict[str, object] | None = None


class RoomStateOut(BaseModel):
    room_id: str
    name: str
    running: bool
    fps: float
    lag_s: float
    dropped: int
    faces: int
    present_count: int
    present: list[str] | None = None  # guest ids: staff only


class DeviceTokenOut(BaseModel):
    token_id: int
    room_id: str
    token: str


class TimelineOut(BaseModel):
    guest_id: str
    risk: RiskOut
    events: list[AuditOut]
    sobriety: list[dict[str, object]]


# --- refunds, voids, deliveries, printing (web/routes/orders.py) -------------------------------------


class RefundIn(_In):
    amount_fen: Fen | None = Field(None, ge=1, le=10_000_000, description="omit: refund all that is left")
    reason: str = Field(min_length=1, max_length=500)
    idempotency_key: IdempotencyKeyIn = None


class VoidIn(_In):
    reason: str = Field(min_length=1, max_length=500)
    idempotency_key: IdempotencyKeyIn = None


class RefundOut(BaseModel):
    order_id: str
    amount_fen: int
    refunded_fen: int
    balance_fen: int
    posting_id: str
    voided: bool
    replayed: bool


class DeliveryOut(BaseModel):
    order_id: str
    guest_id: str
    guest_name: str
    room_id: str | None
    item_id: str
    item_name: str
    quantity: int
    state: Literal["new", "preparing", "delivered", "cancelled"]
    created_at: datetime
    updated_at: datetime
    updated_by: str


class DeliveryMoveIn(_In):
    state: Literal["preparing", "delivered"]


class PrintOut(BaseModel):
    printed: bool
    error: str = ""
