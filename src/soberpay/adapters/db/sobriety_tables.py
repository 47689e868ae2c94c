"""Sobriety tables: encrypted capture records, per-guest baselines, abnormal-pose patterns, judgements.

Feature records, baselines and pattern vectors are AES-GCM blobs (Cipher port, key id stored beside
them); judgements keep only decisions, probabilities and the evidence text staff need to review.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Float, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from soberpay.adapters.db.base import Base, UTCDateTime

BIGID = BigInteger().with_variant(Integer, "sqlite")


class SobrietyRecordRow(Base):
    """Method step 1: one integrated feature record (SIFT + landmarks + pose), encrypted."""

    __tablename__ = "sobriety_records"

    id: Mapped[int] = mapped_column(BIGID, primary_key=True, autoincrement=True)
    guest_id: Mapped[str] = mapped_column(ForeignKey("guests.id"), nullable=False, index=True)
    captured_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, index=True)
    schema_version: Mapped[int] = mapped_column(Integer, nullable=False)
    key_id: Mapped[str] = mapped_column(String(40), nullable=False)
    blob: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)  # AES-GCM(nonce‖ct‖tag)
    n_bytes: Mapped[int] = mapped_column(Integer, nullable=False)


class SobrietyBaselineRow(Base):
    """The guest's own normal: signal moments and normal pose embeddings (encrypted JSON)."""

    __tablename__ = "sobriety_baselines"

    guest_id: Mapped[str] = mapped_column(ForeignKey("guests.id"), primary_key=True)
    key_id: Mapped[str] = mapped_column(String(40), nullable=False)
    blob: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class SobrietyPatternRow(Base):
    """Abnormal-pose pattern database (method S104): centroid vector (encrypted) and its count."""

    __tablename__ = "sobriety_patterns"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    guest_id: Mapped[str | None] = mapped_column(ForeignKey("guests.id"), index=True)  # None: venue-wide
    label: Mapped[str] = mapped_column(String(32), nullable=False)
    dim: Mapped[int] = mapped_column(Integer, nullable=False)
    key_id: Mapped[str] = mapped_column(String(40), nullable=False)
    blob: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    count: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class SobrietyJudgementRow(Base):
    __tablename__ = "sobriety_judgements"

    id: Mapped[int] = mapped_column(BIGID, primary_key=True, autoincrement=True)
    guest_id: Mapped[str] = mapped_column(ForeignKey("guests.id"), nullable=False, index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, index=True)
    state: Mapped[str] = mapped_column(String(10), nullable=False)
    p_drunk: Mapped[float | None] = mapped_column(Float)
    posture_abnormal: Mapped[bool] = mapped_column(Boolean, nullable=False)
    similarity_to_normal: Mapped[float | None] = mapped_column(Float)
    recovered: Mapped[bool] = mapped_column(Boolean, nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)


class ThermalFaceStateRow(Base):
    """The latest thermal face-state report per guest (rooms with a thermal camera): state, degree,
    anomaly type and per-view evidence as JSON; no image is ever stored."""

    __tablename__ = "thermal_face_states"

    guest_id: Mapped[str] = mapped_column(ForeignKey("guests.id"), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    room_id: Mapped[str | None] = mapped_column(String(32))
    report_json: Mapped[str] = mapped_column(Text, nullable=False)
