"""Server-rendered pages: home, enrolment kiosk, room touchscreen (pairing), staff sign-in, dashboard,
guest detail, audit search. Data and actions go through the JSON API from small vanilla scripts."""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2.utils import htmlsafe_json_dumps

from soberpay.adapters.consent_texts import consent_text
from soberpay.domain.identity import CONSENT_TEXT_VERSION, LANGUAGES, ConsentPurpose
from soberpay.errors import NotFound
from soberpay.web.auth import LANG_COOKIE, ROOM_COOKIE, SESSION_COOKIE, StaffPrincipal
from soberpay.web.deps import PublicRate, Web, room_from_request, staff_from_cookie
from soberpay.web.i18n import gettext_for, lang_of, script_catalogue, template_context
from soberpay.web.routes._util import item_names
from soberpay.web.routes.staff import _audit_rows

router = APIRouter(include_in_schema=False, dependencies=[PublicRate])


def render(request: Request, web: Web, template: str, *, status_code: int = 200, **ctx: Any) -> HTMLResponse:
    lang = lang_of(request)
    ctx.setdefault("staff", None)
    ctx.setdefault("csrf", "")
    response: HTMLResponse = web.templates.TemplateResponse(
        request,
        template,
        {**template_context(lang), "item_names": item_names(web, lang), **ctx},
        status_code=status_code,
    )
    return response


def staff_or_redirect(request: Request, web: Web) -> StaffPrincipal | RedirectResponse:
    staff = staff_from_cookie(request, web)
    if staff is None:
        return RedirectResponse("/staff/login", status_code=303)
    return staff


@router.get("/", response_class=HTMLResponse)
def home(request: Request, web: Web) -> HTMLResponse:
    return render(request, web, "home.html", rooms=web.auth.rooms())


@router.get("/lang/{code}")
def set_lang(code: str, next: Annotated[str, Query(max_length=300)] = "/") -> Response:
    target = next if next.startswith("/") and not next.startswith("//") else "/"
    response = RedirectResponse(target, status_code=303)
    if code in LANGUAGES:
        response.set_cookie(LANG_COOKIE, code, max_age=365 * 86400, samesite="lax", path="/")
    return response


@router.get("/api/i18n")
def script_messages(request: Request) -> dict[str, object]:
    """The page scripts' messages in the request's language (also embedded in every page as JSON)."""
    lang = lang_of(request)
    return {"language": lang, "messages": script_catalogue(lang)}


@router.get("/kiosk", response_class=HTMLResponse)
def kiosk(request: Request, web: Web) -> HTMLResponse:
    lang = lang_of(request)
    consents = [(p.value, consent_text(p, lang)) for p in ConsentPurpose]
    return render(request, web, "kiosk.html", consents=consents, consent_version=CONSENT_TEXT_VERSION)


@router.get("/room/{room_id}", response_class=HTMLResponse)
def room_page(room_id: str, request: Request, web: Web) -> HTMLResponse:
    try:
        room = web.auth.room(room_id)
    except NotFound:
        _ = gettext_for(lang_of(request))
        return render(request, web, "message.html", status_code=404, message=_("unknown room"))
    principal = None
    try:
        principal = room_from_request(request, web)
    except Exception:  # a stale cookie just means: pair again
        principal = None
    if principal is None or principal.room_id != room_id:
        return render(request, web, "room_pair.html", room=room, error="")
    menu = web.payments.menu()
    categories: dict[str, list[Any]] = {}
    for item in menu:
        categories.setdefault(item.category, []).append(item)
    # Inside <script>: "<", ">", "&" and "'" escaped, so a menu name holding "</script>" stays text.
    menu_json = htmlsafe_json_dumps([m.__dict__ for m in menu], ensure_ascii=False)
    return render(
        request, web, "room.html", room=room, categories=categories, menu_json=menu_json, csrf=principal.csrf or ""
    )


@router.post("/room/{room_id}/pair", response_class=HTMLResponse)
def room_pair(room_id: str, request: Request, web: Web, token: Annotated[str, Form(max_length=200)]) -> Response:
    """Exchange a device token for this room's signed cookie (the token is never put in a URL)."""
    room = web.auth.room(room_id)
    row = web.auth.device_token(token.strip())
    if row is None or row.room_id != room_id:
        _ = gettext_for(lang_of(request))
        return render(
            request,
            web,
            "room_pair.html",
            status_code=403,
            room=room,
            error=_("invalid token, or the token belongs to another room"),
        )
    cookie = web.signer.dumps({"room": room_id, "tid": row.id, "csrf": secrets.token_urlsafe(24)}, salt="sp-room")
    response = RedirectResponse(f"/room/{room_id}", status_code=303)
    response.set_cookie(
        ROOM_COOKIE,
        cookie,
        max_age=365 * 86400,
        httponly=True,
        samesite="strict",
        secure=web.container.settings.secure_cookies,
        path="/",
    )
    return response


@router.get("/staff/login", response_class=HTMLResponse)
def staff_login(request: Request, web: Web) -> HTMLResponse:
    return render(request, web, "staff_login.html")


@router.get("/staff/logout")
def staff_logout(request: Request, web: Web) -> Response:
    staff = staff_from_cookie(request, web)
    if staff is not None:
        web.auth.close_session(staff.session)  # server-side: a copy of the cookie stops working too
    response = RedirectResponse("/staff/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/staff", response_class=HTMLResponse)
def dashboard(request: Request, web: Web) -> Response:
    staff = staff_or_redirect(request, web)
    if isinstance(staff, RedirectResponse):
        return staff
    return render(request, web, "staff.html", staff=staff, csrf=staff.csrf, payments_kind=web.payments_kind)


@router.get("/staff/guests/{guest_id}", response_class=HTMLResponse)
def guest_page(guest_id: str, request: Request, web: Web) -> Response:
    staff = staff_or_redirect(request, web)
    if isinstance(staff, RedirectResponse):
        return staff
    try:
        guest = web.container.identity.get(guest_id)
    except NotFound:
        _ = gettext_for(lang_of(request))
        return render(request, web, "message.html", status_code=404, staff=staff, message=_("unknown guest"))
    risk = web.payments.risk(guest_id)
    bill = web.payments.bill(guest_id)
    events = _audit_rows(web, guest_id=guest_id, limit=100)
    pending = web.payments.pending(guest_id)
    thermal = web.container.sobriety.thermal_report(guest_id)
    return render(
        request,
        web,
        "guest.html",
        thermal=thermal,
        staff=staff,
        csrf=staff.csrf,
        guest=guest,
        risk=risk,
        bill=bill,
        events=events,
        pending=pending,
        topups=web.container.topups.recent(guest_id),
    )


@router.get("/staff/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    web: Web,
    q: Annotated[str, Query(max_length=100)] = "",
    action: Annotated[str, Query(max_length=64)] = "",
    guest_id: Annotated[str, Query(max_length=32)] = "",
) -> Response:
    staff = staff_or_redirect(request, web)
    if isinstance(staff, RedirectResponse):
        return staff
    rows = _audit_rows(web, guest_id=guest_id or None, q=q, action=action, limit=300)
    return render(
        request, web, "audit.html", staff=staff, csrf=staff.csrf, rows=rows, q=q, action=action, guest_id=guest_id
    )
