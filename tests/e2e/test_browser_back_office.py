"""A manager in a real browser: changes a price, adds a staff member, opens today's report, downloads the
CSV — and the CSV's totals equal the ledger's (Playwright + Debian chromium; skips without chromium)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from soberpay.venue_time import day_range, local_time
from tests.conftest import need
from tests.e2e.back_office_support import back_office_walk, ledger_totals
from tests.e2e.test_browser import ARGS, CHROMIUM, TIMEOUT_MS
from tests.e2e.venue_walk import live_venue
from tests.e2e.web_support import MANAGER, national_id

pytestmark = pytest.mark.browser


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Any]]:
    need(CHROMIUM.exists(), "Debian chromium not installed (apt-get install chromium chromium-driver)")
    with live_venue(tmp_path) as venue:
        yield venue.base, venue.app


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_manager_changes_a_price_adds_staff_and_the_report_csv_matches_the_ledger(
    served: tuple[str, Any], lang: str
) -> None:
    from playwright.sync_api import sync_playwright

    base, app = served
    container = app.state.web.container
    pay, identity = container.payments, container.identity
    guest = identity.register(name="Ann", phone="13800000001", national_id=national_id(1), password="246810").id
    pay.topup(guest, 20_000, "topup-00000001", actor="boss")
    order = pay.purchase(guest, "beer-tsingtao", 2, "charge-00000001", actor="staff:boss")
    pay.refund(order.order_id or "", 500, "flat beer", "boss", "refund-00000001")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        ctx = browser.new_context(viewport={"width": 1280, "height": 860}, accept_downloads=True)
        ctx.set_default_timeout(TIMEOUT_MS)
        ctx.add_cookies([{"name": "sp_lang", "value": lang, "url": base}])
        page = ctx.new_page()
        page.goto(base + "/staff/login")
        page.fill("input[name=username]", MANAGER[0])
        page.fill("input[name=password]", MANAGER[1])
        page.click("button[type=submit]")
        page.wait_for_url(base + "/staff")
        page.click("a[href='/staff/admin/reports']")  # the nav link a manager sees
        walk = back_office_walk(page, base, sku="cola", price_yuan="9.50", staff=("newbie", "newbie-pass-1"), lang=lang)
        browser.close()
    zone = container.settings.venue.zone
    start, end = day_range(local_time(container.clock.now(), zone).date(), zone)
    books = ledger_totals(container.session_factory, start, end)
    assert walk["totals"] == books == {"topup": 20_000, "purchase": order.charged_fen, "refund": 500}
    assert container.menu.get("cola").price_fen == 950
    assert "newbie" in {a.username for a in app.state.web.auth.staff_accounts()}
