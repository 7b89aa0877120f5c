"""The delivery worker: drains the outbox through each channel's sender.

A row is claimed by moving it to "sending" with a lease (``next_attempt_at`` in the
future) in a short transaction, sent outside any transaction, then marked. A worker that
dies mid-send leaves a lease that expires, so the row is sent again: delivery is
at-least-once, and the outbox key keeps the decision itself from repeating.

Several sends run at once, so a slow provider does not set the pace. Each channel's
RateLimiter (bot.ratelimit) does. An address never has more than one row in flight,
because a row is claimed only when no earlier row of its address is unsent.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from bot.channels.errors import PermanentDeliveryError, TransientDeliveryError, UndeliverableMessageError
from bot.channels.sender import PROVIDER_TIMEOUT_SECONDS, Sender
from bot.channels.types import Channel, Choice, Outbound
from bot.erasure import drop_sent_confirmation
from bot.ratelimit import RateLimiter
from store.models import Address, OutboxMessage, utcnow

log = logging.getLogger(__name__)

# A send starts only while this much of its lease is left: the provider timeout, and time
# to store the result before another worker can claim the row and send it again.
SEND_TIME_RESERVE = timedelta(seconds=PROVIDER_TIMEOUT_SECONDS + 15)
LEASE = 2 * SEND_TIME_RESERVE
MAX_BACKOFF_SECONDS = 300
POLL_SECONDS = 1.0
UNSENT = ("queued", "sending")
DEFAULT_MAX_IN_FLIGHT = 16


class DeliveryWorker:
    """Sends due outbox rows through ``senders``, keyed by channel.

    ``rate_limiters`` paces each channel that has one, and a channel without one is sent
    as fast as its sender returns. ``max_in_flight`` is the maximum number of sends in
    progress at once, counting those waiting for their rate limit. ``clock`` returns
    the current time as an aware datetime. ``counts`` contains the number of outcomes
    per (channel, outcome) since the worker was created: sent, failed, skipped, retry,
    deferred, error, plus unreachable for each address marked so and rate_limited for
    each pause that a provider requested.
    """

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        senders: Mapping[str, Sender],
        *,
        clock: Callable[[], datetime] = utcnow,
        batch_size: int = 50,
        rate_limiters: Mapping[str, RateLimiter] | None = None,
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
        lease: timedelta = LEASE,
    ) -> None:
        if max_in_flight < 1:
            raise ValueError(f"invalid max_in_flight {max_in_flight!r}: expected at least 1")
        self.sessionmaker = sessionmaker
        self.senders = dict(senders)
        self.clock = clock
        self.batch_size = batch_size
        self.rate_limiters = dict(rate_limiters or {})
        self.max_in_flight = max_in_flight
        self.lease = lease
        # A shorter lease (as in tests) keeps the same proportion of time to send.
        self.send_time_reserve = min(SEND_TIME_RESERVE, lease / 2)
        self.counts: Counter[tuple[str, str]] = Counter()
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Ask the running worker to look at the outbox now instead of at the next poll."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        log.info("delivery worker started for %s", ", ".join(sorted(self.senders)))
        while not stop.is_set():
            try:
                await self.drain(stop)
            except Exception:
                log.exception("delivery round failed; retrying at the next poll")
            self._wake.clear()
            stop_task = asyncio.ensure_future(stop.wait())
            wake_task = asyncio.ensure_future(self._wake.wait())
            await asyncio.wait({stop_task, wake_task}, timeout=POLL_SECONDS, return_when=asyncio.FIRST_COMPLETED)
            stop_task.cancel()
            wake_task.cancel()
        log.info("delivery worker stopped")

    async def drain(self, stop: asyncio.Event | None = None) -> int:
        """Send every due row of the configured channels and return how many were sent.

        Rows are claimed only for free send slots, so a claimed row starts at once. A row
        of an address becomes claimable when the row before it is finished, so new rows
        are claimed whenever a quarter of the slots are free. Returns when nothing is due
        and nothing is in flight. Once ``stop`` is set, nothing more is claimed, and sends
        still waiting for their rate limit give up their rows (see _deliver).
        """
        sent = 0
        claim_threshold = max(1, self.max_in_flight // 4)
        in_flight: set[asyncio.Task[str]] = set()
        try:
            while True:
                free = self.max_in_flight - len(in_flight)
                stopping = stop is not None and stop.is_set()
                if not stopping and (free >= claim_threshold or not in_flight):
                    for row_id, lease_expires_at in await self._claim(min(free, self.batch_size)):
                        in_flight.add(asyncio.create_task(self._deliver_counted(row_id, lease_expires_at, stop)))
                if not in_flight:
                    return sent
                done, in_flight = await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
                sent += sum(1 for task in done if task.result() == "sent")
        finally:
            # Only reached with sends in flight when the claim raised or drain was cancelled.
            for task in in_flight:
                task.cancel()
            await asyncio.gather(*in_flight, return_exceptions=True)

    async def _claim(self, limit: int) -> list[tuple[int, datetime]]:
        """Lease up to ``limit`` due rows, at most one per address: the oldest unsent one,
        so each address gets its messages in order even when one of them has to wait.

        Returns each row's id with the time its lease expires.
        """
        now = self.clock()
        lease_expires_at = now + self.lease
        earlier = aliased(OutboxMessage)
        # An earlier message holds back later ones to the same address while it is being
        # sent, is due, or waits for a retry. One that was never tried and waits for its
        # time (an invitation held until after the quiet hours) does not hold back replies.
        earlier_unsent = (
            select(earlier.id)
            .where(
                earlier.address_id == OutboxMessage.address_id,
                earlier.id < OutboxMessage.id,
                or_(
                    earlier.status == "sending",
                    and_(earlier.status == "queued", or_(earlier.attempts > 0, earlier.next_attempt_at <= now)),
                ),
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
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
            rows = (await session.execute(statement)).scalars().all()
            for row in rows:
                row.status = "sending"
                row.next_attempt_at = lease_expires_at
            return [(row.id, lease_expires_at) for row in rows]

    async def _deliver_counted(self, row_id: int, lease_expires_at: datetime, stop: asyncio.Event | None) -> str:
        """Deliver one row and count its outcome.

        An unexpected error is logged and counted as "error" instead of raised, so that it
        does not cancel the other sends. The row goes out again when its lease expires.
        """
        channel = "unknown"
        try:
            channel, outcome = await self._deliver(row_id, lease_expires_at, stop)
        except Exception:
            log.exception("outbox %s: delivery failed unexpectedly; it is sent again when its lease expires", row_id)
            outcome = "error"
        self.counts[(channel, outcome)] += 1
        return outcome

    async def _deliver(self, row_id: int, lease_expires_at: datetime, stop: asyncio.Event | None) -> tuple[str, str]:
        """Deliver one claimed row and return its channel and the outcome.

        A row that waited for its rate limit until less than SEND_TIME_RESERVE of its
        lease was left, or until ``stop`` was set, is not sent: it stays leased and is
        claimed again when the lease expires. The outcome is then "deferred".
        """
        async with self.sessionmaker() as session:
            row = await session.get(OutboxMessage, row_id)
            address = await session.get(Address, row.address_id) if row is not None else None
        if row is None or address is None:
            # Erased (bot.erasure) after it was claimed: there is nothing left to send.
            return "unknown", "skipped"
        channel = row.channel
        if address.unreachable_at is not None:
            await self._finish(row_id, "skipped", error_code="unreachable", erased_address=address.erased_at is not None)
            return channel, "skipped"
        if address.opted_out_at is not None and not row.ignores_opt_out:
            await self._finish(row_id, "skipped", error_code="opted_out", erased_address=address.erased_at is not None)
            return channel, "skipped"

        limiter = self.rate_limiters.get(channel)
        if limiter is not None:
            if not await _wait_for_rate_limit(limiter, address.value, stop):
                log.info("outbox %s on %s: stopping before its turn; it is sent again when its lease expires", row_id, channel)
                return channel, "deferred"
            if self.clock() + self.send_time_reserve > lease_expires_at:
                log.warning("outbox %s on %s waited for the rate limit until its lease nearly expired; it is sent at the next claim", row_id, channel)
                return channel, "deferred"

        return channel, await self._send(row, address, limiter)

    async def _send(self, row: OutboxMessage, address: Address, limiter: RateLimiter | None) -> str:
        """Send ``row`` and store the result. Returns sent, failed or retry."""
        row_id, channel = row.id, row.channel
        erased = address.erased_at is not None
        try:
            provider_id = await self.senders[channel].send(_outbound(row, address))
        except PermanentDeliveryError as error:
            log.warning("outbox %s on %s failed permanently with code %s; address %s is now unreachable", row_id, channel, error.code, address.id)
            await self._finish(row_id, "failed", error_code=error.code, unreachable_address_id=address.id, erased_address=erased)
            self.counts[(channel, "unreachable")] += 1
            return "failed"
        except UndeliverableMessageError as error:
            log.error("outbox %s on %s can never be sent and was given up: code %s", row_id, channel, error.code)
            await self._finish(row_id, "failed", error_code=error.code, erased_address=erased)
            return "failed"
        except TransientDeliveryError as error:
            delay = error.retry_after if error.retry_after is not None else _backoff(row.attempts)
            if error.retry_after is not None and limiter is not None:
                # Flood control covers the whole bot, not one chat: pause every send.
                limiter.pause(error.retry_after)
                self.counts[(channel, "rate_limited")] += 1
                log.warning("%s requested a wait of %.1f s (code %s); pausing the channel", channel, error.retry_after, error.code)
            log.warning("outbox %s on %s failed (code %s); retrying in %.1f s", row_id, channel, error.code, delay)
            await self._retry(row_id, error.code, delay)
            return "retry"
        except ValueError as error:
            # Our own message is unsendable (empty, too long, oversized button data).
            log.error("outbox %s on %s is invalid and was given up: %s", row_id, channel, error)
            await self._finish(row_id, "failed", error_code="invalid_message", erased_address=erased)
            return "failed"
        except Exception as error:
            # Wrong credentials or a provider error outside the table: keep the message
            # and try again later, so fixing the settings loses nothing.
            delay = _backoff(row.attempts)
            log.error("outbox %s on %s failed unexpectedly (%s); retrying in %.1f s", row_id, channel, type(error).__name__, delay)
            await self._retry(row_id, "unexpected", delay)
            return "retry"
        await self._finish(row_id, "sent", provider_id=provider_id, erased_address=erased)
        return "sent"

    async def _finish(
        self,
        row_id: int,
        status: str,
        *,
        error_code: str | None = None,
        provider_id: str | None = None,
        unreachable_address_id: int | None = None,
        erased_address: bool = False,
    ) -> None:
        """Mark the row final, and the address unreachable with ``error_code`` when
        ``unreachable_address_id`` is given, in one transaction.

        When ``erased_address`` is true, because the address was marked erased when it was
        loaded for sending, the row (an erasure confirmation) is deleted instead, with the
        address once nothing else waits for it.
        """
        now = self.clock()
        async with self.sessionmaker() as session, session.begin():
            row = await session.get(OutboxMessage, row_id)
            if row is None:
                # Erased (bot.erasure) while it was being sent.
                return
            if erased_address and await drop_sent_confirmation(session, row):
                return
            row.status = status
            row.attempts += 1
            row.error_code = error_code
            row.provider_message_id = provider_id
            if status == "sent":
                row.sent_at = now
            if unreachable_address_id is not None:
                address = await session.get(Address, unreachable_address_id)
                address.unreachable_at = now
                address.unreachable_code = error_code

    async def _retry(self, row_id: int, code: str, delay: float) -> None:
        async with self.sessionmaker() as session, session.begin():
            row = await session.get(OutboxMessage, row_id)
            if row is None:
                return
            row.status = "queued"
            row.attempts += 1
            row.error_code = code
            row.next_attempt_at = self.clock() + timedelta(seconds=delay)


def _outbound(row: OutboxMessage, address: Address) -> Outbound:
    return Outbound(
        channel=Channel(row.channel),
        address=address.value,
        text=row.text,
        choices=tuple(Choice(**choice) for choice in row.choices),
        list_choices=row.list_choices,
        locale=row.locale,
        template_variables=row.template_variables,
        last_inbound_at=address.last_inbound_at,
    )


async def _wait_for_rate_limit(limiter: RateLimiter, key: str, stop: asyncio.Event | None) -> bool:
    """Wait for the limiter's grant for ``key``. Returns False, without a grant, when
    ``stop`` is set first."""
    if stop is None:
        await limiter.acquire(key)
        return True

    acquire_task = asyncio.ensure_future(limiter.acquire(key))
    stop_task = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({acquire_task, stop_task}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stop_task.cancel()
        if not acquire_task.done():
            # Cancelling gives up the place in the queue without taking a grant.
            acquire_task.cancel()
            await asyncio.gather(acquire_task, return_exceptions=True)
    if acquire_task.cancelled():
        return False
    acquire_task.result()
    return True


def _backoff(attempts: int) -> float:
    """Exponential backoff with full jitter, capped at MAX_BACKOFF_SECONDS."""
    return random.uniform(0, min(MAX_BACKOFF_SECONDS, 2 ** (attempts + 1)))
