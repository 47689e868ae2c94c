"""SQL store of the latest thermal face-state report per guest (implements the sobriety service's
``ThermalLog`` port). One row per guest, overwritten: the channel is live evidence, not a history."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from soberpay.adapters.db.sobriety_tables import ThermalFaceStateRow
from soberpay.domain.thermal import ThermalFaceState


class SqlThermalLog:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def record(self, guest_id: str, at: datetime, report: ThermalFaceState, room_id: str | None) -> None:
        text = json.dumps(report.to_dict(), sort_keys=True)
        with self._sessions.begin() as s:
            row = s.get(ThermalFaceStateRow, guest_id)
            if row is None:
                s.add(ThermalFaceStateRow(guest_id=guest_id, at=at, room_id=room_id, report_json=text))
            else:
                row.at, row.room_id, row.report_json = at, room_id, text

    def latest(self, guest_id: str) -> tuple[datetime, ThermalFaceState] | None:
        with self._sessions() as s:
            row = s.get(ThermalFaceStateRow, guest_id)
            if row is None:
                return None
            return row.at, ThermalFaceState.from_dict(json.loads(row.report_json))


__all__ = ["SqlThermalLog"]
