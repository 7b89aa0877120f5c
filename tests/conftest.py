"""Shared fixtures: a migrated database per test, on SQLite and (when configured) PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from store.db import create_engine, create_sessionmaker, sqlite_url, upgrade

PG_ENV = "CHATPANEL_TEST_DATABASE_URL"


def pytest_sessionstart(session) -> None:
    """Stop at once when the PostgreSQL server named for the tests cannot be reached, so
    a run that was meant to cover PostgreSQL never passes without it."""
    base = os.environ.get(PG_ENV)
    if not base:
        return
    url = make_url(base)

    async def connect() -> None:
        connection = await asyncpg.connect(
            host=url.host, port=url.port or 5432, user=url.username, password=url.password, database=url.database, timeout=10
        )
        await connection.close()

    try:
        asyncio.run(connect())
    except (OSError, asyncpg.PostgresError, asyncio.TimeoutError) as error:
        shown = url.render_as_string(hide_password=True)
        pytest.exit(f"{PG_ENV}={shown}: cannot connect ({error}); start the server or unset {PG_ENV}", returncode=3)


def pytest_report_header(config) -> str:
    if os.environ.get(PG_ENV):
        return f"PostgreSQL tests: on ({PG_ENV} is set)"
    return f"PostgreSQL tests: skipped ({PG_ENV} is not set)"


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request, tmp_path) -> AsyncIterator[str]:
    """A URL of an empty database: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield sqlite_url(tmp_path / "panel.db")
        return
    async for url in _fresh_postgres():
        yield url


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    """A URL of a fresh, empty PostgreSQL database, for tests that need PostgreSQL itself."""
    async for url in _fresh_postgres():
        yield url


async def _fresh_postgres() -> AsyncIterator[str]:
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"PostgreSQL tests need {PG_ENV}, e.g. postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    url = make_url(base)
    name = f"chatpanel_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(
        host=url.host, port=url.port or 5432, user=url.username, password=url.password, database=url.database
    )
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture
async def db(database_url):
    """A migrated database: yields (engine, sessionmaker)."""
    engine = create_engine(database_url)
    await upgrade(engine)
    try:
        yield engine, create_sessionmaker(engine)
    finally:
        await engine.dispose()


# Fakes of the Telegram and Twilio APIs on 127.0.0.1, and the guard against other hosts.
from tests.fakes.fixtures import (  # noqa: E402,F401
    closed_port,
    loopback_only,
    telegram_api,
    telegram_bot,
    telegram_sender,
    twilio_api,
    twilio_sender,
)

# A fake SMTP server (aiosmtpd) on 127.0.0.1, and a self-signed certificate for its TLS.
from tests.fakes.smtp import (  # noqa: E402,F401
    silent_port,
    smtp_certificate,
    smtp_server,
    trusted_smtp_certificate,
)


@pytest.fixture(autouse=True)
def _only_loopback(loopback_only):
    """Every test fails if it tries to reach a host outside 127.0.0.0/8 or ::1."""
    yield
