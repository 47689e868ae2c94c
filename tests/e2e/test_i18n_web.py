"""Chinese everywhere, on the venue's clock: every page rendered in zh and the JSON a guest or cashier
reads with ``Accept-Language: zh-CN`` contain no English beyond brand names and units; consent is
recorded with the text version and language shown; a purchase at 23:30 UTC is on the bill at 07:30
the next day (Asia/Shanghai); /docs and /redoc load their assets from this server."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

import pytest
from fastapi.testclient import TestClient

from soberpay.adapters.clock import ManualClock
from soberpay.bootstrap import Container
from soberpay.config import Settings
from soberpay.domain.identity import CONSENT_TEXT_VERSION
from tests.e2e.web_support import GUEST_PASSWORD, MANAGER, national_id, sqlite_container
from tests.fakes import fake_image

ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}
# Brand names, units and codes a Chinese page may show as they are.
ALLOWED = {"soberpay", "English", "ml", "kg", "px", "ID", "IPA", "VIP", "RTSP", "URL", "demo", "CSRF", "PERCLOS"}
ASCII_WORD = re.compile(r"[A-Za-z]{2,}")
VISIBLE_ATTRS = {"alt", "title", "placeholder", "aria-label"}


class VisibleText(HTMLParser):
    """Text a person sees: element text and a few attributes; no scripts, styles, or subtrees marked
    ``translate="no"`` (data shown as recorded: ids, user names, audit codes)."""

    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.stack: list[bool] = []  # per open element: is its content hidden?

    def hidden(self) -> bool:
        return any(self.stack)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if not self.hidden():
            self.parts.extend(v for k, v in a.items() if k in VISIBLE_ATTRS and v)
        if tag not in self.VOID:
            self.stack.append(tag in {"script", "style"} or a.get("translate") == "no")

    def handle_endtag(self, tag: str) -> None:
        if tag not in self.VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        if not self.hidden():
            self.parts.append(data)


def english_words(text: str) -> set[str]:
    return {w for w in ASCII_WORD.findall(text) if w not in ALLOWED}


def page_english(html: str) -> set[str]:
    parser = VisibleText()
    parser.feed(html)
    return english_words(" ".join(parser.parts))


def json_strings(value: Any, keys: set[str]) -> list[str]:
    """The values of ``keys`` anywhere in a JSON document (the human-readable fields)."""
    if isinstance(value, dict):
        out = [v for k, v in value.items() if k in keys and isinstance(v, str)]
        return out + [s for v in value.values() for s in json_strings(v, keys)]
    if isinstance(value, list):
        return [s for v in value for s in json_strings(v, keys)]
    return []


@pytest.fixture
def zh_venue(settings: Settings) -> Iterator[tuple[TestClient, Container, dict[str, str]]]:
    clock = ManualClock(datetime(2026, 11, 30, 23, 0, tzinfo=UTC))
    container = sqlite_container(settings, clock)
    from soberpay.web.app import create_app

    app = create_app(container, run_rooms=False)
    auth = app.state.web.auth
    auth.create_staff(*MANAGER, "manager")
    auth.create_room("r101", "一零一包房", None)
    token = auth.issue_device_token("r101")[1]
    with TestClient(app, headers=ZH) as client:
        yield client, container, {"Authorization": "Bearer " + token}
    container.close()


def test_guest_and_cashier_read_chinese_on_the_venue_clock(
    zh_venue: tuple[TestClient, Container, dict[str, str]],
) -> None:
    client, container, room = zh_venue
    clock = container.clock
    assert isinstance(clock, ManualClock)
    # Registration in Chinese (the venue default, no cookie): the record keeps the text version and language.
    r = client.post(
        "/api/guests",
        json={
            "name": "李伟",
            "phone": "13800000001",
            "national_id": national_id(1),
            "password": GUEST_PASSWORD,
            "consents": ["face_payment", "sobriety_monitoring"],
        },
    )
    assert r.status_code == 201, r.text
    guest = r.json()
    assert {(c["text_version"], c["language"]) for c in guest["consents"]} == {(CONSENT_TEXT_VERSION, "zh")}
    gid, gtok = guest["guest_id"], {"X-Guest-Token": guest["guest_token"]}
    texts = client.get("/api/consents/texts").json()
    assert texts["language"] == "zh" and not english_words(" ".join(texts["purposes"].values()))
    assert client.get("/api/consents/texts", headers={"Accept-Language": "en"}).json()["language"] == "en"
    files = [("files", (f"{i}.jpg", fake_image("obama", i), "image/jpeg")) for i in range(3)]
    assert client.post(f"/api/guests/{gid}/face", files=files, headers=gtok).status_code == 200

    csrf = client.post("/api/auth/login", json={"username": MANAGER[0], "password": MANAGER[1]}).json()["csrf_token"]
    staff = {"X-CSRF-Token": csrf}
    assert client.post(
        f"/api/staff/guests/{gid}/topup", json={"amount_fen": 3_000, "idempotency_key": "topup-0001"}, headers=staff
    ).is_success
    ident = client.post(
        "/api/rooms/r101/identify/face",
        files={"file": ("f.jpg", fake_image("obama", 7), "image/jpeg")},
        headers=room,
    ).json()
    assert ident["explanation"] == "已识别。"
    guest_room = {**room, "X-Guest-Token": ident["guest_token"]}

    def buy(item: str, key: str) -> dict[str, Any]:  # each charge confirmed in the moment, here by password
        data = {"item_id": item, "idempotency_key": key, "password": GUEST_PASSWORD}
        r = client.post("/api/rooms/r101/purchases", data=data, headers=guest_room)
        assert r.status_code == 200, r.text
        return dict(r.json())

    clock.set(datetime(2026, 11, 30, 23, 30, tzinfo=UTC))
    paid = buy("cola", "buy-cola-0001")
    # The room says it neutrally (never the tag reason); the item's Chinese name is on the bill below.
    assert paid["outcome"] == "charged" and paid["explanation"] == "已支付。"
    refused = buy("whisky-chivas-12", "buy-whisky-01")  # ¥30 balance: not enough
    assert refused["outcome"] != "charged"
    # An error the guest sees, in Chinese.
    err = client.post("/api/rooms/r101/purchases", data={"item_id": "caviar", "idempotency_key": "buy-caviar-1"})
    assert err.status_code == 401 and not english_words(err.json()["message"])
    tagged = client.post(
        f"/api/staff/guests/{gid}/override", json={"action": "tag", "reason": "顾客步态不稳"}, headers=staff
    )
    assert tagged.status_code == 200, tagged.text
    quality = client.post("/api/face/quality", files={"file": ("f.jpg", fake_image("obama", 1), "image/jpeg")})
    # Refused by the body limit before any route runs: still in Chinese.
    json_type = {"content-type": "application/json"}
    too_big = client.post("/api/guests", content=b"{" + b" " * 70_000 + b"}", headers=json_type)
    assert too_big.status_code == 413
    readable = [paid, refused, err.json(), quality.json(), too_big.json(), *client.get("/api/staff/alerts").json()]
    bill = client.get(f"/api/staff/guests/{gid}/bill").json()
    readable.append(bill)
    leaks = {s: english_words(s) for s in json_strings(readable, {"explanation", "message", "item_name"})}
    assert {s: w for s, w in leaks.items() if w} == {}
    # Bills are on the venue's clock: 23:30 UTC is 07:30 the next morning in Shanghai.
    assert bill["lines"][0]["at"] == "2026-12-01T07:30:00+08:00"
    assert bill["lines"][0]["item_name"] == "可口可乐 330毫升"
    guest_page = client.get(f"/staff/guests/{gid}").text
    assert "07:30" in guest_page and "23:30" not in guest_page
    assert client.get(f"/api/staff/guests/{gid}/sobriety.png").headers["content-type"] == "image/png"

    # Every page, rendered in Chinese, shows no English outside the allow-list (the room page once paired).
    paired = client.post("/room/r101/pair", data={"token": room["Authorization"].removeprefix("Bearer ")})
    assert paired.status_code == 200 and 'id="pay-face"' in paired.text
    pages = ["/", "/kiosk", "/staff", f"/staff/guests/{gid}", "/staff/audit", "/room/r101", "/room/nope"]
    english = {p: page_english(client.get(p).text) for p in pages}
    client.cookies.delete("sp_session")
    client.cookies.delete("sp_room")
    english.update({f"{p} (signed out)": page_english(client.get(p).text) for p in ("/staff/login", "/room/r101")})
    wrong = client.post("/room/r101/pair", data={"token": "sprt_wrong"})
    english["/room/r101/pair"] = page_english(wrong.text)
    assert {p: w for p, w in english.items() if w} == {}


def test_english_is_available_and_chosen_by_header_or_switch(
    zh_venue: tuple[TestClient, Container, dict[str, str]],
) -> None:
    client = zh_venue[0]
    assert "登记刷脸支付" in client.get("/kiosk").text
    en = client.get("/kiosk", headers={"Accept-Language": "en-GB,en;q=0.9"}).text
    assert "Register for face payment" in en and "I agree that soberpay stores" in en
    scripts = client.get("/api/i18n").json()
    assert scripts["language"] == "zh" and scripts["messages"]["room.charged"] == "已支付"
    client.cookies.set("sp_lang", "en")  # the language switch wins over the header
    assert "Register for face payment" in client.get("/kiosk").text
    client.cookies.delete("sp_lang")
    r = client.post("/api/guests", json={"name": "x"}, headers={"Accept-Language": "zh-CN"})
    assert r.status_code == 422 and not english_words(r.json()["message"]) and "phone" in r.json()["fields"]


def test_bad_consent_text_changes_nothing(zh_venue: tuple[TestClient, Container, dict[str, str]]) -> None:
    client, container, _ = zh_venue
    body = {
        "name": "王芳",
        "phone": "13800000002",
        "national_id": national_id(2),
        "password": GUEST_PASSWORD,
        "consents": ["face_payment"],
        "consent_version": "1999-01-v1",
    }
    r = client.post("/api/guests", json=body)
    assert r.status_code == 400 and r.json()["error"] == "invalid_input"
    r = client.post("/api/guests", json={**body, "consent_version": None, "consent_language": "en"})
    assert r.status_code == 201  # the same phone is free: the refused registration stored nothing
    assert {c["language"] for c in r.json()["consents"]} == {"en"}


def test_api_docs_are_served_without_internet(zh_venue: tuple[TestClient, Container, dict[str, str]]) -> None:
    client = zh_venue[0]
    for path in ("/docs", "/redoc"):
        html = client.get(path).text
        assets = re.findall(r"""(?:src|href)=["']([^"']+\.(?:js|css|png))["']""", html)
        assert assets, html
        assert all(a.startswith("/") and not a.startswith("//") for a in assets), assets
        assert all(client.get(a).status_code == 200 for a in assets)
