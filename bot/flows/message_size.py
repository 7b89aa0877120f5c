"""How much text one message may hold on each channel, and packing paragraphs into
messages that fit.

SMS counts segments, because every segment is billed: a message may use at most
SMS_MAX_SEGMENTS. Telegram's Bot API takes at most 4096 characters per message, and
Twilio at most 1600 per SMS or WhatsApp body.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.channels.render import split_text
from bot.channels.sms_segments import segment_count
from bot.channels.types import Channel
from bot.turn import Prompt

SMS_MAX_SEGMENTS = 3
TWILIO_MAX_CHARACTERS = 1600
TELEGRAM_MAX_CHARACTERS = 4096
PARAGRAPH_SEPARATOR = "\n\n"

_MAX_CHARACTERS = {
    Channel.SMS.value: TWILIO_MAX_CHARACTERS,
    Channel.WHATSAPP.value: TWILIO_MAX_CHARACTERS,
    Channel.TELEGRAM.value: TELEGRAM_MAX_CHARACTERS,
    Channel.CONSOLE.value: TELEGRAM_MAX_CHARACTERS,
}


def fits(channel: str, text: str) -> bool:
    """Return whether ``text`` can go as one message on ``channel``."""
    if len(text) > _MAX_CHARACTERS.get(channel, TWILIO_MAX_CHARACTERS):
        return False
    if channel == Channel.SMS.value:
        return segment_count(text) <= SMS_MAX_SEGMENTS
    return True


def pack(channel: str, blocks: Sequence[str]) -> list[str]:
    """Join paragraphs with blank lines into as few messages as fit on ``channel``.

    Paragraphs stay whole and in order unless one does not fit alone: that one is cut
    at line breaks or spaces (bot.channels.render.split_text) into parts that fit.
    Returns at least one message, which is empty only when ``blocks`` are.
    """
    messages: list[str] = []
    current = ""
    for piece in _pieces(channel, blocks):
        candidate = f"{current}{PARAGRAPH_SEPARATOR}{piece}" if current else piece
        if fits(channel, candidate):
            current = candidate
            continue
        messages.append(current)
        current = piece
    messages.append(current)
    return messages


def with_prompt_fits(channel: str, text: str, prompt: Prompt) -> bool:
    """Return whether ``text`` and ``prompt`` fit in one message, choices listed as
    numbered lines as channels without buttons show them."""
    rendered = prompt.text
    if prompt.choices and prompt.list_choices:
        rendered += "\n" + "\n".join(f"{choice.number}. {choice.label}" for choice in prompt.choices)
    return fits(channel, f"{text}{PARAGRAPH_SEPARATOR}{rendered}")


def _pieces(channel: str, blocks: Sequence[str]) -> list[str]:
    pieces: list[str] = []
    for block in blocks:
        if not block:
            continue
        if fits(channel, block):
            pieces.append(block)
            continue
        pieces.extend(_split_to_fit(channel, block))
    return pieces


def _split_to_fit(channel: str, block: str) -> list[str]:
    """Cut ``block`` into parts that each fit, trying shorter parts until they do.

    Characters outside GSM-7 shrink an SMS segment from 153 to 67 characters, so the
    length that fits is found by trying rather than computed.
    """
    limit = _MAX_CHARACTERS.get(channel, TWILIO_MAX_CHARACTERS)
    while True:
        parts = split_text(block, limit)
        if limit == 1 or all(fits(channel, part) for part in parts):
            return parts
        limit = max(1, limit * 9 // 10)
