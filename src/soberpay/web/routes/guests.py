"""Guests: registration (kiosk), consent, face enrolment (images or a short video), quality feedback, erase."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, File, Request, UploadFile, status
from starlette.concurrency import run_in_threadpool

from soberpay.adapters.consent_texts import consent_text
from soberpay.domain.identity import CONSENT_TEXT_VERSION, ConsentPurpose
from soberpay.errors import FaceError, InvalidInput
from soberpay.web.deps import GuestTokenHeader, MaybeStaff, Web, client_ip, require_self_or_staff
from soberpay.web.i18n import error_message, gettext_for, lang_of
from soberpay.web.routes._util import mask_phone, read_upload
from soberpay.web.schemas import (
    ConsentIn,
    ConsentOut,
    EnrolOut,
    ErrorOut,
    GuestOut,
    QualityOut,
    RegisteredOut,
    RegisterIn,
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


@router.get("/consents/texts")
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
    responses={409: {"model": ErrorOut}, 429: {"model": ErrorOut}},
)
def register(body: RegisterIn, request: Request, web: Web) -> RegisteredOut:
    """Register a guest at the kiosk. Consents listed in ``consents`` are granted explicitly, nothing by default.

    Returns a short-lived guest token scoped to the kiosk for the enrolment steps that follow.
    """
    web.limits.check("register", client_ip(request))
    version, language = _shown(request, body.consents, body.consent_version, body.consent_language)
    ident = web.container.identity
    guest = ident.register(
        name=body.name,
        phone=body.phone,
        national_id=body.national_id,
        password=body.password,
        sex=body.sex or None,
        weight_kg=body.weight_kg,
    )
    for purpose in dict.fromkeys(body.consents):
        ident.grant_consent(guest.id, purpose, text_version=version, language=language)
    out = _guest_out(web, guest.id)
    return RegisteredOut(**out.model_dump(), guest_token=web.guest_token(guest.id, "kiosk"))


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
    actor, _ = require_self_or_staff(web, x_guest_token, staff, guest_id)
    version, language = _shown(request, [body.purpose], body.consent_version, body.consent_language)
    web.container.identity.grant_consent(guest_id, body.purpose, actor=actor, text_version=version, language=language)
    return _guest_out(web, guest_id)


@router.delete(
    "/guests/{guest_id}/consents/{purpose}",
    response_model=GuestOut,
    responses={403: {"model": ErrorOut}, 404: {"model": ErrorOut}},
)
def revoke_consent(
    guest_id: str, purpose: str, web: Web, staff: MaybeStaff, x_guest_token: GuestTokenHeader = None
) -> GuestOut:
    """Revoking ``face_payment`` deletes the guest's face templates in the same transaction."""
    actor, _ = require_self_or_staff(web, x_guest_token, staff, guest_id)
    if purpose not in {p.value for p in ConsentPurpose}:
        raise InvalidInput("unknown consent purpose", field="purpose")
    web.container.identity.revoke_consent(guest_id, purpose, actor=actor)
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
    result = await run_in_threadpool(enroll, guest_id, payload, actor=actor)
    web.metrics.model_seconds.labels("enrol").observe(time.perf_counter() - started)
    return EnrolOut(
        guest_id=result.guest_id,
        templates_stored=result.templates_stored,
        qualities=list(result.qualities),
        rejected=result.rejected,
    )


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
    """Enrol face templates from photos (needs face_payment consent). All photos are checked before any write."""
    actor, _ = require_self_or_staff(web, x_guest_token, staff, guest_id)
    if not 1 <= len(files) <= 10:
        raise InvalidInput("send 1–10 images", field="files")
    limit = web.settings.max_upload_bytes
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
    """Enrol from a short video: the best-quality frames are selected (decoded in memory)."""
    actor, _ = require_self_or_staff(web, x_guest_token, staff, guest_id)
    data = await read_upload(file, web.settings.max_upload_bytes)
    return await _enrol(web, web.container.identity.enroll_video, guest_id, data, actor)


@router.post("/face/quality", response_model=QualityOut, responses={429: {"model": ErrorOut}})
async def face_quality(
    request: Request, web: Web, file: Annotated[UploadFile, File(description="one camera frame")]
) -> QualityOut:
    """Live quality feedback for the kiosk camera: is there exactly one usable face, and if not, why."""
    web.limits.check("identify", "quality:" + client_ip(request))
    data = await read_upload(file, web.settings.max_upload_bytes)
    ident = web.container.identity
    image = web.container.decode_image(data)
    started = time.perf_counter()
    try:
        analysis = await run_in_threadpool(ident.analyser.analyse, image)
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


@router.delete(
    "/guests/{guest_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={403: {"model": ErrorOut}, 404: {"model": ErrorOut}},
)
def erase_guest(guest_id: str, web: Web, staff: MaybeStaff, x_guest_token: GuestTokenHeader = None) -> None:
    """Erase a guest: templates and personal fields deleted; an anonymised row keeps the ledger consistent."""
    actor, _ = require_self_or_staff(web, x_guest_token, staff, guest_id)
    if staff is not None:
        staff.require("manager")
    web.container.identity.erase(guest_id, actor=actor)
