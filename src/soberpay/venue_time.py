"""Times for people: stored times are UTC; everything shown, exported or reported is in the venue's zone
(``venue.timezone``, default Asia/Shanghai) — pages, bills, alerts, audit, plots and CLI tables."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def local_time(at: datetime, zone: ZoneInfo) -> datetime:
    """A stored time (UTC; a naive value is taken as UTC) in ``zone``."""
    aware = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
    return aware.astimezone(zone)


def format_time(at: datetime | None, zone: ZoneInfo, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """``at`` on the venue's clock ("-" when there is no time)."""
    return "-" if at is None else local_time(at, zone).strftime(fmt)


def day_range(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The venue's calendar day as a UTC half-open range [start, end) (23 or 25 hours across a DST change)."""
    start = datetime.combine(day, time(0), zone)
    end = datetime.combine(day + timedelta(days=1), time(0), zone)
    return start.astimezone(UTC), end.astimezone(UTC)
