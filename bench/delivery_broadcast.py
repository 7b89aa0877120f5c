"""Benchmark: a Telegram broadcast through the real delivery worker, against flood control.

Enqueues one invitation for each of N Telegram residents in a fresh SQLite file. Then runs
the DeliveryWorker with the real TelegramSender and the rate limiters built from the
default settings against the fake Bot API from tests/fakes. The fake's flood control
responds with 429 above 30 accepted messages a second overall or 1 a second per chat.
Prints the elapsed time, the 429s, the maximum number of messages in any one-second
window and the ratio to the ideal time at the configured rate, with the machine it ran on.

Run it from the repository root: python bench/delivery_broadcast.py
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import platform
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import func, insert, select

# The script lives in bench/, so Python puts bench/ and not the repository root on the path.
REPOSITORY_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY_ROOT))

from bot.channels.telegram import TelegramSender  # noqa: E402
from bot.channels.types import Channel  # noqa: E402
from bot.delivery import DeliveryWorker  # noqa: E402
from bot.logs import silence_secret_bearing_loggers  # noqa: E402
from bot.ratelimit import build_rate_limiters  # noqa: E402
from bot.settings import Settings  # noqa: E402
from store.db import create_engine, create_sessionmaker, sqlite_url, upgrade  # noqa: E402
from store.models import Address, OutboxMessage  # noqa: E402
from tests.fakes.telegram_api import FakeTelegramApi  # noqa: E402

FIRST_CHAT_ID = 700_000_000
POLL_SECONDS = 0.1
INVITATION_TEXT = "Er staat een nieuwe vragenlijst voor je klaar: Groen in de wijk. Doe je mee?"
INVITATION_CHOICES = [
    {"number": 1, "label": "Ja", "payload": "invite|groen-in-de-wijk|1"},
    {"number": 2, "label": "Nee", "payload": "invite|groen-in-de-wijk|0"},
]


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--residents", type=int, default=3000, help="number of residents to invite (default 3000)")
    parser.add_argument(
        "--response-delay",
        type=float,
        default=0.1,
        help="time in seconds the fake Bot API waits before it responds to each request (default 0.1)",
    )
    parser.add_argument("--database", type=Path, help="SQLite file to create (default: a file in a new temporary folder)")
    return parser.parse_args()


def machine_description() -> str:
    """Describe the CPU model, the number of logical cores, the OS and the Python version."""
    cpu_model = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{cpu_model}, {os.cpu_count()} logical cores, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}"
    )


async def enqueue_broadcast(sessionmaker, residents: int) -> None:
    """Insert one Telegram address and one queued invitation per resident."""
    now = datetime.now(timezone.utc)
    async with sessionmaker() as session, session.begin():
        address_rows = [
            {"channel": Channel.TELEGRAM.value, "value": str(FIRST_CHAT_ID + number), "created_at": now}
            for number in range(residents)
        ]
        await session.execute(insert(Address), address_rows)
        address_ids = (await session.execute(select(Address.id).order_by(Address.id))).scalars().all()
        outbox_rows = [
            {
                "key": f"invitation:bench:{address_id}",
                "kind": "invitation",
                "channel": Channel.TELEGRAM.value,
                "address_id": address_id,
                "text": INVITATION_TEXT,
                "choices": INVITATION_CHOICES,
                "list_choices": True,
                "status": "queued",
                "locale": "nl",
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
            for address_id in address_ids
        ]
        await session.execute(insert(OutboxMessage), outbox_rows)


async def count_sent(sessionmaker) -> int:
    async with sessionmaker() as session:
        statement = select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "sent")
        return await session.scalar(statement)


async def run_benchmark(arguments: argparse.Namespace, database: Path) -> None:
    engine = create_engine(sqlite_url(database))
    await upgrade(engine)
    sessionmaker = create_sessionmaker(engine)
    await enqueue_broadcast(sessionmaker, arguments.residents)

    api = FakeTelegramApi()
    api.response_delay = arguments.response_delay
    await api.start()
    api.enable_flood_control(max_per_second=30, max_per_chat_per_second=1)
    settings = Settings(telegram_token=api.token, telegram_api_url=api.url)
    sender = TelegramSender(settings.telegram_token, api_url=settings.telegram_api_url)
    await sender.start()
    worker = DeliveryWorker(sessionmaker, {Channel.TELEGRAM: sender}, rate_limiters=build_rate_limiters(settings))

    stop = asyncio.Event()
    started_at = time.monotonic()
    worker_task = asyncio.create_task(worker.run(stop))
    try:
        while await count_sent(sessionmaker) < arguments.residents:
            await asyncio.sleep(POLL_SECONDS)
    finally:
        stop.set()
        await worker_task
        await sender.close()
        await api.stop()
        await engine.dispose()

    # The fake records arrivals on time.monotonic, the clock started_at comes from.
    elapsed = api.sent_times[-1] - started_at
    ideal = arguments.residents / settings.telegram_rate_per_second
    print(f"machine: {machine_description()}")
    print(f"residents: {arguments.residents}, fake response delay: {arguments.response_delay:.3f} s, max in flight: {worker.max_in_flight}")
    print(f"elapsed until the last message was accepted: {elapsed:.1f} s")
    print(f"ideal time at {settings.telegram_rate_per_second:g} messages/s: {ideal:.1f} s")
    print(f"ratio elapsed / ideal: {elapsed / ideal:.3f}")
    print(f"429 responses: {api.too_many_requests_count}")
    print(f"max messages accepted in any 1-second window: {api.max_sent_per_second()}")
    print(f"max sendMessage requests in progress at once: {api.max_concurrent_sends}")
    print(f"worker outcomes: {dict(sorted((f'{channel}/{outcome}', count) for (channel, outcome), count in worker.counts.items()))}")


def main() -> None:
    arguments = parse_arguments()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    silence_secret_bearing_loggers()
    if arguments.database is not None:
        asyncio.run(run_benchmark(arguments, arguments.database))
        return
    with tempfile.TemporaryDirectory(prefix="chatpanel-bench-") as folder:
        asyncio.run(run_benchmark(arguments, Path(folder) / "broadcast.db"))


if __name__ == "__main__":
    main()
