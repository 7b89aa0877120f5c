"""A panel driven through the console channel: the real processor, engine and delivery
worker, with a sender that records what it sends instead of printing it."""

from __future__ import annotations

import itertools
import uuid
from pathlib import Path

from bot.channels.render import render_numbered
from bot.channels.types import Channel, Inbound, InboundKind, Outbound
from bot.delivery import DeliveryWorker
from bot.engine import Engine
from bot.flows.loader import load_survey_file
from bot.inbound import InboundProcessor
from bot.surveys import save_survey
from bot.turn import PanelInfo

EXAMPLE_SURVEY = Path(__file__).resolve().parent.parent / "examples" / "surveys" / "groen-in-de-wijk.yaml"
PANEL = PanelInfo(name="Buurtpanel Test", owner="Stichting Test", privacy_url="https://example.org/privacy")


class RecordingSender:
    def __init__(self) -> None:
        self.sent: list[Outbound] = []

    async def send(self, message: Outbound) -> str:
        self.sent.append(message)
        return f"rec-{len(self.sent)}"

    async def close(self) -> None:
        return None


class ConsolePanel:
    """Send messages as console residents and read the replies each one got."""

    def __init__(self, sessionmaker, panel: PanelInfo = PANEL) -> None:
        self.sessionmaker = sessionmaker
        self.sender = RecordingSender()
        self.worker = DeliveryWorker(sessionmaker, {Channel.CONSOLE: self.sender})
        self.processor = InboundProcessor(sessionmaker, Engine(panel))
        self._ids = itertools.count(1)
        # Channel message ids are unique per channel, also across harness instances.
        self._id_prefix = uuid.uuid4().hex[:8]

    async def load_survey(self, path: Path = EXAMPLE_SURVEY):
        async with self.sessionmaker() as session, session.begin():
            return (await save_survey(session, load_survey_file(path))).row

    async def send(
        self,
        text: str,
        *,
        resident: str = "alice",
        kind: InboundKind = InboundKind.TEXT,
        payload: str = "",
        locale: str | None = None,
        message_id: str | None = None,
        channel: Channel = Channel.CONSOLE,
    ) -> list[Outbound]:
        """Send one message and return the messages delivered because of it.

        Messages on other channels than the console are stored in the outbox but not sent.
        """
        before = len(self.sender.sent)
        inbound = Inbound(
            channel=channel,
            address=resident,
            message_id=message_id or f"{self._id_prefix}-{next(self._ids)}",
            kind=kind,
            text=text,
            payload=payload,
        )
        await self.processor.process(inbound, locale=locale)
        await self.worker.drain()
        return self.sender.sent[before:]

    async def say(self, text: str, **kwargs) -> str:
        """Send one message and return the replies rendered as an SMS would show them."""
        replies = await self.send(text, **kwargs)
        return "\n---\n".join(render_numbered(reply) for reply in replies)
