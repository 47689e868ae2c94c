from __future__ import annotations

import pytest

from soberpay.adapters.catalogue_file import load_catalogue
from soberpay.domain.catalogue import (
    AlcoholLock,
    Catalogue,
    Category,
    Item,
    Tier,
    TierPolicy,
    fen_to_yuan,
    parse_catalogue_csv,
    parse_catalogue_toml,
    tier_of,
    yuan_to_fen,
)
from soberpay.errors import InvalidInput, NotFound

POLICY = TierPolicy(high_price_threshold_fen=10_000)


def test_sample_menu_loads_and_is_realistic() -> None:
    menu = load_catalogue()
    assert len(menu) >= 25
    cats = {i.category for i in menu}
    assert {
        Category.SONG,
        Category.BEER,
        Category.DRINK,
        Category.SNACK,
        Category.FRUIT,
        Category.LIQUOR,
        Category.ROOM_UPGRADE,
    } <= cats
    bottles = [i for i in menu.by_category(Category.LIQUOR) if i.price_fen > 10_000]
    assert len(bottles) >= 3  # whisky/baijiu bottles over 100 yuan
    assert all(isinstance(i.price_fen, int) for i in menu)


def test_tier_above_threshold_is_high_price_even_untagged() -> None:
    whisky = Item("whisky", "Whisky", Category.LIQUOR, 38_800, 700, 40)
    d = tier_of(whisky, POLICY, tagged=False)
    assert d.tier is Tier.HIGH_PRICE and d.rule == "price_above_threshold"


def test_exactly_threshold_is_regular() -> None:
    item = Item("fruit", "Fruit", Category.FRUIT, 10_000)
    assert tier_of(item, POLICY, tagged=True).tier is Tier.REGULAR


def test_cheap_liquor_is_high_price_only_while_tagged() -> None:
    shot = Item("shot", "Shot", Category.LIQUOR, 3_500, 30, 40)
    assert tier_of(shot, POLICY, tagged=False).tier is Tier.REGULAR
    d = tier_of(shot, POLICY, tagged=True)
    assert d.tier is Tier.HIGH_PRICE and d.rule == "alcohol_while_tagged"
    assert tier_of(shot, TierPolicy(10_000, AlcoholLock.OFF), tagged=True).tier is Tier.REGULAR


@pytest.mark.parametrize(
    "item",
    [
        Item("beer-bucket", "Beer bucket", Category.BEER, 9_800, 1980, 4.3),
        Item("beer", "Beer", Category.BEER, 1_800),  # category alone makes it alcohol
        Item("spiked-tea", "Spiked tea", Category.DRINK, 3_000, 500, 5),  # ABV alone makes it alcohol
    ],
)
def test_any_alcohol_needs_staff_while_tagged(item: Item) -> None:
    """酒水 is beer as much as liquor: a tagged guest cannot buy a beer bucket without staff."""
    assert tier_of(item, POLICY, tagged=False).tier is Tier.REGULAR
    d = tier_of(item, POLICY, tagged=True)
    assert d.tier is Tier.HIGH_PRICE and d.rule == "alcohol_while_tagged"
    liquor_only = TierPolicy(10_000, AlcoholLock.LIQUOR)  # the venue's weaker, configurable choice
    assert tier_of(item, liquor_only, tagged=True).tier is Tier.REGULAR


def test_soft_drinks_stay_regular_while_tagged() -> None:
    tea = Item("tea", "Lemon tea", Category.DRINK, 3_800)
    assert tier_of(tea, POLICY, tagged=True).tier is Tier.REGULAR


def test_order_total_above_threshold_is_high_price() -> None:
    beer = Item("beer", "Beer", Category.BEER, 1_800)
    d = tier_of(beer, POLICY, tagged=False, quantity=6)
    assert d.tier is Tier.HIGH_PRICE and d.rule == "order_above_threshold"


def test_threshold_is_configurable() -> None:
    item = Item("vip", "VIP room", Category.ROOM_UPGRADE, 19_800)
    assert tier_of(item, TierPolicy(high_price_threshold_fen=50_000), tagged=True).tier is Tier.REGULAR


@pytest.mark.parametrize(("text", "fen"), [("12", 1200), ("12.5", 1250), ("12.05", 1205), ("0.01", 1)])
def test_yuan_to_fen_exact(text: str, fen: int) -> None:
    assert yuan_to_fen(text) == fen
    assert fen_to_yuan(fen) == f"¥{fen // 100}.{fen % 100:02d}"


@pytest.mark.parametrize("bad", ["1.234", "-5", "abc", "", "1e3"])
def test_yuan_to_fen_rejects(bad: str) -> None:
    with pytest.raises(InvalidInput):
        yuan_to_fen(bad)


def test_csv_menu() -> None:
    menu = parse_catalogue_csv("sku,name,category,price_yuan,volume_ml,abv_percent\nbeer,Beer,beer,18,330,4.3\n")
    assert menu.get("beer").price_fen == 1800
    assert menu.get("beer").alcohol_grams == pytest.approx(330 * 0.043 * 0.789)


@pytest.mark.parametrize(
    "toml",
    [
        '[[item]]\nsku="a"\nname="A"\ncategory="nope"\nprice_yuan="1"\n',
        '[[item]]\nsku="a"\nname="A"\ncategory="song"\n',
        '[[item]]\nsku="a"\nname="A"\ncategory="song"\nprice_yuan="0"\n',
        '[[item]]\nsku="A B"\nname="A"\ncategory="song"\nprice_yuan="1"\n',
        '[[item]]\nsku="a"\nname="A"\ncategory="song"\nprice_yuan="1"\n[[item]]\nsku="a"\nname="B"\ncategory="song"\nprice_yuan="2"\n',
        "not toml [",
        "",
    ],
)
def test_bad_menus_are_rejected(toml: str) -> None:
    with pytest.raises(InvalidInput):
        parse_catalogue_toml(toml)


def test_unknown_item_is_not_found() -> None:
    with pytest.raises(NotFound):
        load_catalogue().get("caviar")


def test_price_change_copy_leaves_original() -> None:
    menu = Catalogue([Item("a", "A", Category.SONG, 500)])
    changed = menu.with_price("a", 900)
    assert menu.get("a").price_fen == 500 and changed.get("a").price_fen == 900
