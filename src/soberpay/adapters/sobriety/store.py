"""Sobriety persistence: the store port, an in-memory implementation (CLI ``assess``, tests) and the
SQL implementation over ``sobriety_tables``. Everything biometric is encrypted with the Cipher port
before it reaches either store; the store only ever sees key ids and ciphertext."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from soberpay.adapters.db.sobriety_tables import (
    SobrietyBaselineRow,
    SobrietyJudgementRow,
    SobrietyPatternRow,
    SobrietyRecordRow,
)
from soberpay.domain.sobriety import AbnormalPattern, SobrietyJudgement
from soberpay.ports import Cipher


@dataclass(frozen=True)
class StoredRecord:
    record_id: int
    guest_id: str
    captured_at: datetime
    schema_version: int
    key_id: str
    blob: bytes


@dataclass(frozen=True)
class StoredJudgement:
    guest_id: str
    at: datetime
    state: str
    p_drunk: float | None
    posture_abnormal: bool
    similarity_to_normal: float | None
    recovered: bool
    reason: str


@runtime_checkable
class SobrietyStore(Protocol):
    def add_record(
        self, guest_id: str, captured_at: datetime, schema_version: int, key_id: str, blob: bytes
    ) -> int: ...
    def records(self, guest_id: str) -> list[StoredRecord]: ...
    def save_baseline(self, guest_id: str, key_id: str, blob: bytes, at: datetime) -> None: ...
    def load_baseline(self, guest_id: str) -> tuple[str, bytes] | None: ...
    def save_pattern(
        self,
        guest_id: str | None,
        pattern_id: str,
        label: str,
        dim: int,
        key_id: str,
        blob: bytes,
        count: int,
        at: datetime,
    ) -> None: ...
    def load_patterns(self, guest_id: str | None) -> list[tuple[str, str, int, str, bytes, int]]: ...
    def add_judgement(self, guest_id: str, at: datetime, j: SobrietyJudgement) -> None: ...
    def latest_judgement(self, guest_id: str) -> StoredJudgement | None: ...


def _aad(kind: str, guest_id: str | None) -> bytes:
    return f"sobriety-{kind}:{guest_id or '*'}".encode()


def encrypt_json(cipher: Cipher, kind: str, guest_id: str | None, payload: Any) -> tuple[str, bytes]:
    return cipher.encrypt(json.dumps(payload, separators=(",", ":")).encode(), _aad(kind, guest_id))


def decrypt_json(cipher: Cipher, kind: str, guest_id: str | None, key_id: str, blob: bytes) -> Any:
    return json.loads(cipher.decrypt(key_id, blob, _aad(kind, guest_id)).decode())


def encrypt_vector(cipher: Cipher, guest_id: str | None, v: Any) -> tuple[str, bytes]:
    return cipher.encrypt(np.asarray(v, dtype="<f4").tobytes(), _aad("pattern", guest_id))


def decrypt_vector(cipher: Cipher, guest_id: str | None, key_id: str, blob: bytes) -> tuple[float, ...]:
    raw = cipher.decrypt(key_id, blob, _aad("pattern", guest_id))
    return tuple(float(x) for x in np.frombuffer(raw, dtype="<f4"))


class InMemorySobrietyStore:
    """Process-local store (nothing on disk)."""

    def __init__(self) -> None:
        self._records: list[StoredRecord] = []
        self._baselines: dict[str, tuple[str, bytes]] = {}
        self._patterns: dict[str, tuple[str | None, str, int, str, bytes, int]] = {}
        self._judgements: dict[str, list[StoredJudgement]] = {}

    def add_record(self, guest_id: str, captured_at: datetime, schema_version: int, key_id: str, blob: bytes) -> int:
        rid = len(self._records) + 1
        self._records.append(StoredRecord(rid, guest_id, captured_at, schema_version, key_id, blob))
        return rid

    def records(self, guest_id: str) -> list[StoredRecord]:
        return [r for r in self._records if r.guest_id == guest_id]

    def save_baseline(self, guest_id: str, key_id: str, blob: bytes, at: datetime) -> None:
        self._baselines[guest_id] = (key_id, blob)

    def load_baseline(self, guest_id: str) -> tuple[str, bytes] | None:
        return self._baselines.get(guest_id)

    def save_pattern(
        self,
        guest_id: str | None,
        pattern_id: str,
        label: str,
        dim: int,
        key_id: str,
        blob: bytes,
        count: int,
        at: datetime,
    ) -> None:
        self._patterns[pattern_id] = (guest_id, label, dim, key_id, blob, count)

    def load_patterns(self, guest_id: str | None) -> list[tuple[str, str, int, str, bytes, int]]:
        return [
            (pid, lab, dim, kid, blob, n)
            for pid, (c, lab, dim, kid, blob, n) in self._patterns.items()
            if c == guest_id
        ]

    def add_judgement(self, guest_id: str, at: datetime, j: SobrietyJudgement) -> None:
        self._judgements.setdefault(guest_id, []).append(_stored(guest_id, at, j))

    def latest_judgement(self, guest_id: str) -> StoredJudgement | None:
        items = self._judgements.get(guest_id)
        return items[-1] if items else None


def _stored(guest_id: str, at: datetime, j: SobrietyJudgement) -> StoredJudgement:
    return StoredJudgement(
        guest_id,
        at,
        j.state.value,
        j.p_drunk,
        j.posture_abnormal,
        j.similarity_to_normal,
        j.recovered,
        j.explain(),
    )


class SqlSobrietyStore:
    """SQLAlchemy implementation; one short transaction per call."""

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._sf = session_factory

    def add_record(self, guest_id: str, captured_at: datetime, schema_version: int, key_id: str, blob: bytes) -> int:
        with self._sf.begin() as s:
            row = SobrietyRecordRow(
                guest_id=guest_id,
                captured_at=captured_at,
                schema_version=schema_version,
                key_id=key_id,
                blob=blob,
                n_bytes=len(blob),
            )
            s.add(row)
            s.flush()
            return int(row.id)

    def records(self, guest_id: str) -> list[StoredRecord]:
        with self._sf() as s:
            rows = s.scalars(
                select(SobrietyRecordRow)
                .where(SobrietyRecordRow.guest_id == guest_id)
                .order_by(SobrietyRecordRow.id)
            ).all()
            return [StoredRecord(r.id, r.guest_id, r.captured_at, r.schema_version, r.key_id, r.blob) for r in rows]

    def record_bytes(self, guest_id: str) -> int:
        with self._sf() as s:
            total = s.scalar(
                select(func.coalesce(func.sum(SobrietyRecordRow.n_bytes), 0)).where(
                    SobrietyRecordRow.guest_id == guest_id
                )
            )
            return int(total or 0)

    def save_baseline(self, guest_id: str, key_id: str, blob: bytes, at: datetime) -> None:
        with self._sf.begin() as s:
            row = s.get(SobrietyBaselineRow, guest_id)
            if row is None:
                s.add(SobrietyBaselineRow(guest_id=guest_id, key_id=key_id, blob=blob, updated_at=at))
            else:
                row.key_id, row.blob, row.updated_at = key_id, blob, at

    def load_baseline(self, guest_id: str) -> tuple[str, bytes] | None:
        with self._sf() as s:
            row = s.get(SobrietyBaselineRow, guest_id)
            return None if row is None else (row.key_id, row.blob)

    def save_pattern(
        self,
        guest_id: str | None,
        pattern_id: str,
        label: str,
        dim: int,
        key_id: str,
        blob: bytes,
        count: int,
        at: datetime,
    ) -> None:
        with self._sf.begin() as s:
            row = s.get(SobrietyPatternRow, pattern_id)
            if row is None:
                s.add(
                    SobrietyPatternRow(
                        id=pattern_id,
                        guest_id=guest_id,
                        label=label,
                        dim=dim,
                        key_id=key_id,
                        blob=blob,
                        count=count,
                        created_at=at,
                        updated_at=at,
                    )
                )
            else:
                row.key_id, row.blob, row.count, row.updated_at = key_id, blob, count, at

    def load_patterns(self, guest_id: str | None) -> list[tuple[str, str, int, str, bytes, int]]:
        with self._sf() as s:
            q = select(SobrietyPatternRow)
            q = (
                q.where(SobrietyPatternRow.guest_id.is_(None))
                if guest_id is None
                else q.where(SobrietyPatternRow.guest_id == guest_id)
            )
            return [(r.id, r.label, r.dim, r.key_id, r.blob, r.count) for r in s.scalars(q).all()]

    def add_judgement(self, guest_id: str, at: datetime, j: SobrietyJudgement) -> None:
        with self._sf.begin() as s:
            s.add(
                SobrietyJudgementRow(
                    guest_id=guest_id,
                    at=at,
                    state=j.state.value,
                    p_drunk=j.p_drunk,
                    posture_abnormal=j.posture_abnormal,
                    similarity_to_normal=j.similarity_to_normal,
                    recovered=j.recovered,
                    reason=j.explain()[:2000],
                )
            )

    def latest_judgement(self, guest_id: str) -> StoredJudgement | None:
        with self._sf() as s:
            r = s.scalars(
                select(SobrietyJudgementRow)
                .where(SobrietyJudgementRow.guest_id == guest_id)
                .order_by(SobrietyJudgementRow.at.desc(), SobrietyJudgementRow.id.desc())
                .limit(1)
            ).first()
            if r is None:
                return None
            return StoredJudgement(
                r.guest_id,
                r.at,
                r.state,
                r.p_drunk,
                r.posture_abnormal,
                r.similarity_to_normal,
                r.recovered,
                r.reason,
            )


class PersistentPatternBook:
    """Loads the abnormal-pattern book for one guest (or venue-wide), persists every update."""

    def __init__(
        self, store: SobrietyStore, cipher: Cipher, guest_id: str | None, threshold: float, clock_now: Any
    ) -> None:
        from soberpay.domain.sobriety import AbnormalPatternBook

        self.store, self.cipher, self.guest_id, self._now = store, cipher, guest_id, clock_now
        patterns = [
            AbnormalPattern(pid, decrypt_vector(cipher, guest_id, kid, blob), n, label)
            for pid, label, _dim, kid, blob, n in store.load_patterns(guest_id)
        ]
        self.book = AbnormalPatternBook(threshold, lambda: uuid.uuid4().hex, patterns)

    def record(self, vector: Any, label: str = "abnormal") -> Any:
        upd = self.book.record([float(x) for x in vector], label)
        p = next(p for p in self.book.patterns if p.pattern_id == upd.pattern_id)
        kid, blob = encrypt_vector(self.cipher, self.guest_id, p.vector)
        self.store.save_pattern(self.guest_id, p.pattern_id, p.label, len(p.vector), kid, blob, p.count, self._now())
        return upd


__all__ = [
    "InMemorySobrietyStore",
    "PersistentPatternBook",
    "SobrietyStore",
    "SqlSobrietyStore",
    "StoredJudgement",
    "StoredRecord",
    "decrypt_json",
    "decrypt_vector",
    "encrypt_json",
    "encrypt_vector",
]
