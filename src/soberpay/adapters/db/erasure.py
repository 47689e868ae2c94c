"""Derived personal data outside the identity tables, deleted when a guest erases themselves or
revokes sobriety-monitoring consent. Runs inside the identity service's transaction, so erasure is
all-or-nothing. Ledger postings and the audit log stay (they reference the anonymised guest row)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from soberpay.adapters.db.sobriety_tables import (
    SobrietyBaselineRow,
    SobrietyJudgementRow,
    SobrietyPatternRow,
    SobrietyRecordRow,
    ThermalFaceStateRow,
)

# Captured measurements and the guest's learnt normal: gone when monitoring consent is revoked.
MONITORING_TABLES: tuple[Any, ...] = (
    SobrietyRecordRow,
    SobrietyBaselineRow,
    SobrietyPatternRow,
    ThermalFaceStateRow,
)
# Erasure also removes the judgements (intoxication evidence is sensitive personal data).
ALL_DERIVED_TABLES: tuple[Any, ...] = (*MONITORING_TABLES, SobrietyJudgementRow)


def _delete_rows(session: Session, tables: tuple[Any, ...], guest_id: str) -> int:
    deleted = 0
    for table in tables:
        result: Any = session.execute(delete(table).where(table.guest_id == guest_id))
        deleted += int(result.rowcount or 0)
    return deleted


def delete_monitoring_data(session: Session, guest_id: str) -> int:
    return _delete_rows(session, MONITORING_TABLES, guest_id)


def delete_all_derived_data(session: Session, guest_id: str) -> int:
    return _delete_rows(session, ALL_DERIVED_TABLES, guest_id)
