"""Delivery errors that channel senders raise, by what the delivery worker should do next."""

from __future__ import annotations


class DeliveryError(Exception):
    """Sending failed. ``code`` is the provider's error code or HTTP status as text."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.code = code


class PermanentDeliveryError(DeliveryError):
    """The address cannot receive messages (blocked the bot, chat not found, invalid or
    unsubscribed number): stop sending to it."""


class UndeliverableMessageError(DeliveryError):
    """This message can never be sent (for example free-form WhatsApp text outside the
    24-hour window with no template), but the address itself is fine."""


class TransientDeliveryError(DeliveryError):
    """Try again later: after ``retry_after`` seconds when the provider names a wait."""

    def __init__(self, message: str, *, code: str, retry_after: float | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after
