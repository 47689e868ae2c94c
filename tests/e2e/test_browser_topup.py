"""Real browser: a guest tops up at the kiosk page /topup through the fake WeChat Pay server and sees the
new balance. The SDK, the fake provider and the notification all go over real HTTP on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import need
from tests.e2e.test_browser import ARGS, CHROMIUM, TIMEOUT_MS
from tests.e2e.venue_walk import live_venue
from tests.e2e.web_support import GUEST_PASSWORD, national_id
from tests.support.fake_provider import FakeProvider

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, FakeProvider]]:
    need(CHROMIUM.exists(), "Debian chromium not installed (apt-get install chromium chromium-driver)")
    tmp: Path = tmp_path_factory.mktemp("browser-topup")
    with FakeProvider() as fake, live_venue(tmp, lambda s, base: fake.configure(s, tmp / "secrets", base)) as venue:
        yield venue.base, fake


def test_guest_tops_up_by_wechat_qr_and_sees_the_new_balance(served: tuple[str, FakeProvider]) -> None:
    from playwright.sync_api import sync_playwright

    base, fake = served
    phone = "13800000042"
    r = httpx.post(
        base + "/api/guests",
        json={
            "name": "Wei",
            "phone": phone,
            "national_id": national_id(42),
            "password": GUEST_PASSWORD,
            "consents": [],
        },
    )
    assert r.status_code == 201, r.text
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        ctx = browser.new_context(locale="en-US")
        ctx.set_default_timeout(TIMEOUT_MS)
        ctx.add_cookies([{"name": "sp_lang", "value": "en", "url": base}])
        page: Any = ctx.new_page()
        page.goto(base + "/topup")
        page.fill("#topup-find input[name=phone]", phone)
        page.fill("#topup-find input[name=password]", GUEST_PASSWORD)
        page.click("#topup-find-btn")
        page.fill("#topup-amount", "88.80")
        page.select_option("#topup-channel", "wechat")
        page.click("#topup-btn")
        page.wait_for_selector("#topup-svg svg")
        assert page.get_attribute("#topup-status", "data-state") == "created"
        (topup_id,) = [o.topup_id for o in fake.orders.values() if o.amount_fen == 8880]
        assert fake.pay(topup_id) == 204  # the fake WeChat server notifies the live service over HTTP
        page.wait_for_selector("#topup-status[data-state=paid]")
        assert "¥88.80" in page.inner_text("#topup-status")
        browser.close()
