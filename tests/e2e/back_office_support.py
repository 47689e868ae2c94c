"""A manager's back-office walk in a real browser, reusable in longer walks (the lead's issue-16 walk).

``back_office_walk`` needs a Playwright page signed in as a manager. It changes one item's price in the
menu page, adds a staff member in the staff page, opens today's report and downloads its CSV; it returns
the CSV's ledger totals by posting kind (integer fen, under ``totals``) and its ``rows``, for the caller
to compare with the books (``ledger_totals``).
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from soberpay.adapters.db.payment_tables import PostingRow

# CSV section and posting-kind labels by page language (the CSV follows the page's language).
LEDGER_SECTION = {"en": "ledger total", "zh": "账目合计"}
KINDS = {
    "en": {
        "top-up": "topup",
        "purchase": "purchase",
        "refund": "refund",
        "tab settled": "settlement",
        "balance paid out": "payout",
    },
    "zh": {"充值": "topup", "消费": "purchase", "退款": "refund", "挂账结清": "settlement", "余额退还": "payout"},
}


def back_office_walk(
    page: Any, base: str, *, sku: str, price_yuan: str, staff: tuple[str, str], lang: str = "en"
) -> dict[str, Any]:
    page.goto(f"{base}/staff/admin/menu")
    row = page.locator(f"form[data-sku='{sku}']")
    row.locator("input[name=price_fen]").fill(price_yuan)
    with page.expect_navigation():
        row.locator("button[type=submit]").click()
    assert row.locator("input[name=price_fen]").input_value() == price_yuan
    page.goto(f"{base}/staff/admin/staff")
    form = page.locator("#new-staff")
    form.locator("input[name=username]").fill(staff[0])
    form.locator("input[name=password]").fill(staff[1])
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    assert page.locator(f"tr[data-username='{staff[0]}']").count() == 1
    page.goto(f"{base}/staff/admin/reports")
    with page.expect_download() as info:
        page.click("#report-csv")
    raw = Path(info.value.path()).read_bytes()
    assert raw.startswith("\ufeff".encode()), "the CSV starts with a UTF-8 byte-order mark (Excel)"
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    kinds = KINDS[lang]
    totals = {kinds[r[1]]: round(float(r[3]) * 100) for r in rows if r[0] == LEDGER_SECTION[lang]}
    return {"totals": totals, "rows": rows}


def ledger_totals(sessions: sessionmaker[Session], start: datetime, end: datetime) -> dict[str, int]:
    """Sums of postings by kind with ``start <= at < end``, added up in Python from the ledger rows."""
    out: dict[str, int] = {}
    with sessions() as s:
        for kind, amount, at in s.execute(select(PostingRow.kind, PostingRow.amount_fen, PostingRow.at)):
            if start <= at < end:
                out[kind] = out.get(kind, 0) + amount
    return out
