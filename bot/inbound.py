"""Exactly-once processing of inbound messages.

The channel message id is claimed by a unique insert in the same transaction as the
engine's state change and the outbox rows of its replies. A redelivery, even one that
overlaps the first delivery, fails the insert and changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.types import Inbound
from bot.engine import Engine
from bot.outbox import enqueue_replies
from store.models import InboundMessage

log = logging.getLogger(__name__)


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
        try:
            async with self.sessionmaker() as session, session.begin():
                claim = InboundMessage(channel=inbound.channel, message_id=inbound.message_id)
                session.add(claim)
                await session.flush()
                handled = await self.engine.handle(session, inbound, locale=locale)
                # Linked to its address, so erasing the address erases the message id.
                claim.address_id = handled.address_id
                key_prefix = f"reply:{inbound.channel}:{inbound.message_id}"
                await enqueue_replies(session, inbound.channel, handled.address_id, key_prefix, handled.replies)
        except IntegrityError:
            log.info("duplicate %s message %s ignored", inbound.channel, inbound.message_id)
            return False
        if handled.replies and self.on_queued is not None:
            self.on_queued()
        return True
