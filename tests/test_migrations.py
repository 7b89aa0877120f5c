"""Alembic migrations: they build exactly the models' schema and keep existing rows."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

from store.db import MIGRATIONS, create_engine, upgrade
from store.models import Base


def _config(connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


async def test_migrations_match_models(database_url):
    engine = create_engine(database_url)
    try:
        await upgrade(engine)
        async with engine.connect() as connection:
            differences = await connection.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), Base.metadata)
            )
    finally:
        await engine.dispose()
    assert differences == []


async def test_upgrade_keeps_existing_rows(database_url):
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(lambda sync: command.upgrade(_config(sync), "0001"))
            await connection.execute(
                text(
                    "INSERT INTO addresses (channel, value, created_at) VALUES ('sms', '+31612345678', CURRENT_TIMESTAMP)"
                )
            )
            await connection.execute(
                text(
                    "INSERT INTO outbox (key, channel, address_id, ignores_opt_out, text, choices, list_choices,"
                    " status, attempts, next_attempt_at, created_at)"
                    " VALUES ('reply:sms:1:0', 'sms', 1, false, 'hoi', '[]', true, 'queued', 0,"
                    " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                )
            )
        await upgrade(engine)
        async with engine.connect() as connection:
            kind = (await connection.execute(text("SELECT kind FROM outbox"))).scalar_one()
    finally:
        await engine.dispose()
    assert kind == "reply"


async def test_upgrade_twice_is_harmless(database_url):
    engine = create_engine(database_url)
    try:
        await upgrade(engine)
        await upgrade(engine)
        async with engine.connect() as connection:
            version = (await connection.execute(text("SELECT version_num FROM alembic_version"))).scalar_one()
    finally:
        await engine.dispose()
    assert version == ScriptDirectory(str(MIGRATIONS)).get_current_head()
