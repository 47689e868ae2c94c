"""Guest self-service at the kiosk in Chromium (tablet 1280×800, English and Chinese): phone + password
shows the consents, one is withdrawn and the account erased, each with the password and a live capture.

The face analyser and the liveness check are the test fakes (tests/fakes.py): the "capture" is two
different fake frames of the guest chosen in the page's file input (what a camera clip becomes); one
frame is a still photo and is refused. Screenshots follow tests/e2e/test_browser.py's convention."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from soberpay.adapters.clock import ManualClock
from soberpay.config import Settings
from soberpay.domain.identity import ConsentPurpose
from soberpay.web.i18n import SCRIPT_MESSAGES, gettext_for
from tests.conftest import need
from tests.e2e.test_browser import ARGS, CHROMIUM, DOC_SHOTS, TIMEOUT_MS, UPDATE_SHOTS
from tests.e2e.web_support import GUEST_PASSWORD, make_app, national_id, sqlite_container
from tests.fakes import fake_image
from tests.support.servers import serve_in_thread

pytestmark = pytest.mark.browser


@dataclass
class Kiosk:
    base: str
    app: Any
    shots: Path


@pytest.fixture(scope="module")
def kiosk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kiosk]:
    need(CHROMIUM.exists(), "Debian chromium not installed (apt-get install chromium chromium-driver)")
    tmp = tmp_path_factory.mktemp("selfserve")
    container = sqlite_container(Settings(data_dir=tmp / "var", env="test"), ManualClock(datetime.now(UTC)))
    app = make_app(container)
    with serve_in_thread(app) as base:
        yield Kiosk(base, app, DOC_SHOTS if UPDATE_SHOTS else tmp / "screenshots")
    container.close()


def _frames(person: str, *shots: int) -> list[dict[str, Any]]:
    return [{"name": f"{person}{s}.jpg", "mimeType": "image/jpeg", "buffer": fake_image(person, s)} for s in shots]


def _confirm(page: Any, files: list[dict[str, Any]]) -> None:
    page.fill("#self-password", GUEST_PASSWORD)
    page.set_input_files("#self-file", files)
    page.click("#self-go")


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_guest_withdraws_a_consent_and_erases_the_account_at_the_kiosk(kiosk: Kiosk, lang: str) -> None:
    from playwright.sync_api import sync_playwright

    seq = 40 if lang == "en" else 41
    phone, person, name = f"1380000{seq:04d}", f"self{lang}", f"Self {lang}"
    ident = kiosk.app.state.web.container.identity
    guest = ident.register(name=name, phone=phone, national_id=national_id(seq), password=GUEST_PASSWORD)
    ident.grant_consent(guest.id, ConsentPurpose.FACE_PAYMENT)
    ident.grant_consent(guest.id, ConsentPurpose.SOBRIETY_MONITORING)
    ident.enroll_images(guest.id, [fake_image(person, i) for i in range(3)])

    def say(key: str) -> str:
        return gettext_for(lang)(SCRIPT_MESSAGES[key])

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        ctx = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN" if lang == "zh" else "en-US")
        ctx.set_default_timeout(TIMEOUT_MS)
        ctx.add_cookies([{"name": "sp_lang", "value": lang, "url": kiosk.base}])
        page = ctx.new_page()
        page.goto(kiosk.base + "/kiosk")
        page.fill("#self-find input[name=phone]", phone)
        page.fill("#self-find input[name=password]", GUEST_PASSWORD)
        page.click("#self-find-btn")
        page.wait_for_selector("#self-account", state="visible")
        consents = page.inner_text("#self-consents")
        assert say("self.purpose.face_payment") in consents and say("self.purpose.sobriety_monitoring") in consents

        # Withdraw sobriety monitoring: a still photo is refused and changes nothing; a live capture works.
        page.click("button[data-revoke='sobriety_monitoring']")
        assert say("self.effect.sobriety_monitoring") in page.inner_text("#self-confirm")
        _confirm(page, _frames(person, 7))
        page.wait_for_selector("#self-error:not(:empty)")
        assert ident.has_consent(guest.id, ConsentPurpose.SOBRIETY_MONITORING)
        _confirm(page, _frames(person, 8, 9))
        page.wait_for_selector("#self-result")
        assert say("self.revoked_ok") in page.inner_text("#self-result")
        assert not ident.has_consent(guest.id, ConsentPurpose.SOBRIETY_MONITORING)
        assert ident.has_consent(guest.id, ConsentPurpose.FACE_PAYMENT)
        assert page.locator("button[data-revoke]").count() == 1

        # Erase: what is deleted and what the law keeps, said plainly before the capture.
        page.click("#self-erase")
        text = page.inner_text("#self-confirm")
        assert say("self.erase_deleted") in text and say("self.erase_kept") in text
        assert page.evaluate("document.documentElement.scrollWidth") <= 1280  # no sideways scrolling
        page.evaluate("document.getElementById('toast').hidden = true")
        kiosk.shots.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(kiosk.shots / f"kiosk_self_service_{lang}.png"), full_page=True)
        _confirm(page, _frames(person, 10, 11))
        page.wait_for_selector("#self-result")
        assert say("self.erased_ok") in page.inner_text("#self-result")
        assert page.is_visible("#self-find")
        find = {"phone": phone, "password": GUEST_PASSWORD}
        r = page.request.post(kiosk.base + "/api/guests/self-service", data=find)
        assert r.status == 401  # the guest is gone
        browser.close()
    assert name not in [c.name for c in ident.list_guests()]
    assert ident.template_count(guest.id) == 0
