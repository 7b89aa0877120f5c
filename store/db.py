"""Database engines, sessions and migrations.

SQLite gets WAL, a busy timeout and ``BEGIN IMMEDIATE`` transactions, so concurrent writers
queue for the lock instead of failing with "database is locked" halfway through a unit of
work. PostgreSQL needs none of that.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from store.sqlite_driver import one_trip_dbapi

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"
SQLITE_BUSY_TIMEOUT_SECONDS = 30


def sqlite_url(path: str | Path) -> str:
    return f"sqlite+aiosqlite:///{Path(path).expanduser().resolve()}"


def describe_database(url: str) -> str:
    """Return ``url`` for messages: the file of a SQLite URL, or the URL without password."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return str(Path(parsed.database or "").resolve())
    return parsed.render_as_string(hide_password=True)


def sqlite_file(url: str) -> Path | None:
    """Return the file of a SQLite URL, or None for any other database."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    return Path(parsed.database)


def create_engine(url: str, **kwargs) -> AsyncEngine:
    """Create an async engine for ``url`` (``sqlite+aiosqlite://`` or ``postgresql+asyncpg://``).

    SQL parameters are left out of error messages and SQL logging, because they contain
    phone numbers, chat ids and answers.
    """
    kwargs.setdefault("hide_parameters", True)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        connect_args = kwargs.pop("connect_args", {})
        connect_args.setdefault("timeout", SQLITE_BUSY_TIMEOUT_SECONDS)
        # The inbound path runs its statements in the event loop's thread, between a
        # BEGIN IMMEDIATE and a COMMIT that go to aiosqlite's thread (store.sqlite_driver).
        connect_args.setdefault("check_same_thread", False)
        # Every transaction starts with BEGIN IMMEDIATE, so only one at a time can run.
        # With one connection the others wait in the pool's queue and start the moment it
        # is free. With more, they would poll SQLite's busy handler, which sleeps up to
        # 100 ms between tries (sqliteDefaultBusyCallback in SQLite's main.c).
        kwargs.setdefault("pool_size", 1)
        kwargs.setdefault("max_overflow", 0)
        # A transaction waits for the connection as long as it would wait for the lock.
        kwargs.setdefault("pool_timeout", SQLITE_BUSY_TIMEOUT_SECONDS)
        # Each statement in one trip to aiosqlite's thread instead of four (store.sqlite_driver).
        kwargs.setdefault("module", one_trip_dbapi())
        engine = create_async_engine(url, connect_args=connect_args, **kwargs)
        _configure_sqlite(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_async_engine(url, **kwargs)


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


# Any constant works; it only has to be the same in every chatpanel process.
_MIGRATION_LOCK_ID = 0x63686174


async def upgrade(engine: AsyncEngine) -> None:
    """Run the Alembic migrations to head on ``engine``'s database.

    On PostgreSQL an advisory lock makes processes that start together migrate one at a time.
    """
    async with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            await connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK_ID})")
        await connection.run_sync(_upgrade_sync)


@asynccontextmanager
async def migrated_engine(url: str) -> AsyncIterator[AsyncEngine]:
    """Yield an engine for ``url`` with its database migrated to the latest schema, and
    dispose of the engine afterwards. The command-line tools open their database this way."""
    engine = create_engine(url)
    try:
        await upgrade(engine)
        yield engine
    finally:
        await engine.dispose()


def _upgrade_sync(connection: Connection) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def on_connect(dbapi_connection, _record) -> None:
        # Let SQLAlchemy, not the driver, issue BEGIN, so it can be BEGIN IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_SECONDS * 1000}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def on_begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
