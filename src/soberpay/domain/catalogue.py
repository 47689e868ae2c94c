"""Catalogue: menu items, categories and price tiers (pure Python).

Prices are integer fen. An item's tier is not a property of the item alone: it depends on the
venue's high-price threshold and, for alcohol, on whether the guest is tagged (method claim 6:
"禁止消费超过100元的项目，禁止继续购买酒水" — no items above ¥100 and no further alcoholic drinks; 酒水
covers beer as much as liquor, so by default every alcoholic item needs staff while tagged).
``tier_of`` returns the tier with the rule that set it.

Menus are parsed here from TOML or CSV *text* (file reading happens in the adapter), so a bad menu
fails with ``InvalidInput`` naming the row before anything is sold from it.
"""

from __future__ import annotations

import csv
import io
import re
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from soberpay.errors import InvalidInput, NotFound, PaymentRefused

ETHANOL_DENSITY_G_PER_ML = 0.789


class Category(StrEnum):
    SONG = "song"
    DRINK = "drink"  # soft drinks, juice, tea
    BEER = "beer"
    LIQUOR = "liquor"  # whisky, baijiu, wine, cocktails
    SNACK = "snack"
    FRUIT = "fruit"
    ROOM_UPGRADE = "room_upgrade"
    SERVICE = "service"


ALCOHOLIC = frozenset({Category.BEER, Category.LIQUOR})


class AlcoholLock(StrEnum):
    """Which alcoholic items count as high-price while the guest is tagged."""

    ALL = "all"  # beer, liquor and anything with alcohol in it (the method's 酒水)
    LIQUOR = "liquor"  # liquor only (a venue's weaker choice)
    OFF = "off"


class Tier(StrEnum):
    REGULAR = "regular"
    HIGH_PRICE = "high_price"


_SKU_RE = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,39}$")


@dataclass(frozen=True)
class Item:
    sku: str
    name: str
    category: Category
    price_fen: int
    volume_ml: float = 0.0  # per unit, for the BAC estimate (0 for non-alcoholic items)
    abv_percent: float = 0.0
    name_zh: str = ""  # the Chinese name; ``name`` is the English one (or the only one the menu gives)
    # Back-office flags: ``alcohol`` None derives it from the category and ABV; ``high_price`` puts the item
    # in the high-price tier whatever its price; an unavailable item stays on old bills but is not sold.
    alcohol: bool | None = None
    high_price: bool = False
    available: bool = True

    def __post_init__(self) -> None:
        if not _SKU_RE.match(self.sku):
            raise InvalidInput(f"bad item code {self.sku!r} (lower-case letters, digits, _ and -)", field="sku")
        if not self.name.strip():
            raise InvalidInput(f"item {self.sku} has no name", field="name")
        if isinstance(self.price_fen, bool) or not isinstance(self.price_fen, int) or self.price_fen <= 0:
            raise InvalidInput(f"item {self.sku}: price must be a positive integer number of fen", field="price")
        if self.volume_ml < 0 or not 0 <= self.abv_percent <= 100:
            raise InvalidInput(f"item {self.sku}: volume/abv out of range", field="abv")

    def name_in(self, lang: str) -> str:
        """The item's name in ``lang`` ("zh" or "en"), falling back to the other language's name."""
        return (self.name_zh or self.name) if lang == "zh" else self.name

    @property
    def alcohol_grams(self) -> float:
        """Grams of ethanol in one unit: volume × ABV × density."""
        return self.volume_ml * self.abv_percent / 100.0 * ETHANOL_DENSITY_G_PER_ML

    @property
    def alcoholic(self) -> bool:
        if self.alcohol is not None:
            return self.alcohol
        return self.alcohol_grams > 0 or self.category in ALCOHOLIC


@dataclass(frozen=True)
class TierPolicy:
    high_price_threshold_fen: int = 10_000
    tagged_alcohol_lock: AlcoholLock = AlcoholLock.ALL


@dataclass(frozen=True)
class TierDecision:
    tier: Tier
    rule: str  # machine-readable: "marked_high_price", "price_above_threshold", "order_above_threshold",
    # "alcohol_while_tagged", "regular"
    explanation: str


def tier_of(item: Item, policy: TierPolicy, tagged: bool, quantity: int = 1) -> TierDecision:
    """High-price when the unit price (or the whole order) is above the threshold, or alcohol while tagged.

    The order total counts too: ten 20-yuan items must not slip under a 100-yuan lock.
    """
    limit = policy.high_price_threshold_fen
    total = item.price_fen * quantity
    if item.high_price:
        return TierDecision(Tier.HIGH_PRICE, "marked_high_price", f"{item.name} is marked high-price by the venue")
    if item.price_fen > limit:
        return TierDecision(
            Tier.HIGH_PRICE,
            "price_above_threshold",
            f"{item.name} costs {fen_to_yuan(item.price_fen)} > high-price limit {fen_to_yuan(limit)}",
        )
    if total > limit:
        return TierDecision(
            Tier.HIGH_PRICE,
            "order_above_threshold",
            f"{quantity} × {item.name} = {fen_to_yuan(total)} > high-price limit {fen_to_yuan(limit)}",
        )
    if tagged and _locked_alcohol(item, policy.tagged_alcohol_lock):
        return TierDecision(
            Tier.HIGH_PRICE,
            "alcohol_while_tagged",
            f"{item.name} is alcoholic and the guest is tagged: no further alcohol without staff",
        )
    return TierDecision(Tier.REGULAR, "regular", f"{item.name} is a regular item")


def _locked_alcohol(item: Item, lock: AlcoholLock) -> bool:
    if lock is AlcoholLock.ALL:
        return item.alcoholic
    return lock is AlcoholLock.LIQUOR and item.category is Category.LIQUOR


def fen_to_yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}¥{fen // 100}.{fen % 100:02d}"


def yuan_to_fen(value: Any) -> int:
    """Parse a yuan amount ("12.5", 12, "12.50") into integer fen without float rounding errors."""
    text = str(value).strip()
    m = re.fullmatch(r"(\d{1,9})(?:\.(\d{1,2}))?", text)
    if not m:
        raise InvalidInput(f"bad amount {text!r} (yuan with at most 2 decimals)", field="price")
    return int(m.group(1)) * 100 + int((m.group(2) or "0").ljust(2, "0"))


class Catalogue:
    """An immutable menu keyed by sku."""

    def __init__(self, items: Iterable[Item], name: str = "menu") -> None:
        self.name = name
        self._items: dict[str, Item] = {}
        for item in items:
            if item.sku in self._items:
                raise InvalidInput(f"duplicate item code {item.sku!r}", field="sku")
            self._items[item.sku] = item
        if not self._items:
            raise InvalidInput("the menu has no items")

    def get(self, sku: str) -> Item:
        try:
            return self._items[sku]
        except KeyError:
            raise NotFound(f"unknown item {sku!r}", sku=sku) from None

    def for_sale(self, sku: str) -> Item:
        """The item, refused when the venue has switched it off."""
        item = self.get(sku)
        if not item.available:
            raise PaymentRefused(f"{item.name} is not available now", rule="item_unavailable", sku=sku)
        return item

    def __contains__(self, sku: object) -> bool:
        return sku in self._items

    def __iter__(self) -> Iterator[Item]:
        return iter(self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def by_category(self, category: Category) -> list[Item]:
        return [i for i in self._items.values() if i.category is category]

    def with_price(self, sku: str, price_fen: int) -> Catalogue:
        """A copy with one price changed (price changes never affect pending requests)."""
        items = [replace(i, price_fen=price_fen) if i.sku == sku else i for i in self._items.values()]
        self.get(sku)
        return Catalogue(items, self.name)


def _item_from_mapping(row: Mapping[str, Any], where: str) -> Item:
    try:
        sku = str(row["sku"]).strip()
        raw_cat = str(row["category"]).strip()
    except KeyError as exc:
        raise InvalidInput(f"{where}: missing field {exc.args[0]!r}") from None
    # Names: ``name_en`` and ``name_zh``; a single ``name`` (older menus) is the name in every language.
    name_en = str(row.get("name_en") or row.get("name") or "").strip()
    name_zh = str(row.get("name_zh") or "").strip()
    if not (name_en or name_zh):
        raise InvalidInput(f"{where}: missing field 'name_en' or 'name_zh' (or 'name')")
    try:
        category = Category(raw_cat)
    except ValueError:
        allowed = ", ".join(c.value for c in Category)
        raise InvalidInput(f"{where}: unknown category {raw_cat!r} (allowed: {allowed})") from None
    if "price_fen" in row and str(row["price_fen"]).strip() != "":
        raw = str(row["price_fen"]).strip()
        if not raw.isdigit():
            raise InvalidInput(f"{where}: price_fen must be an integer")
        price = int(raw)
    elif "price_yuan" in row:
        price = yuan_to_fen(row["price_yuan"])
    else:
        raise InvalidInput(f"{where}: needs price_yuan or price_fen")
    try:
        volume = float(row.get("volume_ml") or 0.0)
        abv = float(row.get("abv_percent") or 0.0)
    except (TypeError, ValueError):
        raise InvalidInput(f"{where}: volume_ml / abv_percent must be numbers") from None
    try:
        return Item(sku, name_en or name_zh, category, price, volume, abv, name_zh)
    except InvalidInput as exc:
        raise InvalidInput(f"{where}: {exc.message}") from None


def parse_catalogue_toml(text: str, name: str = "menu") -> Catalogue:
    """``[[item]]`` tables with sku, name_en and/or name_zh (or one ``name``), category, price_yuan (or
    price_fen), optional volume_ml, abv_percent."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(f"menu is not valid TOML: {exc}") from None
    rows = data.get("item")
    if not isinstance(rows, list):
        raise InvalidInput("menu TOML needs [[item]] tables")
    venue = data.get("venue", {})
    title = str(venue.get("name", name)) if isinstance(venue, dict) else name
    return Catalogue((_item_from_mapping(r, f"item {i + 1}") for i, r in enumerate(rows)), title)


def parse_catalogue_csv(text: str, name: str = "menu") -> Catalogue:
    """CSV with a header row: sku,name_en,name_zh,category,price_yuan[,volume_ml,abv_percent] (or one ``name``)."""
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None:
        raise InvalidInput("menu CSV is empty")
    return Catalogue((_item_from_mapping(r, f"line {i + 2}") for i, r in enumerate(reader)), name)


__all__ = [
    "ALCOHOLIC",
    "AlcoholLock",
    "Catalogue",
    "Category",
    "Item",
    "Tier",
    "TierDecision",
    "TierPolicy",
    "fen_to_yuan",
    "parse_catalogue_csv",
    "parse_catalogue_toml",
    "tier_of",
    "yuan_to_fen",
]
