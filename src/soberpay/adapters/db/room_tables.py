"""Room status heartbeat (one row per room, rewritten every few seconds by the process running its camera)
and guest presence (which room each guest is in).

The status is a small JSON document (fps, lag, counters, present guest ids) so the dashboard's fields
can grow without a migration; ``updated_at`` tells a live rooms process from a stopped one.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from soberpay.adapters.db.base import Base, UTCDateTime


class RoomStatusRow(Base):
    __tablename__ = "room_status"

    room_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    status_json: Mapped[str] = mapped_column(Text, nullable=False)


class RoomPresenceRow(Base):
    """Where a guest is right now: one row per present guest (checked in at the counter or identified at
    a room tablet). Purchases, pending requests, alerts and audit rows copy the room from here when written."""

    __tablename__ = "room_presence"

    guest_id: Mapped[str] = mapped_column(ForeignKey("guests.id"), primary_key=True)
    room_id: Mapped[str] = mapped_column(String(32), nullable=False, index=True)
    since: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    source: Mapped[str] = mapped_column(String(16), nullable=False)  # counter / tablet
