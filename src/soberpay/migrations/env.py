"""Alembic environment: uses the URL set by soberpay.adapters.db.migrate and the package metadata."""

from __future__ import annotations

from alembic import context

from soberpay.adapters.db.all_tables import load_all_tables
from soberpay.adapters.db.base import make_engine

target_metadata = load_all_tables().metadata
config = context.config


def run_migrations_offline() -> None:
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata,
                      literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    url = config.get_main_option("sqlalchemy.url")
    assert url is not None
    engine = make_engine(url)
    with engine.connect() as connection:
        # SQLite rebuilds a table to change it (batch mode); enforcing foreign keys mid-rebuild would fail
        # on the temporary copies. Off for the migration, then every key is checked before use. On the raw
        # autocommit connection: a PRAGMA inside a transaction is ignored.
        raw = connection.connection.driver_connection if engine.dialect.name == "sqlite" else None
        if raw is not None:
            raw.execute("PRAGMA foreign_keys=OFF")
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        if raw is not None:
            broken = raw.execute("PRAGMA foreign_key_check").fetchall()
            raw.execute("PRAGMA foreign_keys=ON")
            if broken:
                raise RuntimeError(f"migration left {len(broken)} broken foreign keys, e.g. {broken[0]}")
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
