"""Sending the weekly digests: one per organisation and week, whatever the processes do.

A digest run is claimed in ``digest_runs`` before it is gathered and sent. The unique
(organisation, week) row makes a second process or a restart skip what is done. A run
that failed, or whose process died while sending, is claimed again later.
APScheduler fires one cron job per organisation at its schedule, and an hourly job sends
what a restart missed and retries what failed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.digest.content import gather_digest
from bot.digest.mail import MailError, build_message, send_message
from bot.digest.model import Attachment, Digest
from bot.digest.render import render_digest
from bot.digest.weeks import ScheduleError, Week, cron_trigger, latest_fire_time
from bot.i18n import texts
from bot.representativeness import ReferenceSetup
from store.models import DigestRun, Organisation, utcnow

log = logging.getLogger(__name__)

JOB_PREFIX = "digest:"
CATCH_UP_JOB = "digest-catch-up"
# A digest whose scheduled time passed less than this long ago is still sent, for example
# after a restart. An older one is skipped, because its news is stale.
GRACE = timedelta(hours=24)
# A failed run is tried again after this long, up to MAX_RUN_ATTEMPTS runs in all.
RETRY_AFTER = timedelta(hours=1)
MAX_RUN_ATTEMPTS = 4
# A "sending" claim older than this belonged to a process that died.
SENDING_LEASE = timedelta(minutes=30)


@dataclass(frozen=True)
class DigestConfig:
    panel_name: str
    zone: ZoneInfo
    min_group_size: int
    setup: ReferenceSetup | None
    smtp_url: str
    smtp_from: str


class DigestDispatcher:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        config: DigestConfig,
        *,
        clock: Callable[[], datetime] = utcnow,
        send: Callable[..., Awaitable[None]] = send_message,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.config = config
        self.clock = clock
        self.send = send

    async def gather(self, session: AsyncSession, organisation: Organisation, week: Week) -> Digest:
        return await gather_digest(
            session,
            organisation,
            week,
            panel_name=self.config.panel_name,
            zone=self.config.zone,
            min_group_size=self.config.min_group_size,
            setup=self.config.setup,
        )

    async def send_now(self, slug: str, week: Week) -> str:
        """Send ``slug``'s digest for ``week`` now, even if it went out before, and record
        the run so the schedule does not send it again. Return the recipient.

        Raise MailError when sending fails, and LookupError for an unknown organisation or
        one without a contact address.
        """
        async with self.sessionmaker() as session:
            organisation = await session.scalar(select(Organisation).where(Organisation.slug == slug))
            if organisation is None:
                raise LookupError(f"no organisation {slug!r}; see: chatpanel org list")
            if not organisation.contact_email:
                raise LookupError(
                    f"organisation {slug!r} has no contact address; add one with: chatpanel org edit {slug} --email ADDRESS"
                )
            organisation_id, recipient = organisation.id, organisation.contact_email
        await self._deliver(organisation_id, week)
        async with self.sessionmaker() as session, session.begin():
            run = await session.scalar(select(DigestRun).where(DigestRun.organisation_id == organisation_id, DigestRun.week == str(week)))
            now = self.clock()
            if run is None:
                session.add(DigestRun(organisation_id=organisation_id, week=str(week), status="sent", attempts=1, claimed_at=now, sent_at=now))
            else:
                run.status, run.sent_at, run.error = "sent", now, None
        return recipient

    async def run_due(self) -> list[str]:
        """Send every digest whose scheduled time passed within GRACE and that no process
        has sent or is sending. Return the slugs of the organisations sent to."""
        now = self.clock()
        sent = []
        for organisation_id, slug, schedule in await self._scheduled_organisations():
            fire = _latest_fire(schedule, self.config.zone, now, slug)
            if fire is None or fire <= now - GRACE:
                continue
            if await self.run_scheduled(organisation_id, Week.last_complete(fire, self.config.zone)):
                sent.append(slug)
        return sent

    async def run_scheduled(self, organisation_id: int, week: Week) -> bool:
        """Claim, gather and send one organisation's digest for ``week``.

        Return True when this call sent it. A failure is logged with the organisation and
        recorded for a later retry; it never raises, so other organisations still get theirs.
        """
        now = self.clock()
        async with self.sessionmaker() as session, session.begin():
            claimed = await _claim(session, organisation_id, str(week), now)
            slug = await session.scalar(select(Organisation.slug).where(Organisation.id == organisation_id))
        if not claimed:
            return False
        try:
            await self._deliver(organisation_id, week)
        except MailError as error:
            log.error("digest for %s, week %s, not sent: %s", slug, week, error)
            await self._finish(organisation_id, week, "failed", str(error))
            return False
        except Exception as error:
            log.exception("digest for %s, week %s, failed", slug, week)
            await self._finish(organisation_id, week, "failed", f"{type(error).__name__}: {error}")
            return False
        await self._finish(organisation_id, week, "sent", None)
        log.info("digest for %s, week %s, sent", slug, week)
        return True

    def schedule(self, scheduler: AsyncIOScheduler, organisations: list[tuple[int, str, str]]) -> None:
        """Add or replace one cron job per organisation, and the hourly catch-up job."""
        wanted = set()
        for organisation_id, slug, schedule in organisations:
            try:
                trigger = cron_trigger(schedule, self.config.zone)
            except ScheduleError as error:
                log.error("digest for %s not scheduled: %s", slug, error)
                continue
            if trigger is None:
                continue
            job_id = JOB_PREFIX + slug
            wanted.add(job_id)
            scheduler.add_job(
                self._run_job, trigger, args=[organisation_id], id=job_id, replace_existing=True,
                coalesce=True, max_instances=1, misfire_grace_time=int(GRACE.total_seconds()),
            )
        for job in scheduler.get_jobs():
            if job.id.startswith(JOB_PREFIX) and job.id not in wanted:
                job.remove()
        if scheduler.get_job(CATCH_UP_JOB) is None:
            scheduler.add_job(
                self._catch_up_job, IntervalTrigger(hours=1, timezone=self.config.zone), id=CATCH_UP_JOB,
                next_run_time=datetime.now(self.config.zone), coalesce=True, max_instances=1,
            )

    async def scheduled_organisations(self) -> list[tuple[int, str, str]]:
        return await self._scheduled_organisations()

    async def _run_job(self, organisation_id: int) -> None:
        await self.run_scheduled(organisation_id, Week.last_complete(self.clock(), self.config.zone))

    async def _catch_up_job(self) -> None:
        try:
            await self.run_due()
        except Exception:
            log.exception("digest catch-up failed; trying again in an hour")

    async def _scheduled_organisations(self) -> list[tuple[int, str, str]]:
        async with self.sessionmaker() as session:
            statement = select(Organisation.id, Organisation.slug, Organisation.digest_schedule).where(
                Organisation.contact_email.is_not(None), Organisation.contact_email != ""
            )
            return [tuple(row) for row in (await session.execute(statement)).all()]

    async def _deliver(self, organisation_id: int, week: Week) -> str:
        """Gather, render and send one digest; return the organisation's slug.

        The store is read in one short transaction, because sending may take minutes.
        """
        async with self.sessionmaker() as session, session.begin():
            organisation = await session.get(Organisation, organisation_id)
            digest = await self.gather(session, organisation, week)
        # Drawing charts takes CPU time, which must not hold up webhooks on the event loop.
        rendered = await asyncio.to_thread(render_digest, digest)
        t = texts(digest.organisation.locale)
        attachment = Attachment(
            t.gettext("answers-%(week)s.csv", week=str(week)), "text/csv", digest.answers_csv.encode("utf-8")
        )
        message = build_message(
            rendered, sender=self.config.smtp_from, recipient=digest.organisation.contact_email,
            attachments=[attachment] if digest.answer_rows else [],
        )
        await self.send(message, self.config.smtp_url, context=digest.organisation.slug)
        return digest.organisation.slug

    async def _finish(self, organisation_id: int, week: Week, status: str, error: str | None) -> None:
        async with self.sessionmaker() as session, session.begin():
            values = {"status": status, "error": error}
            if status == "sent":
                values["sent_at"] = self.clock()
            await session.execute(
                update(DigestRun).where(DigestRun.organisation_id == organisation_id, DigestRun.week == str(week)).values(**values)
            )


async def _claim(session: AsyncSession, organisation_id: int, week: str, now: datetime) -> bool:
    """Claim the run, or take over a failed or abandoned one. Return whether this call owns it."""
    try:
        async with session.begin_nested():
            session.add(DigestRun(organisation_id=organisation_id, week=week, status="sending", attempts=1, claimed_at=now))
        return True
    except IntegrityError:
        pass
    statement = (
        update(DigestRun)
        .where(
            DigestRun.organisation_id == organisation_id,
            DigestRun.week == week,
            or_(
                (DigestRun.status == "failed") & (DigestRun.claimed_at <= now - RETRY_AFTER) & (DigestRun.attempts < MAX_RUN_ATTEMPTS),
                (DigestRun.status == "sending") & (DigestRun.claimed_at <= now - SENDING_LEASE),
            ),
        )
        .values(status="sending", claimed_at=now, attempts=DigestRun.attempts + 1)
    )
    return (await session.execute(statement)).rowcount == 1


def _latest_fire(schedule: str, zone: ZoneInfo, now: datetime, slug: str) -> datetime | None:
    try:
        return latest_fire_time(schedule, zone, now)
    except ScheduleError as error:
        log.error("digest for %s not scheduled: %s", slug, error)
        return None
