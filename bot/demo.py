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
from store.db import create_engine, create_sessionmaker, describe_database, upgrade

SAMPLE_SURVEY = "groen-in-de-wijk.yaml"
DEMO_OWNER = "Stichting Buurtpanel (demo)"
DEMO_PRIVACY_URL = "https://example.org/privacy"


def sample_survey_path() -> Path:
    """Return the bundled sample survey: inside the installed package, or in a source checkout."""
    packaged = resources.files("bot") / "examples" / "surveys" / SAMPLE_SURVEY
    if packaged.is_file():
        return Path(str(packaged))
    return Path(__file__).resolve().parent.parent / "examples" / "surveys" / SAMPLE_SURVEY


def run_demo(
    settings: Settings,
    *,
    locale: str | None = None,
    resident: str = "demo",
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
) -> int:
    """Run the demo conversation until end of input (Ctrl-D) or Ctrl-C.

    Lines are read in the main thread, so Ctrl-C stops the demo at once and, in a
    terminal, the readline module gives line editing. Each message runs on one event loop.
    """
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    interactive = stdin.isatty() and stdout.isatty()
    if interactive:
        import readline  # noqa: F401  (imported for its side effect: line editing in input())

    with asyncio.Runner() as runner:
        demo = runner.run(_DemoPanel.open(settings, stdout, resident))
        try:
            print(
                f"chatpanel demo on {describe_database(settings.database_url)}\n"
                "You are a resident writing to the panel. Type a message and press Enter; "
                "Ctrl-D ends the demo.",
                file=sys.stderr,
            )
            pending_locale = locale
            while True:
                text = _read_line(stdin, stdout, interactive)
                if text is None:
                    break
                if not text.strip():
                    continue
                runner.run(demo.say(text, pending_locale))
                pending_locale = None
        finally:
            if interactive:
                stdout.write("\n")
            runner.run(demo.close())
    return 0


def _read_line(stdin: TextIO, stdout: TextIO, interactive: bool) -> str | None:
    """Return the next message, or None at the end of input."""
    if interactive:
        try:
            return input("you> ")
        except EOFError:
            return None
    line = stdin.readline()
    if not line:
        return None
    text = line.rstrip("\r\n")
    if text.strip():
        stdout.write(f"you> {text}\n")
    return text


class _DemoPanel:
    """The processor, engine and console delivery of one demo run."""

    def __init__(self, engine, processor: InboundProcessor, worker: DeliveryWorker, resident: str) -> None:
        self.engine = engine
        self.processor = processor
        self.worker = worker
        self.resident = resident

    @classmethod
    async def open(cls, settings: Settings, stdout: TextIO, resident: str) -> _DemoPanel:
        engine = create_engine(settings.database_url)
        await upgrade(engine)
        sessionmaker = create_sessionmaker(engine)
        async with sessionmaker() as session, session.begin():
            await save_survey(session, load_survey_file(sample_survey_path()))
        panel = PanelInfo(
            name=settings.panel_name,
            owner=settings.panel_owner or DEMO_OWNER,
            privacy_url=settings.privacy_url or DEMO_PRIVACY_URL,
            default_locale=settings.default_locale,
            timezone=settings.timezone,
            privacy_version=settings.privacy_version,
            erasure_keeps_answers=settings.erasure_keeps_answers,
        )
        worker = DeliveryWorker(sessionmaker, {Channel.CONSOLE: ConsoleSender(stdout, resident=resident)})
        return cls(engine, InboundProcessor(sessionmaker, Engine(panel)), worker, resident)

    async def say(self, text: str, locale: str | None) -> None:
        inbound = Inbound(
            channel=Channel.CONSOLE,
            address=self.resident,
            message_id=uuid.uuid4().hex,
            kind=InboundKind.TEXT,
            text=text,
        )
        await self.processor.process(inbound, locale=locale)
        await self.worker.drain()

    async def close(self) -> None:
        await self.engine.dispose()
