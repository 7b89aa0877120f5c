"""The moderators' Telegram chat: new suggestions with approve and reject buttons."""

from __future__ import annotations

from bot.channels.types import Choice
from bot.i18n import texts
from store.models import Suggestion

APPROVE, REJECT = "approve", "reject"
PAYLOAD_PREFIX = "mod"


def announcement(suggestion: Suggestion, locale: str = "nl") -> tuple[str, tuple[Choice, ...]]:
    """Return the text and buttons that announce ``suggestion`` to the moderators."""
    t = texts(locale)
    lines = [t.gettext("New topic #%(id)s:", id=suggestion.id), suggestion.text]
    if suggestion.neighbourhood:
        lines.append(t.gettext("Neighbourhood: %(name)s", name=suggestion.neighbourhood))
    choices = (
        Choice(1, t.gettext("Approve"), f"{PAYLOAD_PREFIX}:{APPROVE}:{suggestion.id}"),
        Choice(2, t.gettext("Reject"), f"{PAYLOAD_PREFIX}:{REJECT}:{suggestion.id}"),
    )
    return "\n".join(lines), choices
