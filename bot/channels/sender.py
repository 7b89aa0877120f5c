"""The interface every channel's sender implements."""

from __future__ import annotations

from typing import Protocol

from bot.channels.types import Outbound

# The maximum time one request to a provider may take, connection included. The Twilio
# senders give up after this long, and the delivery worker's lease leaves room for it.
PROVIDER_TIMEOUT_SECONDS = 30.0


class Sender(Protocol):
    async def send(self, message: Outbound) -> str:
        """Send ``message`` and return the provider's message id.

        Raises PermanentDeliveryError or TransientDeliveryError (bot.channels.errors).
        """
        ...

    async def close(self) -> None:
        ...
