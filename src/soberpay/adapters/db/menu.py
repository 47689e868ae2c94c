"""The menu in the database (table ``menu_items``), edited in the back office.

Seeded from the bundled or configured menu file the first time it is read, so a fresh venue (and every
test that never opens the back office) sells the same menu as before. Items are never deleted: orders
and held requests name them by code, so an item the venue stops selling is switched off instead.
Every change is audited with the fields it changed (``menu.item_created`` / ``menu.item_changed``).
Orders and held requests copy the unit price when they are written, so a price change only reaches
charges made after it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Float, Integer, String, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from soberpay.adapters.db.audit import append_audit
from soberpay.adapters.db.base import Base, UTCDateTime
from soberpay.domain.catalogue import Catalogue, Category, Item
from soberpay.errors import Conflict, NotFound
from soberpay.ports import Clock

MAX_MENU_ITEMS = 2000  # one page, one query per charge: a KTV menu is tens of items


class MenuItemRow(Base):
    __tablename__ = "menu_items"

    sku: Mapped[str] = mapped_column(String(40), primary_key=True)
    name_en: Mapped[str] = mapped_column(String(80), nullable=False)
    name_zh: Mapped[str] = mapped_column(String(80), nullable=False, default="")
    category: Mapped[str] = mapped_column(String(20), nullable=False)
    price_fen: Mapped[int] = mapped_column(BigInteger, nullable=False)
    volume_ml: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    abv_percent: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    alcohol: Mapped[bool] = mapped_column(Boolean, nullable=False)
    high_price: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    available: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


def _item(row: MenuItemRow) -> Item:
    return Item(
        row.sku,
        row.name_en,
        Category(row.category),
        row.price_fen,
        row.volume_ml,
        row.abv_percent,
        row.name_zh,
        alcohol=row.alcohol,
        high_price=row.high_price,
        available=row.available,
    )


def _write(row: MenuItemRow, item: Item, now: datetime) -> None:
    row.name_en = item.name
    row.name_zh = item.name_zh
    row.category = item.category.value
    row.price_fen = item.price_fen
    row.volume_ml = item.volume_ml
    row.abv_percent = item.abv_percent
    row.alcohol = item.alcoholic
    row.high_price = item.high_price
    row.available = item.available
    row.updated_at = now


def _as_dict(item: Item) -> dict[str, Any]:
    out = {f.name: getattr(item, f.name) for f in fields(item)}
    out["category"] = item.category.value
    out["alcohol"] = item.alcoholic
    return out


class SqlMenu:
    """``catalogue()`` is the payments' menu source; the rest is the back office's menu admin."""

    def __init__(self, session_factory: sessionmaker[Session], clock: Clock, seed: Callable[[], Catalogue]) -> None:
        self._sessions = session_factory
        self._clock = clock
        self._seed = seed
        self._venue_name: str | None = None

    def catalogue(self) -> Catalogue:
        if self._venue_name is None:  # the venue's name stays the menu file's ([venue] name), read once
            self._venue_name = self._seed().name
        return Catalogue(self.items(), self._venue_name)

    def items(self) -> list[Item]:
        with self._sessions() as session:
            rows = list(session.scalars(select(MenuItemRow).order_by(MenuItemRow.position).limit(MAX_MENU_ITEMS)))
        if not rows:
            self._seed_once()
            with self._sessions() as session:
                rows = list(session.scalars(select(MenuItemRow).order_by(MenuItemRow.position).limit(MAX_MENU_ITEMS)))
        return [_item(r) for r in rows]

    def _seed_once(self) -> None:
        seed = self._seed()
        now = self._clock.now()
        try:
            with self._sessions.begin() as session:
                if session.scalar(select(func.count()).select_from(MenuItemRow)):
                    return
                for position, item in enumerate(seed):
                    row = MenuItemRow(sku=item.sku, position=position)
                    _write(row, item, now)
                    session.add(row)
                append_audit(
                    session,
                    at=now,
                    actor="system",
                    action="menu.seeded",
                    details={"items": len(seed), "from": seed.name},
                )
        except IntegrityError:
            pass  # another process seeded it at the same moment: its rows are the same file's

    def get(self, sku: str) -> Item:
        with self._sessions() as session:
            row = session.get(MenuItemRow, sku)
        if row is None:
            raise NotFound(f"unknown item {sku!r}", sku=sku)
        return _item(row)

    def create(self, item: Item, actor: str) -> Item:
        self.items()  # seed first, so a venue's first new item does not stop the file from seeding
        now = self._clock.now()
        with self._sessions.begin() as session:
            if session.get(MenuItemRow, item.sku) is not None:
                raise Conflict(f"item {item.sku!r} already exists", field="sku")
            last = session.scalar(select(func.max(MenuItemRow.position))) or 0
            row = MenuItemRow(sku=item.sku, position=last + 1)
            _write(row, item, now)
            session.add(row)
            append_audit(session, at=now, actor=actor, action="menu.item_created", details=_as_dict(item))
        return item

    def update(self, item: Item, actor: str) -> Item:
        """Replace an item's fields (the code stays); audited with each changed field's old and new value."""
        now = self._clock.now()
        with self._sessions.begin() as session:
            row = session.get(MenuItemRow, item.sku, with_for_update=True)
            if row is None:
                raise NotFound(f"unknown item {item.sku!r}", sku=item.sku)
            before, after = _as_dict(_item(row)), _as_dict(item)
            changed = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
            if changed:
                _write(row, item, now)
                append_audit(
                    session, at=now, actor=actor, action="menu.item_changed", details={"sku": item.sku, **changed}
                )
        return item
