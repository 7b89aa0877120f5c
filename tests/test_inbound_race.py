"""Two first messages from one new address, handled at the same moment on PostgreSQL."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from bot.channels.types import Channel, Inbound, InboundKind
from bot.engine import Engine
from bot.inbound import InboundProcessor
from store.db import create_engine, create_sessionmaker, upgrade
from store.models import Address, InboundMessage
from tests.harness import PANEL

ADDRESSES = 20


def first_message(address: str, message_id: str) -> Inbound:
    return Inbound(channel=Channel.SMS, address=address, message_id=message_id, kind=InboundKind.TEXT, text="hoi")


async def test_two_first_messages_from_new_address_both_handled(postgres_url):
    engine = create_engine(postgres_url)
    await upgrade(engine)
    sessionmaker = create_sessionmaker(engine)
    # Two processors, as in two server processes: one processor handles a resident's
    # messages one after the other.
    processors = [InboundProcessor(sessionmaker, Engine(PANEL)) for _ in (1, 2)]
    try:
        numbers = [f"+316200000{n:02d}" for n in range(ADDRESSES)]
        # Both messages of a number start before either commits, so both find no address
        # and both insert it. The second insert waits for the first and then fails.
        handled = await asyncio.gather(
            *(processor.process(first_message(number, f"SM{number}-{n}")) for number in numbers for n, processor in enumerate(processors))
        )
        assert handled == [True] * (2 * ADDRESSES)
        async with sessionmaker() as session:
            assert await session.scalar(select(func.count()).select_from(Address)) == ADDRESSES
            per_address = (
                await session.execute(select(InboundMessage.address_id, func.count()).group_by(InboundMessage.address_id))
            ).all()
        assert sorted(count for _, count in per_address) == [2] * ADDRESSES

        # A repeat of a message that was handled is still a duplicate.
        assert await processors[0].process(first_message(numbers[0], f"SM{numbers[0]}-0")) is False
    finally:
        await engine.dispose()
