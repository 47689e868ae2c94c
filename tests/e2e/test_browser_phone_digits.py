"""Real browser: the room tablet asks for the last 4 phone digits when the service says so (a large
gallery), on its own keypad; wrong digits with the face are refused; the right ones identify; the
prompt is in Chinese by default. Same harness as test_browser.py (Debian chromium, uvicorn, fake faces)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.test_browser import Live, _context, _files, _pair, browser, live, pw  # noqa: F401 (fixtures)
from tests.e2e.web_support import GUEST_PASSWORD, national_id

pytestmark = pytest.mark.browser


def _enrol(site: Live, name: str, seq: int, person: str) -> str:
    ident = site.app.state.web.container.identity
    g = ident.register(name=name, phone=f"1380000{seq:04d}", national_id=national_id(seq), password=GUEST_PASSWORD)
    ident.grant_consent(g.id, "face_payment")
    ident.enroll_images(g.id, [f["buffer"] for f in _files(person, 3)])
    return str(g.id)


def _keypad(room: Any, digits: str) -> None:
    for d in digits:
        room.click(f"#digits-dialog .key[data-digit='{d}']")
    room.click("#digits-ok")


def test_tablet_asks_for_phone_digits(browser: Any, live: Live) -> None:  # noqa: F811 (fixture parameters)
    from playwright.sync_api import expect

    _enrol(live, "Carol", 31, "carol")
    _enrol(live, "Dave", 32, "dave")
    ident = live.app.state.web.container.identity
    ident._settings = ident._settings.model_copy(update={"phone_hint_gallery_size": 1})
    ctx = _context(browser, live)
    room = ctx.new_page()
    _pair(room, live, "r1")

    def face_then_digits(digits: str) -> None:
        room.click("#pay-face")
        room.set_input_files("#identify-file", _files("carol", 1))
        room.click("#identify-go")
        room.wait_for_selector("#digits-dialog", state="visible")
        assert "Last 4 digits" in room.inner_text("#digits-dialog h2")
        _keypad(room, digits)

    face_then_digits("0032")  # Dave's digits, Carol's face: refused, nobody identified
    expect(room.locator("#identify-error")).to_contain_text("face not recognised")
    assert room.is_hidden("#guest-bar")
    room.click("#identify-dialog [data-close]")
    face_then_digits("0031")
    room.wait_for_selector("#guest-bar", state="visible")
    assert room.inner_text("#guest-name") == "Carol"
    live.shot(room, "room_phone_digits", full_page=False)
    ctx.close()

    zh = _context(browser, live, lang="zh").new_page()
    _pair(zh, live, "r2")
    assert zh.text_content("#digits-dialog h2") == "手机号后 4 位"
    zh.context.close()
