"""Retention, on SQLite and PostgreSQL: old inbound message ids and finished outbox
messages are deleted in batches, once a day, also with two schedulers on one database."""

from __future__ import annotations

import asyncio
import os
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from bot import retention
from bot.cli import main
from bot.erasure import CONFIRMATION_GRACE
from bot.scheduler import PanelScheduler
from store.db import create_engine, create_sessionmaker
from store.models import Address, InboundMessage, OutboxMessage, ScheduledRun, utcnow
from tests.test_scheduler import AMSTERDAM, Clock, policy

# Monday 7 December 2026, 10:00 in Amsterdam.
NOW = datetime(2026, 12, 7, 10, 0, tzinfo=AMSTERDAM).astimezone(timezone.utc)
DAYS = 90
OLD_INBOUND = 5
KEPT_OUTBOX = ["old-queued", "old-sending", "recent-sent"]


async def seed(db, now: datetime = NOW) -> None:
    """Store 5 old inbound ids and 1 recent one, and old outbox rows in every status plus
    a recent sent one."""
    old, recent = now - timedelta(days=DAYS + 1), now - timedelta(days=DAYS - 1)
    async with db[1]() as session, session.begin():
        address = Address(channel="sms", value="+31612345678", created_at=old)
        session.add(address)
        await session.flush()
        for number in range(OLD_INBOUND):
            session.add(InboundMessage(channel="sms", message_id=f"old-{number}", address_id=address.id, received_at=old))
        session.add(InboundMessage(channel="sms", message_id="recent", address_id=address.id, received_at=recent))
        for status in ("sent", "failed", "skipped", "queued", "sending"):
            session.add(outbox_row(f"old-{status}", address.id, status, old))
        session.add(outbox_row("recent-sent", address.id, "sent", recent))


def outbox_row(key: str, address_id: int, status: str, created_at: datetime) -> OutboxMessage:
    return OutboxMessage(
        key=key, channel="sms", address_id=address_id, text="hoi", status=status, created_at=created_at, next_attempt_at=created_at
    )


async def stored(db) -> tuple[list[str], list[str]]:
    async with db[1]() as session:
        inbound = list((await session.execute(select(InboundMessage.message_id).order_by(InboundMessage.message_id))).scalars())
        outbox = list((await session.execute(select(OutboxMessage.key).order_by(OutboxMessage.key))).scalars())
    return inbound, outbox


async def run_keys(db) -> list[str]:
    async with db[1]() as session:
        return list((await session.execute(select(ScheduledRun.key).order_by(ScheduledRun.key))).scalars())


async def test_purge_deletes_only_old_final_rows(db):
    await seed(db)
    report = await retention.purge(db[1], NOW, DAYS, batch_size=2)
    assert report.inbound_messages == OLD_INBOUND
    assert report.outbox_messages == 3
    assert await stored(db) == (["recent"], KEPT_OUTBOX)


async def test_purge_dry_run_deletes_nothing(db):
    await seed(db)
    before = await stored(db)
    report = await retention.purge(db[1], NOW, DAYS, dry_run=True)
    assert (report.inbound_messages, report.outbox_messages) == (OLD_INBOUND, 3)
    assert await stored(db) == before


async def test_purge_rejects_zero_days(db):
    with pytest.raises(ValueError, match="retention_days 0"):
        await retention.purge(db[1], NOW, 0)


async def test_purge_deletes_erased_addresses_done_waiting(db):
    async with db[1]() as session, session.begin():
        waiting = Address(channel="sms", value="+31600000001", erased_at=NOW - timedelta(hours=1))
        expired = Address(channel="sms", value="+31600000002", erased_at=NOW - CONFIRMATION_GRACE - timedelta(hours=1))
        finished = Address(channel="sms", value="+31600000003", erased_at=NOW - timedelta(hours=1))
        living = Address(channel="sms", value="+31600000004")
        session.add_all([waiting, expired, finished, living])
        await session.flush()
        session.add(outbox_row("waiting", waiting.id, "queued", NOW))
        session.add(outbox_row("expired", expired.id, "queued", NOW))
        session.add(outbox_row("finished", finished.id, "failed", NOW))
    report = await retention.purge(db[1], NOW, DAYS)
    assert report.erased_addresses == 2
    async with db[1]() as session:
        values = list((await session.execute(select(Address.value).order_by(Address.value))).scalars())
    assert values == ["+31600000001", "+31600000004"]


async def test_scheduler_purges_once_per_day(db, database_url):
    await seed(db)
    clock = Clock(NOW)
    engines = [create_engine(database_url) for _ in range(2)]
    try:
        schedulers = [PanelScheduler(create_sessionmaker(engine), policy(), clock=clock, retention_days=DAYS) for engine in engines]
        reports = await asyncio.gather(*(scheduler.tick() for scheduler in schedulers))
        purged = [report.purged for report in reports if report.purged is not None]
        assert len(purged) == 1
        assert purged[0].inbound_messages == OLD_INBOUND
        assert await run_keys(db) == ["retention:2026-12-07"]
        assert await stored(db) == (["recent"], KEPT_OUTBOX)

        clock.advance(hours=12)
        assert [(await scheduler.tick()).purged for scheduler in schedulers] == [None, None]

        clock.advance(days=1)
        reports = [await scheduler.tick() for scheduler in schedulers]
        assert [report.purged is not None for report in reports] == [True, False]
        assert await run_keys(db) == ["retention:2026-12-07", "retention:2026-12-08"]
    finally:
        for engine in engines:
            await engine.dispose()
    # A day and a half later the recent rows are over 90 days old as well.
    assert await stored(db) == ([], ["old-queued", "old-sending"])


async def test_scheduler_without_retention_days_purges_nothing(db):
    await seed(db)
    report = await PanelScheduler(db[1], policy(), clock=Clock(NOW)).tick()
    assert report.purged is None
    assert await run_keys(db) == []
    assert len((await stored(db))[0]) == OLD_INBOUND + 1


@pytest.fixture
def cli_env(database_url, monkeypatch, tmp_path):
    for key in list(os.environ):
        if key.startswith("CHATPANEL_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CHATPANEL_DATABASE_URL", database_url)


async def test_db_purge_command(db, cli_env, capsys):
    await seed(db, utcnow())
    assert await asyncio.to_thread(main, ["db", "purge", "--dry-run"]) == 0
    assert capsys.readouterr().out.strip() == (
        "would delete 5 inbound message ids, 3 finished outbox messages and 0 erased addresses older than 90 days"
    )
    assert await asyncio.to_thread(main, ["db", "purge"]) == 0
    assert capsys.readouterr().out.startswith("deleted 5 inbound message ids, 3 finished outbox messages")
    assert await stored(db) == (["recent"], KEPT_OUTBOX)


async def test_db_purge_uses_retention_days_setting(db, cli_env, capsys, monkeypatch):
    await seed(db, utcnow())
    monkeypatch.setenv("CHATPANEL_RETENTION_DAYS", "200")
    assert await asyncio.to_thread(main, ["db", "purge"]) == 0
    assert capsys.readouterr().out.strip() == (
        "deleted 0 inbound message ids, 0 finished outbox messages and 0 erased addresses older than 200 days"
    )
