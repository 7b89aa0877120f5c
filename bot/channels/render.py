"""Plain-text rendering for channels without buttons, and splitting of long texts."""

from __future__ import annotations

from bot.channels.types import Outbound

# Split points in order of preference: a line break, then a space.
_SEPARATORS = ("\n", " ")


def render_numbered(message: Outbound) -> str:
    """Render ``message`` as its text followed by one "1. Label" line per choice.

    The choices are left out when ``message.list_choices`` is false, because the text
    then already explains how to answer.
    """
    if not message.choices or not message.list_choices:
        return message.text

    lines = [f"{choice.number}. {choice.label}" for choice in message.choices]
    if message.text:
        lines.insert(0, message.text)
    return "\n".join(lines)


def split_text(text: str, limit: int) -> list[str]:
    """Split ``text`` into parts of at most ``limit`` characters.

    Each cut is made at the last line break that fits, else at the last space that
    fits, else exactly at ``limit``. The line break or space at a cut is dropped, and
    all other characters are kept in order. A text that fits, including the empty
    text, comes back as a single part.
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")

    parts: list[str] = []
    rest = text
    while len(rest) > limit:
        end, separator_length = _find_cut(rest, limit)
        parts.append(rest[:end])
        rest = rest[end + separator_length :]

    if rest or not parts:
        parts.append(rest)
    return parts


def _find_cut(text: str, limit: int) -> tuple[int, int]:
    """Return the end of the next part and the length of the separator after it."""
    for separator in _SEPARATORS:
        # The separator itself may sit at index ``limit``, just past the part.
        position = text.rfind(separator, 0, limit + 1)
        # A separator at index 0 would leave an empty part, so try the next kind.
        if position > 0:
            return position, len(separator)
    return limit, 0
