"""One night at the venue, in a real browser and in Chinese (issue 16's walk): a guest tops up at the kiosk
by the fake Alipay server (signed notification over real HTTP) → pays for drinks in the room → the bar
moves the beer to delivered on the board → a manager refunds part of the cola from the bill → the day's
report and its CSV equal the ledger → `soberpay backup` while the service runs, `soberpay restore` on a
new disk, and the restored venue has the same balances, books, deliveries and report."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from soberpay.adapters.clock import ManualClock
from soberpay.adapters.db.reports import build_report
from soberpay.bootstrap import Container
from soberpay.cli import app as cli
from soberpay.config import Settings
from soberpay.venue_time import day_range, local_time
from tests.conftest import need
from tests.e2e.back_office_support import back_office_walk, ledger_totals
from tests.e2e.test_browser import ARGS, CHROMIUM, TIMEOUT_MS
from tests.e2e.venue_walk import LiveVenue, live_venue
from tests.e2e.web_support import GUEST_PASSWORD
from tests.fakes import FakeAnalyser
from tests.support.fake_provider import FakeProvider

pytestmark = pytest.mark.browser
PASSPHRASE = "night shift backup passphrase"


@pytest.fixture
def night(tmp_path: Path) -> Iterator[tuple[LiveVenue, FakeProvider]]:
    need(CHROMIUM.exists(), "Debian chromium not installed (apt-get install chromium chromium-driver)")
    with (
        FakeProvider() as fake,
        live_venue(tmp_path, lambda s, base: fake.configure(s, tmp_path / "secrets", base)) as venue,
    ):
        yield venue, fake


def _top_up_at_the_kiosk(browser: Any, venue: LiveVenue, fake: FakeProvider, phone: str, yuan: str) -> None:
    ctx = browser.new_context(viewport={"width": 1024, "height": 768})
    ctx.set_default_timeout(TIMEOUT_MS)
    ctx.add_cookies([{"name": "sp_lang", "value": "zh", "url": venue.base}])
    page = ctx.new_page()
    page.goto(venue.base + "/topup")
    page.fill("#topup-find input[name=phone]", phone)
    page.fill("#topup-find input[name=password]", GUEST_PASSWORD)
    page.click("#topup-find-btn")
    page.fill("#topup-amount", yuan)
    page.select_option("#topup-channel", "alipay")
    page.click("#topup-btn")
    page.wait_for_selector("#topup-svg svg")  # the QR code the guest scans
    (order,) = fake.orders.values()
    assert fake.pay(order.topup_id) == 200  # Alipay's notification, signed, to the live service
    page.wait_for_selector("#topup-status[data-state=paid]")
    assert f"¥{yuan}" in page.inner_text("#topup-status")
    ctx.close()


def _venue_state(container: Container, guest_id: str, beer: str) -> dict[str, Any]:
    zone = container.settings.venue.zone
    start, end = day_range(local_time(container.clock.now(), zone).date(), zone)
    report = build_report(container.session_factory, start, end)
    return {
        "balance": container.payments.balance(guest_id),
        "books": ledger_totals(container.session_factory, start, end),
        "report": {kind: report.total(kind) for kind in ("topup", "purchase", "refund")},
        "beer": container.payments.delivery(beer).state,
        "ledger": container.payments.ledger(guest_id, limit=100),
    }


def test_top_up_order_deliver_refund_report_backup_restore(
    night: tuple[LiveVenue, FakeProvider], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from playwright.sync_api import sync_playwright

    venue, fake = night
    pay = venue.container.payments
    gid = venue.guest("李雷", 7)  # registered with ¥0, checked in to room r1
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        _top_up_at_the_kiosk(browser, venue, fake, "13900000007", "300.00")
        assert pay.balance(gid) == 30_000

        staff = venue.staff_page(browser, lang="zh")
        staff.goto(venue.base + "/staff/deliveries")
        beer = venue.order(gid, "beer-tsingtao", 2)  # paid at the room tablet (the tablet flows have their tests)
        cola = venue.order(gid, "cola", 3)
        venue.move_on_board(staff, beer, "preparing")
        venue.move_on_board(staff, beer, "delivered")
        venue.refund_from_bill(staff, gid, cola, "10.00", "少上了一瓶")

        walk = back_office_walk(
            staff, venue.base, sku="cola", price_yuan="9.50", staff=("night", "night-pass-1"), lang="zh"
        )
        browser.close()

    before = _venue_state(venue.container, gid, beer)
    charged = before["books"]["purchase"]
    assert (
        walk["totals"] == before["books"] == before["report"] == {"topup": 30_000, "purchase": charged, "refund": 1_000}
    )
    assert before["balance"] == 30_000 - charged + 1_000 and before["beer"] == "delivered"

    runner = CliRunner()
    settings = venue.container.settings
    (tmp_path / "pass").write_text(PASSPHRASE + "\n")
    monkeypatch.setenv("SOBERPAY_BACKUP_PASSPHRASE_FILE", str(tmp_path / "pass"))
    monkeypatch.setenv("SOBERPAY_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("SOBERPAY_DATABASE_URL", settings.database_url or "")
    backup = runner.invoke(cli, ["backup", str(tmp_path / "backup")])  # while the service is running
    assert backup.exit_code == 0, backup.output
    (db_file,) = (tmp_path / "backup").glob("soberpay-*.db")
    (key_file,) = (tmp_path / "backup").glob("soberpay-keys-*.enc")

    new = tmp_path / "new-disk"
    monkeypatch.setenv("SOBERPAY_DATA_DIR", str(new))
    monkeypatch.setenv("SOBERPAY_DATABASE_URL", f"sqlite:///{new / 'soberpay.db'}")
    restored = runner.invoke(cli, ["restore", str(db_file), "--keys", str(key_file)])
    assert restored.exit_code == 0, restored.output

    again = Container(
        Settings(data_dir=new, database_url=f"sqlite:///{new / 'soberpay.db'}", env="test"),
        clock=ManualClock(venue.clock.now()),
        analyser=FakeAnalyser(),
    ).open()
    try:
        assert _venue_state(again, gid, beer) == before
        assert again.identity.reveal_national_id(gid)  # the ID number decrypts with the restored keys
    finally:
        again.close()
