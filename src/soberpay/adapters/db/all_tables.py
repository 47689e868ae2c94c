"""Import every table module so ``Base.metadata`` is complete (Alembic checks, create_all in tests)."""

from __future__ import annotations

import importlib

from soberpay.adapters.db.base import Base

TABLE_MODULES = (
    "soberpay.adapters.db.identity_tables",
    "soberpay.adapters.db.payment_tables",
    "soberpay.adapters.db.sobriety_tables",
    "soberpay.adapters.db.web_tables",
    "soberpay.adapters.db.room_tables",
    "soberpay.adapters.db.menu",
    "soberpay.adapters.db.topup_tables",
)


def load_all_tables() -> type[Base]:
    for name in TABLE_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
    return Base
