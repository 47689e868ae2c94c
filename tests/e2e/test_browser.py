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
import socket
import threading
import time
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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
    import uvicorn

    tmp = tmp_path_factory.mktemp("browser")
    settings = Settings(data_dir=tmp / "var", env="test")
    settings.web.room_max_fps = 4.0
    clock = ManualClock(datetime.now(UTC).replace(microsecond=0))
    container = sqlite_container(settings, clock)
    app = make_app(container, run_rooms=True)
    auth = app.state.web.auth
    auth.create_room("demo", "Demo room", "demo")  # the looping sample clip: live fps/lag on the dashboard
    tokens = {r: auth.issue_device_token(r)[1] for r in ("r1", "r2")}
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield Live(f"http://127.0.0.1:{port}", app, tokens, clock, DOC_SHOTS if UPDATE_SHOTS else tmp / "screenshots")
    server.should_exit = True
    thread.join(10)
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
    staff.click(f"button[data-topup='{gid}']")
    staff.fill("#topup-amount", "2000")
    staff.click("#topup-form button[type=submit]")
    staff.wait_for_selector("#topup-dialog", state="hidden")
    assert live.app.state.web.payments.balance(gid) == 200_000

    # --- 2. a purchase in room r1, paid by face ------------------------------------------------
    room_ctx = _context(browser, live)
    room = room_ctx.new_page()
    room.goto(live.base + "/room/r1")
    room.fill("input[name=token]", live.tokens["r1"])
    room.click("button[type=submit]")
    room.wait_for_selector(".menu")
    room.click("button.item[data-item='beer-tsingtao']")
    room.click("button.item[data-item='beer-tsingtao']")
    room.click("#pay-face")
    room.set_input_files("#identify-file", _files("alice", 1))
    room.click("#identify-go")
    room.wait_for_selector("#results li.ok")
    assert "Paid" in room.inner_text("#results") and "Alice Wang" in room.inner_text("#guest-bar")
    live.shot(room, "room")
    assert live.app.state.web.payments.balance(gid) == 200_000 - 3_600

    # --- 3. staff tag the guest (override dialog needs a reason) -------------------------------
    _override(staff, live, gid, "tag", "slurred speech at the bar")

    # --- 4. dual verification: regular item needs face + password, wrong then right -------------
    room.wait_for_selector("#guest-state.s-tagged", timeout=TIMEOUT_MS)  # the page polls the guest's state
    room.click("button.item[data-item='cola']")
    room.click("#pay-face")
    room.wait_for_selector("#password-dialog[open]")
    for d in "999999":
        room.click(f".pad .key[data-digit='{d}']")
    room.click(".pad .key[data-action='ok']")
    room.wait_for_selector("#password-msg:has-text('wrong')")
    live.shot(room, "room_password", full_page=False)
    for d in GUEST_PASSWORD:
        room.click(f".pad .key[data-digit='{d}']")
    room.click(".pad .key[data-action='ok']")
    room.wait_for_selector("#results li.ok >> nth=1")
    assert "dual verification" in room.inner_text("#results li.ok >> nth=0")

    # --- 5. a locked high-price item: suspended, not charged, explained -------------------------
    whisky = room.locator("button.item[data-item='whisky-chivas-12']")
    assert whisky.locator(".lock").is_visible()
    assert "high-price items are locked" in room.inner_text("#lock-banner")
    balance = live.app.state.web.payments.balance(gid)
    whisky.click()
    room.click("#pay-face")
    room.wait_for_selector("#results li.warn")
    assert "Not charged" in room.inner_text("#results li.warn")
    room.wait_for_selector("#pending", state="visible")
    assert "after recovery" in room.inner_text("#pending")
    assert room.locator("[data-confirm]").count() == 0  # cannot confirm while tagged
    live.shot(room, "room_locked")
    assert live.app.state.web.payments.balance(gid) == balance

    # --- staff dashboard shows the suspended attempt and the live alert feed -------------------
    staff.goto(live.base + "/staff")
    staff.wait_for_selector("#suspended td:has-text('Chivas')")
    staff.wait_for_selector("#alerts li.k-suspended")
    staff.wait_for_selector(".room-card.live")
    live.shot(staff, "staff_dashboard")
    staff.click("#alerts li.k-suspended [data-ack]")
    staff.wait_for_selector("#alerts li.k-suspended [data-ack]", state="detached")

    # --- 6. recovery (staff untag) → the guest confirms the pending request --------------------
    _override(staff, live, gid, "untag", "recovered: steady walk, clear speech")
    room.wait_for_selector("[data-confirm]", timeout=TIMEOUT_MS)
    live.shot(room, "room_pending")
    room.click("[data-confirm]")
    room.wait_for_selector("#pending", state="hidden")
    assert "original price" in room.inner_text("#results")
    assert live.app.state.web.payments.balance(gid) == balance - 68_800

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
