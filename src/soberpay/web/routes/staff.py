"""Staff: sign-in, accounts, alerts (JSON + server-sent events), suspended attempts, guest risk,
overrides with a mandatory reason, per-guest timeline and sobriety plot, audit search, bill and checkout."""

from __future__ import annotations

import asyncio
import io
import json
import secrets
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Path, Query, Request, Response, status
from fastapi.responses import StreamingResponse
from sqlalchemy import or_, select
from starlette.concurrency import run_in_threadpool

from soberpay.adapters.db.identity_tables import AuditRow
from soberpay.venue_time import local_time
from soberpay.web.auth import SESSION_COOKIE, token_digest
from soberpay.web.deps import Manager, Staff, Web, client_ip
from soberpay.web.i18n import gettext_for, lang_of
from soberpay.web.links import SAME_GUEST, link, links
from soberpay.web.routes._util import (
    IdempotencyKeyHeader,
    alert_out,
    high_price_locked,
    idempotency_key,
    item_names,
    pending_out,
    risk_out,
)
from soberpay.web.routes.health import REQUIRE_READY
from soberpay.web.schemas import (
    AlertOut,
    AuditOut,
    BillLineOut,
    BillOut,
    CheckInIn,
    ErrorOut,
    LoginIn,
    OverrideIn,
    PendingOut,
    PresenceOut,
    RiskOut,
    RoomOverviewOut,
    SessionOut,
    StaffCreateIn,
    StaffOut,
    TimelineOut,
    TopupIn,
)

router = APIRouter(
    prefix="/api",
    tags=["staff"],
    responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}, 404: {"model": ErrorOut}},
)


# --- sign-in ------------------------------------------------------------------------------------


@router.post("/auth/login", response_model=StaffOut, responses={429: {"model": ErrorOut}})
def login(body: LoginIn, request: Request, response: Response, web: Web) -> StaffOut:
    """Staff sign-in (JSON only). Sets the session cookie; the returned CSRF token must accompany
    every state-changing request (``X-CSRF-Token`` header)."""
    web.limits.check("login", f"{client_ip(request)}:{body.username.lower()}")
    row = web.auth.authenticate(body.username, body.password)
    csrf = secrets.token_urlsafe(24)
    sid = web.auth.open_session(row.id, web.settings.session_max_age_s, client_ip(request))
    cookie = web.signer.dumps({"sid": sid, "csrf": csrf}, salt="sp-session")
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        max_age=web.settings.session_max_age_s,
        httponly=True,
        samesite="strict",
        secure=web.container.settings.secure_cookies,
        path="/",
    )
    return StaffOut(username=row.username, role=row.role, csrf_token=csrf)


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(response: Response, staff: Staff, web: Web) -> None:
    """Sign out: the session is revoked on the server, so a copy of the cookie no longer works."""
    web.auth.close_session(staff.session)
    response.delete_cookie(SESSION_COOKIE, path="/")


@router.get("/staff/sessions", response_model=list[SessionOut])
def sessions(staff: Manager, web: Web) -> list[SessionOut]:
    """Live staff sessions (not revoked, not expired), newest first (manager only)."""
    return [
        SessionOut(
            id=r.id,
            username=name,
            created_at=r.created_at,
            expires_at=r.expires_at,
            client=r.client,
            current=bool(staff.session) and r.token_sha256 == token_digest(staff.session),
        )
        for r, name in web.auth.live_sessions()
    ]


@router.delete("/staff/sessions/{session_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_session(session_id: Annotated[int, Path(ge=1, le=2**31 - 1)], staff: Manager, web: Web) -> None:
    """Revoke a staff session (manager only): its cookie stops working at once."""
    web.auth.revoke_session(session_id, staff.actor)


@router.get("/auth/me", response_model=StaffOut)
def me(staff: Staff) -> StaffOut:
    return StaffOut(username=staff.username, role=staff.role, csrf_token=staff.csrf)


@router.post("/staff/accounts", status_code=status.HTTP_201_CREATED, responses={409: {"model": ErrorOut}})
def create_account(body: StaffCreateIn, staff: Manager, web: Web) -> dict[str, Any]:
    """Create a staff account (manager only). Passwords are stored as argon2id hashes."""
    staff_id = web.auth.create_staff(body.username, body.password, body.role, actor=staff.actor)
    return {"id": staff_id, "username": body.username.strip().lower(), "role": body.role}


# --- alerts and suspended attempts ----------------------------------------------------------------


@router.get("/staff/alerts", response_model=list[AlertOut])
def alerts(
    staff: Staff, web: Web, request: Request, after: Annotated[int, Query(ge=0, le=2**62)] = 0
) -> list[AlertOut]:
    lang = lang_of(request)
    return [alert_out(a, web, lang) for a in web.payments.alerts(after_id=after)]


@router.post("/staff/alerts/{alert_id}/ack", status_code=status.HTTP_204_NO_CONTENT)
def acknowledge_alert(alert_id: Annotated[int, Path(ge=1, le=2**62)], staff: Staff, web: Web) -> None:
    """Mark an alert as handled (audited with the staff member's name)."""
    web.payments.acknowledge(alert_id, actor=staff.username)


@router.get("/staff/alerts/stream", response_class=StreamingResponse)
async def alerts_stream(
    request: Request,
    staff: Staff,
    web: Web,
    after: Annotated[int, Query(ge=0, le=2**62)] = 0,
    max_seconds: Annotated[float, Query(ge=0, le=3600)] = 600,
) -> StreamingResponse:
    """Server-sent events: one ``alert`` event per new alert (the browser reconnects with Last-Event-ID)."""
    last = request.headers.get("last-event-id", "")
    cursor = int(last) if last.isdigit() else after
    lang = lang_of(request)

    async def events() -> Any:
        nonlocal cursor
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max_seconds
        yield "retry: 2000\n\n"
        while True:
            for a in await run_in_threadpool(web.payments.alerts, cursor):
                cursor = a.id
                yield f"id: {a.id}\nevent: alert\ndata: {alert_out(a, web, lang).model_dump_json()}\n\n"
            signed_out = web.auth.session_staff(staff.session) is None  # revoked anywhere, by anyone
            if loop.time() >= deadline or await request.is_disconnected() or signed_out:
                return  # the page learns of a sign-out from the closed stream and /api/auth/me
            await asyncio.sleep(1.0)

    return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})


@router.get("/staff/suspended", response_model=list[PendingOut])
def suspended(staff: Staff, web: Web) -> list[PendingOut]:
    """Pending (suspended) high-price requests of all guests, oldest first."""
    return [pending_out(p) for p in web.payments.pending(None) if p.status == "pending"]


# --- guests -------------------------------------------------------------------------------------


@router.get("/staff/guests")
def list_guests(staff: Staff, web: Web) -> list[dict[str, Any]]:
    """Registered guests with their current risk state."""
    out = []
    for c in web.container.identity.list_guests():
        r = web.payments.risk(c.id)
        out.append(
            {
                "guest_id": c.id,
                "name": c.name,
                "state": r.state,
                "level": r.level,
                "reason": r.tag_reason,
                "high_price_locked": high_price_locked(r),
                "pending": len(r.pending),
                "balance_fen": web.payments.balance(c.id),
            }
        )
    return out


@router.get("/staff/rooms/overview", response_model=list[RoomOverviewOut])
def rooms_overview(staff: Staff, web: Web, request: Request) -> list[RoomOverviewOut]:
    """The dashboard, room by room: guests present with their state (and the staff reason), held requests
    and open alerts. A last entry (``room_id`` null) holds whatever is not tied to a room."""
    names = {g.id: g.name or "" for g in web.container.identity.list_guests()}
    lang = lang_of(request)
    by_room: dict[str | None, RoomOverviewOut] = {
        r.id: RoomOverviewOut(
            room_id=r.id,
            name=(r.name_zh or r.name) if lang == "zh" else r.name,
            live=web.rooms.stats(r.id),
            guests=[],
            held=[],
            alerts=[],
        )
        for r in web.auth.rooms()
    }
    other = RoomOverviewOut(room_id=None, name="", guests=[], held=[], alerts=[])

    def bucket(room_id: str | None) -> RoomOverviewOut:
        return by_room.get(room_id, other)

    for p in web.payments.presences():
        if p.guest_id not in names:
            continue  # erased
        r = web.payments.risk(p.guest_id)
        bucket(p.room_id).guests.append(
            PresenceOut(
                guest_id=p.guest_id,
                name=names[p.guest_id],
                state=r.state,
                reason=r.tag_reason,
                high_price_locked=high_price_locked(r),
                balance_fen=web.payments.balance(p.guest_id),
                since=p.since,
                source=p.source,
            )
        )
    for h in web.payments.pending(None):
        if h.status == "pending":
            bucket(h.room_id).held.append(pending_out(h))
    for a in web.payments.alerts(0, 200):
        if not a.acknowledged:
            bucket(a.room_id).alerts.append(alert_out(a, web, lang))
    return [*by_room.values(), other]


@router.post("/staff/guests/{guest_id}/checkin", status_code=status.HTTP_204_NO_CONTENT)
def check_in(guest_id: str, body: CheckInIn, staff: Staff, web: Web) -> None:
    """Check the guest in to a room at the counter (their purchases, holds and alerts carry it)."""
    web.auth.room(body.room_id)  # 404 for an unknown room
    web.payments.check_in(guest_id, body.room_id, actor=staff.actor, source="counter")


@router.post("/staff/pending/{pending_id}/discard", response_model=PendingOut, responses={409: {"model": ErrorOut}})
def staff_discard(pending_id: str, staff: Staff, web: Web) -> PendingOut:
    """Discard a held request for the guest (never charged; audited with the staff member's name)."""
    return pending_out(web.payments.discard_pending(pending_id, guest_id=None, actor=staff.actor))


@router.get("/staff/guests/{guest_id}/risk", response_model=RiskOut)
def guest_risk(guest_id: str, staff: Staff, web: Web) -> RiskOut:
    return risk_out(web.payments.risk(guest_id))


@router.post("/staff/guests/{guest_id}/override", response_model=RiskOut, responses={400: {"model": ErrorOut}})
def override(guest_id: str, body: OverrideIn, staff: Staff, web: Web) -> RiskOut:
    """Tag, untag or unlock a guest. The reason is mandatory and audited with the staff member's name."""
    return risk_out(web.payments.override(guest_id, action=body.action, reason=body.reason, actor=staff.actor))


def _audit_rows(
    web: Web, *, guest_id: str | None = None, q: str = "", action: str = "", limit: int = 200
) -> list[AuditOut]:
    stmt = select(AuditRow).order_by(AuditRow.id.desc()).limit(limit)
    if guest_id:
        stmt = stmt.where(AuditRow.guest_id == guest_id)
    if action:
        stmt = stmt.where(AuditRow.action.startswith(action))
    if q:
        like = f"%{q}%"
        stmt = stmt.where(
            or_(
                AuditRow.action.like(like),
                AuditRow.actor.like(like),
                AuditRow.details.like(like),
                AuditRow.guest_id.like(like),
            )
        )
    with web.container.session_factory() as session:
        rows = session.scalars(stmt).all()
    return [
        AuditOut(id=r.id, at=r.at, actor=r.actor, action=r.action, guest_id=r.guest_id, details=r.details) for r in rows
    ]


@router.get("/staff/audit", response_model=list[AuditOut])
def audit(
    staff: Staff,
    web: Web,
    q: Annotated[str, Query(max_length=100)] = "",
    action: Annotated[str, Query(max_length=64)] = "",
    guest_id: Annotated[str, Query(max_length=32)] = "",
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[AuditOut]:
    """Search the append-only audit log (newest first) by free text, action prefix or guest."""
    return _audit_rows(web, guest_id=guest_id or None, q=q, action=action, limit=limit)


@router.get("/staff/guests/{guest_id}/timeline", response_model=TimelineOut)
def timeline(guest_id: str, staff: Staff, web: Web) -> TimelineOut:
    """Everything that happened to one guest: audit events, risk state and sobriety evidence points."""
    risk = web.payments.risk(guest_id)
    points = [
        {"at": p.at.isoformat(), "p_drunk": p.p_drunk, "state": p.state, "similarity": p.similarity}
        for p in web.payments.sobriety_history(guest_id)
    ]
    return TimelineOut(
        guest_id=guest_id, risk=risk_out(risk), events=_audit_rows(web, guest_id=guest_id), sobriety=points
    )


@router.get(
    "/staff/guests/{guest_id}/sobriety.png", response_class=Response, responses={200: {"content": {"image/png": {}}}}
)
def sobriety_plot(guest_id: str, staff: Staff, web: Web, request: Request) -> Response:
    """The guest's sobriety evidence over the visit: P(drunk) with the decision band, similarity to own normal."""
    points = web.payments.sobriety_history(guest_id)
    settings = web.container.settings
    sob = settings.sobriety
    return Response(
        _plot_png(points, sob.drunk_probability, sob.sober_probability, lang_of(request), settings.venue.zone),
        media_type="image/png",
        headers={"Cache-Control": "no-store"},
    )


# CJK-capable fonts first for Chinese labels (fonts-wqy-zenhei, scripts/install-system-deps.sh); DejaVu for the rest.
PLOT_FONTS = ["WenQuanYi Zen Hei", "Noto Sans CJK SC", "DejaVu Sans"]


def _plot_png(points: list[Any], drunk: float, sober: float, lang: str, zone: ZoneInfo) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    _ = gettext_for(lang)
    with matplotlib.rc_context({"font.sans-serif": PLOT_FONTS, "font.family": "sans-serif"}):
        fig, ax = plt.subplots(figsize=(7.2, 2.8), dpi=100)
        try:
            ax.axhspan(drunk, 1.0, color="#f8d7da", label=_("drunk side"))
            ax.axhspan(sober, drunk, color="#fff3cd", label=_("unsure → staff"))
            ax.axhspan(0.0, sober, color="#d1e7dd", label=_("sober side"))
            if points:
                # x: matplotlib date numbers (days since 1970-01-01 UTC), labelled on the venue's clock.
                xs = [local_time(p.at, zone).timestamp() / 86_400 for p in points]
                start = None
                for x, p in zip([*xs, None], [*points, None], strict=True):
                    locked = p is not None and p.state != "normal"
                    if locked and start is None:
                        start = x
                    elif not locked and start is not None:
                        ax.axvspan(start, x if x is not None else xs[-1], color="#6c757d", alpha=0.18, lw=0)
                        start = None
                ax.plot([], [], color="#6c757d", alpha=0.4, lw=6, label=_("tagged (locked)"))
                pd = [(x, p.p_drunk) for x, p in zip(xs, points, strict=True) if p.p_drunk is not None]
                ax.plot([q[0] for q in pd], [q[1] for q in pd], color="#b02a37", lw=1.8, label="P(drunk)")
                sims = [(x, p.similarity) for x, p in zip(xs, points, strict=True) if p.similarity is not None]
                if sims:
                    ax.plot(
                        [s[0] for s in sims],
                        [s[1] for s in sims],
                        color="#0d6efd",
                        lw=1.2,
                        ls="--",
                        label=_("similarity to own normal"),
                    )
                ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M", tz=zone))  # type: ignore[no-untyped-call]
                ax.set_xlabel(_("venue time (%(zone)s)", zone=zone.key))
            else:
                ax.text(
                    0.5,
                    0.5,
                    _("no sobriety observations (no consent, or not seen by a room camera)"),
                    ha="center",
                    va="center",
                    transform=ax.transAxes,
                    fontsize=9,
                )
                ax.set_xticks([])
            ax.set_ylim(0, 1)
            ax.set_ylabel(_("score"))
            ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, framealpha=0.8)
            fig.tight_layout()
            buf = io.BytesIO()
            fig.savefig(buf, format="png")
            return buf.getvalue()
        finally:
            plt.close(fig)


# --- money --------------------------------------------------------------------------------------


def _bill_out(b: Any, web: Web, lang: str) -> BillOut:
    """The bill with item names in ``lang`` and times in the venue's zone (ISO 8601 with its offset)."""
    names = item_names(web, lang)
    zone = web.container.settings.venue.zone
    return BillOut(
        guest_id=b.guest_id,
        visit_id=b.visit_id,
        total_fen=b.total_fen,
        closed=b.closed,
        balance_fen=b.balance_fen,
        discarded=list(b.discarded),
        refunds_fen=b.refunds_fen,
        lines=[
            BillLineOut(
                at=local_time(x.at, zone),
                item_id=x.sku,
                item_name=names.get(x.sku, x.name),
                quantity=x.quantity,
                amount_fen=x.amount_fen,
                order_id=x.order_id,
                refunded_fen=x.refunded_fen,
            )
            for x in b.lines
        ],
    )


@router.get("/staff/guests/{guest_id}/bill", response_model=BillOut)
def bill(guest_id: str, staff: Staff, web: Web, request: Request) -> BillOut:
    """The guest's itemised bill for the current visit (integer fen)."""
    return _bill_out(web.payments.bill(guest_id), web, lang_of(request))


@router.get("/staff/ledger")
def ledger(
    staff: Staff,
    web: Web,
    guest_id: Annotated[str | None, Query(max_length=32)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> dict[str, Any]:
    """Double-entry postings (debit-positive entries per account, integer fen), account sums and the
    trial balance (0 when the books balance); optionally for one guest."""
    return web.payments.ledger(guest_id or None, limit)


@router.post(
    "/staff/guests/{guest_id}/topup",
    responses={
        400: {"model": ErrorOut},
        409: {"model": ErrorOut},
        503: {"model": ErrorOut},
        **links(
            200,
            Bill=link("GET", "/api/staff/guests/{guest_id}/bill", "the guest's bill", SAME_GUEST),
            Ledger=link(
                "GET", "/api/staff/ledger", "the guest's postings", {"query.guest_id": "$request.path.guest_id"}
            ),
        ),
    },
    dependencies=REQUIRE_READY,
)
def topup(
    guest_id: str, body: TopupIn, staff: Staff, web: Web, idempotency_header: IdempotencyKeyHeader = None
) -> dict[str, int]:
    """Cash in at the counter: credit the guest's prepaid balance (idempotent by key)."""
    key = idempotency_key(idempotency_header, body.idempotency_key)
    balance = web.payments.topup(guest_id, amount_fen=body.amount_fen, idempotency_key=key, actor=staff.username)
    return {"balance_fen": balance}


@router.post(
    "/staff/guests/{guest_id}/checkout",
    response_model=BillOut,
    responses={409: {"model": ErrorOut}, 503: {"model": ErrorOut}},
    dependencies=REQUIRE_READY,
)
def checkout(guest_id: str, staff: Staff, web: Web, request: Request) -> BillOut:
    """End of visit: close the tab (pending requests are discarded) and return the final bill."""
    return _bill_out(web.payments.checkout(guest_id, actor=staff.actor), web, lang_of(request))


def dumps(obj: Any) -> str:
    return json.dumps(obj, default=str)
