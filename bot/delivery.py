"""The delivery worker: drains the outbox through each channel's sender.

A row is claimed by moving it to "sending" with a lease (``next_attempt_at`` in the
future) in a short transaction, sent outside any transaction, then marked. A worker that
dies mid-send leaves a lease that expires, so the row is sent again: delivery is
at-least-once, and the outbox key keeps the decision itself from repeating.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from bot.channels.errors import PermanentDeliveryError, TransientDeliveryError
from bot.channels.sender import Sender
from bot.channels.types import Channel, Choice, Outbound
from store.models import Address, OutboxMessage, utcnow

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)
MAX_BACKOFF_SECONDS = 300
POLL_SECONDS = 1.0
UNSENT = ("queued", "sending")


class DeliveryWorker:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        senders: Mapping[str, Sender],
        *,
        clock: Callable[[], datetime] = utcnow,
        batch_size: int = 50,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.senders = dict(senders)
        self.clock = clock
        self.batch_size = batch_size
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Ask the running worker to look at the outbox now instead of at the next poll."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        log.info("delivery worker started for %s", ", ".join(sorted(self.senders)))
        while not stop.is_set():
            try:
                await self.drain()
            except Exception:
                log.exception("delivery round failed; retrying at the next poll")
            self._wake.clear()
            stop_task = asyncio.ensure_future(stop.wait())
            wake_task = asyncio.ensure_future(self._wake.wait())
            await asyncio.wait({stop_task, wake_task}, timeout=POLL_SECONDS, return_when=asyncio.FIRST_COMPLETED)
            stop_task.cancel()
            wake_task.cancel()
        log.info("delivery worker stopped")

    async def drain(self) -> int:
        """Send every due row of the configured channels; return how many were sent."""
        sent = 0
        while True:
            batch = await self._claim()
            if not batch:
                return sent
            for row_id in batch:
                if await self._deliver(row_id) == "sent":
                    sent += 1

    async def _claim(self) -> list[int]:
        """Lease the due rows, at most one per address: the oldest unsent one, so each
        address gets its messages in order even when one of them has to wait."""
        now = self.clock()
        earlier = aliased(OutboxMessage)
        earlier_unsent = (
            select(earlier.id)
            .where(
                earlier.address_id == OutboxMessage.address_id,
                earlier.id < OutboxMessage.id,
                earlier.status.in_(UNSENT),
            )
            .exists()
        )
        async with self.sessionmaker() as session, session.begin():
            statement = (
                select(OutboxMessage)
                .where(
                    OutboxMessage.channel.in_(self.senders),
                    OutboxMessage.status.in_(UNSENT),
                    OutboxMessage.next_attempt_at <= now,
                    ~earlier_unsent,
                )
                .order_by(OutboxMessage.id)
                .limit(self.batch_size)
                .with_for_update(skip_locked=True)
            )
            rows = (await session.execute(statement)).scalars().all()
            for row in rows:
                row.status = "sending"
                row.next_attempt_at = now + LEASE
            return [row.id for row in rows]

    async def _deliver(self, row_id: int) -> str:
        async with self.sessionmaker() as session:
            row = await session.get(OutboxMessage, row_id)
            address = await session.get(Address, row.address_id)
        if address.opted_out_at is not None and not row.ignores_opt_out:
            await self._finish(row_id, "skipped", error_code="opted_out")
            return "skipped"

        message = Outbound(
            channel=Channel(row.channel),
            address=address.value,
            text=row.text,
            choices=tuple(Choice(**choice) for choice in row.choices),
            list_choices=row.list_choices,
        )
        try:
            provider_id = await self.senders[row.channel].send(message)
        except PermanentDeliveryError as error:
            # NOTE: the address stays reachable for later messages; only this one is given up.
            log.error("outbox %s on %s failed permanently: code %s", row_id, row.channel, error.code)
            await self._finish(row_id, "failed", error_code=error.code)
            return "failed"
        except TransientDeliveryError as error:
            delay = error.retry_after if error.retry_after is not None else _backoff(row.attempts)
            log.warning("outbox %s on %s failed (code %s); retrying in %.1f s", row_id, row.channel, error.code, delay)
            await self._retry(row_id, error.code, delay)
            return "retry"
        except ValueError as error:
            # Our own message is unsendable (empty, too long, oversized button data).
            log.error("outbox %s on %s is invalid and was given up: %s", row_id, row.channel, error)
            await self._finish(row_id, "failed", error_code="invalid_message")
            return "failed"
        except Exception as error:
            # Wrong credentials or a provider error outside the table: keep the message
            # and try again later, so fixing the settings loses nothing.
            delay = _backoff(row.attempts)
            log.error("outbox %s on %s failed unexpectedly (%s); retrying in %.1f s", row_id, row.channel, type(error).__name__, delay)
            await self._retry(row_id, "unexpected", delay)
            return "retry"
        await self._finish(row_id, "sent", provider_id=provider_id)
        return "sent"

    async def _finish(self, row_id: int, status: str, *, error_code: str | None = None, provider_id: str | None = None) -> None:
        async with self.sessionmaker() as session, session.begin():
            row = await session.get(OutboxMessage, row_id)
            row.status = status
            row.attempts += 1
            row.error_code = error_code
            row.provider_message_id = provider_id
            if status == "sent":
                row.sent_at = self.clock()

    async def _retry(self, row_id: int, code: str, delay: float) -> None:
        async with self.sessionmaker() as session, session.begin():
            row = await session.get(OutboxMessage, row_id)
            row.status = "queued"
            row.attempts += 1
            row.error_code = code
            row.next_attempt_at = self.clock() + timedelta(seconds=delay)


def _backoff(attempts: int) -> float:
    """Exponential backoff with full jitter, capped at MAX_BACKOFF_SECONDS."""
    return random.uniform(0, min(MAX_BACKOFF_SECONDS, 2 ** (attempts + 1)))
