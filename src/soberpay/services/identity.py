"""Identity use cases: register, consent, enrol, identify, verify, erase, rotate keys.

Everything comes in through the constructor (ports); the service owns transactions: each call is
one unit of work, and any error leaves the database unchanged.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from soberpay.adapters.db.audit import append_audit
from soberpay.adapters.db.identity_tables import AuditRow, ConsentRow, CustomerRow, FaceTemplateRow
from soberpay.config import IdentitySettings
from soberpay.domain.identity import (
    CONSENT_TEXT_VERSION,
    Candidate,
    ConsentPurpose,
    ConsentRecord,
    Customer,
    IdentityDecision,
    VerificationDecision,
    decide_identification,
    decide_verification,
    mask_national_id,
    normalise_phone,
    validate_name,
    validate_national_id,
    validate_payment_password,
    validate_sex,
    validate_weight,
)
from soberpay.errors import Conflict, ConsentRequired, InvalidInput, LowQuality, NotFound
from soberpay.ports import (
    Cipher,
    Clock,
    Embedding,
    FaceAnalyser,
    FaceAnalysis,
    ImageBGR,
    PasswordHasher,
    TemplateIndex,
)

ImageDecoder = Callable[[bytes], ImageBGR]
# Audited actions that change the stored face templates (see IdentityService._ensure_index).
TEMPLATE_CHANGING_ACTIONS = ("face.enrolled", "consent.revoked", "customer.erased")
# Deletes a guest's derived personal data held by other areas, inside our transaction; returns rows.
DataEraser = Callable[[Session, str], int]
VideoDecoder = Callable[[bytes | str], Iterable[ImageBGR]]


@dataclass(frozen=True)
class EnrolmentResult:
    customer_id: str
    templates_stored: int
    qualities: tuple[float, ...]
    rejected: dict[str, int]


class IdentityService:
    def __init__(
        self,
        *,
        session_factory: sessionmaker[Session],
        cipher: Cipher,
        hasher: PasswordHasher,
        clock: Clock,
        settings: IdentitySettings,
        embedder_name: str,
        match_threshold: float,
        analyser_factory: Callable[[], FaceAnalyser],
        index: TemplateIndex,
        decode_image: ImageDecoder,
        decode_video: VideoDecoder,
        erase_monitoring_data: DataEraser | None = None,
        erase_all_derived_data: DataEraser | None = None,
    ) -> None:
        self._sessions = session_factory
        self._cipher = cipher
        self._hasher = hasher
        self._clock = clock
        self._settings = settings
        self._embedder = embedder_name
        self._threshold = match_threshold
        self._analyser_factory = analyser_factory
        self._analyser: FaceAnalyser | None = None
        self._index = index
        self._index_generation: tuple[object, ...] | None = None  # (count, max id) of the loaded templates
        self._indexed_keys: set[str] = set()
        self._decode_image = decode_image
        self._decode_video = decode_video
        self._erase_monitoring = erase_monitoring_data
        self._erase_derived = erase_all_derived_data

    # --- plumbing ----------------------------------------------------------------------------

    @property
    def threshold(self) -> float:
        return self._threshold

    @property
    def analyser(self) -> FaceAnalyser:
        # Models load on first use, not at start-up: phone+password payment needs none.
        if self._analyser is None:
            self._analyser = self._analyser_factory()
        return self._analyser

    def _decrypt_template(self, row: FaceTemplateRow) -> Embedding:
        plain = self._cipher.decrypt(row.key_id, row.blob, template_aad(row.customer_id, row.embedder))
        return np.frombuffer(plain, dtype=np.float32).copy()

    def _ensure_index(self) -> None:
        """Keep the in-memory index in step with the database.

        Other processes (web workers, the CLI) enrol and erase too, so each search first compares a
        cheap generation stamp and reloads when it moved. Every template change is audited in the
        same transaction, and the audit log is append-only, so the newest such audit id (plus the
        template count) identifies the template set without ever being reused.
        """
        with self._sessions() as session:
            newest_change = session.scalar(
                select(func.max(AuditRow.id)).where(AuditRow.action.in_(TEMPLATE_CHANGING_ACTIONS))
            )
            count = session.scalar(
                select(func.count(FaceTemplateRow.id)).where(FaceTemplateRow.embedder == self._embedder)
            )
            generation = (newest_change, count)
            if generation == self._index_generation:
                return
            rows = session.scalars(select(FaceTemplateRow).where(FaceTemplateRow.embedder == self._embedder)).all()
            for key in self._indexed_keys:
                self._index.remove(key)
            self._indexed_keys = set()
            for row in rows:
                self._index.add(row.customer_id, self._decrypt_template(row))
                self._indexed_keys.add(row.customer_id)
        self._index_generation = generation

    @staticmethod
    def _to_customer(row: CustomerRow) -> Customer:
        return Customer(
            id=row.id,
            name=row.name or "(erased)",
            phone=row.phone or "",
            national_id_masked=row.national_id_masked or "",
            created_at=row.created_at,
            sex=row.sex,
            weight_kg=row.weight_kg,
            erased_at=row.erased_at,
        )

    @staticmethod
    def _live_row(session: Session, customer_id: str) -> CustomerRow:
        row = session.get(CustomerRow, customer_id)
        if row is None or row.erased_at is not None:
            raise NotFound("unknown guest", customer_id=customer_id)
        return row

    # --- registration & consent ----------------------------------------------------------------

    def register(
        self,
        *,
        name: str,
        phone: str,
        national_id: str,
        password: str,
        sex: str | None = None,
        weight_kg: float | None = None,
        actor: str = "guest",
    ) -> Customer:
        name = validate_name(name)
        phone = normalise_phone(phone)
        national_id = validate_national_id(national_id)
        validate_payment_password(password)
        sex = validate_sex(sex)
        weight_kg = validate_weight(weight_kg)
        customer_id = uuid.uuid4().hex
        key_id, blob = self._cipher.encrypt(national_id.encode(), national_id_aad(customer_id))
        now = self._clock.now()
        row = CustomerRow(
            id=customer_id,
            name=name,
            phone=phone,
            national_id_key_id=key_id,
            national_id_enc=blob,
            national_id_masked=mask_national_id(national_id),
            password_hash=self._hasher.hash(password),
            sex=sex,
            weight_kg=weight_kg,
            created_at=now,
        )
        with self._sessions.begin() as session:
            if session.scalar(select(CustomerRow.id).where(CustomerRow.phone == phone)) is not None:
                raise Conflict("phone number already registered", field="phone")
            session.add(row)
            append_audit(session, at=now, actor=actor, action="customer.registered", customer_id=customer_id)
            try:
                session.flush()
            except IntegrityError as exc:  # a concurrent registration won the race
                raise Conflict("phone number already registered", field="phone") from exc
        return self._to_customer(row)

    def get(self, customer_id: str) -> Customer:
        with self._sessions() as session:
            return self._to_customer(self._live_row(session, customer_id))

    def find_by_phone(self, phone: str) -> Customer:
        phone = normalise_phone(phone)
        with self._sessions() as session:
            row = session.scalar(select(CustomerRow).where(CustomerRow.phone == phone))
            if row is None or row.erased_at is not None:
                raise NotFound("no guest with this phone number")
            return self._to_customer(row)

    def list_customers(self) -> list[Customer]:
        with self._sessions() as session:
            rows = session.scalars(
                select(CustomerRow).where(CustomerRow.erased_at.is_(None)).order_by(CustomerRow.created_at)
            ).all()
            return [self._to_customer(r) for r in rows]

    def reveal_national_id(self, customer_id: str) -> str:
        """Decrypt the ID number (manager use only; the caller audits why)."""
        with self._sessions() as session:
            row = self._live_row(session, customer_id)
            assert row.national_id_key_id is not None and row.national_id_enc is not None
            return self._cipher.decrypt(
                row.national_id_key_id, row.national_id_enc, national_id_aad(customer_id)
            ).decode()

    def check_password(self, customer_id: str, password: str) -> bool:
        """True when the 6-digit payment password matches. No side effects: lockout is the payment domain's."""
        with self._sessions() as session:
            row = self._live_row(session, customer_id)
            hashed = row.password_hash
        if hashed is None:
            return False
        try:
            validate_payment_password(password)
        except InvalidInput:
            return False
        return self._hasher.verify(hashed, password)

    def grant_consent(self, customer_id: str, purpose: ConsentPurpose | str, actor: str = "guest") -> ConsentRecord:
        purpose = _purpose(purpose)
        now = self._clock.now()
        with self._sessions.begin() as session:
            self._live_row(session, customer_id)
            existing = self._active_consent(session, customer_id, purpose)
            if existing is None:
                existing = ConsentRow(
                    customer_id=customer_id, purpose=purpose.value, text_version=CONSENT_TEXT_VERSION, granted_at=now
                )
                session.add(existing)
                append_audit(
                    session,
                    at=now,
                    actor=actor,
                    action="consent.granted",
                    customer_id=customer_id,
                    details={"purpose": purpose.value, "text_version": CONSENT_TEXT_VERSION},
                )
            return _consent_record(existing)

    def revoke_consent(self, customer_id: str, purpose: ConsentPurpose | str, actor: str = "guest") -> None:
        """Revoking face-payment consent deletes the guest's templates in the same transaction."""
        purpose = _purpose(purpose)
        now = self._clock.now()
        with self._sessions.begin() as session:
            self._live_row(session, customer_id)
            row = self._active_consent(session, customer_id, purpose)
            if row is None:
                return
            row.revoked_at = now
            deleted = 0
            if purpose is ConsentPurpose.FACE_PAYMENT:
                deleted = self._delete_templates(session, customer_id)
            elif self._erase_monitoring is not None:
                deleted = self._erase_monitoring(session, customer_id)
            append_audit(
                session,
                at=now,
                actor=actor,
                action="consent.revoked",
                customer_id=customer_id,
                details={"purpose": purpose.value, "rows_deleted": deleted},
            )

    def has_consent(self, customer_id: str, purpose: ConsentPurpose | str) -> bool:
        with self._sessions() as session:
            return self._active_consent(session, customer_id, _purpose(purpose)) is not None

    def consents(self, customer_id: str) -> list[ConsentRecord]:
        with self._sessions() as session:
            rows = session.scalars(
                select(ConsentRow).where(ConsentRow.customer_id == customer_id).order_by(ConsentRow.id)
            ).all()
            return [_consent_record(r) for r in rows]

    @staticmethod
    def _active_consent(session: Session, customer_id: str, purpose: ConsentPurpose) -> ConsentRow | None:
        return session.scalar(
            select(ConsentRow).where(
                ConsentRow.customer_id == customer_id,
                ConsentRow.purpose == purpose.value,
                ConsentRow.revoked_at.is_(None),
            )
        )

    def _delete_templates(self, session: Session, customer_id: str) -> int:
        rows = session.scalars(select(FaceTemplateRow).where(FaceTemplateRow.customer_id == customer_id)).all()
        for row in rows:
            session.delete(row)
        return len(rows)

    # --- enrolment ------------------------------------------------------------------------------

    def enroll_images(self, customer_id: str, images: Sequence[bytes], actor: str = "guest") -> EnrolmentResult:
        self._require_face_consent(customer_id)  # no biometric processing without consent
        if not images:
            raise InvalidInput("at least one image is required")
        decoded = [self._decode_image(data) for data in images]  # all inputs validated before any write
        analyses = [self.analyser.analyse(img) for img in decoded]
        return self._store_templates(customer_id, analyses, {}, actor)

    def enroll_video(self, customer_id: str, video: bytes | str, actor: str = "guest") -> EnrolmentResult:
        self._require_face_consent(customer_id)
        frames = self._decode_video(video)
        analyses = self.analyser.best_from_frames(frames, top_k=self._settings.templates_per_guest)
        rejected = dict(getattr(self.analyser, "last_rejections", {}) or {})
        if not analyses:
            raise LowQuality("no frame in the video passed the quality gates", rejected=rejected)
        return self._store_templates(customer_id, analyses, rejected, actor)

    def _require_face_consent(self, customer_id: str) -> None:
        self.get(customer_id)  # unknown or erased guest → NotFound
        if not self.has_consent(customer_id, ConsentPurpose.FACE_PAYMENT):
            raise ConsentRequired("face enrolment needs face_payment consent", customer_id=customer_id)

    def _store_templates(
        self, customer_id: str, analyses: Sequence[FaceAnalysis], rejected: dict[str, int], actor: str
    ) -> EnrolmentResult:
        self._require_face_consent(customer_id)
        self._ensure_index()
        dup_threshold = self._threshold + self._settings.duplicate_threshold_bonus
        for analysis in analyses:
            for hit in self._index.search(analysis.embedding, k=3):
                if hit.key != customer_id and hit.score >= dup_threshold:
                    raise Conflict(
                        "this face is already enrolled under another guest",
                        score=round(hit.score, 3),
                    )
        now = self._clock.now()
        with self._sessions.begin() as session:
            self._live_row(session, customer_id)
            existing = session.scalars(
                select(FaceTemplateRow)
                .where(FaceTemplateRow.customer_id == customer_id, FaceTemplateRow.embedder == self._embedder)
                .order_by(FaceTemplateRow.created_at)
            ).all()
            # Keep at most templates_per_guest, newest win.
            overflow = len(existing) + len(analyses) - self._settings.templates_per_guest
            for row in existing[: max(0, overflow)]:
                session.delete(row)
            for analysis in analyses[-self._settings.templates_per_guest :]:
                emb = np.asarray(analysis.embedding, dtype=np.float32)
                key_id, blob = self._cipher.encrypt(emb.tobytes(), template_aad(customer_id, self._embedder))
                session.add(
                    FaceTemplateRow(
                        customer_id=customer_id,
                        embedder=self._embedder,
                        key_id=key_id,
                        blob=blob,
                        quality=float(analysis.quality.sharpness),
                        created_at=now,
                    )
                )
            append_audit(
                session,
                at=now,
                actor=actor,
                action="face.enrolled",
                customer_id=customer_id,
                details={"templates": len(analyses), "embedder": self._embedder},
            )
        return EnrolmentResult(
            customer_id=customer_id,
            templates_stored=min(len(analyses), self._settings.templates_per_guest),
            qualities=tuple(round(float(a.quality.sharpness), 1) for a in analyses),
            rejected=rejected,
        )

    def _decrypt_templates(self, customer_id: str) -> list[Embedding]:
        with self._sessions() as session:
            rows = session.scalars(
                select(FaceTemplateRow).where(
                    FaceTemplateRow.customer_id == customer_id, FaceTemplateRow.embedder == self._embedder
                )
            ).all()
            return [self._decrypt_template(r) for r in rows]

    def template_count(self, customer_id: str) -> int:
        with self._sessions() as session:
            return len(
                session.scalars(select(FaceTemplateRow.id).where(FaceTemplateRow.customer_id == customer_id)).all()
            )

    # --- matching -------------------------------------------------------------------------------

    def identify(self, image: bytes | ImageBGR) -> IdentityDecision:
        img = self._decode_image(image) if isinstance(image, bytes | bytearray) else image
        analysis = self.analyser.analyse(img)
        return self.identify_embedding(analysis.embedding)

    def identify_embedding(self, embedding: Embedding) -> IdentityDecision:
        self._ensure_index()
        hits = self._index.search(embedding, k=2)
        candidates = [Candidate(h.key, float(h.score)) for h in hits]
        return decide_identification(candidates, self._threshold, self._settings.min_margin)

    def verify(self, customer_id: str, image: bytes | ImageBGR) -> VerificationDecision:
        img = self._decode_image(image) if isinstance(image, bytes | bytearray) else image
        self.get(customer_id)
        templates = self._decrypt_templates(customer_id)
        if not templates:
            raise NotFound("guest has no enrolled face", customer_id=customer_id)
        emb = self.analyser.analyse(img).embedding
        score = max(float(np.dot(t, emb)) for t in templates)
        return decide_verification(customer_id, score, self._threshold)

    # --- erasure & keys -------------------------------------------------------------------------

    def erase(self, customer_id: str, actor: str = "guest") -> None:
        """Delete templates and personal fields; keep an anonymised row so ledger/audit stay consistent."""
        now = self._clock.now()
        with self._sessions.begin() as session:
            row = self._live_row(session, customer_id)
            deleted = self._delete_templates(session, customer_id)
            derived = self._erase_derived(session, customer_id) if self._erase_derived is not None else 0
            for consent in session.scalars(
                select(ConsentRow).where(ConsentRow.customer_id == customer_id, ConsentRow.revoked_at.is_(None))
            ):
                consent.revoked_at = now
            row.name = None
            row.phone = None
            row.national_id_enc = None
            row.national_id_key_id = None
            row.national_id_masked = None
            row.password_hash = None
            row.sex = None
            row.weight_kg = None
            row.erased_at = now
            append_audit(
                session,
                at=now,
                actor=actor,
                action="customer.erased",
                customer_id=customer_id,
                details={"templates_deleted": deleted, "derived_rows_deleted": derived},
            )

    def reencrypt_all(self) -> int:
        """Re-encrypt every template and ID number under the cipher's current key (after rotation)."""
        count = 0
        current = self._cipher.current_key_id
        with self._sessions.begin() as session:
            for trow in session.scalars(select(FaceTemplateRow).where(FaceTemplateRow.key_id != current)):
                aad = template_aad(trow.customer_id, trow.embedder)
                plain = self._cipher.decrypt(trow.key_id, trow.blob, aad)
                trow.key_id, trow.blob = self._cipher.encrypt(plain, aad)
                count += 1
            for crow in session.scalars(
                select(CustomerRow).where(
                    CustomerRow.national_id_enc.is_not(None), CustomerRow.national_id_key_id != current
                )
            ):
                aad = national_id_aad(crow.id)
                assert crow.national_id_key_id is not None and crow.national_id_enc is not None
                plain = self._cipher.decrypt(crow.national_id_key_id, crow.national_id_enc, aad)
                crow.national_id_key_id, crow.national_id_enc = self._cipher.encrypt(plain, aad)
                count += 1
            append_audit(
                session, at=self._clock.now(), actor="operator", action="keys.reencrypted", details={"rows": count}
            )
        return count


def template_aad(customer_id: str, embedder: str) -> bytes:
    """Associated data binding a template ciphertext to its owner and model: a blob copied to
    another row fails to decrypt."""
    return f"face-template:{customer_id}:{embedder}".encode()


def national_id_aad(customer_id: str) -> bytes:
    return f"national-id:{customer_id}".encode()


def _purpose(value: ConsentPurpose | str) -> ConsentPurpose:
    try:
        return ConsentPurpose(value)
    except ValueError as exc:
        raise InvalidInput(
            f"unknown consent purpose {value!r}; expected one of {[p.value for p in ConsentPurpose]}"
        ) from exc


def _consent_record(row: ConsentRow) -> ConsentRecord:
    return ConsentRecord(
        customer_id=row.customer_id,
        purpose=ConsentPurpose(row.purpose),
        granted_at=row.granted_at,
        text_version=row.text_version,
        revoked_at=row.revoked_at,
    )
