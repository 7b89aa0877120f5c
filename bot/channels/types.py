"""Channel-neutral message types shared by the engine and every channel."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Channel(StrEnum):
    CONSOLE = "console"
    TELEGRAM = "telegram"
    SMS = "sms"
    WHATSAPP = "whatsapp"


class InboundKind(StrEnum):
    TEXT = "text"
    # A pressed button: ``payload`` is the button's callback data.
    CHOICE = "choice"
    # A sticker, photo, voice message, location, MMS with an empty body and the like.
    NON_TEXT = "non_text"


@dataclass(frozen=True)
class Inbound:
    """One authenticated message from a resident, as a channel parsed it.

    ``message_id`` is the channel's own id (Telegram update_id, Twilio MessageSid); the
    engine claims it once. ``address`` is the chat id (Telegram) or the E.164 phone number.
    """

    channel: Channel
    address: str
    message_id: str
    kind: InboundKind
    text: str = ""
    payload: str = ""
    # The language the client reports, if any (Telegram ``language_code``), as a hint only.
    locale_hint: str | None = None


@dataclass(frozen=True)
class Choice:
    """An answer option offered with a message.

    ``label`` is shown to the resident; ``payload`` comes back in an ``Inbound`` of kind
    CHOICE when a button is pressed and must fit Telegram's 64-byte callback data.
    ``number`` is what a resident types on channels without buttons.
    """

    number: int
    label: str
    payload: str


@dataclass(frozen=True)
class Outbound:
    """One message to send to one address. Channels render ``choices`` as they can:
    inline buttons on Telegram, numbered lines on SMS and the console."""

    channel: Channel
    address: str
    text: str
    choices: tuple[Choice, ...] = field(default=())
    # False when the text already says how to answer (a scale from 1 to 5): channels
    # without buttons then leave the choices out instead of listing them.
    list_choices: bool = True
    # The resident's language, for choosing a WhatsApp template.
    locale: str | None = None
    # Values for the WhatsApp invitation template ({"1": title, "2": organisation}); None
    # for a message that can only go as free-form text.
    template_variables: Mapping[str, str] | None = None
    # When the resident last wrote on this address (WhatsApp's 24-hour window).
    last_inbound_at: datetime | None = None
