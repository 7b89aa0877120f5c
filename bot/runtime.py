"""Everything a running server needs, built from settings and started and stopped as one."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from telegram.error import InvalidToken
from telegram.error import NetworkError as TelegramNetworkError

from bot.channels.sender import Sender
from bot.channels.telegram import TelegramSender
from bot.channels.twilio_sms import TwilioSmsSender
from bot.channels.twilio_whatsapp import TwilioWhatsAppSender
from bot.channels.types import Channel
from bot.channels.sender import PROVIDER_TIMEOUT_SECONDS
from bot.delivery import LEASE, DeliveryWorker
from bot.engine import Engine
from bot.inbound import InboundProcessor
from bot.ratelimit import build_rate_limiters
from bot.representativeness import load_reference_setup
from bot.schedule_policy import SendPolicy
from bot.scheduler import PanelScheduler
from bot.settings import Settings
from bot.status_callbacks import status_callback_url
from bot.turn import PanelInfo
from store.db import create_engine, create_sessionmaker, upgrade
from store.models import utcnow

if TYPE_CHECKING:
    from bot.digest.dispatch import DigestDispatcher

log = logging.getLogger(__name__)

# Inbound transactions that run at once on PostgreSQL (bot.inbound).
INBOUND_LANES = 4


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    processor: InboundProcessor
    worker: DeliveryWorker
    senders: dict[str, Sender]
    telegram: TelegramSender | None = None
    scheduler: PanelScheduler | None = None
    # Tests turn the background worker and the scheduler off and run them themselves.
    run_worker: bool = True
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task | None = None

    async def start(self) -> None:
        """Migrate the database, start the senders and the delivery worker.

        Raises InvalidToken for a Telegram token the Bot API rejects. A Telegram API that
        cannot be reached only logs an error: messages wait in the outbox until it can.
        """
        await upgrade(self.engine)
        for channel, sender in self.senders.items():
            start = getattr(sender, "start", None)
            if start is None:
                continue
            try:
                await start()
            except InvalidToken:
                raise
            except TelegramNetworkError as error:
                log.error("%s API unreachable at start-up (%s); sending will retry", channel, type(error).__name__)
        self._stop.clear()
        if self.run_worker:
            self._task = asyncio.create_task(self.worker.run(self._stop), name="delivery")
            if self.scheduler is not None:
                self.scheduler.start()
        log.info("runtime started with channels %s", ", ".join(sorted(self.senders)) or "none")

    async def stop(self) -> None:
        await self.processor.wait_until_idle()
        if self.scheduler is not None:
            await self.scheduler.stop()
        self._stop.set()
        if self._task is not None:
            await self._task
        for sender in self.senders.values():
            await sender.close()
        await self.engine.dispose()
        log.info("runtime stopped")


def panel_info(settings: Settings) -> PanelInfo:
    return PanelInfo(
        name=settings.panel_name,
        owner=settings.panel_owner or "",
        privacy_url=settings.privacy_url or "",
        default_locale=settings.default_locale,
        suggestions_per_week=settings.suggestions_per_week,
        min_group_size=settings.min_group_size,
        moderator_chat_id=settings.moderator_chat_id,
        timezone=settings.timezone,
        privacy_version=settings.privacy_version,
        erasure_keeps_answers=settings.erasure_keeps_answers,
    )


def build_digest_dispatcher(settings: Settings, sessionmaker, clock: Callable[[], datetime]) -> DigestDispatcher | None:
    """Return the digest dispatcher, or None when no mail server is configured.

    Raises ReferenceFileError or ReferenceSetupError for an unusable reference population.
    """
    if not (settings.smtp_url and settings.smtp_from):
        log.info("weekly digests off: set CHATPANEL_SMTP_URL and CHATPANEL_SMTP_FROM to send them")
        return None
    from bot.digest.dispatch import DigestConfig, DigestDispatcher

    config = DigestConfig(
        settings.panel_name, ZoneInfo(settings.timezone), settings.min_group_size, load_reference_setup(settings),
        settings.smtp_url, settings.smtp_from,
    )
    return DigestDispatcher(sessionmaker, config, clock=clock)


def build_runtime(settings: Settings, clock: Callable[[], datetime] = utcnow) -> Runtime:
    """Build the runtime for ``settings``; call ``settings.require_for_serving()`` first.

    ``clock`` is the time for every decision (tests pass one they control); pacing alone
    uses the monotonic clock.
    """
    engine = create_engine(settings.database_url)
    sessionmaker = create_sessionmaker(engine)
    senders: dict[str, Sender] = {}
    telegram = None
    if settings.telegram_enabled:
        telegram = TelegramSender(settings.telegram_token, api_url=settings.telegram_api_url)
        senders[Channel.TELEGRAM] = telegram
    if settings.sms_enabled:
        senders[Channel.SMS] = TwilioSmsSender(
            settings.twilio_account_sid,
            settings.twilio_auth_token,
            settings.twilio_sms_from,
            api_url=settings.twilio_api_url,
            status_callback=status_callback_url(settings.public_url),
        )
    if settings.whatsapp_enabled:
        senders[Channel.WHATSAPP] = TwilioWhatsAppSender(
            settings.twilio_account_sid,
            settings.twilio_auth_token,
            settings.twilio_whatsapp_from,
            api_url=settings.twilio_api_url,
            templates=settings.whatsapp_templates(),
            default_locale=settings.default_locale,
            status_callback=status_callback_url(settings.public_url),
            clock=clock,
        )
    lease = timedelta(seconds=settings.delivery_lease_seconds)
    if lease < LEASE:
        log.warning(
            "DELIVERY_LEASE_SECONDS=%g is shorter than %g: a send that takes the providers' whole timeout of %g s "
            "may leave too little of the lease to store its result, and the message can go twice; use %g or more",
            settings.delivery_lease_seconds,
            LEASE.total_seconds(),
            PROVIDER_TIMEOUT_SECONDS,
            LEASE.total_seconds(),
        )
    worker = DeliveryWorker(sessionmaker, senders, clock=clock, rate_limiters=build_rate_limiters(settings), lease=lease)
    # SQLite runs one write transaction at a time. PostgreSQL runs a few at once, so that
    # one waits for the database while another uses the processor.
    lanes = 1 if engine.dialect.name == "sqlite" else INBOUND_LANES
    processor = InboundProcessor(sessionmaker, Engine(panel_info(settings), clock=clock), on_queued=worker.wake, lanes=lanes)
    scheduler = PanelScheduler(
        sessionmaker,
        SendPolicy.from_settings(settings, senders),
        interval_seconds=settings.scheduler_interval_seconds,
        clock=clock,
        on_queued=worker.wake,
        topics_every_days=settings.topics_broadcast_days,
        min_group_size=settings.min_group_size,
        digests=build_digest_dispatcher(settings, sessionmaker, clock),
        retention_days=settings.retention_days,
    )
    return Runtime(settings, engine, sessionmaker, processor, worker, senders, telegram, scheduler)
