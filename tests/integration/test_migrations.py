"""Alembic migrations match the table definitions and run down/up on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from soberpay.adapters.db.all_tables import load_all_tables
from soberpay.adapters.db.migrate import downgrade, upgrade


def test_migrations_match_models(db_url: str) -> None:
    engine = create_engine(db_url)
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, load_all_tables().metadata)
    engine.dispose()
    assert diff == [], diff


def test_downgrade_to_base_and_back(db_url: str) -> None:
    downgrade(db_url, "base")
    engine = create_engine(db_url)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()
    upgrade(db_url)
    engine = create_engine(db_url)
    assert "customers" in inspect(engine).get_table_names()
    engine.dispose()
