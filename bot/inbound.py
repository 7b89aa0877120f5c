"""Exactly-once processing of inbound messages.

The channel message id is claimed by a unique insert in the same transaction as the
engine's state change and the outbox rows of its replies. A redelivery, even one that
overlaps the first delivery, fails the insert, so its whole transaction rolls back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.types import Inbound
from bot.engine import Engine, Handled
from bot.outbox import enqueue_replies
from store.models import InboundMessage
from store.sqlite_driver import statements_in_loop

log = logging.getLogger(__name__)

# Built once, like the engine's statements (store.queries). A Core insert skips the ORM's
# handling of rows as objects. The session still flushes the turn's changes before it.
_CLAIM = insert(InboundMessage.__table__)


class InboundProcessor:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        engine: Engine,
        on_queued: Callable[[], None] | None = None,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.engine = engine
        self.on_queued = on_queued

    async def process(self, inbound: Inbound, *, locale: str | None = None) -> bool:
        """Claim and handle ``inbound``. Return False when its id was processed before."""
        for attempt in (1, 2):
            try:
                handled = await self._handle(inbound, locale)
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
        if handled.replies and self.on_queued is not None:
            self.on_queued()
        return True

    async def _handle(self, inbound: Inbound, locale: str | None) -> Handled:
        # A turn's statements touch one resident's rows and a few small tables, so on
        # SQLite they run in the event loop's thread (store.sqlite_driver). RESULTS, which
        # counts every answer of a survey, sends its statements back to the thread.
        with statements_in_loop():
            return await self._handle_in_transaction(inbound, locale)

    async def _handle_in_transaction(self, inbound: Inbound, locale: str | None) -> Handled:
        async with self.sessionmaker() as session, session.begin():
            handled = await self.engine.handle(session, inbound, locale=locale)
            # Linked to its address, so erasing the address erases the message id. A
            # repeated id fails this insert and rolls back the whole turn.
            await session.execute(
                _CLAIM, {"channel": inbound.channel, "message_id": inbound.message_id, "address_id": handled.address_id}
            )
            key_prefix = f"reply:{inbound.channel}:{inbound.message_id}"
            await enqueue_replies(session, inbound.channel, handled.address_id, key_prefix, handled.replies)
        return handled

    async def _claimed(self, inbound: Inbound) -> bool:
        async with self.sessionmaker() as session:
            statement = select(InboundMessage.id).where(
                InboundMessage.channel == inbound.channel, InboundMessage.message_id == inbound.message_id
            )
            return await session.scalar(statement) is not None
