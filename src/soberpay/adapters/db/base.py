"""SQLAlchemy declarative base and engine factory (SQLite WAL by default, PostgreSQL supported).

Portable SQL only: no SQLite- or PostgreSQL-only column types; money is BigInteger fen;
timestamps are timezone-aware UTC stored as DateTime(timezone=True). An operational failure of the
database (unreachable, disk full, I/O error) surfaces as ``soberpay.errors.Unavailable`` (HTTP 503)
wherever it happens, after SQLAlchemy's own cleanup (rollback, dropping a dead connection).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, MetaData, create_engine, event, make_url
from sqlalchemy.engine import Engine, ExceptionContext
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import DeclarativeBase, sessionmaker
from sqlalchemy.types import TypeDecorator

from soberpay.adapters.private_files import private_sqlite
from soberpay.errors import Unavailable

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator[datetime]):
    """Always returns aware UTC datetimes (SQLite drops tzinfo)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


SQLITE_ERROR = 1


def _unavailable(ctx: ExceptionContext) -> None:
    exc = ctx.sqlalchemy_exception
    # SQLite files SQL mistakes (syntax, unknown table) under OperationalError too, with the generic
    # SQLITE_ERROR code: those are bugs and stay 500s. Busy, I/O, full, read-only, corrupt, can't-open map.
    code = getattr(ctx.original_exception, "sqlite_errorcode", None)
    if code is not None and code & 0xFF == SQLITE_ERROR:
        return
    if isinstance(exc, OperationalError):
        # The driver's first line names the cause ("database or disk is full", "connection refused");
        # the statement and its parameters stay out of the message.
        cause = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else "operational error"
        raise Unavailable(f"the database is unavailable ({cause}); nothing was applied, retry later") from exc


def make_engine(url: str, echo: bool = False) -> Engine:
    engine = _make_engine(url, echo)
    event.listen(engine, "handle_error", _unavailable)
    return engine


def _make_engine(url: str, echo: bool) -> Engine:
    if url.startswith("sqlite"):
        database = make_url(url).database
        if database and database != ":memory:" and not database.startswith("file:"):
            private_sqlite(Path(database))
        engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy emit BEGIN itself so BEGIN IMMEDIATE works (see write_transaction).
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            # Deleted rows (erasure) are overwritten with zeros in the file, not just unlinked from the b-tree.
            cur.execute("PRAGMA secure_delete=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # Writers take the lock up front: no deadlock-prone read→write upgrades, and
            # concurrent purchases against one balance serialise instead of overspending.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True)


def checkpoint_truncate(engine: Engine) -> None:
    """SQLite: copy the WAL into the database and truncate it to zero bytes, so pages holding erased personal
    data do not linger in the ``-wal`` file (``secure_delete`` has already zeroed them in the new pages).
    Other databases: nothing to do here (PostgreSQL's own WAL and VACUUM are the operator's; see docs)."""
    if engine.dialect.name != "sqlite":
        return
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        cur.close()
    finally:
        raw.close()


def make_session_factory(engine: Engine) -> sessionmaker[Any]:
    return sessionmaker(bind=engine, expire_on_commit=False)
