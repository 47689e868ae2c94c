"""Guests: registration (kiosk), consent, face enrolment (images or a short video), quality feedback, erase.

Who may do what (issue 11):
- a **kiosk** guest token (from registration, short-lived) grants consents and enrols the FIRST face
  (``/face``, ``/face/video``: only while the guest has no templates);
- a **room** guest token reads its own record and nothing else here (it buys in ``purchases``);
- a **self-service** token (``kiosk:self``, from phone + payment password at the kiosk) reads the
  guest's own record — consents included — and nothing else: it lets the kiosk show what it is about to
  change; the change itself still needs the proof below;
- **account actions** — add a face (``POST /faces``), revoke a consent, erase — need EITHER a manager's
  staff session and a ``reason`` (audited) OR the guest's own proof: the payment password (under the
  guest's one lockout) AND a live face capture matching their enrolled templates 1:1.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile, status
from starlette.concurrency import run_in_threadpool

from soberpay.adapters.consent_texts import consent_text
from soberpay.domain.identity import (
    CONSENT_TEXT_VERSION,
    ConsentPurpose,
    mask_national_id,
    normalise_phone,
    validate_national_id,
)
from soberpay.domain.risk import validate_reason
from soberpay.errors import AuthError, Conflict, FaceError, Forbidden, InvalidInput, Unauthenticated
from soberpay.ports import FaceAnalysis
from soberpay.web.auth import SELF_SERVICE_SCOPE, StaffPrincipal
from soberpay.web.deps import (
    GuestTokenHeader,
    MaybeStaff,
    PublicRate,
    Web,
    client_ip,
    guest_from_token,
    require_self_or_staff,
)
from soberpay.web.i18n import error_message, gettext_for, lang_of
from soberpay.web.links import NEW_GUEST, link, links
from soberpay.web.routes._util import mask_phone, read_upload
from soberpay.web.schemas import (
    ConsentIn,
    ConsentOut,
    EnrolOut,
    ErrorOut,
    GuestOut,
    IdentifyPhoneIn,
    QualityOut,
    RegisteredOut,
    RegisterIn,
    SelfServiceOut,
)

router = APIRouter(prefix="/api", tags=["guests"], responses={400: {"model": ErrorOut}, 401: {"model": ErrorOut}})


def _guest_out(web: Web, guest_id: str) -> GuestOut:
    ident = web.container.identity
    c = ident.get(guest_id)
    return GuestOut(
        guest_id=c.id,
        name=c.name,
        phone_masked=mask_phone(c.phone),
        national_id_masked=c.national_id_masked,
        consents=[
            ConsentOut(
                purpose=r.purpose.value,
                granted_at=r.granted_at,
                text_version=r.text_version,
                language=r.language,
                revoked_at=r.revoked_at,
            )
            for r in ident.consents(guest_id)
        ],
        templates=ident.template_count(guest_id),
    )


@router.get("/consents/texts", dependencies=[PublicRate], responses={429: {"model": ErrorOut}})
def consent_texts(request: Request) -> dict[str, object]:
    """The consent text of each purpose in the request's language (``Accept-Language`` or ``?lang=``); the
    version and language are recorded with every grant."""
    lang = lang_of(request)
    return {
        "version": CONSENT_TEXT_VERSION,
        "language": lang,
        "purposes": {p.value: consent_text(p, lang) for p in ConsentPurpose},
    }


def _shown(request: Request, purposes: Sequence[str], version: str | None, language: str | None) -> tuple[str, str]:
    """The consent text version and language the guest was shown; ``InvalidInput`` (before anything is
    stored) when that text does not exist for one of ``purposes``."""
    shown = (version or CONSENT_TEXT_VERSION, language or lang_of(request))
    for purpose in purposes:
        consent_text(ConsentPurpose(purpose), shown[1], shown[0])
    return shown


@router.post(
    "/guests",
    status_code=status.HTTP_201_CREATED,
    response_model=RegisteredOut,
    responses={
        429: {"model": ErrorOut},
        **links(
            201,
            GetGuest=link("GET", "/api/guests/{guest_id}", "the registered guest", NEW_GUEST),
            GrantConsent=link("POST", "/api/guests/{guest_id}/consents", "grant a further consent", NEW_GUEST),
            RevokeConsent=link(
                "DELETE",
                "/api/guests/{guest_id}/consents/{purpose}",
                "revoke a consent just granted",
                {**NEW_GUEST, "path.purpose": "$response.body#/consents/0/purpose"},
            ),
            EnrolFace=link("POST", "/api/guests/{guest_id}/face", "enrol the face", NEW_GUEST),
            TopUp=link(
                "POST",
                "/api/staff/guests/{guest_id}/topup",
                "cash in at the counter",
                {"path.guest_id": "$response.body#/guest_id"},
            ),
        ),
    },
)
def register(body: RegisterIn, request: Request, web: Web) -> RegisteredOut:
    """Register a guest at the kiosk. Consents listed in ``consents`` are granted explicitly, nothing by default.

    Returns a short-lived guest token scoped to the kiosk for the enrolment steps that follow. A phone
    number that is already registered gets the same 201-shaped answer (for a record that is never
    stored) so the kiosk does not reveal who is a guest; staff are notified to resolve it.
    """
    web.limits.check("register", client_ip(request))
    version, language = _shown(request, body.consents, body.consent_version, body.consent_language)
    ident = web.container.identity
    try:
        guest = ident.register(
            name=body.name,
            phone=body.phone,
            national_id=body.national_id,
            password=body.password,
            sex=body.sex or None,
            weight_kg=body.weight_kg,
        )
    except Conflict:
        ident.report_taken_phone(body.phone)
        return _decoy_registration(web, body, version, language)
    for purpose in dict.fromkeys(body.consents):
        ident.grant_consent(guest.id, purpose, text_version=version, language=language)
    out = _guest_out(web, guest.id)
    return RegisteredOut(**out.model_dump(), guest_token=web.guest_token(guest.id, "kiosk"))


def _decoy_registration(web: Web, body: RegisterIn, version: str, language: str) -> RegisteredOut:
    """What a new registration would have answered, for a guest id that does not exist."""
    guest_id = uuid.uuid4().hex
    return RegisteredOut(
        guest_id=guest_id,
        name=body.name.strip(),
        phone_masked=mask_phone(normalise_phone(body.phone)),
        national_id_masked=mask_national_id(validate_national_id(body.national_id)),
        consents=[
            ConsentOut(purpose=p, granted_at=web.container.clock.now(), text_version=version, language=language)
            for p in dict.fromkeys(body.consents)
        ],
        templates=0,
        guest_token=web.guest_token(guest_id, "kiosk"),
    )


@router.post(
    "/guests/self-service",
    response_model=SelfServiceOut,
    responses={401: {"model": ErrorOut}, 423: {"model": ErrorOut}, 429: {"model": ErrorOut}},
)
def self_service(body: IdentifyPhoneIn, request: Request, web: Web) -> SelfServiceOut:
    """A guest finds their own account at the kiosk: phone number + payment password → their record and a
    ``kiosk:self`` token that reads it (and fetches liveness challenges) but changes nothing.

    Rate-limited per canonical number and per kiosk address, under the guest's one password lockout (423
    while locked); an unknown number gets the same answer, in the same time, as a wrong password."""
    try:
        phone = normalise_phone(body.phone)  # one limit per number, however it is spelt
    except InvalidInput as exc:
        raise AuthError("wrong phone number or password") from exc
    web.limits.check("password", "phone:" + phone)
    web.limits.check("identify", "kiosk:" + client_ip(request))
    guest = web.container.identity.identify_by_phone(phone, body.password, actor="kiosk")
    out = _guest_out(web, guest.id)
    return SelfServiceOut(**out.model_dump(), guest_token=web.guest_token(guest.id, SELF_SERVICE_SCOPE))


@router.get(
    "/guests/{guest_id}", response_model=GuestOut, responses={403: {"model": ErrorOut}, 404: {"model": ErrorOut}}
)
def get_guest(guest_id: str, web: Web, staff: MaybeStaff, x_guest_token: GuestTokenHeader = None) -> GuestOut:
    """A guest's own record (guest token) or any guest (staff). ID number and phone are masked."""
    require_self_or_staff(web, x_guest_token, staff, guest_id)
    return _guest_out(web, guest_id)


@router.post(
    "/guests/{guest_id}/consents",
    response_model=GuestOut,
    responses={403: {"model": ErrorOut}, 404: {"model": ErrorOut}},
)
def grant_consent(
    guest_id: str,
    body: ConsentIn,
    request: Request,
    web: Web,
    staff: MaybeStaff,
    x_guest_token: GuestTokenHeader = None,
) -> GuestOut:
    """Grant a consent: the guest at the kiosk (registration token) or staff."""
    actor, guest = require_self_or_staff(web, x_guest_token, staff, guest_id)
    if guest is not None:
        _require_kiosk(guest.scope)
    version, language = _shown(request, [body.purpose], body.consent_version, body.consent_language)
    web.container.identity.grant_consent(guest_id, body.purpose, actor=actor, text_version=version, language=language)
    return _guest_out(web, guest_id)


# --- account actions: a manager with a reason, or the guest's own proof -------------------------------

ReasonField = Annotated[str | None, Form(max_length=500, description="manager path: why (3–500 characters, audited)")]
PasswordField = Annotated[
    str | None, Form(max_length=6, description="guest path: the guest's 6-digit payment password")
]
FaceField = Annotated[
    list[UploadFile] | None,
    File(description="guest path: a live capture of the guest: 2 or more face images (a burst) or one short video"),
]
ChallengeField = Annotated[
    str | None, Form(max_length=64, description="guest path: the liveness challenge shown to the guest, if any")
]


@dataclass(frozen=True)
class AccountActionIn:
    """The credentials of an account action: a manager with a reason, or the guest's password + live face."""

    staff: StaffPrincipal | None
    token: str | None
    reason: str | None
    password: str | None
    uploads: list[UploadFile]
    challenge_id: str | None


def _account_action(
    staff: MaybeStaff,
    reason: ReasonField = None,
    password: PasswordField = None,
    face: FaceField = None,
    challenge_id: ChallengeField = None,
    x_guest_token: GuestTokenHeader = None,
) -> AccountActionIn:
    uploads = [f for f in face or [] if f.filename or f.size]  # browsers send an empty part for no file
    return AccountActionIn(staff, x_guest_token, reason, password, uploads, challenge_id)


AccountAction = Annotated[AccountActionIn, Depends(_account_action)]


_ACCOUNT_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut},
    401: {"model": ErrorOut},
    403: {"model": ErrorOut},
    404: {"model": ErrorOut},
    422: {"model": ErrorOut},
    423: {"model": ErrorOut},
    429: {"model": ErrorOut},
}


def _require_kiosk(scope: str) -> None:
    if scope != "kiosk":
        raise Forbidden(
            "a room guest token only buys and reads its own state; account changes need the payment "
            "password and a live face, or a manager"
        )


async def _read_capture(web: Web, uploads: list[UploadFile]) -> list[Any]:
    """The frames of one capture: several images, or one file sent as ``video/*``."""
    ident = web.container.identity
    limit = web.container.settings.identity.max_upload_bytes
    if len(uploads) == 1 and (uploads[0].content_type or "").startswith("video/"):
        video = await read_upload(uploads[0], limit)
        return await run_in_threadpool(ident.decode_capture, (), video)
    images = [await read_upload(f, limit) for f in uploads]
    return await run_in_threadpool(ident.decode_capture, images)


async def _authorise_account_action(
    web: Web, guest_id: str, action: AccountActionIn
) -> tuple[str, str | None, list[FaceAnalysis]]:
    """``(actor, audited reason, proven faces)`` for an account action, or an error.

    A guest token alone never suffices (a room token is handed out by identification and must not
    change the account). Proof: payment password + live capture matching the enrolled face."""
    staff, password = action.staff, action.password
    guest = guest_from_token(web, action.token)
    if guest is not None and guest.guest_id != guest_id:
        raise Forbidden("a guest can only change their own account")
    face = action.uploads
    if password is None:
        if staff is None:
            raise Unauthenticated(
                "this needs the guest's payment password and a live face capture, or a manager and a reason"
            )
        staff.require_csrf()
        staff.require("manager")
        return staff.actor, validate_reason(action.reason), []
    if not face:
        raise InvalidInput("send a live face capture with the payment password", field="face")
    web.limits.check("password", "guest:" + guest_id)
    frames = await _read_capture(web, face)
    started = time.perf_counter()
    try:
        analyses = await run_in_threadpool(
            web.container.identity.prove_guest, guest_id, password, frames, action.challenge_id, "guest"
        )
    finally:
        web.metrics.model_seconds.labels("prove").observe(time.perf_counter() - started)
    return "guest", None, analyses


@router.delete(
    "/guests/{guest_id}/consents/{purpose}",
    response_model=GuestOut,
    responses=_ACCOUNT_ERRORS,
)
async def revoke_consent(
    guest_id: str,
    purpose: str,
    web: Web,
    action: AccountAction,
) -> GuestOut:
    """Revoke a consent (an account action: manager + ``reason``, or ``password`` + live ``face``).

    Revoking ``face_payment`` deletes the guest's face templates in the same transaction."""
    if purpose not in {p.value for p in ConsentPurpose}:
        raise InvalidInput("unknown consent purpose", field="purpose")
    actor, why, _ = await _authorise_account_action(web, guest_id, action)
    await run_in_threadpool(web.container.identity.revoke_consent, guest_id, purpose, actor, why)
    return _guest_out(web, guest_id)


_ENROL_ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"model": ErrorOut},
    404: {"model": ErrorOut},
    409: {"model": ErrorOut},
    422: {"model": ErrorOut},
}


async def _enrol(web: Web, enroll: Callable[..., Any], guest_id: str, payload: object, actor: str) -> EnrolOut:
    """Run one enrolment call off the event loop, time it, and map its result."""
    started = time.perf_counter()
    result = await web.models.run(enroll, guest_id, payload, actor=actor)
    web.metrics.model_seconds.labels("enrol").observe(time.perf_counter() - started)
    return EnrolOut(
        guest_id=result.guest_id,
        templates_stored=result.templates_stored,
        qualities=list(result.qualities),
        rejected=result.rejected,
    )


def _first_enrolment(web: Web, token: str | None, staff: StaffPrincipal | None, guest_id: str) -> str:
    """The kiosk registration token enrols the first face only; later faces are an account action."""
    actor, guest = require_self_or_staff(web, token, staff, guest_id)
    if guest is None:
        raise Forbidden(f"staff add faces with POST /api/guests/{guest_id}/faces and a reason")
    _require_kiosk(guest.scope)
    if web.container.identity.template_count(guest_id):
        raise Forbidden(
            f"this guest already has a face enrolled: adding one needs POST /api/guests/{guest_id}/faces "
            "with the payment password and a live face, or a manager"
        )
    return actor


@router.post(
    "/guests/{guest_id}/face",
    response_model=EnrolOut,
    responses=_ENROL_ERRORS,
)
async def enrol_images(
    guest_id: str,
    web: Web,
    staff: MaybeStaff,
    files: Annotated[list[UploadFile], File(description="1–10 face photos (JPEG/PNG)")],
    x_guest_token: GuestTokenHeader = None,
) -> EnrolOut:
    """First enrolment at the kiosk from photos (registration token, needs face_payment consent).
    All photos are checked before any write."""
    actor = _first_enrolment(web, x_guest_token, staff, guest_id)
    if not 1 <= len(files) <= 10:
        raise InvalidInput("send 1–10 images", field="files")
    limit = web.container.settings.identity.max_upload_bytes
    images = [await read_upload(f, limit) for f in files]
    return await _enrol(web, web.container.identity.enroll_images, guest_id, images, actor)


@router.post(
    "/guests/{guest_id}/face/video",
    response_model=EnrolOut,
    responses=_ENROL_ERRORS,
)
async def enrol_video(
    guest_id: str,
    web: Web,
    staff: MaybeStaff,
    file: Annotated[UploadFile, File(description="a short video (a few seconds, face to camera)")],
    x_guest_token: GuestTokenHeader = None,
) -> EnrolOut:
    """First enrolment at the kiosk from a short video: the best-quality frames are selected (in memory)."""
    actor = _first_enrolment(web, x_guest_token, staff, guest_id)
    data = await read_upload(file, web.container.settings.identity.max_upload_bytes)
    return await _enrol(web, web.container.identity.enroll_video, guest_id, data, actor)


@router.post("/guests/{guest_id}/faces", response_model=EnrolOut, responses={**_ENROL_ERRORS, **_ACCOUNT_ERRORS})
async def add_faces(
    guest_id: str,
    web: Web,
    action: AccountAction,
) -> EnrolOut:
    """Add face templates (an account action: manager + ``reason`` + ``face``, or ``password`` + live ``face``).

    The guest's proof capture becomes the new templates. Either way, a guest who already has templates
    gets new ones only when they match the stored ones 1:1; a mismatch is refused and staff are told."""
    actor, why, analyses = await _authorise_account_action(web, guest_id, action)
    ident = web.container.identity
    if not analyses:  # the manager path: the capture is the new face
        uploads = action.uploads
        if not uploads:
            raise InvalidInput("send the face to enrol", field="face")
        analyses = await run_in_threadpool(ident.analyse_capture, await _read_capture(web, uploads))
    started = time.perf_counter()
    result = await run_in_threadpool(ident.enroll_analyses, guest_id, analyses, actor, None, why)
    web.metrics.model_seconds.labels("enrol").observe(time.perf_counter() - started)
    return EnrolOut(
        guest_id=result.guest_id,
        templates_stored=result.templates_stored,
        qualities=list(result.qualities),
        rejected=result.rejected,
    )


def _analyse(web: Web, data: bytes) -> Any:
    """Decode and analyse on a model thread: decoding is model work too (bounded memory, off the event loop)."""
    return web.container.identity.analyser.analyse(web.container.decode_image(data))


@router.post("/face/quality", response_model=QualityOut, responses={429: {"model": ErrorOut}})
async def face_quality(
    request: Request, web: Web, file: Annotated[UploadFile, File(description="one camera frame")]
) -> QualityOut:
    """Live quality feedback for the kiosk camera: is there exactly one usable face, and if not, why."""
    web.limits.check("identify", "quality:" + client_ip(request))
    data = await read_upload(file, web.container.settings.identity.max_upload_bytes)
    started = time.perf_counter()
    try:
        analysis = await web.models.run(_analyse, web, data)
    except FaceError as exc:
        return QualityOut(ok=False, reason=exc.code, message=error_message(exc.code, exc.message, lang_of(request)))
    finally:
        web.metrics.model_seconds.labels("quality").observe(time.perf_counter() - started)
    q = analysis.quality
    _ = gettext_for(lang_of(request))
    return QualityOut(
        ok=True,
        reason="ok",
        message=_("good: hold still"),
        sharpness=round(q.sharpness, 1),
        face_px=round(q.face_size, 1),
        brightness=round(q.brightness, 1),
    )


@router.delete("/guests/{guest_id}", status_code=status.HTTP_204_NO_CONTENT, responses=_ACCOUNT_ERRORS)
async def erase_guest(
    guest_id: str,
    web: Web,
    action: AccountAction,
) -> None:
    """Erase a guest (an account action: manager + ``reason``, or ``password`` + live ``face``).

    Templates and personal fields are deleted; an anonymised row keeps the ledger consistent."""
    actor, why, _ = await _authorise_account_action(web, guest_id, action)
    await run_in_threadpool(web.container.identity.erase, guest_id, actor, why)
