"""Request and response bodies of the HTTP API (pydantic; they document the OpenAPI schema)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


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


class StaffCreateIn(_In):
    username: str = Field(max_length=64)
    password: str = Field(max_length=256)
    role: Literal["cashier", "manager"]


class RegisterIn(_In):
    name: str = Field(max_length=64)
    phone: str = Field(max_length=20)
    national_id: str = Field(max_length=18)
    password: str = Field(max_length=6, description="6-digit payment password")
    sex: Literal["M", "F", ""] | None = None
    weight_kg: float | None = Field(None, ge=25, le=300)
    consents: list[Literal["face_payment", "sobriety_monitoring"]] = Field(default_factory=list, max_length=2)
    consent_version: str | None = Field(
        None, max_length=32, description="version of the consent texts shown (default: the current one)"
    )
    consent_language: Literal["zh", "en"] | None = Field(
        None, description="language of the consent texts shown (default: the request's language)"
    )


class ConsentIn(_In):
    purpose: Literal["face_payment", "sobriety_monitoring"]
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


class BillOut(BaseModel):
    guest_id: str
    visit_id: str | None
    lines: list[BillLineOut]
    total_fen: int
    closed: bool
    balance_fen: int
    discarded: list[str] = Field(default_factory=list)


class TopupIn(_In):
    amount_fen: int = Field(ge=1, le=10_000_000)
    idempotency_key: str = Field(min_length=8, max_length=128)


class AuditOut(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    guest_id: str | None
    details: str


class RoomIn(_In):
    room_id: str = Field(max_length=32)
    name: str = Field(max_length=64)
    camera_source: str | None = Field(None, max_length=512)


class RoomOut(BaseModel):
    room_id: str
    name: str
    camera_source: str | None = None
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
