"""Exactly-once processing of inbound messages, several residents' messages per transaction.

The channel message id is claimed by a unique insert in the same transaction as the
engine's state change and the outbox rows of its replies. A redelivery, even one that
overlaps the first delivery, fails the insert, so its whole transaction rolls back.

Messages that arrive while a transaction is running wait for the next one, which handles
up to BATCH_SIZE of them one after the other (group commit). A transaction costs
round trips of its own (the pool's ping, BEGIN and COMMIT) and Python work in the ORM;
under load they are paid once per batch instead of once per message. A batch that fails
for any reason, such as a repeated message id or a lock conflict with another process,
rolls back as a whole, and its messages are then handled one per transaction, where each
failure is handled or reported on its own.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.types import Inbound
from bot.engine import Engine, Handled
from bot.outbox import enqueue_rows, reply_rows
from store.models import InboundMessage
from store.queries import lock_addresses
from store.sqlite_driver import statements_in_loop

log = logging.getLogger(__name__)

# Built once, like the engine's statements (store.queries). A Core insert skips the ORM's
# handling of rows as objects. The session still flushes the turn's changes before it.
_CLAIM = insert(InboundMessage.__table__)

# Messages one transaction handles at most. At 25 a message pays a 25th of the
# transaction's fixed costs, and a larger batch would hold its residents' address locks longer.
BATCH_SIZE = 25


@dataclass
class _Waiting:
    inbound: Inbound
    locale: str | None
    result: asyncio.Future[bool] = field(default_factory=lambda: asyncio.get_running_loop().create_future())
    # Set when the caller stopped waiting (a cancelled request). The message is handled all the same.
    abandoned: bool = False

    def resolve(self, handled: bool) -> None:
        if not self.result.done():
            self.result.set_result(handled)

    def fail(self, error: BaseException) -> None:
        if self.result.done():
            return
        self.result.set_exception(error)
        if self.abandoned:
            # No caller reads the result, so the log is the only place the failure shows.
            self.result.exception()
            log.error("%s message %s failed after its request was cancelled", self.inbound.channel, self.inbound.message_id, exc_info=error)


class InboundProcessor:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        engine: Engine,
        on_queued: Callable[[], None] | None = None,
        *,
        lanes: int = 1,
    ) -> None:
        """``lanes`` is the number of transactions that may run at once. A resident's
        messages always take the same lane, so no two of them are in different transactions
        of this process at the same time. SQLite runs one write transaction at a time, so
        more lanes help only on PostgreSQL.
        """
        self.sessionmaker = sessionmaker
        self.engine = engine
        self.on_queued = on_queued
        self._lanes: list[deque[_Waiting]] = [deque() for _ in range(lanes)]
        self._draining: dict[int, asyncio.Task] = {}

    async def process(self, inbound: Inbound, *, locale: str | None = None) -> bool:
        """Claim and handle ``inbound``. Return False when its id was processed before."""
        waiting = _Waiting(inbound, locale)
        lane = hash((inbound.channel, inbound.address)) % len(self._lanes)
        self._lanes[lane].append(waiting)
        if lane not in self._draining:
            self._draining[lane] = asyncio.create_task(self._drain(lane), name=f"inbound-lane-{lane}")
        try:
            # Shielded: a request that is cancelled must not cancel the handling of its message.
            return await asyncio.shield(waiting.result)
        except asyncio.CancelledError:
            waiting.abandoned = True
            raise

    async def wait_until_idle(self) -> None:
        """Wait until every message handed to ``process`` is handled."""
        while self._draining:
            await asyncio.gather(*self._draining.values(), return_exceptions=True)

    async def _drain(self, lane: int) -> None:
        queue = self._lanes[lane]
        batch: list[_Waiting] = []
        try:
            while queue:
                batch = [queue.popleft() for _ in range(min(len(queue), BATCH_SIZE))]
                await self._process_batch(batch)
        except asyncio.CancelledError:
            # The server is stopping.
            for waiting in (*batch, *queue):
                waiting.result.cancel()
            queue.clear()
            raise
        finally:
            # No await runs between finding the queue empty and this line, so a message
            # that arrives later starts a new task.
            del self._draining[lane]

    async def _process_batch(self, batch: list[_Waiting]) -> None:
        if len(batch) > 1:
            try:
                results = await self._handle_together([(waiting.inbound, waiting.locale) for waiting in batch])
            except Exception as error:
                # Only the error's class: a database error's text can contain a phone number.
                log.info(
                    "a batch of %d messages (%s) failed with %s and was rolled back; handling them one by one",
                    len(batch),
                    ", ".join(f"{waiting.inbound.channel} {waiting.inbound.message_id}" for waiting in batch),
                    type(error).__name__,
                )
            else:
                for waiting in batch:
                    waiting.resolve(True)
                self._queued(results)
                return
        for waiting in batch:
            try:
                handled = await self._process_one(waiting.inbound, waiting.locale)
            except Exception as error:
                waiting.fail(error)
            else:
                waiting.resolve(handled)

    async def _process_one(self, inbound: Inbound, locale: str | None) -> bool:
        for attempt in (1, 2):
            try:
                handled = await self._handle_together([(inbound, locale)])
                break
            except IntegrityError:
                if await self._claimed(inbound):
                    log.info("duplicate %s message %s ignored", inbound.channel, inbound.message_id)
                    return False
                if attempt == 2:
                    raise
                # Another transaction committed a row this turn also inserted, such as the
                # address of a new resident who sent two messages at once. Handled again, the
                # turn finds that row.
                log.info(
                    "%s message %s conflicted with a concurrent transaction; handling it again", inbound.channel, inbound.message_id
                )
        self._queued(handled)
        return True

    def _queued(self, handled: list[Handled]) -> None:
        if self.on_queued is None or not any(turn.replies for turn in handled):
            return
        try:
            self.on_queued()
        except Exception:
            # The replies are committed, and the delivery worker finds them at its next poll.
            log.exception("waking the delivery worker failed")

    async def _handle_together(self, messages: list[tuple[Inbound, str | None]]) -> list[Handled]:
        """Handle ``messages``, each with its forced locale, in order, in one transaction."""
        # A turn's statements touch one resident's rows and a few small tables, so on
        # SQLite they run in the event loop's thread (store.sqlite_driver). RESULTS, which
        # counts every answer of a survey, sends its statements back to the thread.
        with statements_in_loop():
            async with self.sessionmaker() as session, session.begin():
                await lock_addresses(session, [(inbound.channel, inbound.address) for inbound, _ in messages])
                claims: list[dict[str, object]] = []
                replies: list[dict[str, object]] = []
                handled_all = []
                for inbound, locale in messages:
                    handled = await self.engine.handle(session, inbound, locale=locale)
                    handled_all.append(handled)
                    if handled.erased_address_ids:
                        # Written now, the erasure would have deleted these rows of the
                        # batch's earlier messages, so they are not written at all.
                        erased = set(handled.erased_address_ids)
                        claims = [claim for claim in claims if claim["address_id"] not in erased]
                        replies = [reply for reply in replies if reply["address_id"] not in erased]
                    # Linked to its address, so erasing the address erases the message id.
                    claims.append({"channel": inbound.channel, "message_id": inbound.message_id, "address_id": handled.address_id})
                    key_prefix = f"reply:{inbound.channel}:{inbound.message_id}"
                    replies += reply_rows(inbound.channel, handled.address_id, key_prefix, handled.replies)
                # A repeated message id fails this insert and rolls back the whole transaction.
                await session.execute(_CLAIM, claims)
                await enqueue_rows(session, replies)
        return handled_all

    async def _claimed(self, inbound: Inbound) -> bool:
        async with self.sessionmaker() as session:
            statement = select(InboundMessage.id).where(
                InboundMessage.channel == inbound.channel, InboundMessage.message_id == inbound.message_id
            )
            return await session.scalar(statement) is not None
