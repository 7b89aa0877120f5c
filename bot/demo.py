"""``chatpanel demo``: the panel on a local SQLite file, with this terminal as the resident.

Works interactively and with piped input, one resident message per line, so a whole
conversation can be scripted.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from importlib import resources
from pathlib import Path
from typing import TextIO

from bot.channels.console import ConsoleSender
from bot.channels.types import Channel, Inbound, InboundKind
from bot.delivery import DeliveryWorker
from bot.engine import Engine
from bot.flows.loader import load_survey_file
from bot.inbound import InboundProcessor
from bot.settings import Settings
from bot.surveys import save_survey
from bot.turn import PanelInfo
from store.db import create_engine, create_sessionmaker, upgrade

SAMPLE_SURVEY = "groen-in-de-wijk.yaml"
DEMO_OWNER = "Stichting Buurtpanel (demo)"
DEMO_PRIVACY_URL = "https://example.org/privacy"


def sample_survey_path() -> Path:
    """Return the bundled sample survey: inside the installed package, or in a source checkout."""
    packaged = resources.files("bot") / "examples" / "surveys" / SAMPLE_SURVEY
    if packaged.is_file():
        return Path(str(packaged))
    return Path(__file__).resolve().parent.parent / "examples" / "surveys" / SAMPLE_SURVEY


async def run_demo(
    settings: Settings,
    *,
    locale: str | None = None,
    resident: str = "demo",
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
) -> int:
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    interactive = stdin.isatty()
    engine = create_engine(settings.database_url)
    try:
        await upgrade(engine)
        sessionmaker = create_sessionmaker(engine)
        async with sessionmaker() as session, session.begin():
            await save_survey(session, load_survey_file(sample_survey_path()))

        panel = PanelInfo(
            name=settings.panel_name,
            owner=settings.panel_owner or DEMO_OWNER,
            privacy_url=settings.privacy_url or DEMO_PRIVACY_URL,
            default_locale=settings.default_locale,
        )
        worker = DeliveryWorker(sessionmaker, {Channel.CONSOLE: ConsoleSender(stdout)})
        processor = InboundProcessor(sessionmaker, Engine(panel))
        print(
            f"chatpanel demo on {settings.database_url}\n"
            "You are a resident writing to the panel. Type a message and press Enter; "
            "Ctrl-D ends the demo.",
            file=sys.stderr,
        )
        pending_locale = locale
        while True:
            if interactive:
                stdout.write("you> ")
                stdout.flush()
            line = await asyncio.to_thread(stdin.readline)
            if not line:
                break
            text = line.rstrip("\r\n")
            if not text.strip():
                continue
            if not interactive:
                stdout.write(f"you> {text}\n")
            inbound = Inbound(
                channel=Channel.CONSOLE,
                address=resident,
                message_id=uuid.uuid4().hex,
                kind=InboundKind.TEXT,
                text=text,
            )
            await processor.process(inbound, locale=pending_locale)
            pending_locale = None
            await worker.drain()
    finally:
        await engine.dispose()
    return 0
