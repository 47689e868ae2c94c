"""Back office (manager only): menu and prices, staff accounts, rooms, shift and daily reports with CSV.

Every route here takes the ``Manager`` dependency itself; ``tests/e2e/test_back_office.py`` walks this
router's route table and fails if one answers a cashier or a room device.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from soberpay.adapters.db.menu import SqlMenu
from soberpay.adapters.db.reports import build_report
from soberpay.domain.catalogue import Category, Item, fen_to_yuan
from soberpay.errors import InvalidInput
from soberpay.services.reports import Report, bar_chart_svg, key_label, report_csv
from soberpay.venue_time import day_range, format_time, local_time
from soberpay.web.auth import StaffPrincipal
from soberpay.web.deps import Manager, Web, staff_from_cookie
from soberpay.web.i18n import gettext_for, lang_of
from soberpay.web.schemas import NOT_BLANK, ErrorOut, Fen

api = APIRouter(
    prefix="/api/admin",
    tags=["back office"],
    responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}, 404: {"model": ErrorOut}},
)
pages = APIRouter(prefix="/staff/admin", include_in_schema=False)
SKU = r"^[a-z0-9][a-z0-9_\-]{0,39}$"


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MenuItemIn(_In):
    name_en: str = Field(min_length=1, max_length=80, pattern=NOT_BLANK)
    name_zh: str = Field("", max_length=80)
    category: Category
    price_fen: Fen = Field(gt=0, le=10**9, description="unit price in integer fen")
    alcohol: bool
    high_price: bool = False
    available: bool = True
    volume_ml: float = Field(0.0, ge=0, le=10_000)
    abv_percent: float = Field(0.0, ge=0, le=100)


class MenuItemCreateIn(MenuItemIn):
    sku: str = Field(max_length=40, pattern=SKU)


class MenuItemAdminOut(MenuItemCreateIn):
    pass


class StaffAccountOut(BaseModel):
    id: int
    username: str
    role: str
    disabled: bool
    created_at: datetime


class StaffChangeIn(_In):
    role: Literal["cashier", "manager"] | None = None
    disabled: bool | None = None


class PasswordResetIn(_In):
    password: str = Field(min_length=8, max_length=256)


class RoomAdminIn(_In):
    name: str = Field(min_length=1, max_length=64, pattern=NOT_BLANK)
    name_zh: str = Field("", max_length=64)
    camera_source: str | None = Field(None, max_length=512)
    thermal_camera_source: str | None = Field(None, max_length=512)


class RoomAdminOut(RoomAdminIn):
    room_id: str


class LineOut(BaseModel):
    key: str
    count: int
    amount_fen: int


class ReportOut(BaseModel):
    start: datetime
    end: datetime
    revenue_fen: int
    refunds_fen: int
    net_revenue_fen: int
    by_kind: list[LineOut]
    revenue_by_category: list[LineOut]
    revenue_by_room: list[LineOut]
    topups_by_channel: list[LineOut]
    events: list[LineOut]


def _menu(web: Web) -> SqlMenu:
    return web.container.menu


def _item_out(item: Item) -> MenuItemAdminOut:
    return MenuItemAdminOut(
        sku=item.sku,
        name_en=item.name,
        name_zh=item.name_zh,
        category=item.category,
        price_fen=item.price_fen,
        alcohol=item.alcoholic,
        high_price=item.high_price,
        available=item.available,
        volume_ml=item.volume_ml,
        abv_percent=item.abv_percent,
    )


def _item(sku: str, body: MenuItemIn) -> Item:
    return Item(
        sku,
        body.name_en.strip(),
        body.category,
        body.price_fen,
        body.volume_ml,
        body.abv_percent,
        body.name_zh.strip(),
        alcohol=body.alcohol,
        high_price=body.high_price,
        available=body.available,
    )


# --- menu -----------------------------------------------------------------------------------------


@api.get("/menu", response_model=list[MenuItemAdminOut])
def menu_items(staff: Manager, web: Web) -> list[MenuItemAdminOut]:
    """Every menu item, switched-off ones included (prices in integer fen)."""
    return [_item_out(i) for i in _menu(web).items()]


@api.post(
    "/menu", response_model=MenuItemAdminOut, status_code=status.HTTP_201_CREATED, responses={409: {"model": ErrorOut}}
)
def create_menu_item(body: MenuItemCreateIn, staff: Manager, web: Web) -> MenuItemAdminOut:
    """Add an item (audited)."""
    return _item_out(_menu(web).create(_item(body.sku, body), staff.actor))


@api.put("/menu/{sku}", response_model=MenuItemAdminOut)
def update_menu_item(
    sku: Annotated[str, Path(max_length=40, pattern=SKU)], body: MenuItemIn, staff: Manager, web: Web
) -> MenuItemAdminOut:
    """Change an item: names, category, price, flags, on/off (audited field by field). A new price applies
    to charges from now on; orders and held requests keep the price they were made at. Items are never
    deleted (orders name them): switch one off with ``available: false``."""
    return _item_out(_menu(web).update(_item(sku, body), staff.actor))


# --- staff ----------------------------------------------------------------------------------------


@api.get("/staff", response_model=list[StaffAccountOut])
def staff_accounts(staff: Manager, web: Web) -> list[StaffAccountOut]:
    return [
        StaffAccountOut(id=r.id, username=r.username, role=r.role, disabled=r.disabled, created_at=r.created_at)
        for r in web.auth.staff_accounts()
    ]


@api.patch("/staff/{staff_id}", response_model=StaffAccountOut, responses={409: {"model": ErrorOut}})
def change_staff(
    staff_id: Annotated[int, Path(ge=1, le=2**31 - 1)], body: StaffChangeIn, staff: Manager, web: Web
) -> StaffAccountOut:
    """Change a role or disable/enable an account. Disabling ends the account's sessions at once; a change
    that would leave no active manager is refused (409)."""
    r = web.auth.update_staff(staff_id, role=body.role, disabled=body.disabled, actor=staff.actor)
    return StaffAccountOut(id=r.id, username=r.username, role=r.role, disabled=r.disabled, created_at=r.created_at)


@api.post("/staff/{staff_id}/password", status_code=status.HTTP_204_NO_CONTENT)
def reset_staff_password(
    staff_id: Annotated[int, Path(ge=1, le=2**31 - 1)], body: PasswordResetIn, staff: Manager, web: Web
) -> None:
    """Set a new password (stored as an argon2id hash, never logged); the account's sessions end."""
    web.auth.reset_password(staff_id, body.password, actor=staff.actor)


# --- rooms ----------------------------------------------------------------------------------------


def _room_out(r: Any) -> RoomAdminOut:
    return RoomAdminOut(
        room_id=r.id,
        name=r.name,
        name_zh=r.name_zh,
        camera_source=r.camera_source,
        thermal_camera_source=r.thermal_camera_source,
    )


@api.get("/rooms", response_model=list[RoomAdminOut])
def rooms(staff: Manager, web: Web) -> list[RoomAdminOut]:
    return [_room_out(r) for r in web.auth.rooms()]


@api.put("/rooms/{room_id}", response_model=RoomAdminOut)
def change_room(
    room_id: Annotated[str, Path(max_length=32)], body: RoomAdminIn, staff: Manager, web: Web
) -> RoomAdminOut:
    """Rename a room (zh/en) or change its cameras (audited). Room workers read the cameras when they
    start: restart ``soberpay rooms`` (or the service running them) after a camera change."""
    row = web.auth.update_room(
        room_id,
        name=body.name,
        name_zh=body.name_zh,
        camera_source=body.camera_source,
        thermal_camera_source=body.thermal_camera_source,
        actor=staff.actor,
    )
    return _room_out(row)


# --- reports --------------------------------------------------------------------------------------

DayQuery = Annotated[date | None, Query(description="a venue calendar day (default: today)")]
TimeQuery = Annotated[
    datetime | None, Query(description="shift start/end; without an offset it is read on the venue clock")
]


# Dates near year 1 or 9999 overflow when moved to UTC (a 500, not a 400); a venue's books live in between.
REPORT_YEARS = range(2000, 2100)
# A year's report with room for a leap day and DST: the GROUP BY work stays bounded by a year of rows.
MAX_REPORT_SPAN = timedelta(days=367)


def _range(web: Web, day: date | None, start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    """A shift (start and end) or a venue day; times without an offset are on the venue's clock."""
    zone = web.container.settings.venue.zone
    if (start is None) != (end is None):
        raise InvalidInput("a shift report needs both start and end", field="end")
    for name, value in (("day", day), ("start", start), ("end", end)):
        if value is not None and value.year not in REPORT_YEARS:
            raise InvalidInput("report dates must be between the years 2000 and 2099", field=name)
    if start is not None and end is not None:
        first = start if start.tzinfo else start.replace(tzinfo=zone)
        last = end if end.tzinfo else end.replace(tzinfo=zone)
        if last - first > MAX_REPORT_SPAN:
            raise InvalidInput("a report covers at most one year", field="end")
        return first, last
    return day_range(day or local_time(web.container.clock.now(), zone).date(), zone)


def _report(web: Web, day: date | None, start: datetime | None, end: datetime | None) -> Report:
    return build_report(web.container.session_factory, *_range(web, day, start, end))


def _lines(lines: Any) -> list[LineOut]:
    return [LineOut(key=x.key, count=x.count, amount_fen=x.amount_fen) for x in lines]


@api.get("/report", response_model=ReportOut)
def report(staff: Manager, web: Web, day: DayQuery = None, start: TimeQuery = None, end: TimeQuery = None) -> ReportOut:
    """Shift (``start``+``end``) or daily (``day``, venue timezone) report: ledger totals by posting kind,
    revenue by category and room, top-ups by channel, counted events (tags, overrides, held and confirmed
    requests, refunds). Integer fen; every breakdown adds up to its ledger total."""
    r = _report(web, day, start, end)
    return ReportOut(
        start=r.start,
        end=r.end,
        revenue_fen=r.revenue_fen,
        refunds_fen=r.refunds_fen,
        net_revenue_fen=r.net_revenue_fen,
        by_kind=_lines(r.by_kind),
        revenue_by_category=_lines(r.revenue_by_category),
        revenue_by_room=_lines(r.revenue_by_room),
        topups_by_channel=_lines(r.topups_by_channel),
        events=_lines(r.events),
    )


def report_labels(web: Web, lang: str) -> dict[str, str]:
    """Section names, posting kinds, categories, events and room names in ``lang`` (CSV and charts)."""
    _ = gettext_for(lang)
    rooms = {f"room:{r.id}": (r.name_zh or r.name) if lang == "zh" else r.name for r in web.auth.rooms()}
    return rooms | {
        "section": _("section"),
        "key": _("item"),
        "count": _("count"),
        "amount_yuan": _("amount (yuan)"),
        "range": _("range"),
        "ledger": _("ledger total"),
        "revenue_by_category": _("revenue by category"),
        "revenue_by_room": _("revenue by room"),
        "topups_by_channel": _("top-ups by channel"),
        "net_revenue": _("net revenue"),
        "events": _("events"),
        "no_room": _("no room"),
        "topup": _("top-up"),
        "purchase": _("purchase"),
        "refund": _("refund"),
        "settlement": _("tab settled"),
        "payout": _("balance paid out"),
        "song": _("songs"),
        "drink": _("soft drinks"),
        "beer": _("beer"),
        "liquor": _("liquor"),
        "snack": _("snacks"),
        "fruit": _("fruit"),
        "room_upgrade": _("room upgrade"),
        "service": _("service"),
        "risk.elevated": _("risk tags (camera)"),
        "staff.tag": _("tags by staff"),
        "staff.untag": _("untags by staff"),
        "staff.unlock": _("unlocks by staff"),
        "payment.suspended": _("requests held"),
        "pending.confirmed": _("held requests confirmed"),
        "pending.discarded": _("held requests discarded"),
        "pending.expired": _("held requests expired"),
        "payment.refund": _("refunds"),
        "menu.item_changed": _("menu changes"),
    }


@api.get("/report.csv", response_class=Response, responses={200: {"content": {"text/csv": {}}}})
def report_csv_file(
    staff: Manager, web: Web, request: Request, day: DayQuery = None, start: TimeQuery = None, end: TimeQuery = None
) -> Response:
    """The report as CSV (UTF-8 with BOM for Excel; text cells cannot start a formula)."""
    r = _report(web, day, start, end)
    zone = web.container.settings.venue.zone
    first, last = format_time(r.start, zone), format_time(r.end, zone)
    body = report_csv(r, report_labels(web, lang_of(request)), first, last)
    name = f"soberpay-report-{local_time(r.start, zone):%Y%m%d-%H%M}.csv"
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )


# --- pages ----------------------------------------------------------------------------------------


def _manager(request: Request, web: Web) -> StaffPrincipal | Response:
    """The signed-in manager, else the sign-in redirect or the 403 page to answer with."""
    from soberpay.web.routes.pages import render

    staff = staff_from_cookie(request, web)
    if staff is None:
        return RedirectResponse("/staff/login", status_code=303)
    if staff.role != "manager":
        _ = gettext_for(lang_of(request))
        return render(request, web, "message.html", status_code=403, staff=staff, message=_("managers only"))
    return staff


def _page(request: Request, web: Web, template: str, **ctx: Any) -> Response:
    from soberpay.web.routes.pages import render

    staff = _manager(request, web)
    if isinstance(staff, Response):
        return staff
    return render(request, web, template, staff=staff, csrf=staff.csrf, **ctx)


@pages.get("", response_class=HTMLResponse)
def back_office() -> Response:
    return RedirectResponse("/staff/admin/reports", status_code=303)  # that page checks the role


@pages.get("/menu", response_class=HTMLResponse)
def menu_page(request: Request, web: Web) -> Response:
    return _page(request, web, "admin_menu.html", items=_menu(web).items(), categories=list(Category))


@pages.get("/staff", response_class=HTMLResponse)
def staff_page(request: Request, web: Web) -> Response:
    return _page(request, web, "admin_staff.html", accounts=web.auth.staff_accounts())


@pages.get("/rooms", response_class=HTMLResponse)
def rooms_page(request: Request, web: Web) -> Response:
    return _page(request, web, "admin_rooms.html", rooms=web.auth.rooms())


@pages.get("/reports", response_class=HTMLResponse)
def reports_page(
    request: Request, web: Web, day: DayQuery = None, start: TimeQuery = None, end: TimeQuery = None
) -> Response:
    from soberpay.web.routes.pages import render

    staff = _manager(request, web)  # before the report's queries: a cashier causes no work
    if isinstance(staff, Response):
        return staff
    lang = lang_of(request)
    _ = gettext_for(lang)
    r = _report(web, day, start, end)
    labels = report_labels(web, lang)
    zone = web.container.settings.venue.zone
    query = str(request.url.query)
    charts = [
        bar_chart_svg("revenue_by_category", r.revenue_by_category, labels, _("revenue by category")),
        bar_chart_svg("revenue_by_room", r.revenue_by_room, labels, _("revenue by room")),
    ]
    return render(
        request,
        web,
        "admin_reports.html",
        staff=staff,
        csrf=staff.csrf,
        report=r,
        labels=labels,
        charts=charts,
        yuan=fen_to_yuan,
        key_label=key_label,
        day=(day or local_time(r.start, zone).date()).isoformat(),
        first=format_time(r.start, zone),
        last=format_time(r.end, zone),
        csv_url="/api/admin/report.csv" + (f"?{query}" if query else ""),
    )
