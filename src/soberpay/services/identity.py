"""Identity use cases: register, consent, enrol, identify, verify, erase, rotate keys.

Everything comes in through the constructor (ports); each call is one unit of work, and any error
leaves the database unchanged. Embeddings are opaque here: the ``EmbeddingCodec`` port turns them
into bytes and back and scores them, so this module does no array work.
"""

from __future__ import annotations

import itertools
import secrets
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from soberpay.config import IdentitySettings
from soberpay.domain.identity import (
    CONSENT_TEXT_VERSION,
    Candidate,
    ConsentPurpose,
    ConsentRecord,
    Guest,
    IdentityDecision,
    MatchStatus,
    PasswordCheck,
    PasswordGuard,
    PasswordPolicy,
    VerificationDecision,
    decide_identification,
    decide_verification,
    gallery_threshold,
    mask_national_id,
    normalise_phone,
    reserve_attempt,
    settle_attempt,
    validate_name,
    validate_national_id,
    validate_payment_password,
    validate_phone_last4,
    validate_sex,
    validate_weight,
)
from soberpay.errors import (
    AuthError,
    Conflict,
    ConsentRequired,
    Forbidden,
    InvalidInput,
    LockedOut,
    LowQuality,
    NotFound,
)
from soberpay.ports import (
    AbstractUnitOfWork,
    Cipher,
    Clock,
    DuplicateRecord,
    Embedding,
    EmbeddingCodec,
    FaceAnalyser,
    FaceAnalysis,
    GuestRecord,
    ImageBGR,
    IndexHit,
    InProcessTemplateIndex,
    PasswordHasher,
    PresenceCheck,
    StageObserver,
    TemplateIndex,
    TemplateRecord,
    UnitOfWorkFactory,
    ignore_stage,
)

ImageDecoder = Callable[[bytes], ImageBGR]
# Audited actions that change the stored face templates (see IdentityService._ensure_index).
TEMPLATE_CHANGING_ACTIONS = ("face.enrolled", "consent.revoked", "guest.erased")
# Audit ids are taken at insert but become visible at commit, so a transaction that started earlier
# can commit an id below one already seen: re-read this many ids below the newest applied one.
CHANGE_OVERLAP = 256
VideoDecoder = Callable[[bytes | str], Iterable[ImageBGR]]
# Frames kept from one proof capture (a burst or a 1–3 s clip): bounds memory whatever is uploaded.
PROOF_MAX_FRAMES = 60


@dataclass(frozen=True)
class EnrolmentResult:
    guest_id: str
    templates_stored: int
    qualities: tuple[float, ...]
    rejected: dict[str, int]


class IdentityService:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        cipher: Cipher,
        hasher: PasswordHasher,
        clock: Clock,
        settings: IdentitySettings,
        embedder_name: str,
        match_threshold: float,
        analyser_factory: Callable[[], FaceAnalyser],
        index: TemplateIndex,
        codec: EmbeddingCodec,
        decode_image: ImageDecoder,
        decode_video: VideoDecoder,
        password_policy: PasswordPolicy,
        presence: PresenceCheck,
        observe_stage: StageObserver = ignore_stage,
    ) -> None:
        self._uow = uow
        self._cipher = cipher
        self._hasher = hasher
        self._clock = clock
        self._settings = settings
        self._embedder = embedder_name
        self._threshold = match_threshold
        self._analyser_factory = analyser_factory
        self._analyser: FaceAnalyser | None = None
        self._index = index
        self._codec = codec
        self._applied_changes: set[int] | None = None  # audit ids already applied to the in-process index
        self._decode_image = decode_image
        self._decode_video = decode_video
        self._policy = password_policy
        self._presence = presence
        self._dummy_hash: str | None = None
        self._observe = observe_stage

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

    def _decrypt_template(self, t: TemplateRecord) -> Embedding:
        return self._codec.from_bytes(self._cipher.decrypt(t.key_id, t.blob, template_aad(t.guest_id, t.embedder)))

    def _ensure_index(self) -> None:
        """Keep an in-process index in step with the database (an index in the database needs nothing).

        Other processes (web workers, the CLI, other nodes) enrol and erase too. The first search loads
        every template; later ones read the audited template changes since the last applied one (the
        audit log is append-only, and every template change is audited in its own transaction) and
        reload only the guests they name: one small indexed query when nothing changed.
        """
        index = self._index
        if not isinstance(index, InProcessTemplateIndex):
            return
        with self._uow() as uow:
            if self._applied_changes is None:
                newest = uow.audit.newest_id(TEMPLATE_CHANGING_ACTIONS) or 0
                templates = uow.templates.for_embedder(self._embedder)
                changed: set[str] | None = None
                self._applied_changes = {newest}
            else:
                after = max(self._applied_changes) - CHANGE_OVERLAP
                fresh = [(i, g) for i, g in uow.audit.changes_since(TEMPLATE_CHANGING_ACTIONS, after)
                         if i not in self._applied_changes]
                if not fresh:
                    return
                changed = {g for _, g in fresh if g is not None}
                templates = [t for g in sorted(changed) for t in uow.templates.for_guest(g, self._embedder)]
                applied = self._applied_changes | {i for i, _ in fresh}
                top = max(applied)
                self._applied_changes = {i for i in applied if i > top - 2 * CHANGE_OVERLAP}
        for key in changed or ():
            index.remove(key)
        for t in templates:
            index.add(t.guest_id, self._decrypt_template(t))

    @staticmethod
    def _to_guest(g: GuestRecord) -> Guest:
        return Guest(
            id=g.id,
            name=g.name or "(erased)",
            phone=g.phone or "",
            national_id_masked=g.national_id_masked or "",
            created_at=g.created_at,
            sex=g.sex,
            weight_kg=g.weight_kg,
            erased_at=g.erased_at,
        )

    @staticmethod
    def _live(uow: AbstractUnitOfWork, guest_id: str) -> GuestRecord:
        guest = uow.guests.get(guest_id)
        if guest is None or guest.erased_at is not None:
            raise NotFound("unknown guest", guest_id=guest_id)
        return guest

    @staticmethod
    def _audit(uow: AbstractUnitOfWork, at: datetime, actor: str, action: str, guest_id: str | None, **d: Any) -> None:
        uow.audit.append(at, actor, action, guest_id, d)

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
    ) -> Guest:
        name = validate_name(name)
        phone = normalise_phone(phone)
        national_id = validate_national_id(national_id)
        validate_payment_password(password)
        sex = validate_sex(sex)
        weight_kg = validate_weight(weight_kg)
        guest_id = uuid.uuid4().hex
        key_id, blob = self._cipher.encrypt(national_id.encode(), national_id_aad(guest_id))
        now = self._clock.now()
        guest = GuestRecord(
            id=guest_id,
            created_at=now,
            name=name,
            phone=phone,
            national_id_key_id=key_id,
            national_id_enc=blob,
            national_id_masked=mask_national_id(national_id),
            password_hash=self._hasher.hash(password),
            sex=sex,
            weight_kg=weight_kg,
        )
        try:
            with self._uow() as uow:
                if uow.guests.by_phone(phone) is not None:
                    raise Conflict("phone number already registered", field="phone")
                uow.guests.add(guest)
                self._audit(uow, now, actor, "guest.registered", guest_id)
                uow.commit()
        except (Conflict, DuplicateRecord) as exc:  # taken, or a concurrent registration won the race
            raise Conflict("phone number already registered", field="phone") from exc
        return self._to_guest(guest)

    def report_taken_phone(self, phone: str, actor: str = "guest") -> None:
        """Tell staff that someone tried to register an already registered number (the caller is not told)."""
        now = self._clock.now()
        with self._uow() as uow:
            taken = uow.guests.by_phone(normalise_phone(phone))
            guest_id = taken.id if taken is not None else None
            uow.notifications.notify(
                now,
                "registration_taken_phone",
                guest_id,
                f"a kiosk registration used the phone number of guest {str(guest_id)[:8]}; "
                "check with the guest at the desk",
            )
            self._audit(uow, now, actor, "guest.registration_refused", guest_id, reason="phone_taken")
            uow.commit()

    def get(self, guest_id: str) -> Guest:
        with self._uow() as uow:
            return self._to_guest(self._live(uow, guest_id))

    def find_by_phone(self, phone: str) -> Guest:
        phone = normalise_phone(phone)
        with self._uow() as uow:
            guest = uow.guests.by_phone(phone)
        if guest is None or guest.erased_at is not None:
            raise NotFound("no guest with this phone number")
        return self._to_guest(guest)

    def list_guests(self) -> list[Guest]:
        with self._uow() as uow:
            return [self._to_guest(g) for g in uow.guests.live()]

    def reveal_national_id(self, guest_id: str) -> str:
        """Decrypt the ID number (manager use only; the caller audits why)."""
        with self._uow() as uow:
            guest = self._live(uow, guest_id)
        if guest.national_id_key_id is None or guest.national_id_enc is None:
            raise NotFound("no ID number stored for this guest", guest_id=guest_id)
        return self._cipher.decrypt(
            guest.national_id_key_id, guest.national_id_enc, national_id_aad(guest_id)
        ).decode()

    # --- payment password: one lockout per guest --------------------------------------------------

    @property
    def password_policy(self) -> PasswordPolicy:
        return self._policy

    def check_password(self, guest_id: str, password: str, actor: str = "guest") -> PasswordCheck:
        """Check the 6-digit payment password under the guest's one lockout, whatever the entry point.

        The attempt is counted in the database before argon2 runs and forgiven when right, so parallel
        guesses from any number of processes get at most ``max_failures`` checks before the lock. While
        locked nothing is checked, not even the right password. A lockout notifies staff."""
        validate_payment_password(password)  # a malformed entry is bad input, not a counted attempt
        guard, allowed = self._reserve_attempt(guest_id, actor)
        if not allowed:
            return PasswordCheck(False, guard)
        with self._uow() as uow:
            hashed = self._live(uow, guest_id).password_hash
        ok = hashed is not None and self._hasher.verify(hashed, password)  # argon2 outside any transaction
        return self._settle_attempt(guest_id, ok, actor)

    def require_password(self, guest_id: str, password: str, actor: str = "guest") -> None:
        """``check_password`` as a gate: a wrong password is ``AuthError``, a locked one ``LockedOut``."""
        check = self.check_password(guest_id, password, actor)
        if check.ok:
            return
        message = check.explanation(self._policy)
        if check.locked(self._clock.now()):
            until = check.guard.locked_until.isoformat() if check.guard.locked_until else None
            raise LockedOut(message, locked_until=until)
        raise AuthError(message)

    def identify_by_phone(self, phone: str, password: str, actor: str = "guest") -> Guest:
        """Phone number + payment password → the guest. An unknown number costs the same argon2
        verification as a known one, and gets the same answer as a wrong password."""
        phone = normalise_phone(phone)
        validate_payment_password(password)
        with self._uow() as uow:
            guest = uow.guests.by_phone(phone)
        if guest is None or guest.erased_at is not None:
            self._hasher.verify(self._dummy(), password)
            raise AuthError("wrong phone number or password")
        check = self.check_password(guest.id, password, actor)
        if check.locked(self._clock.now()):
            raise LockedOut(check.explanation(self._policy))
        if not check.ok:
            raise AuthError("wrong phone number or password")
        return self._to_guest(guest)

    def _dummy(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = self._hasher.hash(secrets.token_hex(8))
        return self._dummy_hash

    def _reserve_attempt(self, guest_id: str, actor: str) -> tuple[PasswordGuard, bool]:
        for _ in range(3):  # a first attempt races another one inserting the guard row: retry
            try:
                with self._uow() as uow:
                    self._live(uow, guest_id)
                    now = self._clock.now()
                    before = uow.payments.guard(guest_id, for_update=True)
                    guard, allowed = reserve_attempt(before, now, self._policy)
                    if guard != before:
                        uow.payments.save_guard(guest_id, guard)
                    if guard.locked_until != before.locked_until and guard.locked(now):
                        self._notify_lockout(uow, now, guest_id, guard, actor)
                    uow.commit()
                return guard, allowed
            except DuplicateRecord:
                continue
        raise Conflict("too many simultaneous password attempts; try again")

    def _settle_attempt(self, guest_id: str, ok: bool, actor: str) -> PasswordCheck:
        with self._uow() as uow:
            now = self._clock.now()
            guard, locked_now = settle_attempt(uow.payments.guard(guest_id, for_update=True), ok, now, self._policy)
            uow.payments.save_guard(guest_id, guard)
            if locked_now:
                self._notify_lockout(uow, now, guest_id, guard, actor)
            uow.commit()
        return PasswordCheck(ok, guard, locked_now)

    def _notify_lockout(
        self, uow: AbstractUnitOfWork, now: datetime, guest_id: str, guard: PasswordGuard, actor: str
    ) -> None:
        until = f"{guard.locked_until:%H:%M} UTC" if guard.locked_until else "?"
        uow.notifications.notify(
            now,
            "lockout",
            guest_id,
            f"guest {guest_id[:8]}: payment password locked until {until} after {guard.failures} wrong attempts "
            f"(lockout {guard.lockouts} in a row)",
        )
        self._audit(uow, now, actor, "password.locked", guest_id, failures=guard.failures, lockouts=guard.lockouts)

    def grant_consent(
        self,
        guest_id: str,
        purpose: ConsentPurpose | str,
        actor: str = "guest",
        *,
        text_version: str = CONSENT_TEXT_VERSION,
        language: str = "en",
    ) -> ConsentRecord:
        """Record consent to ``purpose`` with the text version and language the guest was shown."""
        purpose = _purpose(purpose)
        now = self._clock.now()
        with self._uow() as uow:
            self._live(uow, guest_id)
            existing = uow.consents.active(guest_id, purpose)
            if existing is not None:
                return existing
            consent = ConsentRecord(guest_id, purpose, now, text_version, language=language)
            uow.consents.add(consent)
            self._audit(
                uow,
                now,
                actor,
                "consent.granted",
                guest_id,
                purpose=purpose.value,
                text_version=text_version,
                language=language,
            )
            uow.commit()
        return consent

    def revoke_consent(
        self, guest_id: str, purpose: ConsentPurpose | str, actor: str = "guest", reason: str | None = None
    ) -> None:
        """Revoking face-payment consent deletes the guest's templates in the same transaction; revoking
        sobriety monitoring deletes the measurements and the learnt normal."""
        purpose = _purpose(purpose)
        now = self._clock.now()
        with self._uow() as uow:
            self._live(uow, guest_id)
            if uow.consents.active(guest_id, purpose) is None:
                return
            uow.consents.revoke(guest_id, purpose, now)
            if purpose is ConsentPurpose.FACE_PAYMENT:
                deleted = uow.templates.delete_for_guest(guest_id)
            else:
                deleted = uow.derived.delete_monitoring(guest_id)
            details = {"purpose": purpose.value, "rows_deleted": deleted, **_why(reason)}
            self._audit(uow, now, actor, "consent.revoked", guest_id, **details)
            uow.commit()

    def has_consent(self, guest_id: str, purpose: ConsentPurpose | str) -> bool:
        with self._uow() as uow:
            return uow.consents.active(guest_id, _purpose(purpose)) is not None

    def consents(self, guest_id: str) -> list[ConsentRecord]:
        with self._uow() as uow:
            return uow.consents.for_guest(guest_id)

    # --- enrolment ------------------------------------------------------------------------------

    def enroll_images(self, guest_id: str, images: Sequence[bytes], actor: str = "guest") -> EnrolmentResult:
        self._require_face_consent(guest_id)  # no biometric processing without consent
        if not images:
            raise InvalidInput("at least one image is required")
        decoded = [self._decode_image(data) for data in images]  # all inputs validated before any write
        analyses = [self.analyser.analyse(img) for img in decoded]
        return self.enroll_analyses(guest_id, analyses, actor)

    def enroll_video(self, guest_id: str, video: bytes | str, actor: str = "guest") -> EnrolmentResult:
        self._require_face_consent(guest_id)
        frames = self._decode_video(video)
        analyses = self.analyser.best_from_frames(frames, top_k=self._settings.templates_per_guest)
        rejected = dict(getattr(self.analyser, "last_rejections", {}) or {})
        if not analyses:
            raise LowQuality("no frame in the video passed the quality gates", rejected=rejected)
        return self.enroll_analyses(guest_id, analyses, actor, rejected)

    def _require_face_consent(self, guest_id: str) -> None:
        self.get(guest_id)  # unknown or erased guest → NotFound
        if not self.has_consent(guest_id, ConsentPurpose.FACE_PAYMENT):
            raise ConsentRequired("face enrolment needs face_payment consent", guest_id=guest_id)

    def decode_capture(self, images: Sequence[bytes] = (), video: bytes | None = None) -> list[ImageBGR]:
        """The frames of one capture, from photos or a short video, at most ``PROOF_MAX_FRAMES``."""
        if video is not None:
            return list(itertools.islice(self._decode_video(video), PROOF_MAX_FRAMES))
        if not 1 <= len(images) <= PROOF_MAX_FRAMES:
            raise InvalidInput(f"send 1–{PROOF_MAX_FRAMES} face images or one short video", field="face")
        return [self._decode_image(data) for data in images]

    def analyse_capture(self, frames: Sequence[ImageBGR]) -> list[FaceAnalysis]:
        """The best quality-qualified faces of a capture (one frame: that frame, or its quality error)."""
        if len(frames) == 1:
            return [self.analyser.analyse(frames[0])]
        analyses = self.analyser.best_from_frames(frames, top_k=self._settings.templates_per_guest)
        if not analyses:
            rejected = dict(getattr(self.analyser, "last_rejections", {}) or {})
            raise LowQuality("no frame passed the quality gates", rejected=rejected)
        return analyses

    def prove_guest(
        self, guest_id: str, password: str, frames: Sequence[ImageBGR], challenge_id: str | None, actor: str = "guest"
    ) -> list[FaceAnalysis]:
        """The guest's own proof for account actions (add a face, revoke consent, erase): the payment
        password (counted under the one lockout), a live capture (``PresenceCheck``) and a face that
        matches the guest's enrolled templates 1:1. Returns the capture's analysed faces."""
        if not frames:
            raise InvalidInput("send the guest's face: images or a short video", field="face")
        self.require_password(guest_id, password, actor)
        presence = self._presence.check(frames, challenge_id)
        if not presence.live:
            raise Forbidden("liveness check failed: " + "; ".join(presence.reasons), reason="not_live")
        analyses = self.analyse_capture(frames)
        if not self._verify_new_faces(guest_id, analyses, actor):
            raise Forbidden(
                "this guest has no enrolled face to compare with: a manager must do this", reason="no_templates"
            )
        return analyses

    def _verify_new_faces(self, guest_id: str, analyses: Sequence[FaceAnalysis], actor: str) -> bool:
        """Every face must match the guest's stored templates 1:1; a mismatch is refused and staff are told.

        False when the guest has no templates yet (first enrolment: nothing to compare with)."""
        with self._uow() as uow:
            stored = uow.templates.for_guest(guest_id, self._embedder)
        if not stored:
            return False
        templates = [self._decrypt_template(t) for t in stored]
        worst = min(max(self._codec.similarity(t, a.embedding) for t in templates) for a in analyses)
        decision = decide_verification(guest_id, worst, self._threshold)
        if decision.accepted:
            return True
        now = self._clock.now()
        with self._uow() as uow:
            uow.notifications.notify(
                now,
                "face_mismatch",
                guest_id,
                f"guest {guest_id[:8]}: a face that does not match the enrolled one was offered for this account "
                f"({decision.explanation}); refused",
            )
            self._audit(uow, now, actor, "face.mismatch_refused", guest_id, score=round(worst, 3))
            uow.commit()
        raise Forbidden(
            "this face does not match the guest's enrolled face; staff have been notified",
            reason="face_mismatch",
            score=round(worst, 3),
        )

    def enroll_analyses(
        self,
        guest_id: str,
        analyses: Sequence[FaceAnalysis],
        actor: str,
        rejected: dict[str, int] | None = None,
        reason: str | None = None,
    ) -> EnrolmentResult:
        """Store templates for analysed faces. A guest who already has templates gets new ones only when
        they match the stored ones 1:1 (a stolen session must not add a stranger's face)."""
        self._require_face_consent(guest_id)
        self._verify_new_faces(guest_id, analyses, actor)
        self._ensure_index()
        dup_threshold = self._threshold + self._settings.duplicate_threshold_bonus
        for analysis in analyses:
            for hit in self._index.search(analysis.embedding, k=3):
                if hit.key != guest_id and hit.score >= dup_threshold:
                    raise Conflict("this face is already enrolled under another guest", score=round(hit.score, 3))
        keep = self._settings.templates_per_guest
        now = self._clock.now()
        aad = template_aad(guest_id, self._embedder)
        with self._uow() as uow:
            self._live(uow, guest_id)
            existing = uow.templates.for_guest(guest_id, self._embedder)
            # Keep at most templates_per_guest, newest win.
            for old in existing[: max(0, len(existing) + len(analyses) - keep)]:
                if old.id is not None:
                    uow.templates.delete(old.id)
            # An index in the database searches a plaintext copy written in this same transaction.
            in_database = not isinstance(self._index, InProcessTemplateIndex)
            for analysis in analyses[-keep:]:
                key_id, blob = self._cipher.encrypt(self._codec.to_bytes(analysis.embedding), aad)
                quality = float(analysis.quality.sharpness)
                vector = analysis.embedding if in_database else None
                uow.templates.add(TemplateRecord(guest_id, self._embedder, key_id, blob, quality, now, None, vector))
            self._audit(
                uow,
                now,
                actor,
                "face.enrolled",
                guest_id,
                templates=len(analyses),
                embedder=self._embedder,
                **_why(reason),
            )
            uow.commit()
        return EnrolmentResult(
            guest_id=guest_id,
            templates_stored=min(len(analyses), keep),
            qualities=tuple(round(float(a.quality.sharpness), 1) for a in analyses),
            rejected=rejected or {},
        )

    def template_count(self, guest_id: str) -> int:
        with self._uow() as uow:
            return len(uow.templates.for_guest(guest_id))

    # --- matching -------------------------------------------------------------------------------

    def identify(self, image: bytes | ImageBGR, phone_last4: str | None = None) -> IdentityDecision:
        img = self._decode_image(image) if isinstance(image, bytes | bytearray) else image
        analysis = self.analyser.analyse(img)
        return self.identify_embedding(analysis.embedding, phone_last4)

    def identify_frames(
        self, frames: Sequence[ImageBGR], fuse_top: int = 3, phone_last4: str | None = None
    ) -> IdentityDecision:
        """1:N identification from a clip: the patent's quality selection picks the ``fuse_top`` best
        frames; each guest's score is the mean of its scores over those frames (score-level fusion:
        one sharp frame cannot carry a match the others do not support). The threshold grows with the
        gallery as for a single frame; a large gallery asks for the phone digits instead, and with them
        only the guests whose number ends with them are compared, under the same fusion."""
        digits = None if phone_last4 is None else validate_phone_last4(phone_last4)
        analyses = self.analyser.best_from_frames(frames, top_k=fuse_top)
        if digits is not None:
            return self._identify_among([a.embedding for a in analyses], digits)
        self._ensure_index()
        size = len(self._index)
        threshold = self.threshold_for(size)
        if size >= self._settings.phone_hint_gallery_size:
            return IdentityDecision(
                MatchStatus.AMBIGUOUS, None, 0.0, 0.0, threshold, "large gallery: enter the last 4 digits of the phone"
            )
        totals: dict[str, float] = {}
        for analysis in analyses:
            for hit in self._search(analysis.embedding, k=5):
                totals[hit.key] = totals.get(hit.key, 0.0) + float(hit.score)
        ranked = sorted(totals.items(), key=lambda kv: -kv[1])[:2]
        candidates = [Candidate(key, total / len(analyses)) for key, total in ranked]
        return decide_identification(candidates, threshold, self._settings.min_margin)

    def _search(self, embedding: Embedding, k: int) -> list[IndexHit]:
        started = time.perf_counter()
        hits = list(self._index.search(embedding, k=k))
        self._observe("search", time.perf_counter() - started)
        return hits

    def threshold_for(self, comparisons: int) -> float:
        """The 1:N threshold for a search over ``comparisons`` templates (grows with the gallery)."""
        s = self._settings
        mean, std = s.impostor_scores.get(self._embedder, (0.0, 0.0))
        return gallery_threshold(self._threshold, comparisons, mean, std, s.false_accepts_per_search)

    def identify_embedding(self, embedding: Embedding, phone_last4: str | None = None) -> IdentityDecision:
        """1:N over the whole gallery, or, with the last 4 phone digits, over the guests whose number
        ends with them (about one in 10,000). A large gallery without the hint is not searched: the
        decision asks for the digits, as large face-payment systems do."""
        if phone_last4 is not None:
            return self._identify_among([embedding], validate_phone_last4(phone_last4))
        self._ensure_index()
        size = len(self._index)
        threshold = self.threshold_for(size)
        if size >= self._settings.phone_hint_gallery_size:
            return IdentityDecision(
                MatchStatus.AMBIGUOUS, None, 0.0, 0.0, threshold, "large gallery: enter the last 4 digits of the phone"
            )
        hits = self._search(embedding, k=2)
        candidates = [Candidate(h.key, float(h.score)) for h in hits]
        return decide_identification(candidates, threshold, self._settings.min_margin)

    def _identify_among(self, embeddings: Sequence[Embedding], digits: str) -> IdentityDecision:
        """Exact 1:N over the guests whose phone ends with ``digits``: per guest the best template's score,
        averaged over the probe embeddings (one for a still, the best frames of a clip). The threshold is
        the one for this many comparisons, never below 1:1: the digits narrow the search, the face must
        still match."""
        with self._uow() as uow:
            templates = [
                t
                for guest_id in uow.guests.ids_with_phone_ending(digits)
                for t in uow.templates.for_guest(guest_id, self._embedder)
            ]
        best: dict[str, list[float]] = {}
        for t in templates:
            stored = self._decrypt_template(t)
            scores = [self._codec.similarity(stored, e) for e in embeddings]
            prev = best.setdefault(t.guest_id, scores)
            best[t.guest_id] = [max(a, b) for a, b in zip(prev, scores, strict=True)]
        candidates = [Candidate(g, sum(s) / len(s)) for g, s in best.items()]
        return decide_identification(candidates, self.threshold_for(len(templates)), self._settings.min_margin)

    def verify(self, guest_id: str, image: bytes | ImageBGR) -> VerificationDecision:
        img = self._decode_image(image) if isinstance(image, bytes | bytearray) else image
        self.get(guest_id)
        with self._uow() as uow:
            stored = uow.templates.for_guest(guest_id, self._embedder)
        templates = [self._decrypt_template(t) for t in stored]
        if not templates:
            raise NotFound("guest has no enrolled face", guest_id=guest_id)
        emb = self.analyser.analyse(img).embedding
        score = max(self._codec.similarity(t, emb) for t in templates)
        return decide_verification(guest_id, score, self._threshold)

    # --- erasure & keys -------------------------------------------------------------------------

    def erase(self, guest_id: str, actor: str = "guest", reason: str | None = None) -> None:
        """Delete templates and personal fields; keep an anonymised row so ledger/audit stay consistent."""
        now = self._clock.now()
        with self._uow() as uow:
            guest = self._live(uow, guest_id)
            deleted = uow.templates.delete_for_guest(guest_id)
            derived = uow.derived.delete_all(guest_id)
            uow.consents.revoke_all(guest_id, now)
            uow.guests.save(GuestRecord(id=guest.id, created_at=guest.created_at, erased_at=now))
            self._audit(
                uow,
                now,
                actor,
                "guest.erased",
                guest_id,
                templates_deleted=deleted,
                derived_rows_deleted=derived,
                **_why(reason),
            )
            uow.commit()
            uow.purge_erased()

    def reencrypt_all(self) -> int:
        """Re-encrypt every template and ID number under the cipher's current key (after rotation)."""
        count = 0
        current = self._cipher.current_key_id
        with self._uow() as uow:
            for t in uow.templates.not_under(current):
                aad = template_aad(t.guest_id, t.embedder)
                key_id, blob = self._cipher.encrypt(self._cipher.decrypt(t.key_id, t.blob, aad), aad)
                if t.id is not None:
                    uow.templates.save_ciphertext(t.id, key_id, blob)
                count += 1
            for g in uow.guests.with_national_id_not_under(current):
                if g.national_id_key_id is None or g.national_id_enc is None:
                    continue  # the query returns only guests with a stored ID number
                aad = national_id_aad(g.id)
                key_id, blob = self._cipher.encrypt(
                    self._cipher.decrypt(g.national_id_key_id, g.national_id_enc, aad), aad
                )
                uow.guests.save(replace(g, national_id_key_id=key_id, national_id_enc=blob))
                count += 1
            self._audit(uow, self._clock.now(), "operator", "keys.reencrypted", None, rows=count)
            uow.commit()
        return count


def template_aad(guest_id: str, embedder: str) -> bytes:
    """Associated data binding a template ciphertext to its owner and model: a blob copied to
    another row fails to decrypt."""
    return f"face-template:{guest_id}:{embedder}".encode()


def national_id_aad(guest_id: str) -> bytes:
    return f"national-id:{guest_id}".encode()


def _why(reason: str | None) -> dict[str, str]:
    """The audited reason of a manager's account action (guest actions carry none)."""
    return {"reason": reason} if reason else {}


def _purpose(value: ConsentPurpose | str) -> ConsentPurpose:
    try:
        return ConsentPurpose(value)
    except ValueError as exc:
        raise InvalidInput(
            f"unknown consent purpose {value!r}; expected one of {[p.value for p in ConsentPurpose]}"
        ) from exc
