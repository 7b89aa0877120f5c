"""The console channel: the terminal user is a resident (``chatpanel demo`` and tests)."""

from __future__ import annotations

import itertools
from typing import TextIO

from bot.channels.render import render_numbered
from bot.channels.types import Outbound


class ConsoleSender:
    """Prints each message as the panel's turn, with choices as numbered lines.

    With ``resident`` given, a message to another console address (another demo resident,
    such as the one whose topic a moderator decided on) names its recipient in the prefix.
    """

    def __init__(self, out: TextIO, prefix: str = "panel> ", resident: str | None = None) -> None:
        self.out = out
        self.prefix = prefix
        self.resident = resident
        self._ids = itertools.count(1)

    async def send(self, message: Outbound) -> str:
        prefix = self.prefix
        if self.resident is not None and message.address != self.resident:
            prefix = f"{prefix.removesuffix('> ')} to {message.address}> "
        indent = " " * len(prefix)
        lines = render_numbered(message).splitlines() or [""]
        self.out.write(prefix + lines[0] + "\n")
        for line in lines[1:]:
            self.out.write((indent + line).rstrip() + "\n")
        self.out.write("\n")
        self.out.flush()
        return f"console-{next(self._ids)}"

    async def close(self) -> None:
        return None
