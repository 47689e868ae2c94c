"""Append-only audit log helper (table ``audit_log``). Details must never hold secrets or PII."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from soberpay.adapters.db.identity_tables import AuditRow


def append_audit(
    session: Session,
    *,
    at: datetime,
    actor: str,
    action: str,
    guest_id: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    session.add(
        AuditRow(
            at=at,
            actor=actor,
            action=action,
            guest_id=guest_id,
            details=json.dumps(details or {}, ensure_ascii=False, sort_keys=True, default=str),
        )
    )
