"""Writing replies to the outbox, in the caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.turn import Reply
from store.models import OutboxMessage

# A Core insert, built once: it skips the ORM's handling of rows as objects.
_INSERT = insert(OutboxMessage.__table__)


def reply_rows(channel: str, address_id: int, key_prefix: str, replies: Sequence[Reply]) -> list[dict[str, Any]]:
    """Return one outbox row per reply, keyed ``<key_prefix>:<n>`` so a repeat adds nothing."""
    return [
        {
            "key": f"{key_prefix}:{number}",
            "channel": channel,
            "address_id": address_id,
            "ignores_opt_out": reply.ignores_opt_out,
            "text": reply.text,
            "choices": [{"number": c.number, "label": c.label, "payload": c.payload} for c in reply.choices],
            "list_choices": reply.list_choices,
        }
        for number, reply in enumerate(replies)
    ]


async def enqueue_rows(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Add the outbox ``rows`` that reply_rows built, in one statement."""
    if rows:
        await session.execute(_INSERT, rows)
