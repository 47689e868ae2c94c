"""Real-browser tests: Playwright (sync API) driving Debian's chromium against uvicorn on 127.0.0.1.

Covers registration with explicit consent, a purchase, dual verification with a wrong then the right
password, a locked high-price item, a staff override, confirming a pending request after recovery,
and that a room's device cannot read another room. Takes a screenshot of each page (written to
docs/screenshots/ with SOBERPAY_UPDATE_SCREENSHOTS=1). The face analyser is the test fake (uploaded
"photos" are fake image bytes).
Never downloads a browser: without /usr/bin/chromium the tests skip (fail under make test).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from soberpay.adapters.clock import ManualClock
from soberpay.config import Settings
from tests.conftest import need
from tests.e2e.web_support import GUEST_PASSWORD, make_app, national_id, sqlite_container
from tests.fakes import fake_image
from tests.support.servers import serve_in_thread

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
# Screenshots go to docs/screenshots/ only when asked (SOBERPAY_UPDATE_SCREENSHOTS=1), so a plain
# test run does not rewrite tracked files; otherwise they are still taken, into a temp folder.
DOC_SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
UPDATE_SHOTS = os.environ.get("SOBERPAY_UPDATE_SCREENSHOTS") == "1"  # read at import: conftest clears SOBERPAY_*
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 15_000


@dataclass
class Live:
    base: str
    app: Any
    tokens: dict[str, str]

    clock: ManualClock
    shots: Path

    def shot(self, page: Any, name: str, full_page: bool = True) -> None:
        self.shots.mkdir(parents=True, exist_ok=True)
        page.evaluate("window.scrollTo(0, 0); document.getElementById('toast').hidden = true")
        page.screenshot(path=str(self.shots / f"{name}.png"), full_page=full_page)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    need(CHROMIUM.exists(), "Debian chromium not installed (apt-get install chromium chromium-driver)")
    tmp = tmp_path_factory.mktemp("browser")
    settings = Settings(data_dir=tmp / "var", env="test")
    settings.web.room_max_fps = 4.0
    clock = ManualClock(datetime.now(UTC).replace(microsecond=0))
    container = sqlite_container(settings, clock)
    app = make_app(container, run_rooms=True)
    auth = app.state.web.auth
    auth.create_room("demo", "Demo room", "demo")  # the looping sample clip: live fps/lag on the dashboard
    tokens = {r: auth.issue_device_token(r)[1] for r in ("r1", "r2")}
    with serve_in_thread(app) as base:
        yield Live(base, app, tokens, clock, DOC_SHOTS if UPDATE_SHOTS else tmp / "screenshots")
    container.close()


@pytest.fixture(scope="module")
def pw(live: Live) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(pw: Any) -> Iterator[Any]:
    b = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
    yield b
    b.close()


def _context(browser: Any, live: Live, lang: str = "en") -> Any:
    ctx = browser.new_context(viewport={"width": 1280, "height": 860}, locale="en-US")
    ctx.set_default_timeout(TIMEOUT_MS)
    ctx.add_cookies([{"name": "sp_lang", "value": lang, "url": live.base}])
    return ctx


def _staff_login(page: Any, live: Live) -> None:
    page.goto(live.base + "/staff/login")
    page.fill("input[name=username]", "boss")
    page.fill("input[name=password]", "manager-pass-1")
    page.click("button[type=submit]")
    page.wait_for_url(live.base + "/staff")


def _files(person: str, n: int) -> list[dict[str, Any]]:
    return [{"name": f"{person}{i}.jpg", "mimeType": "image/jpeg", "buffer": fake_image(person, i)} for i in range(n)]


def _guest_id(live: Live, name: str) -> str:
    return next(c.id for c in live.app.state.web.container.identity.list_guests() if c.name == name)


def _override(staff: Any, live: Live, gid: str, action: str, reason: str) -> None:
    staff.goto(live.base + "/staff")
    staff.click(f"button[data-override='{gid}']")
    staff.select_option("#override-action", action)
    staff.click("#override-apply")  # empty reason: the browser refuses to submit
    assert staff.is_visible("#override-dialog")
    staff.fill("#override-reason", reason)
    if action == "tag":
        live.shot(staff, "staff_override", full_page=False)
    staff.click("#override-apply")
    staff.wait_for_selector("#override-dialog", state="hidden")


STAFF_NOTE = "slurred speech at the bar"


def _pair(page: Any, live: Live, room_id: str) -> None:
    page.goto(live.base + f"/room/{room_id}")
    page.fill("input[name=token]", live.tokens[room_id])
    page.click("button[type=submit]")
    page.wait_for_selector(".menu")


def _identify(room: Any, person: str) -> None:
    room.click("#pay-face")
    room.set_input_files("#identify-file", _files(person, 1))
    room.click("#identify-go")
    room.wait_for_selector("#guest-bar", state="visible")


def _digits(room: Any, digits: str) -> None:
    for d in digits:
        room.click(f".pad .key[data-digit='{d}']")
    room.click(".pad .key[data-action='ok']")


def test_venue_scenario(browser: Any, live: Live) -> None:
    # --- 1. registration at the kiosk, with explicit consent ------------------------------------
    kiosk_ctx = _context(browser, live)
    kiosk = kiosk_ctx.new_page()
    kiosk.goto(live.base + "/kiosk")
    boxes = kiosk.locator("input[name=consent]")
    assert boxes.count() == 3 and not any(boxes.nth(i).is_checked() for i in range(3))  # nothing pre-ticked
    kiosk.fill("input[name=name]", "Alice Wang")
    kiosk.fill("input[name=phone]", "13800000001")
    kiosk.fill("input[name=national_id]", national_id(1))
    kiosk.fill("input[name=password]", GUEST_PASSWORD)
    kiosk.check("#consent-face_payment")
    live.shot(kiosk, "kiosk")
    kiosk.click("#register-btn")
    kiosk.wait_for_selector("#face-step", state="visible")
    kiosk.set_input_files("#face-files", _files("alice", 3))
    kiosk.wait_for_selector(".quality.good")
    kiosk.click("#enrol-btn")
    kiosk.wait_for_selector("#done", state="visible")
    assert "3" in kiosk.inner_text("#done")
    live.shot(kiosk, "kiosk_enrolled")
    gid = _guest_id(live, "Alice Wang")
    ident = live.app.state.web.container.identity
    assert [c.purpose.value for c in ident.consents(gid)] == ["face_payment"]  # only what was ticked
    assert ident.template_count(gid) == 3
    kiosk_ctx.close()

    # --- staff: sign in, top up the guest's prepaid balance --------------------------------------
    staff_ctx = _context(browser, live)
    staff = staff_ctx.new_page()
    staff.goto(live.base + "/staff/login")
    live.shot(staff, "staff_login")
    _staff_login(staff, live)
    # The demo room's camera (the looping clip) shows its health on the room card.
    staff.wait_for_selector(".room-over[data-room='demo'] [data-camera='connected']")
    staff.click(f"button[data-topup='{gid}']")
    staff.fill("#topup-amount", "2000")
    staff.click("#topup-form button[type=submit]")
    staff.wait_for_selector("#topup-dialog", state="hidden")
    assert live.app.state.web.payments.balance(gid) == 200_000

    # --- 2. a purchase in room r1: identify, confirm "Pay ¥36.00 …?" with a fresh face, receipt, Done --
    room_ctx = _context(browser, live)
    room = room_ctx.new_page()
    _pair(room, live, "r1")
    room.click("button.item[data-item='beer-tsingtao']")
    room.click("button.item[data-item='beer-tsingtao']")
    _identify(room, "alice")
    room.wait_for_selector("#confirm-dialog[open]")
    assert "Pay ¥36.00 from your balance (¥1964.00 left)?" in room.inner_text("#confirm-what")
    assert live.app.state.web.payments.balance(gid) == 200_000  # identified, nothing charged yet
    live.shot(room, "room_confirm", full_page=False)
    room.set_input_files("#confirm-file", _files("alice", 1))
    room.wait_for_selector("#receipt-dialog[open]")
    assert "Paid" in room.inner_text("#receipt-lines") and "Alice Wang" in room.inner_text("#guest-bar")
    live.shot(room, "room_receipt", full_page=False)
    assert live.app.state.web.payments.balance(gid) == 200_000 - 3_600
    room.click("#receipt-done")
    assert room.is_hidden("#guest-bar") and "¥0.00" in room.inner_text("#cart-total")

    # --- 3. staff tag the guest (override dialog needs a reason) -------------------------------
    _override(staff, live, gid, "tag", STAFF_NOTE)

    # --- 4. dual verification: a regular item needs face + password, wrong then right -----------
    room.click("button.item[data-item='cola']")
    _identify(room, "alice")
    room.wait_for_selector("#confirm-dialog[open]")
    room.set_input_files("#confirm-file", _files("alice", 1))
    room.wait_for_selector("#password-dialog[open]")
    _digits(room, "999999")
    room.wait_for_selector("#password-msg:has-text('Wrong password')")
    live.shot(room, "room_password", full_page=False)
    _digits(room, GUEST_PASSWORD)
    room.wait_for_selector("#receipt-dialog[open]")
    assert "Paid" in room.inner_text("#receipt-lines")
    room.click("#receipt-done")

    # --- 5. a locked high-price item: held, not charged, neutral wording on the room screen ----------
    _identify(room, "alice")  # empty cart: identification only
    room.wait_for_selector("#guest-state.s-tagged")
    whisky = room.locator("button.item[data-item='whisky-chivas-12']")
    assert whisky.locator(".lock").is_visible()
    assert "For your safety, premium items need staff approval tonight" in room.inner_text("#lock-banner")
    balance = live.app.state.web.payments.balance(gid)
    whisky.click()
    room.click("#pay-face")
    room.wait_for_selector("#confirm-dialog[open]")
    room.set_input_files("#confirm-file", _files("alice", 1))
    room.wait_for_selector("#receipt-dialog[open]")
    assert "Not charged" in room.inner_text("#receipt-lines li.warn")
    room.click("#receipt-dialog #receipt-done")
    _identify(room, "alice")
    room.wait_for_selector("#pending", state="visible")
    assert "after recovery" in room.inner_text("#pending")
    assert room.locator("[data-confirm]").count() == 0  # cannot confirm while tagged
    assert "slurred" not in room.content()  # the staff note stays on staff pages
    live.shot(room, "room_locked")
    assert live.app.state.web.payments.balance(gid) == balance

    # --- staff dashboard, room by room: who is where, their state, held items, alerts ----------
    staff.goto(live.base + "/staff")
    staff.wait_for_selector(".room-over[data-room='r1'] li.held:has-text('Chivas')")
    assert "Room r1: Alice Wang tagged — high-price items locked" in staff.inner_text(".room-over[data-room='r1']")
    staff.wait_for_selector("#alerts li.k-suspended")
    staff.wait_for_selector(".room-over.live")
    live.shot(staff, "staff_dashboard")
    staff.click("#alerts li.k-suspended [data-ack]")
    staff.wait_for_selector("#alerts li.k-suspended [data-ack]", state="detached")

    # --- 6. recovery (staff untag) → held request pinned on top, confirmed with a fresh face -------
    _override(staff, live, gid, "untag", "recovered: steady walk, clear speech")
    room.wait_for_selector("[data-confirm]", timeout=TIMEOUT_MS)
    assert room.is_visible("#recovery-notice")
    pending_top = room.eval_on_selector("#pending", "e => e.getBoundingClientRect().top")
    assert pending_top < 400  # pinned above the menu, not below the fold
    live.shot(room, "room_pending")
    room.click("[data-confirm]")
    room.wait_for_selector("#confirm-dialog[open]")
    room.set_input_files("#confirm-file", _files("alice", 1))
    room.wait_for_selector("#receipt-dialog[open]")
    assert "original price" in room.inner_text("#receipt-lines")
    assert live.app.state.web.payments.balance(gid) == balance - 68_800
    room.click("#receipt-done")

    # --- staff: guest timeline with the evidence plot, end-of-visit bill, audit search ----------
    staff.goto(live.base + f"/staff/guests/{gid}")
    staff.wait_for_load_state("load")
    assert staff.evaluate("document.querySelector('img.plot').naturalWidth") > 0
    assert "staff.untag" in staff.inner_text("body")
    staff.click("#checkout-btn")
    staff.wait_for_selector("#bill-closed", state="visible")
    assert "Chivas" in staff.inner_text("#bill-body")
    live.shot(staff, "staff_guest")
    staff.goto(live.base + "/staff/audit?q=recovered")
    assert "staff.untag" in staff.inner_text("table")
    live.shot(staff, "staff_audit")
    room_ctx.close()
    staff_ctx.close()


def test_room_device_cannot_read_another_room(browser: Any, live: Live) -> None:
    ctx = _context(browser, live)
    page = ctx.new_page()
    page.goto(live.base + "/room/r1")
    page.fill("input[name=token]", live.tokens["r1"])
    page.click("button[type=submit]")
    page.wait_for_selector(".menu")
    csp = page.evaluate("fetch('/room/r1').then(r => r.headers.get('content-security-policy'))")
    assert "default-src 'self'" in csp  # pages run only their own script
    own = page.evaluate("fetch('/api/rooms/r1/state').then(r => r.status)")
    other = page.evaluate("fetch('/api/rooms/r2/state').then(r => r.json().then(b => [r.status, b.error]))")
    staff_api = page.evaluate("fetch('/api/staff/guests').then(r => r.status)")
    assert own == 200 and other == [403, "forbidden"] and staff_api == 401
    # Room 1's device shows room 2 only as a pairing form, and r1's token does not pair r2.
    page.goto(live.base + "/room/r2")
    page.fill("input[name=token]", live.tokens["r1"])
    page.click("button[type=submit]")
    assert "another room" in page.inner_text(".error")
    ctx.close()


def test_chinese_pages(browser: Any, live: Live) -> None:
    ctx = _context(browser, live, lang="zh")
    page = ctx.new_page()
    page.goto(live.base + "/room/r1")
    page.fill("input[name=token]", live.tokens["r1"])
    page.click("button[type=submit]")
    page.wait_for_selector(".menu")
    assert "刷脸支付" in page.inner_text("#pay-face") and "青岛啤酒" in page.inner_text(".menu")
    page.click("button.item[data-item='fruit-small']")
    live.shot(page, "room_zh")
    page.click("#lang-switch")
    page.wait_for_selector("text=Pay by face")
    page.goto(live.base + "/kiosk")
    page.click("#lang-switch")
    page.wait_for_selector("text=登记刷脸支付")
    live.shot(page, "kiosk_zh")
    ctx.close()


def test_sobriety_observations_tag_and_plot(browser: Any, live: Live) -> None:
    """A SYNTHETIC series of room-monitor observations (not a measurement) drives a consenting guest
    from sober to tagged and back; the dashboard shows the alert and the guest page plots the evidence."""
    ident = live.app.state.web.container.identity
    payments = live.app.state.web.payments
    guest = ident.register(name="Synthetic Sam", phone="13800000077", national_id=national_id(77), password="135790")
    ident.grant_consent(guest.id, "sobriety_monitoring")
    for i in range(40):
        live.clock.advance(seconds=30)
        if i < 10:
            p, sim = 0.12 + 0.01 * (i % 3), 0.95
        elif i < 18:
            p, sim = 0.2 + 0.09 * (i - 10), 0.9 - 0.04 * (i - 10)
        else:
            p, sim = max(0.08, 0.85 - 0.06 * (i - 18)), min(0.96, 0.6 + 0.04 * (i - 18))
        payments.apply_sobriety(
            guest.id,
            p_drunk=p,
            similarity=sim,
            posture_abnormal=10 <= i < 22,
            judged_drunk=p >= 0.7,
            evidence="synthetic test series",
            room_id="demo",
        )
        if i == 18:
            assert payments.risk(guest.id).state == "tagged"
    kinds = {a.kind for a in payments.alerts() if a.guest_id == guest.id}
    assert "tagged" in kinds
    ctx = _context(browser, live)
    page = ctx.new_page()
    _staff_login(page, live)
    page.goto(live.base + f"/staff/guests/{guest.id}")
    page.wait_for_load_state("load")
    assert page.evaluate("document.querySelector('img.plot').naturalWidth") > 0
    live.shot(page, "staff_guest_synthetic_sobriety")
    ctx.close()


def test_kiosk_camera_capture_and_live_quality(pw: Any, live: Live) -> None:
    """getUserMedia path with Chromium's synthetic camera: frames are grabbed in the page, sent for live
    quality feedback every 2.5 s, and captured as enrolment photos (the test fake decoder rejects the
    synthetic frames, which the page reports as bad quality)."""
    b = pw.chromium.launch(
        executable_path=str(CHROMIUM),
        headless=True,
        args=[*ARGS, "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"],
    )
    ctx = b.new_context(viewport={"width": 1280, "height": 860}, permissions=["camera"])
    ctx.set_default_timeout(TIMEOUT_MS)
    page = ctx.new_page()
    page.goto(live.base + "/kiosk")
    page.fill("input[name=name]", "Carla Camera")
    page.fill("input[name=phone]", "13800000055")
    page.fill("input[name=national_id]", national_id(55))
    page.fill("input[name=password]", GUEST_PASSWORD)
    page.check("#consent-face_payment")
    page.click("#register-btn")
    page.wait_for_selector("#camera", state="visible")
    page.wait_for_selector(".quality.bad")  # a live quality verdict arrived for a camera frame
    assert "image" in page.inner_text("#quality")
    page.click("#capture-btn")
    page.wait_for_selector("#photo-count:has-text('1')")
    assert page.is_enabled("#enrol-btn")
    b.close()


VIEWPORTS = {"tablet": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("device", ["tablet", "phone"])
def test_room_flow_by_viewport_and_language(browser: Any, live: Live, device: str, lang: str) -> None:
    """Pay with the confirmation step, Done clears the cart, the next guest never inherits it; no sideways
    overflow, touch targets ≥ 44 px, no staff note on the room screen — at each viewport and language."""
    seq = 100 + list(VIEWPORTS).index(device) * 2 + (lang == "zh")
    ident, payments = live.app.state.web.container.identity, live.app.state.web.payments
    people = []
    for who in ("first", "next"):
        person = f"{who}{seq}"
        g = ident.register(
            name=person,
            phone=f"1390000{seq:02d}{len(people)}",
            national_id=national_id(seq * 2 + len(people)),
            password=GUEST_PASSWORD,
        )
        ident.grant_consent(g.id, "face_payment")
        ident.enroll_images(g.id, [fake_image(person, i) for i in range(3)])
        payments.topup(g.id, amount_fen=100_000, idempotency_key=f"vp-topup-{g.id}", actor="staff:boss")
        people.append((person, g.id))
    ctx = browser.new_context(viewport=VIEWPORTS[device], locale="zh-CN" if lang == "zh" else "en-US")
    ctx.set_default_timeout(TIMEOUT_MS)
    ctx.add_cookies([{"name": "sp_lang", "value": lang, "url": live.base}])
    room = ctx.new_page()
    _pair(room, live, "r2")
    (first, first_id), (nxt, next_id) = people
    room.click("button.item[data-item='beer-tsingtao']")
    _identify(room, first)
    room.wait_for_selector("#confirm-dialog[open]")
    live.shot(room, f"room_confirm_{device}_{lang}", full_page=False)
    room.click("#confirm-dialog [data-close]")  # walks away without confirming: nothing charged
    room.click("#guest-done")
    assert "0.00" in room.inner_text("#cart-total")
    _identify(room, nxt)  # the next guest: the beer is not in their cart
    assert room.locator("#cart-lines [data-del]").count() == 0
    assert payments.balance(first_id) == 100_000 and payments.balance(next_id) == 100_000
    room.click("button.item[data-item='cola']")
    room.click("#pay-face")
    room.set_input_files("#confirm-file", _files(nxt, 1))
    room.wait_for_selector("#receipt-dialog[open]")
    live.shot(room, f"room_receipt_{device}_{lang}", full_page=False)
    room.click("#receipt-done")
    assert payments.balance(next_id) == 100_000 - 1_000 and payments.balance(first_id) == 100_000
    width = room.evaluate("document.documentElement.scrollWidth")
    assert width <= VIEWPORTS[device]["width"], f"horizontal overflow: {width}px"
    small = room.evaluate(
        "[...document.querySelectorAll('button, .btn, a')].filter(e => e.offsetParent)"
        ".map(e => e.getBoundingClientRect()).filter(r => r.height < 44 || r.width < 44).length"
    )
    assert small == 0, "touch targets under 44 px"
    if device == "phone":  # the pay buttons are on the first screen, not thousands of pixels down
        assert room.eval_on_selector("#pay-face", "e => e.getBoundingClientRect().top") < 844
    live.shot(room, f"room_{device}_{lang}")
    staff = ctx.new_page()
    _staff_login(staff, live)
    staff.wait_for_selector(f".room-over[data-room='r2'] .line:has-text('{nxt}')")
    assert staff.evaluate("document.documentElement.scrollWidth") <= VIEWPORTS[device]["width"]
    live.shot(staff, f"staff_{device}_{lang}")
    staff.click("a[href='/staff/logout']")  # sign-out: the stream ends and the page is cleared
    staff.wait_for_url(live.base + "/staff/login")
    ctx.close()
