"""The scheduler: opens, reminds and closes surveys when they are due, and purges old
message records once a day (bot.retention).

What is due is derived from the store on every tick, never from APScheduler's memory, so
a restart runs what it missed once and a second process finds nothing left to do.
APScheduler only triggers the tick, at start-up and then at a fixed interval.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import broadcast, retention, topic_offers
from bot.schedule_policy import SendPolicy

if TYPE_CHECKING:
    from bot.digest.dispatch import DigestDispatcher
from store.models import Survey, utcnow

log = logging.getLogger(__name__)

JOB_ID = "chatpanel-tick"
# Invitation batches written per tick, so one large broadcast does not hold up closing
# and reminding other surveys; the next tick carries on.
MAX_BATCHES_PER_TICK = 50


@dataclass
class TickReport:
    opened: list[str] = field(default_factory=list)
    invitations: int = 0
    reminders: int = 0
    closed: list[str] = field(default_factory=list)
    topic_offers: int = 0
    # Rows deleted by the daily retention purge; None when it did not run in this tick.
    purged: retention.PurgeReport | None = None


class PanelScheduler:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        policy: SendPolicy,
        *,
        interval_seconds: float = 30.0,
        clock: Callable[[], datetime] = utcnow,
        batch_size: int = broadcast.DEFAULT_BATCH_SIZE,
        on_queued: Callable[[], None] | None = None,
        topics_every_days: int = 0,
        min_group_size: int = 10,
        digests: DigestDispatcher | None = None,
        retention_days: int = 0,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.policy = policy
        self.interval_seconds = interval_seconds
        self.clock = clock
        self.batch_size = batch_size
        self.on_queued = on_queued
        self.topics_every_days = topics_every_days
        # The smallest group of respondents whose results the closing summary shows.
        self.min_group_size = min_group_size
        # Sends the weekly digests on their own cron jobs; None when mail is not configured.
        self.digests = digests
        # Days that message records are kept (bot.retention); 0 turns the daily purge off.
        self.retention_days = retention_days
        self._scheduler: AsyncIOScheduler | None = None
        # Held while a tick runs, so stop() lets a tick finish instead of cancelling it.
        self._running = asyncio.Lock()

    def start(self) -> None:
        """Run ``tick`` now and then every ``interval_seconds``, in the running event loop."""
        scheduler = AsyncIOScheduler(timezone=self.policy.zone)
        scheduler.add_job(
            self.tick_logged,
            IntervalTrigger(seconds=self.interval_seconds, timezone=self.policy.zone),
            id=JOB_ID,
            next_run_time=datetime.now(self.policy.zone),
            coalesce=True,
            max_instances=1,
            misfire_grace_time=None,
        )
        scheduler.start()
        self._scheduler = scheduler
        log.info("scheduler started, checking every %s s", self.interval_seconds)

    async def stop(self) -> None:
        """Stop triggering ticks, after the tick in progress (if any) has finished."""
        if self._scheduler is None:
            return
        self._scheduler.pause()
        async with self._running:
            # AsyncIOScheduler cancels running jobs on shutdown, so shut down only between ticks.
            self._scheduler.shutdown(wait=False)
        self._scheduler = None
        log.info("scheduler stopped")

    async def tick_logged(self) -> None:
        async with self._running:
            try:
                await self.tick()
            except Exception:
                log.exception("scheduler tick failed; trying again at the next tick")

    async def tick(self) -> TickReport:
        """Open, invite, remind and close whatever is due now."""
        now = self.clock()
        report = TickReport()
        await self._open_due(now, report)
        await self._invite(now, report)
        await self._remind_due(now, report)
        await self._close_due(now, report)
        await self._offer_topics(now, report)
        await self._schedule_digests()
        await self._purge(now, report)
        if (report.invitations or report.reminders or report.closed or report.topic_offers) and self.on_queued is not None:
            self.on_queued()
        return report

    async def _open_due(self, now: datetime, report: TickReport) -> None:
        async with self.sessionmaker() as session, session.begin():
            due = await session.execute(select(Survey.id, Survey.slug).where(Survey.status == "scheduled", Survey.opens_at <= now))
            for survey_pk, slug in due.all():
                if await broadcast.open_due(session, survey_pk, now):
                    log.info("survey %s opened", slug)
                    report.opened.append(slug)

    async def _invite(self, now: datetime, report: TickReport) -> None:
        async with self.sessionmaker() as session:
            statement = select(Survey.id).where(
                Survey.status == "open", Survey.opens_at.is_not(None), Survey.invitations_done_at.is_(None)
            )
            pending = list((await session.execute(statement)).scalars())
        for survey_pk in pending:
            for _ in range(MAX_BATCHES_PER_TICK):
                written = await broadcast.enqueue_invitation_batch(self.sessionmaker, survey_pk, self.policy, now, self.batch_size)
                if written is None:
                    break
                report.invitations += written

    async def _remind_due(self, now: datetime, report: TickReport) -> None:
        async with self.sessionmaker() as session, session.begin():
            statement = select(Survey).where(
                Survey.status == "open",
                Survey.opens_at.is_not(None),
                Survey.invitations_done_at.is_not(None),
                Survey.reminders_done_at.is_(None),
                Survey.opened_at <= now - self.policy.reminder_after,
            )
            for row in (await session.execute(statement)).scalars().all():
                if row.closes_at is not None and row.closes_at <= now:
                    continue
                report.reminders += await broadcast.send_reminders(session, row, self.policy, now) or 0

    async def _close_due(self, now: datetime, report: TickReport) -> None:
        async with self.sessionmaker() as session, session.begin():
            due = await session.execute(select(Survey.id, Survey.slug).where(Survey.status == "open", Survey.closes_at <= now))
            for survey_pk, slug in due.all():
                closed = await broadcast.close_survey(session, survey_pk, self.policy, now, min_group_size=self.min_group_size)
                if closed is not None:
                    report.closed.append(slug)

    async def _schedule_digests(self) -> None:
        """Keep one digest job per organisation, so a changed schedule or a new partner
        takes effect within one tick."""
        if self.digests is None or self._scheduler is None:
            return
        self.digests.schedule(self._scheduler, await self.digests.scheduled_organisations())

    async def _offer_topics(self, now: datetime, report: TickReport) -> None:
        """Offer the approved topics once every ``topics_every_days`` days (0: never)."""
        if self.topics_every_days <= 0:
            return
        local_day = now.astimezone(self.policy.zone).date()
        period = local_day.toordinal() // self.topics_every_days
        async with self.sessionmaker() as session, session.begin():
            report.topic_offers = await topic_offers.offer_topics(session, self.policy, now, f"topics:{period}") or 0

    async def _purge(self, now: datetime, report: TickReport) -> None:
        """Delete old message records, once per local day (0 days: never)."""
        if self.retention_days <= 0:
            return
        report.purged = await retention.purge_daily(self.sessionmaker, now, self.policy.zone, self.retention_days)
