"""SQLAlchemy implementations of the identity stores (guests, consents, face templates), the audit
log and the derived-data eraser, inside the unit of work's session."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from soberpay.adapters.db.audit import append_audit
from soberpay.adapters.db.erasure import delete_all_derived_data, delete_monitoring_data
from soberpay.adapters.db.identity_tables import AuditRow, ConsentRow, FaceTemplateRow, GuestRow
from soberpay.domain.identity import ConsentPurpose, ConsentRecord
from soberpay.ports import AuditEntry, GuestRecord, TemplateRecord

_GUEST_FIELDS = (
    "name",
    "phone",
    "national_id_key_id",
    "national_id_enc",
    "national_id_masked",
    "password_hash",
    "sex",
    "weight_kg",
    "created_at",
    "erased_at",
)


def _last4(phone: str | None) -> str | None:
    return phone[-4:] if phone else None


class SqlAlchemyGuestRepository:
    def __init__(self, session: Session) -> None:
        self.s = session

    def add(self, guest: GuestRecord) -> None:
        self.s.add(
            GuestRow(id=guest.id, phone_last4=_last4(guest.phone), **{f: getattr(guest, f) for f in _GUEST_FIELDS})
        )
        self.s.flush()  # a concurrent registration of the same phone fails here

    def get(self, guest_id: str) -> GuestRecord | None:
        row = self.s.get(GuestRow, guest_id)
        return None if row is None else _guest(row)

    def by_phone(self, phone: str) -> GuestRecord | None:
        row = self.s.scalar(select(GuestRow).where(GuestRow.phone == phone))
        return None if row is None else _guest(row)

    def live(self) -> list[GuestRecord]:
        rows = self.s.scalars(select(GuestRow).where(GuestRow.erased_at.is_(None)).order_by(GuestRow.created_at))
        return [_guest(r) for r in rows]

    def save(self, guest: GuestRecord) -> None:
        row = self.s.get(GuestRow, guest.id)
        if row is None:
            raise RuntimeError(f"guest {guest.id} vanished inside its transaction")
        for f in _GUEST_FIELDS:
            setattr(row, f, getattr(guest, f))
        row.phone_last4 = _last4(guest.phone)  # erasure clears it with the phone

    def with_national_id_not_under(self, key_id: str) -> list[GuestRecord]:
        rows = self.s.scalars(
            select(GuestRow).where(GuestRow.national_id_enc.is_not(None), GuestRow.national_id_key_id != key_id)
        )
        return [_guest(r) for r in rows]

    def ids_with_phone_ending(self, digits: str) -> list[str]:
        # An index lookup (~1 in 10,000 guests match); the phone check keeps it exact should the two disagree.
        q = select(GuestRow.id).where(
            GuestRow.phone_last4 == digits,
            GuestRow.phone.endswith(digits, autoescape=True),
            GuestRow.erased_at.is_(None),
        )
        return list(self.s.scalars(q))


class SqlAlchemyConsentRepository:
    def __init__(self, session: Session) -> None:
        self.s = session

    def _active_row(self, guest_id: str, purpose: ConsentPurpose) -> ConsentRow | None:
        return self.s.scalar(
            select(ConsentRow).where(
                ConsentRow.guest_id == guest_id,
                ConsentRow.purpose == purpose.value,
                ConsentRow.revoked_at.is_(None),
            )
        )

    def active(self, guest_id: str, purpose: ConsentPurpose) -> ConsentRecord | None:
        row = self._active_row(guest_id, purpose)
        return None if row is None else _consent(row)

    def add(self, consent: ConsentRecord) -> None:
        self.s.add(
            ConsentRow(
                guest_id=consent.guest_id,
                purpose=consent.purpose.value,
                text_version=consent.text_version,
                language=consent.language,
                granted_at=consent.granted_at,
                revoked_at=consent.revoked_at,
            )
        )

    def revoke(self, guest_id: str, purpose: ConsentPurpose, now: datetime) -> None:
        row = self._active_row(guest_id, purpose)
        if row is not None:
            row.revoked_at = now

    def revoke_all(self, guest_id: str, now: datetime) -> None:
        for row in self.s.scalars(
            select(ConsentRow).where(ConsentRow.guest_id == guest_id, ConsentRow.revoked_at.is_(None))
        ):
            row.revoked_at = now

    def for_guest(self, guest_id: str) -> list[ConsentRecord]:
        rows = self.s.scalars(select(ConsentRow).where(ConsentRow.guest_id == guest_id).order_by(ConsentRow.id))
        return [_consent(r) for r in rows]


class SqlAlchemyTemplateRepository:
    def __init__(self, session: Session) -> None:
        self.s = session

    def for_embedder(self, embedder: str) -> list[TemplateRecord]:
        return [
            _template(r) for r in self.s.scalars(select(FaceTemplateRow).where(FaceTemplateRow.embedder == embedder))
        ]

    def for_guest(self, guest_id: str, embedder: str | None = None) -> list[TemplateRecord]:
        q = select(FaceTemplateRow).where(FaceTemplateRow.guest_id == guest_id).order_by(FaceTemplateRow.created_at)
        if embedder is not None:
            q = q.where(FaceTemplateRow.embedder == embedder)
        return [_template(r) for r in self.s.scalars(q)]

    def count(self, embedder: str) -> int:
        return int(
            self.s.scalar(select(func.count(FaceTemplateRow.id)).where(FaceTemplateRow.embedder == embedder)) or 0
        )

    def add(self, template: TemplateRecord) -> None:
        row = FaceTemplateRow(
            guest_id=template.guest_id,
            embedder=template.embedder,
            key_id=template.key_id,
            blob=template.blob,
            quality=template.quality,
            created_at=template.created_at,
        )
        self.s.add(row)
        if template.search_vector is not None:
            from soberpay.adapters.index_pgvector import vector_literal

            self.s.flush()  # the vector row references the template's id
            self.s.execute(
                text(
                    "INSERT INTO face_template_vectors (template_id, guest_id, embedder, embedding) "
                    "VALUES (:id, :guest_id, :embedder, CAST(:v AS vector))"
                ),
                {
                    "id": row.id,
                    "guest_id": row.guest_id,
                    "embedder": row.embedder,
                    "v": vector_literal(template.search_vector),
                },
            )

    def delete(self, template_id: int) -> None:
        row = self.s.get(FaceTemplateRow, template_id)
        if row is not None:
            self.s.delete(row)

    def delete_for_guest(self, guest_id: str) -> int:
        rows = self.s.scalars(select(FaceTemplateRow).where(FaceTemplateRow.guest_id == guest_id)).all()
        for row in rows:
            self.s.delete(row)
        return len(rows)

    def not_under(self, key_id: str) -> list[TemplateRecord]:
        return [_template(r) for r in self.s.scalars(select(FaceTemplateRow).where(FaceTemplateRow.key_id != key_id))]

    def save_ciphertext(self, template_id: int, key_id: str, blob: bytes) -> None:
        row = self.s.get(FaceTemplateRow, template_id)
        if row is None:
            raise RuntimeError(f"template {template_id} vanished inside its transaction")
        row.key_id, row.blob = key_id, blob


class SqlAlchemyAuditLog:
    def __init__(self, session: Session) -> None:
        self.s = session

    def append(self, at: datetime, actor: str, action: str, guest_id: str | None, details: Mapping[str, Any]) -> None:
        append_audit(self.s, at=at, actor=actor, action=action, guest_id=guest_id, details=dict(details))

    def entries(self, guest_id: str | None, limit: int, prefix: str | None) -> list[AuditEntry]:
        q = select(AuditRow).order_by(AuditRow.id.desc()).limit(limit)
        if guest_id is not None:
            q = q.where(AuditRow.guest_id == guest_id)
        if prefix is not None:
            q = q.where(AuditRow.action.startswith(prefix))
        return [
            AuditEntry(r.id, r.at, r.actor, r.action, r.guest_id, json.loads(r.details or "{}"), r.room_id)
            for r in self.s.scalars(q)
        ]

    def newest_id(self, actions: Sequence[str]) -> int | None:
        return self.s.scalar(select(func.max(AuditRow.id)).where(AuditRow.action.in_(actions)))

    def changes_since(self, actions: Sequence[str], after_id: int) -> list[tuple[int, str | None]]:
        q = select(AuditRow.id, AuditRow.guest_id).where(AuditRow.id > after_id, AuditRow.action.in_(actions))
        return [(int(i), g) for i, g in self.s.execute(q.order_by(AuditRow.id))]


class SqlAlchemyDerivedData:
    def __init__(self, session: Session) -> None:
        self.s = session

    def delete_monitoring(self, guest_id: str) -> int:
        return delete_monitoring_data(self.s, guest_id)

    def delete_all(self, guest_id: str) -> int:
        return delete_all_derived_data(self.s, guest_id)


def _guest(row: GuestRow) -> GuestRecord:
    return GuestRecord(id=row.id, **{f: getattr(row, f) for f in _GUEST_FIELDS})


def _consent(row: ConsentRow) -> ConsentRecord:
    return ConsentRecord(
        guest_id=row.guest_id,
        purpose=ConsentPurpose(row.purpose),
        granted_at=row.granted_at,
        text_version=row.text_version,
        revoked_at=row.revoked_at,
        language=row.language,
    )


def _template(row: FaceTemplateRow) -> TemplateRecord:
    return TemplateRecord(row.guest_id, row.embedder, row.key_id, row.blob, row.quality, row.created_at, row.id)
