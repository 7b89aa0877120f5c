"""Messages to one resident that no inbound message caused: decisions on their topic,
news about a topic they follow, survey results and outcomes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.types import Choice
from bot.i18n import Texts, texts
from store.models import Address, Conversation, OutboxMessage


async def reachable_address(session: AsyncSession, resident_id: int) -> tuple[Address, str] | None:
    """Return the address the resident last wrote from and its conversation's locale,
    leaving out addresses that opted out or cannot be reached."""
    statement = (
        select(Address, Conversation.locale)
        .join(Conversation, Conversation.address_id == Address.id)
        .where(Address.resident_id == resident_id, Address.opted_out_at.is_(None), Address.unreachable_at.is_(None))
        .order_by(Address.last_inbound_at.desc().nulls_last(), Address.id.desc())
        .limit(1)
    )
    found = (await session.execute(statement)).first()
    return (found[0], found[1]) if found else None


async def notify_resident(
    session: AsyncSession,
    resident_id: int,
    *,
    key: str,
    kind: str,
    render: Callable[[Texts], str | Sequence[str]],
    send_at: datetime,
    now: datetime,
    survey_id: int | None = None,
    choices: Callable[[Texts], tuple[Choice, ...]] | None = None,
) -> int:
    """Queue ``render``'s text(s) in the resident's language; return the number of messages.

    Several texts become several messages keyed ``<key>:<n>``. Nothing is queued for a
    resident without a reachable address. An existing key is left as it is, so calling
    this twice for the same event queues the message once.
    """
    found = await reachable_address(session, resident_id)
    if found is None:
        return 0
    address, locale = found
    t = texts(locale)
    rendered = render(t)
    parts = [rendered] if isinstance(rendered, str) else list(rendered)
    keys = [key if len(parts) == 1 else f"{key}:{number}" for number, _ in enumerate(parts)]
    existing = set((await session.execute(select(OutboxMessage.key).where(OutboxMessage.key.in_(keys)))).scalars())
    buttons = choices(t) if choices is not None else ()
    queued = 0
    for number, (part_key, text) in enumerate(zip(keys, parts)):
        if part_key in existing:
            continue
        last = number == len(parts) - 1
        session.add(
            OutboxMessage(
                key=part_key,
                kind=kind,
                survey_id=survey_id,
                channel=address.channel,
                address_id=address.id,
                text=text,
                choices=[{"number": c.number, "label": c.label, "payload": c.payload} for c in buttons] if last else [],
                locale=locale,
                next_attempt_at=send_at,
                created_at=now,
            )
        )
        queued += 1
    return queued
