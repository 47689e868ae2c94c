"""Room status over the database: the heartbeat a rooms process writes and every HTTP worker reads,
the staff alert of a stalled camera, and the list of rooms that have a camera
(``soberpay.rooms.events`` explains the design)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, select, update
from sqlalchemy.orm import Session, sessionmaker

from soberpay.adapters.db.payment_tables import NotificationRow
from soberpay.adapters.db.room_tables import RoomStatusRow
from soberpay.adapters.db.web_tables import RoomRow
from soberpay.rooms.events import STALE_AFTER_S, RoomStatus


class SqlRoomStatus:
    """``StatusStore`` for a rooms process and ``RoomStatusSource`` for the web."""

    def __init__(
        self, session_factory: sessionmaker[Session], now: Callable[[], datetime], stale_after_s: float = STALE_AFTER_S
    ) -> None:
        self._sessions = session_factory
        self._now = now
        self._stale_after = timedelta(seconds=stale_after_s)

    def save(self, statuses: Sequence[RoomStatus], at: datetime) -> None:
        with self._sessions.begin() as session:
            for status in statuses:
                doc = json.dumps(status.as_dict(), separators=(",", ":"))
                row = session.get(RoomStatusRow, status.room_id)
                if row is None:
                    session.add(RoomStatusRow(room_id=status.room_id, updated_at=at, status_json=doc))
                else:
                    row.updated_at, row.status_json = at, doc

    def statuses(self) -> dict[str, RoomStatus]:
        with self._sessions() as session:
            rows = list(session.scalars(select(RoomStatusRow)))
        now = self._now()
        out: dict[str, RoomStatus] = {}
        for row in rows:
            status = RoomStatus.from_dict(json.loads(row.status_json))
            if status.running and now - row.updated_at > self._stale_after:
                # The rooms process stopped without saying so (killed, host down): say what we know.
                seen = row.updated_at.isoformat(timespec="seconds")
                status = replace(
                    status, running=False, fps=0.0, state="stopped", last_error=f"no heartbeat since {seen}"
                )
            out[row.room_id] = status
        return out

    def stats(self, room_id: str) -> dict[str, Any] | None:
        status = self.statuses().get(room_id)
        return None if status is None else status.as_dict()


CAMERA_STALLED = "camera_stalled"  # the staff alert kind
RECOVERED_BY = "camera recovered"  # who "acknowledged" an alert that a recovery cleared


def _open_alert(room_id: str) -> ColumnElement[bool]:
    return and_(
        NotificationRow.kind == CAMERA_STALLED,
        NotificationRow.room_id == room_id,
        NotificationRow.acknowledged_at.is_(None),
    )


class SqlCameraAlerts:
    """``CameraAlerts`` as staff notifications: at most one open ``camera_stalled`` alert per room, even
    across restarts of the rooms process; a recovery marks it handled."""

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._sessions = session_factory

    def stalled(self, room_id: str, message: str, at: datetime) -> None:
        with self._sessions.begin() as session:
            if session.scalar(select(NotificationRow.id).where(_open_alert(room_id)).limit(1)) is None:
                row = NotificationRow(at=at, kind=CAMERA_STALLED, guest_id=None, message=message, room_id=room_id)
                session.add(row)

    def recovered(self, room_id: str, at: datetime) -> None:
        with self._sessions.begin() as session:
            session.execute(
                update(NotificationRow)
                .where(_open_alert(room_id))
                .values(acknowledged_at=at, acknowledged_by=RECOVERED_BY)
            )


def camera_rooms(session_factory: sessionmaker[Session]) -> list[tuple[str, str]]:
    """(room id, camera source) of every room with a camera, in id order."""
    with session_factory() as session:
        rows = session.execute(
            select(RoomRow.id, RoomRow.camera_source).where(RoomRow.camera_source.is_not(None)).order_by(RoomRow.id)
        )
        return [(room_id, source) for room_id, source in rows if source]


def thermal_rooms(session_factory: sessionmaker[Session]) -> list[tuple[str, str]]:
    """(room id, thermal camera source) of every room with a thermal camera, in id order."""
    with session_factory() as session:
        rows = session.execute(
            select(RoomRow.id, RoomRow.thermal_camera_source)
            .where(RoomRow.thermal_camera_source.is_not(None))
            .order_by(RoomRow.id)
        )
        return [(room_id, source) for room_id, source in rows if source]


__all__ = ["CAMERA_STALLED", "SqlCameraAlerts", "SqlRoomStatus", "camera_rooms", "thermal_rooms"]
