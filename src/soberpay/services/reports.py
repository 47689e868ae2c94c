"""Shift and daily reports: what the ledger and the audit log say about a time range, as a CSV file and as
bar charts (inline SVG, drawn here: no chart library or CDN in the page).

The numbers are aggregated by the database (``adapters.db.reports``), so a year-long range costs a few
GROUP BY queries, never a pass over every row in Python. Every money total comes from ledger postings in
the range; the breakdowns (category, room, channel) must add up to those totals, which
``Report.reconciles`` checks and a test exercises on random sequences.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime
from html import escape

from soberpay.domain.catalogue import fen_to_yuan

# Audit actions a report counts (risk tags, staff overrides, held and confirmed requests, refunds by staff).
REPORTED_ACTIONS = (
    "risk.elevated",
    "staff.tag",
    "staff.untag",
    "staff.unlock",
    "payment.suspended",
    "pending.confirmed",
    "pending.discarded",
    "pending.expired",
    "payment.refund",
    "menu.item_changed",
)


@dataclass(frozen=True)
class Line:
    key: str  # category, room id, "account · memo", audit action, posting kind
    count: int
    amount_fen: int = 0


@dataclass(frozen=True)
class Report:
    start: datetime  # UTC, inclusive
    end: datetime  # UTC, exclusive
    by_kind: tuple[Line, ...]  # ledger postings by kind: topup, purchase, refund, settlement, payout, …
    revenue_by_category: tuple[Line, ...]
    revenue_by_room: tuple[Line, ...]  # key "" = not in a room
    topups_by_channel: tuple[Line, ...]  # key: the venue account debited and the posting memo
    events: tuple[Line, ...] = field(default_factory=tuple)  # audit actions counted

    def total(self, kind: str) -> int:
        return sum(line.amount_fen for line in self.by_kind if line.key == kind)

    @property
    def revenue_fen(self) -> int:
        return self.total("purchase")

    @property
    def refunds_fen(self) -> int:
        return self.total("refund")

    @property
    def net_revenue_fen(self) -> int:
        return self.revenue_fen - self.refunds_fen

    def reconciles(self) -> bool:
        """Each breakdown adds up to the ledger total it breaks down."""
        revenue = self.revenue_fen
        return (
            sum(x.amount_fen for x in self.revenue_by_category) == revenue
            and sum(x.amount_fen for x in self.revenue_by_room) == revenue
            and sum(x.amount_fen for x in self.topups_by_channel) == self.total("topup")
        )


# --- CSV --------------------------------------------------------------------------------------------

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(text: str) -> str:
    """A text cell a spreadsheet shows as text: a leading =, +, -, @, tab or CR would start a formula
    (CSV injection), so such a cell gets a leading apostrophe (OWASP's advice)."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def key_label(section: str, key: str, labels: dict[str, str]) -> str:
    """How a line's key reads: rooms by their name (``labels["room:<id>"]``), the rest by ``labels``."""
    if section == "revenue_by_room":
        return labels.get(f"room:{key}", key) if key else labels.get("no_room", "—")
    return labels.get(key, key)


def _yuan(fen: int) -> str:
    return f"{fen / 100:.2f}" if fen >= 0 else f"-{-fen / 100:.2f}"


def report_csv(report: Report, labels: dict[str, str], start_local: str, end_local: str) -> bytes:
    """UTF-8 with a byte-order mark (Excel then opens Chinese text correctly); one row per figure:
    section, key, count, amount in yuan. ``labels`` translates the section names and keys."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")

    def label(key: str) -> str:
        return safe_cell(labels.get(key, key))

    w.writerow([label("section"), label("key"), label("count"), label("amount_yuan")])
    w.writerow([label("range"), safe_cell(f"{start_local} – {end_local}"), "", ""])
    for section, lines in (
        ("ledger", report.by_kind),
        ("revenue_by_category", report.revenue_by_category),
        ("revenue_by_room", report.revenue_by_room),
        ("topups_by_channel", report.topups_by_channel),
    ):
        for x in lines:
            w.writerow([label(section), safe_cell(key_label(section, x.key, labels)), x.count, _yuan(x.amount_fen)])
    w.writerow([label("net_revenue"), "", "", _yuan(report.net_revenue_fen)])
    for x in report.events:
        w.writerow([label("events"), label(x.key), x.count, ""])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


# --- charts -----------------------------------------------------------------------------------------


def bar_chart_svg(section: str, lines: tuple[Line, ...], labels: dict[str, str], title: str) -> str:
    """A horizontal bar chart of amounts as a self-contained SVG string (every text escaped)."""
    row_h, left, width = 22, 150, 520
    top = 26
    height = top + row_h * max(1, len(lines)) + 8
    peak = max((x.amount_fen for x in lines), default=0) or 1
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        f"<title>{escape(title)}</title>",
        f'<text x="0" y="16" font-weight="bold">{escape(title)}</text>',
    ]
    for i, x in enumerate(lines):
        y = top + i * row_h
        w = round((width - left - 90) * x.amount_fen / peak)
        name = escape(key_label(section, x.key, labels))
        parts.append(f'<text x="{left - 6}" y="{y + 14}" text-anchor="end">{name}</text>')
        parts.append(f'<rect x="{left}" y="{y + 3}" width="{max(w, 1)}" height="{row_h - 6}" fill="#0d6efd"/>')
        parts.append(f'<text x="{left + w + 6}" y="{y + 14}">{escape(fen_to_yuan(x.amount_fen))}</text>')
    if not lines:
        parts.append(f'<text x="{left}" y="{top + 14}">—</text>')
    parts.append("</svg>")
    return "".join(parts)
