"""Languages and venue time: negotiation, translated messages, menu names per language, consent texts
per version and language, times on the venue's clock."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from soberpay.adapters.consent_texts import consent_text, consent_versions
from soberpay.config import Settings
from soberpay.domain.catalogue import parse_catalogue_csv, parse_catalogue_toml
from soberpay.domain.identity import CONSENT_TEXT_VERSION, LANGUAGES, ConsentPurpose
from soberpay.errors import InvalidInput
from soberpay.venue_time import format_time
from soberpay.web.i18n import (
    ALERT_MESSAGES,
    ERROR_MESSAGES,
    PURCHASE_MESSAGES,
    error_message,
    gettext_for,
    negotiate,
    purchase_message,
)


@pytest.mark.parametrize(
    ("header", "default", "expected"),
    [
        ("zh-CN,zh;q=0.9,en;q=0.8", "en", "zh"),
        ("en-US,en;q=0.9,zh-CN;q=0.8", "zh", "en"),
        ("en;q=0.2, zh-TW;q=0.8", "en", "zh"),  # q-values, not order, decide
        ("fr-FR, de", "zh", "zh"),  # nothing we speak: the venue's language
        ("", "en", "en"),
        ("zh;q=0", "en", "en"),  # q=0 means "not this one"
        ("zh;q=abc", "en", "en"),
    ],
)
def test_accept_language_negotiation(header: str, default: str, expected: str) -> None:
    assert negotiate(header, default) == expected


def test_venue_defaults_and_bad_zone() -> None:
    venue = Settings().venue
    assert (venue.default_language, venue.timezone) == ("zh", "Asia/Shanghai")
    with pytest.raises(ValidationError, match="unknown time zone"):
        Settings(venue={"timezone": "Mars/Olympus"})


def test_a_purchase_at_2330_utc_is_0730_next_day_in_shanghai() -> None:
    at = datetime(2026, 11, 30, 23, 30, tzinfo=UTC)
    assert format_time(at, ZoneInfo("Asia/Shanghai")) == "2026-12-01 07:30"
    assert format_time(at.replace(tzinfo=None), ZoneInfo("Asia/Shanghai")) == "2026-12-01 07:30"  # naive = UTC
    assert format_time(None, ZoneInfo("Asia/Shanghai")) == "-"


def test_every_guest_and_staff_message_has_chinese() -> None:
    zh = gettext_for("zh")
    for table in (ERROR_MESSAGES, PURCHASE_MESSAGES, ALERT_MESSAGES):
        for text in table.values():
            assert zh(text) != text, text


def test_error_message_falls_back_to_the_code_not_to_english() -> None:
    assert error_message("not_found", "unknown guest", "zh") == "未知顾客"  # its own translation
    formatted = error_message("payment_refused", "balance ¥3.00 is not enough for ¥41.00", "zh")
    assert formatted == gettext_for("zh")(ERROR_MESSAGES["payment_refused"])
    assert error_message("no_such_code", "", "zh") == gettext_for("zh")(ERROR_MESSAGES["error"])
    assert error_message("not_found", "unknown guest", "en") == "unknown guest"


def test_purchase_message_in_chinese_names_item_and_amounts() -> None:
    text = purchase_message("insufficient_balance", "zh", item="青岛啤酒", quantity=1, amount_fen=4100, balance_fen=300)
    assert text == "未扣款：您的余额 ¥3.00 不足以支付 ¥41.00。"


MENU_TOML = """
[[item]]
sku = "beer"
name_en = "Tsingtao beer"
name_zh = "青岛啤酒"
category = "beer"
price_yuan = "15"

[[item]]
sku = "cola"
name = "Cola"
category = "drink"
price_yuan = "8"

[[item]]
sku = "tea"
name_zh = "凉茶"
category = "drink"
price_yuan = "6"
"""


def test_menu_items_have_a_name_per_language_and_old_menus_still_load() -> None:
    menu = parse_catalogue_toml(MENU_TOML)
    beer, cola, tea = menu.get("beer"), menu.get("cola"), menu.get("tea")
    assert (beer.name_in("en"), beer.name_in("zh")) == ("Tsingtao beer", "青岛啤酒")
    assert (cola.name_in("en"), cola.name_in("zh")) == ("Cola", "Cola")  # a single `name`: both languages
    assert (tea.name_in("en"), tea.name_in("zh")) == ("凉茶", "凉茶")
    csv_menu = parse_catalogue_csv("sku,name_en,name_zh,category,price_yuan\nwater,Water,矿泉水,drink,5\n")
    assert csv_menu.get("water").name_in("zh") == "矿泉水"
    with pytest.raises(InvalidInput, match="name_en"):
        parse_catalogue_toml('[[item]]\nsku = "x"\ncategory = "drink"\nprice_yuan = "1"\n')
    assert menu.with_price("beer", 2000).get("beer").name_zh == "青岛啤酒"  # a price change keeps the names


def test_bundled_menu_has_chinese_names_for_every_item() -> None:
    from soberpay.adapters.catalogue_file import load_catalogue

    assert [i.sku for i in load_catalogue() if not i.name_zh] == []


@pytest.mark.parametrize("purpose", list(ConsentPurpose))
def test_consent_texts_exist_in_every_language_for_every_version(purpose: ConsentPurpose) -> None:
    versions = consent_versions(purpose)
    assert CONSENT_TEXT_VERSION in versions
    assert all(langs == set(LANGUAGES) for langs in versions.values()), versions
    zh, en = consent_text(purpose, "zh"), consent_text(purpose, "en")
    assert zh != en and not any(c.isascii() and c.isalpha() for c in zh)


@pytest.mark.parametrize(("version", "lang"), [("2026-11-v1", "fr"), ("1999-01-v1", "zh"), ("../../x", "zh")])
def test_unknown_consent_text_is_refused(version: str, lang: str) -> None:
    with pytest.raises(InvalidInput):
        consent_text(ConsentPurpose.FACE_PAYMENT, lang, version)
