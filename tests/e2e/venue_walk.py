"""A live venue for browser walks after payment, reusable by longer walks (top-up by a payment provider
→ order → delivered → refund → report): a uvicorn server over the fake-analyser container, guests set
up through the services, and the staff-page steps (board, refund on the bill, receipt) in Playwright.

Usage::

    with live_venue(tmp_path) as venue:
        gid = venue.guest("Dora", 1, balance_fen=50_000)      # or top up through another channel
        order = venue.order(gid, "cola")
        page = venue.staff_page(browser, lang="zh")
        venue.move_on_board(page, order, "preparing")
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from soberpay.adapters.clock import ManualClock
from soberpay.config import Settings
from tests.e2e.web_support import GUEST_PASSWORD, MANAGER, make_app, national_id, sqlite_container
from tests.support.servers import free_port, serve_in_thread

ROOM = "r1"
TIMEOUT_MS = 15_000
BROWSER_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]


@dataclass
class LiveVenue:
    base: str
    app: Any
    clock: ManualClock

    @property
    def container(self) -> Any:
        return self.app.state.web.container

    def guest(self, name: str, seq: int, balance_fen: int = 0) -> str:
        """A registered guest, topped up in cash at the counter (when ``balance_fen``) and checked in to r1."""
        g = self.container.identity.register(
            name=name, phone=f"1390000{seq:04d}", national_id=national_id(seq), password=GUEST_PASSWORD
        )
        if balance_fen:
            self.container.payments.topup(g.id, balance_fen, f"walk-topup-{g.id}")
        self.container.payments.check_in(g.id, ROOM)
        return str(g.id)

    def order(self, guest_id: str, sku: str, quantity: int = 1) -> str:
        """A paid order (the room tablet's purchase, made through the service); its id."""
        r = self.container.payments.purchase(
            guest_id, sku, quantity, f"walk-{sku}-{time.monotonic_ns()}", password=GUEST_PASSWORD, room_id=ROOM
        )
        assert r.outcome == "charged", r.explanation
        return str(r.order_id)

    def staff_page(self, browser: Any, lang: str = "zh", who: tuple[str, str] = MANAGER) -> Any:
        """A signed-in staff page (its own browser context) in ``lang``."""
        ctx = browser.new_context(viewport={"width": 1280, "height": 860})
        ctx.set_default_timeout(TIMEOUT_MS)
        ctx.add_cookies([{"name": "sp_lang", "value": lang, "url": self.base}])
        page = ctx.new_page()
        page.goto(self.base + "/staff/login")
        page.fill("input[name=username]", who[0])
        page.fill("input[name=password]", who[1])
        page.click("button[type=submit]")
        page.wait_for_url(self.base + "/staff")
        return page

    def move_on_board(self, page: Any, order_id: str, to: str) -> None:
        """On the to-deliver board: press the button that moves ``order_id`` to ``to``; wait for the live update."""
        if not page.url.endswith("/staff/deliveries"):
            page.goto(self.base + "/staff/deliveries")
        item = page.locator(f"[data-delivery='{order_id}']")
        item.locator(f"button[data-move='{to}']").click()
        page.locator(f"[data-delivery='{order_id}'] .state[data-state='{to}']").wait_for()

    def refund_from_bill(self, page: Any, guest_id: str, order_id: str, yuan: str, reason: str) -> None:
        """On the guest's page: the manager's Refund control on the bill line of ``order_id``."""
        page.goto(f"{self.base}/staff/guests/{guest_id}")
        page.click(f"button[data-refund='{order_id}']")
        page.fill("#refund-amount", yuan)
        page.fill("#refund-reason", reason)
        page.click("#refund-form button[type=submit]")
        page.locator(f"tr[data-order='{order_id}'] .refunded").wait_for()  # the page reloads with the refund

    def receipt_text(self, page: Any, guest_id: str) -> str:
        page.goto(f"{self.base}/staff/guests/{guest_id}/receipt")
        return str(page.locator("#receipt").inner_text())


@contextmanager
def live_venue(tmp: Path, prepare: Callable[[Settings, str], None] | None = None) -> Iterator[LiveVenue]:
    """A uvicorn server on a free port; ``prepare(settings, base_url)`` runs before the container is built
    (a payment provider needs the notification URL, for instance)."""
    settings = Settings(data_dir=tmp / "var", env="test")
    settings.printer.url = "dummy"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    if prepare is not None:
        prepare(settings, base)
    clock = ManualClock(datetime.now(UTC).replace(microsecond=0))  # near real time: notifications are dated
    container = sqlite_container(settings, clock)
    app = make_app(container, run_rooms=False)
    try:
        with serve_in_thread(app, port):
            yield LiveVenue(base, app, clock)
    finally:
        container.close()
