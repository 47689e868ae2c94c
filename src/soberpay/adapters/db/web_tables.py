"""Web tables: staff accounts, rooms, room device tokens and the shared rate-limit counters.

Secrets are never stored in clear: staff passwords are argon2id hashes, device tokens are stored as
SHA-256 digests (a token is a 256-bit random value, so a fast hash is enough) and shown once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from soberpay.adapters.db.base import Base, UTCDateTime


class StaffAccountRow(Base):
    __tablename__ = "staff_accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    role: Mapped[str] = mapped_column(String(16), nullable=False)  # "cashier" | "manager"
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    disabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)


class RoomRow(Base):
    __tablename__ = "rooms"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # short slug, e.g. "r101"
    name: Mapped[str] = mapped_column(String(64), nullable=False)  # English (or the only) name
    name_zh: Mapped[str] = mapped_column(String(64), nullable=False, default="", server_default="")
    camera_source: Mapped[str | None] = mapped_column(String(512))  # file path, device index or RTSP URL
    # optional thermal (long-wave IR) camera of the room, same forms; None: the room has none
    thermal_camera_source: Mapped[str | None] = mapped_column(String(512))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class DeviceTokenRow(Base):
    __tablename__ = "room_device_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    room_id: Mapped[str] = mapped_column(ForeignKey("rooms.id"), nullable=False, index=True)
    token_sha256: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    label: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RateLimitRow(Base):
    """Hits per fixed one-minute window, shared by every web process (see ``web.auth.RateLimits``)."""

    __tablename__ = "rate_limits"

    bucket: Mapped[str] = mapped_column(String(16), primary_key=True)
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    window: Mapped[int] = mapped_column(BigInteger, primary_key=True)  # epoch minute
    hits: Mapped[int] = mapped_column(Integer, nullable=False)


class StaffSessionRow(Base):
    """A staff sign-in. The cookie carries a random token; only its SHA-256 digest is stored, so the table
    cannot be replayed. A session is valid until it expires or is revoked (logout, or a manager)."""

    __tablename__ = "staff_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_sha256: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_accounts.id"), nullable=False, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    client: Mapped[str] = mapped_column(String(64), nullable=False, default="")  # IP address at sign-in
