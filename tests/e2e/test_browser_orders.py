"""Browser walk after payment, in Chinese, as a manager: a paid drink appears on the to-deliver board
(live) and is moved to preparing and delivered; a second one is partly refunded from the guest's bill;
the receipt shows the refund. Steps live in ``tests/e2e/venue_walk.py`` for longer walks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import need
from tests.e2e.venue_walk import BROWSER_ARGS, LiveVenue, live_venue

pytestmark = pytest.mark.browser
CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture
def venue(tmp_path: Path) -> Iterator[LiveVenue]:
    need(CHROMIUM.exists(), "Debian chromium not installed (apt-get install chromium chromium-driver)")
    with live_venue(tmp_path) as v:
        yield v


@pytest.fixture
def browser(venue: LiveVenue) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=BROWSER_ARGS)
        yield b
        b.close()


def test_manager_walk_board_refund_receipt_in_chinese(venue: LiveVenue, browser: Any) -> None:
    gid = venue.guest("多拉", 1, balance_fen=50_000)
    page = venue.staff_page(browser, lang="zh")
    page.goto(venue.base + "/staff/deliveries")
    assert "待送达" in page.locator("h1").inner_text()

    first = venue.order(gid, "beer-tsingtao", 2)  # paid while the board is open: it arrives by the stream
    card = page.locator(f"[data-delivery='{first}']")
    card.wait_for()
    assert "青岛啤酒" in card.inner_text() and "新订单" in card.inner_text()
    assert page.locator("section[data-room='r1']").count() == 1  # grouped by room
    venue.move_on_board(page, first, "preparing")
    venue.move_on_board(page, first, "delivered")
    assert "已送达" in page.locator(f"[data-delivery='{first}']").inner_text()

    second = venue.order(gid, "cola", 3)  # ¥30
    venue.refund_from_bill(page, gid, second, "12.50", "少上了一瓶")
    assert "-¥12.50" in page.locator(f"tr[data-order='{second}']").inner_text()
    assert venue.container.payments.balance(gid) == 50_000 - 3_600 - 3_000 + 1_250

    text = venue.receipt_text(page, gid)
    assert "小票" in text or "收据" in text
    assert "已退款" in text and "-¥12.50" in text and "CST" in text
    assert "Star Voice KTV" in text  # the menu's venue name
