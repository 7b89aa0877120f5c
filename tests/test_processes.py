"""Real ``chatpanel serve`` processes on one SQLite file: a broadcast survives SIGKILL,
and two servers open and invite once."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections import Counter
from datetime import timedelta

from sqlalchemy import func, select

from bot.channels.types import Channel
from bot.delivery import DEFAULT_MAX_IN_FLIGHT
from bot.publishing import publish
from bot.segments import Segment
from store.db import create_engine, create_sessionmaker, sqlite_url, upgrade
from store.models import Address, Conversation, OutboxMessage, Resident, Survey, utcnow
from tests.harness import EXAMPLE_SURVEY, ConsolePanel
from tests.test_serve import ROOT, free_port, wait_until

RESIDENTS = 2000
SECRET = "process-secret-0123456789"


async def seed_panel(url: str, residents: int) -> None:
    """Store ``residents`` consented Telegram residents and publish the sample survey now."""
    engine = create_engine(url)
    try:
        await upgrade(engine)
        sessionmaker = create_sessionmaker(engine)
        now = utcnow()
        async with sessionmaker() as session, session.begin():
            await session.execute(
                Resident.__table__.insert(),
                [{"id": number, "pseudonym": f"p{number:011d}", "consented_at": now, "created_at": now} for number in range(1, residents + 1)],
            )
            await session.execute(
                Address.__table__.insert(),
                [
                    {"id": number, "channel": "telegram", "value": str(100000 + number), "resident_id": number, "created_at": now}
                    for number in range(1, residents + 1)
                ],
            )
            await session.execute(
                Conversation.__table__.insert(),
                [
                    {"address_id": number, "locale": "nl", "flow": "idle", "misses": 0, "updated_at": now}
                    for number in range(1, residents + 1)
                ],
            )
        await ConsolePanel(sessionmaker).load_survey(EXAMPLE_SURVEY)
        async with sessionmaker() as session, session.begin():
            await publish(session, "groen-in-de-wijk", now, now + timedelta(days=7), Segment(), [Channel.TELEGRAM.value], now)
    finally:
        await engine.dispose()


def serve_env(url: str, port: int, telegram_api) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("CHATPANEL_")}
    env.update(
        PYTHONPATH=str(ROOT),
        CHATPANEL_DATABASE_URL=url,
        CHATPANEL_PORT=str(port),
        CHATPANEL_PANEL_OWNER="Stichting Test",
        CHATPANEL_PRIVACY_URL="https://example.org/privacy",
        CHATPANEL_TELEGRAM_TOKEN=telegram_api.token,
        CHATPANEL_TELEGRAM_SECRET=SECRET,
        CHATPANEL_TELEGRAM_API_URL=telegram_api.url,
        CHATPANEL_TELEGRAM_RATE_PER_SECOND="2000",
        CHATPANEL_QUIET_HOURS="off",
        CHATPANEL_SCHEDULER_INTERVAL_SECONDS="0.5",
        CHATPANEL_DELIVERY_LEASE_SECONDS="3",
    )
    return env


async def start_serve(env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "serve", env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
    )


async def stop_serve(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.send_signal(signal.SIGINT)
        await asyncio.wait_for(process.wait(), 30)


def invitations_per_chat(telegram_api) -> Counter:
    return Counter(message.chat_id for message in telegram_api.sent if message.text.startswith("Nieuwe vragenlijst"))


async def test_broadcast_survives_sigkill(tmp_path, telegram_api):
    url = sqlite_url(tmp_path / "panel.db")
    await seed_panel(url, RESIDENTS)
    env = serve_env(url, free_port(), telegram_api)

    first = await start_serve(env)

    async def halfway() -> bool:
        assert first.returncode is None, "serve exited early"
        return len(telegram_api.sent) >= RESIDENTS // 2

    await wait_until(halfway, timeout=120)
    first.kill()
    await first.wait()
    sent_before_kill = len(telegram_api.sent)

    second = await start_serve(env)
    try:

        async def everyone_invited() -> bool:
            return len(invitations_per_chat(telegram_api)) == RESIDENTS

        await wait_until(everyone_invited, timeout=180)
    finally:
        await stop_serve(second)

    per_chat = invitations_per_chat(telegram_api)
    duplicates = {chat: count for chat, count in per_chat.items() if count > 1}
    assert sent_before_kill < RESIDENTS
    assert len(per_chat) == RESIDENTS
    # A request that reached Telegram just before the kill, but whose row was not yet
    # marked sent, goes again: Telegram has no idempotency key to prevent that. Only the
    # sends in flight at the kill can be repeated, and each at most once.
    assert len(duplicates) <= DEFAULT_MAX_IN_FLIGHT
    assert set(duplicates.values()) <= {2}


async def test_two_servers_invite_once(tmp_path, telegram_api):
    url = sqlite_url(tmp_path / "panel.db")
    await seed_panel(url, 500)
    processes = []
    for _ in range(2):
        env = serve_env(url, free_port(), telegram_api)
        # No process dies here, so the production lease applies. The 3-second lease that
        # the SIGKILL test needs can run out under a loaded CPU while a send is in flight,
        # and the other process would then send that invitation again.
        env["CHATPANEL_DELIVERY_LEASE_SECONDS"] = "60"
        processes.append(await start_serve(env))
    try:

        async def everyone_invited() -> bool:
            return len(invitations_per_chat(telegram_api)) == 500

        await wait_until(everyone_invited, timeout=120)
    finally:
        for process in processes:
            await stop_serve(process)

    per_chat = invitations_per_chat(telegram_api)
    engine = create_engine(url)
    try:
        async with create_sessionmaker(engine)() as session:
            rows = await session.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.kind == "invitation"))
            status = (await session.execute(select(Survey.status))).scalar_one()
    finally:
        await engine.dispose()
    assert rows == 500
    assert status == "open"
    assert max(per_chat.values()) == 1
