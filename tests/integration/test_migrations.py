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
        # The pgvector table exists only where the extension does, outside the ORM (adapters/index_pgvector.py).
        opts = {"compare_type": True, "include_name": lambda name, kind, _: name != "face_template_vectors"}
        ctx = MigrationContext.configure(conn, opts=opts)
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
    assert "guests" in inspect(engine).get_table_names()
    engine.dispose()


def test_guest_rename_keeps_rows_and_keys(db_url: str) -> None:
    """0006 renames customers → guests with their rows, and foreign keys still point at the guests."""
    from sqlalchemy import text

    downgrade(db_url, "base")
    upgrade(db_url, "0005_room_status")
    engine = create_engine(db_url)
    now = "2026-11-30 10:00:00+00:00"
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO customers (id, name, phone, national_id_key_id, national_id_enc, national_id_masked, "
            "password_hash, created_at) VALUES ('g1', 'Li Wei', '13800000000', 'k1', :b, '1101**', 'h', :now)"
        ), {"b": b"x", "now": now})
        conn.execute(text(
            "INSERT INTO consents (customer_id, purpose, granted_at, text_version) "
            "VALUES ('g1', 'face_payment', :now, 'v1')"
        ), {"now": now})
    engine.dispose()
    upgrade(db_url)
    engine = create_engine(db_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT name FROM guests WHERE id = 'g1'")).scalar_one() == "Li Wei"
        assert conn.execute(text("SELECT phone_last4 FROM guests WHERE id = 'g1'")).scalar_one() == "0000"  # 0019
        assert conn.execute(text("SELECT guest_id FROM consents")).scalar_one() == "g1"
    fks = inspect(engine).get_foreign_keys("consents")
    assert [(fk["referred_table"], fk["constrained_columns"]) for fk in fks] == [("guests", ["guest_id"])]
    engine.dispose()
    downgrade(db_url, "0005_room_status")  # and back: the old names return with the rows
    engine = create_engine(db_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT customer_id FROM consents")).scalar_one() == "g1"
    engine.dispose()
    upgrade(db_url)
