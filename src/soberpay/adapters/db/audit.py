"""Append-only audit log helper (table ``audit_log``). Details must never hold secrets or PII."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from soberpay.adapters.db.identity_tables import AuditRow
from soberpay.adapters.db.room_tables import RoomPresenceRow


def room_of(session: Session, guest_id: str | None) -> str | None:
    """The room the guest is present in (None: not in a room), read in the writer's transaction."""
    if guest_id is None:
        return None
    row = session.get(RoomPresenceRow, guest_id)
    return None if row is None else row.room_id


def append_audit(
    session: Session,
    *,
    at: datetime,
    actor: str,
    action: str,
    guest_id: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """The row's room: the one named in ``details`` (e.g. the tablet that placed an order), else the
    guest's presence."""
    named = (details or {}).get("room_id")
    room = named if isinstance(named, str) else room_of(session, guest_id)
    session.add(
        AuditRow(
            at=at,
            actor=actor,
            action=action,
            guest_id=guest_id,
            details=json.dumps(details or {}, ensure_ascii=False, sort_keys=True, default=str),
            room_id=room,
        )
    )
