"""Retention: old message records are deleted after ``retention_days``.

What goes: claimed inbound message ids (Telegram update_id, Twilio MessageSid) received
before the cut-off, and outbox messages created before it that reached a final status
(sent, failed or skipped). Messages still queued or being sent stay, whatever their age.
Addresses erased from the chat whose confirmation was sent or gave up also go
(bot.erasure.purge_erased_addresses).

Rows are deleted in batches, each in its own transaction, so a large table is never held
in one long transaction. The scheduler runs the purge once a day, claimed by the key
``retention:<local date>``, so two schedulers on one database purge once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.erasure import purge_erased_addresses
from store.models import InboundMessage, OutboxMessage, ScheduledRun

log = logging.getLogger(__name__)

FINAL_STATUSES = ("sent", "failed", "skipped")
DEFAULT_BATCH_SIZE = 1000
KEY_PREFIX = "retention:"


@dataclass
class PurgeReport:
    """Rows deleted by one purge, or for a dry run the rows that would be."""

    inbound_messages: int = 0
    outbox_messages: int = 0
    erased_addresses: int = 0

    @property
    def total(self) -> int:
        return self.inbound_messages + self.outbox_messages + self.erased_addresses


async def purge(
    sessionmaker: async_sessionmaker[AsyncSession],
    now: datetime,
    retention_days: int,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    dry_run: bool = False,
) -> PurgeReport:
    """Delete what is older than ``retention_days`` before ``now`` and return the counts.

    Raises ValueError for a ``retention_days`` or ``batch_size`` below 1.
    """
    if retention_days < 1 or batch_size < 1:
        raise ValueError(f"invalid retention_days {retention_days!r} or batch_size {batch_size!r}: expected at least 1")
    cutoff = now - timedelta(days=retention_days)
    inbound_due = InboundMessage.received_at < cutoff
    outbox_due = (OutboxMessage.created_at < cutoff) & OutboxMessage.status.in_(FINAL_STATUSES)
    report = PurgeReport()
    if dry_run:
        async with sessionmaker() as session:
            report.inbound_messages = await _count(session, InboundMessage.id, inbound_due)
            report.outbox_messages = await _count(session, OutboxMessage.id, outbox_due)
            report.erased_addresses = await purge_erased_addresses(session, now, dry_run=True)
        return report

    report.inbound_messages = await _delete_in_batches(sessionmaker, InboundMessage, inbound_due, batch_size)
    report.outbox_messages = await _delete_in_batches(sessionmaker, OutboxMessage, outbox_due, batch_size)
    async with sessionmaker() as session, session.begin():
        report.erased_addresses = await purge_erased_addresses(session, now)
    return report


async def purge_daily(
    sessionmaker: async_sessionmaker[AsyncSession],
    now: datetime,
    zone: ZoneInfo,
    retention_days: int,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> PurgeReport | None:
    """Purge once per local day in ``zone``. Return None when this day's purge was
    claimed before, by this process or another."""
    key = f"{KEY_PREFIX}{now.astimezone(zone).date().isoformat()}"
    try:
        async with sessionmaker() as session, session.begin():
            session.add(ScheduledRun(key=key, ran_at=now))
    except IntegrityError:
        return None
    report = await purge(sessionmaker, now, retention_days, batch_size=batch_size)
    log.info(
        "retention: %s inbound message ids, %s outbox messages and %s erased addresses deleted (%s)",
        report.inbound_messages,
        report.outbox_messages,
        report.erased_addresses,
        key,
    )
    return report


async def _delete_in_batches(sessionmaker: async_sessionmaker[AsyncSession], model: type, due: ColumnElement[bool], batch_size: int) -> int:
    """Delete the rows of ``model`` matching ``due``, oldest ids first, ``batch_size`` per
    transaction, and return how many."""
    deleted = 0
    while True:
        batch = select(model.id).where(due).order_by(model.id).limit(batch_size).scalar_subquery()
        async with sessionmaker() as session, session.begin():
            result = await session.execute(delete(model).where(model.id.in_(batch)).execution_options(synchronize_session=False))
        deleted += result.rowcount
        if result.rowcount < batch_size:
            return deleted


async def _count(session: AsyncSession, key, condition: ColumnElement[bool]) -> int:
    return await session.scalar(select(func.count(key)).where(condition)) or 0
