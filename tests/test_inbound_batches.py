"""Messages that arrive together, handled several to a transaction, and the fallback when
such a batch fails."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import DBAPIError

from bot.channels.types import Channel, Inbound, InboundKind
from bot.engine import Engine
from bot.inbound import BATCH_SIZE, InboundProcessor
from store.db import create_engine, create_sessionmaker, upgrade
from store.models import Address, Answer, InboundMessage, OutboxMessage
from tests.harness import PANEL, ConsolePanel
from tests.stored_data import dump_rows, places_containing

JOIN = ("hoi", "ja", "1", "overslaan", "overslaan")


def message(resident: str, message_id: str, text: str) -> Inbound:
    return Inbound(channel=Channel.CONSOLE, address=resident, message_id=message_id, kind=InboundKind.TEXT, text=text)


def count_commits(sessionmaker) -> list[int]:
    """Count the COMMITs on the sessionmaker's engine from now on, in a one-item list."""
    commits = [0]

    def counted(connection) -> None:
        commits[0] += 1

    event.listen(sessionmaker.kw["bind"].sync_engine, "commit", counted)
    return commits


async def table_count(sessionmaker, model, *conditions) -> int:
    async with sessionmaker() as session:
        return await session.scalar(select(func.count()).select_from(model).where(*conditions))


async def joined(panel: ConsolePanel, residents: list[str]) -> None:
    await panel.load_survey()
    for resident in residents:
        for text in JOIN:
            await panel.say(text, resident=resident)


async def test_messages_arriving_together_share_transactions(db):
    panel = ConsolePanel(db[1])
    residents = [f"r{n}" for n in range(30)]
    await joined(panel, residents)
    commits = count_commits(db[1])

    handled = await asyncio.gather(*(panel.processor.process(message(r, f"batch-{r}", "1")) for r in residents))

    assert handled == [True] * len(residents)
    # All of them are waiting when the first transaction starts: batches of at most BATCH_SIZE.
    assert commits[0] == -(-len(residents) // BATCH_SIZE) == 2
    assert await table_count(db[1], Answer) == len(residents)
    assert await table_count(db[1], InboundMessage, InboundMessage.message_id.like("batch-%")) == len(residents)
    assert await table_count(db[1], OutboxMessage, OutboxMessage.key.like("reply:console:batch-%")) == len(residents)


async def test_batch_keeps_resident_order(db):
    panel = ConsolePanel(db[1])
    await joined(panel, ["alice", "bob"])
    commits = count_commits(db[1])
    # The three go in one batch, and Alice's second message finds her first answer stored.
    await asyncio.gather(
        panel.processor.process(message("bob", "order-0", "2")),
        panel.processor.process(message("alice", "order-1", "2")),
        panel.processor.process(message("alice", "order-2", "4")),
    )
    assert commits[0] == 1
    async with db[1]() as session:
        rows = (await session.execute(select(Answer.question_id, Answer.value).order_by(Answer.id))).all()
    assert [tuple(row) for row in rows] == [("park_visits", "weekly"), ("park_visits", "weekly"), ("satisfaction", 4)]


async def test_repeated_message_fails_batch(db):
    panel = ConsolePanel(db[1])
    residents = ["alice", "bob", "carol"]
    await joined(panel, residents)
    assert await panel.processor.process(message("alice", "seen-before", "2")) is True
    commits = count_commits(db[1])

    handled = await asyncio.gather(
        panel.processor.process(message("bob", "first", "2")),
        panel.processor.process(message("carol", "second", "2")),
        panel.processor.process(message("alice", "seen-before", "2")),
        panel.processor.process(message("bob", "third", "4")),
    )

    assert handled == [True, True, False, True]
    # The batch of four rolled back, then one transaction each: three commits, and the
    # repeat rolled back again.
    assert commits[0] == 3
    assert await table_count(db[1], InboundMessage, InboundMessage.message_id == "seen-before") == 1
    assert await table_count(db[1], Answer) == 4


async def test_failing_message_fails_alone(postgres_url):
    # PostgreSQL refuses a NUL character in a value, so that message's turn fails.
    engine = create_engine(postgres_url)
    await upgrade(engine)
    sessionmaker = create_sessionmaker(engine)
    try:
        panel = ConsolePanel(sessionmaker)
        await joined(panel, ["alice", "bob"])

        results = await asyncio.gather(
            panel.processor.process(message("alice", "before", "2")),
            panel.processor.process(message("bob", "ok", "2")),
            panel.processor.process(message("bad\x00address", "refused", "hoi")),
            panel.processor.process(message("alice", "after", "4")),
            return_exceptions=True,
        )

        assert results[:2] == [True, True]
        assert isinstance(results[2], DBAPIError)
        assert results[3] is True
        assert await table_count(sessionmaker, Answer) == 3
        assert await table_count(sessionmaker, Address) == 2
    finally:
        await engine.dispose()


async def test_failure_after_cancelled_request_is_logged(postgres_url, caplog):
    engine = create_engine(postgres_url)
    await upgrade(engine)
    processor = InboundProcessor(create_sessionmaker(engine), Engine(PANEL))
    try:
        waiting = asyncio.create_task(processor.process(message("bad\x00address", "cancelled-bad", "hoi")))
        await asyncio.sleep(0)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        await processor.wait_until_idle()
    finally:
        await engine.dispose()
    errors = [record for record in caplog.records if record.levelname == "ERROR"]
    assert [record.getMessage() for record in errors] == ["console message cancelled-bad failed after its request was cancelled"]


async def test_cancelled_caller_does_not_cancel_its_message(db):
    panel = ConsolePanel(db[1])
    await joined(panel, ["alice"])
    processor: InboundProcessor = panel.processor

    waiting = asyncio.create_task(processor.process(message("alice", "cancelled", "2")))
    await asyncio.sleep(0)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    # The next message waits in the same lane, so the cancelled one is done when it is.
    assert await processor.process(message("alice", "next", "4")) is True

    assert await table_count(db[1], InboundMessage, InboundMessage.message_id == "cancelled") == 1
    assert await table_count(db[1], Answer) == 2


async def test_lanes_split_messages(db):
    processor = InboundProcessor(db[1], Engine(PANEL), lanes=3)
    residents = [f"lane{n}" for n in range(12)]
    commits = count_commits(db[1])

    handled = await asyncio.gather(*(processor.process(message(r, f"lane-{r}", "hoi")) for r in residents))

    assert handled == [True] * len(residents)
    # One lane would take all 12 in one transaction. All 12 addresses hash to one of
    # three lanes with a chance of 3 in 3**12.
    assert commits[0] >= 2
    assert await table_count(db[1], Address) == len(residents)
    assert await table_count(db[1], OutboxMessage) == len(residents)


async def test_message_arriving_as_lane_empties_is_handled(db):
    panel = ConsolePanel(db[1])
    await joined(panel, ["alice", "bob"])
    late: list[asyncio.Future] = []

    def send_another() -> None:
        # Called while the lane handles Alice's message, so Bob's starts its wait just as
        # the lane finds nothing more to do.
        if not late:
            late.append(asyncio.ensure_future(processor.process(message("bob", "late", "2"))))

    processor = InboundProcessor(db[1], Engine(PANEL), on_queued=send_another)
    assert await processor.process(message("alice", "early", "2")) is True
    assert await asyncio.wait_for(late[0], timeout=10) is True


async def test_erasure_in_batch_leaves_nothing(db):
    """MY DATA, DELETE and its yes in one batch: the rows of the first two messages are
    gone after the erasure, as when each message has its own transaction."""
    panel = ConsolePanel(db[1])
    await panel.load_survey()
    for text in ("hoi", "ja", "1", "2", "9876"):
        await panel.say(text)
    commits = count_commits(db[1])

    handled = await asyncio.gather(
        *(panel.processor.process(message("alice", message_id, text)) for message_id, text in (
            ("my-data", "MIJN GEGEVENS"), ("delete", "VERWIJDER"), ("yes", "ja")
        ))
    )

    assert handled == [True, True, True]
    assert commits[0] == 1
    async with db[1]() as session:
        claims = list((await session.execute(select(InboundMessage.message_id))).scalars())
        replies = list((await session.execute(select(OutboxMessage.text))).scalars())
    assert claims == ["yes"]
    assert len(replies) == 1
    assert "Al je gegevens zijn verwijderd" in replies[0]
    assert places_containing(await dump_rows(db[1]), "9876") == []


async def test_failing_wake_still_answers_batch(db, caplog):
    def wake() -> None:
        raise RuntimeError("wake failed")

    processor = InboundProcessor(db[1], Engine(PANEL), on_queued=wake)

    handled = await asyncio.wait_for(
        asyncio.gather(*(processor.process(message(f"wake{n}", f"wake-{n}", "hoi")) for n in range(3))), timeout=10
    )

    assert handled == [True, True, True]
    assert await table_count(db[1], OutboxMessage) == 3
    assert [record.getMessage() for record in caplog.records if record.levelname == "ERROR"] == ["waking the delivery worker failed"]
