"""The interface every channel's sender implements."""

from __future__ import annotations

from typing import Protocol

from bot.channels.types import Outbound


class Sender(Protocol):
    async def send(self, message: Outbound) -> str:
        """Send ``message`` and return the provider's message id.

        Raises PermanentDeliveryError or TransientDeliveryError (bot.channels.errors).
        """
        ...

    async def close(self) -> None:
        ...
