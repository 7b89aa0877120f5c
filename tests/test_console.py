"""The console channel that the demo prints to."""

from __future__ import annotations

import io

from bot.channels.console import ConsoleSender
from bot.channels.types import Channel, Outbound


async def test_own_message_has_plain_prefix():
    out = io.StringIO()
    await ConsoleSender(out, resident="anna").send(Outbound(Channel.CONSOLE, "anna", "Hoi"))
    assert out.getvalue() == "panel> Hoi\n\n"


async def test_other_resident_named():
    # A moderator's decision on bram's topic, delivered while anna runs the demo.
    out = io.StringIO()
    await ConsoleSender(out, resident="anna").send(Outbound(Channel.CONSOLE, "bram", "Je onderwerp\nis bekeken"))
    prefix = "panel to bram> "
    assert out.getvalue() == f"{prefix}Je onderwerp\n{' ' * len(prefix)}is bekeken\n\n"
