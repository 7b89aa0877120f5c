"""Three ``chatpanel serve`` processes on one PostgreSQL database, with every webhook request
sent to any of them as a load balancer would: a broadcast goes out while residents answer,
some updates arrive twice at once, and some residents send two messages at the same moment.
No answer is lost or stored twice, no message is sent twice, and each resident's messages
are handled one after the other."""

from __future__ import annotations

import asyncio
import itertools
import random
from collections import Counter, defaultdict
from datetime import timedelta

import aiohttp
from sqlalchemy import func, select

from bot.channels.types import Channel
from bot.publishing import publish
from bot.segments import Segment
from store.db import create_engine, create_sessionmaker, upgrade
from store.models import Address, Answer, Conversation, InboundMessage, OutboxMessage, Resident, Response
from tests.fakes.payloads import telegram_text_update
from tests.harness import ConsolePanel
from tests.test_processes import SECRET, serve_env, start_serve, stop_serve
from tests.test_serve import free_port, wait_until
from tests.test_summaries import ALL_TYPES

RESIDENTS = 120
PROCESSES = 3
# Answers to the all-types survey; the show_if question is skipped because visits is "1".
ANSWERS = ("1", "1,3", "4", "ja", "7,5", "Meer bankjes")
FIRST_CHAT = 500000


async def seed(url: str) -> None:
    """Store RESIDENTS consented Telegram residents and publish the all-types survey now."""
    engine = create_engine(url)
    try:
        await upgrade(engine)
        sessionmaker = create_sessionmaker(engine)
        async with sessionmaker() as session, session.begin():
            now = (await session.execute(select(func.now()))).scalar_one()
            for number in range(1, RESIDENTS + 1):
                resident = Resident(pseudonym=f"p{number:011d}", consented_at=now)
                session.add(resident)
                await session.flush()
                address = Address(channel="telegram", value=str(FIRST_CHAT + number), resident_id=resident.id, last_inbound_at=now)
                session.add(address)
                await session.flush()
                session.add(Conversation(address_id=address.id, locale="nl", flow="idle", misses=0))
        await ConsolePanel(sessionmaker).load_survey(ALL_TYPES)
        async with sessionmaker() as session, session.begin():
            await publish(session, "alle-typen", now, now + timedelta(days=7), Segment(), [Channel.TELEGRAM.value], now)
    finally:
        await engine.dispose()


class Residents:
    """Residents who answer each question when it arrives, through any of the servers."""

    def __init__(self, http: aiohttp.ClientSession, ports: list[int], telegram_api) -> None:
        self.http = http
        self.ports = ports
        self.telegram_api = telegram_api
        self.update_ids = itertools.count(1)
        self.sent_update_ids: set[int] = set()
        self.random = random.Random(7)

    def received(self, chat_id: int) -> list[str]:
        return [message.text for message in self.telegram_api.sent if message.chat_id == str(chat_id)]

    async def post(self, update: dict, port: int | None = None) -> None:
        port = port or self.random.choice(self.ports)
        async with self.http.post(
            f"http://127.0.0.1:{port}/webhooks/telegram", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}
        ) as response:
            assert response.status == 200, await response.text()
        self.sent_update_ids.add(update["update_id"])

    async def wait_for_message(self, chat_id: int, count: int) -> None:
        async def arrived() -> bool:
            return len(self.received(chat_id)) >= count

        await wait_until(arrived, timeout=120)

    async def answer_survey(self, number: int) -> None:
        """Answer each question after it arrives. Every fourth resident has its first update
        delivered twice at once. Every fifth sends its first answer twice at the same moment,
        so the second "1" answers the next question."""
        chat_id = FIRST_CHAT + number
        await self.wait_for_message(chat_id, 1)
        answers = list(ANSWERS)
        if number % 5 == 0:
            first, second = (telegram_text_update(next(self.update_ids), chat_id, "1") for _ in range(2))
            await asyncio.gather(self.post(first, self.ports[0]), self.post(second, self.ports[1]))
            answers = answers[2:]
            await self.wait_for_message(chat_id, 3)
        for answer in answers:
            expected = len(self.received(chat_id)) + 1
            update = telegram_text_update(next(self.update_ids), chat_id, answer)
            if number % 4 == 0 and answer == answers[0]:
                await asyncio.gather(self.post(update, self.ports[1]), self.post(update, self.ports[2]))
            else:
                await self.post(update)
            await self.wait_for_message(chat_id, expected)


async def test_three_servers_share_one_postgresql(postgres_url, telegram_api):
    await seed(postgres_url)
    ports = [free_port() for _ in range(PROCESSES)]
    processes = []
    for port in ports:
        env = serve_env(postgres_url, port, telegram_api)
        # Slow enough that the broadcast is still going out while the first residents answer.
        env["CHATPANEL_TELEGRAM_RATE_PER_SECOND"] = "40"
        # No process is killed here, so the production lease applies: a message is never
        # sent again while the worker that claimed it is alive.
        env["CHATPANEL_DELIVERY_LEASE_SECONDS"] = "60"
        processes.append(await start_serve(env))
    try:
        async with aiohttp.ClientSession() as http:

            async def all_up() -> bool:
                for port in ports:
                    try:
                        async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                            if response.status != 200:
                                return False
                    except aiohttp.ClientError:
                        return False
                return True

            await wait_until(all_up, timeout=60)
            residents = Residents(http, ports, telegram_api)
            await asyncio.gather(*(residents.answer_survey(number) for number in range(1, RESIDENTS + 1)))
            # The last reply of each resident is the outro; let the workers finish sending.
            await asyncio.sleep(1)
    finally:
        for process in processes:
            await stop_serve(process)

    engine = create_engine(postgres_url)
    try:
        async with create_sessionmaker(engine)() as session:
            answers = (await session.execute(select(Response.resident_id, Answer.question_id, Answer.value).join(Answer))).all()
            completed = await session.scalar(select(func.count()).select_from(Response).where(Response.completed_at.is_not(None)))
            claimed = await session.scalar(select(func.count()).select_from(InboundMessage))
            outbox = Counter((await session.execute(select(OutboxMessage.status))).scalars())
    finally:
        await engine.dispose()

    # Every resident completed the survey, with each question answered once.
    assert completed == RESIDENTS
    per_resident = defaultdict(dict)
    for resident_id, question_id, value in answers:
        assert question_id not in per_resident[resident_id], f"question {question_id} answered twice"
        per_resident[resident_id][question_id] = value
    assert len(per_resident) == RESIDENTS
    for number in range(1, RESIDENTS + 1):
        given = per_resident[number]
        if number % 5 == 0:
            # The two simultaneous "1"s answered the first two questions, one each, in turn.
            assert given["visits"] == "daily"
            assert given["activities"] == ["walk"]
        else:
            assert given["visits"] == "daily"
            assert given["activities"] == ["walk", "picnic"]
        assert given["satisfaction"] == 4
        assert given["remarks"] == "Meer bankjes"

    # Each update was processed once, whichever server got it and however often.
    assert claimed == len(residents.sent_update_ids)
    # Every message was sent, and none twice: one invitation and one reply per answer.
    assert set(outbox) == {"sent"}
    duplicates = Counter((message.chat_id, message.text) for message in telegram_api.sent)
    assert [key for key, count in duplicates.items() if count > 1] == []
    assert len(telegram_api.sent) == outbox["sent"]
    per_chat = Counter(message.chat_id for message in telegram_api.sent)
    for number in range(1, RESIDENTS + 1):
        # The invitation, then one reply per answer (two simultaneous messages are two answers).
        assert per_chat[str(FIRST_CHAT + number)] == 1 + len(ANSWERS)
        # Questions arrived in order: question 1 first, the outro last.
        texts = residents.received(FIRST_CHAT + number)
        numbers = [int(text.split("Vraag ")[1].split(" ")[0]) for text in texts if text.startswith("Vraag ")]
        assert numbers == sorted(numbers)
