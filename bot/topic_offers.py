"""The periodic offer of the panel's approved topics, so residents can support them."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot import topics
from bot.broadcast import outbox_row
from bot.flows import survey_flow
from bot.flows.pending import TOPICS
from bot.flows.prompts import topics_prompt
from bot.i18n import texts
from bot.schedule_policy import SendPolicy
from store.models import Address, Conversation, ScheduledRun

log = logging.getLogger(__name__)


async def offer_topics(session: AsyncSession, policy: SendPolicy, now: datetime, period_key: str, limit: int = 5) -> int | None:
    """Offer the most supported approved topics to every reachable resident, once per
    ``period_key``. Returns the number of messages, or None if this period already ran."""
    try:
        async with session.begin_nested():
            session.add(ScheduledRun(key=period_key, ran_at=now))
    except IntegrityError:
        return None
    rows = await topics.approved_topics(session, limit)
    if not rows:
        return 0
    listed = [[row.suggestion.id, topics.public_title(row.suggestion)] for row in rows]
    statement = (
        select(Address, Conversation)
        .join(Conversation, Conversation.address_id == Address.id)
        .where(
            Address.resident_id.is_not(None),
            Address.opted_out_at.is_(None),
            Address.unreachable_at.is_(None),
            Address.channel.in_(sorted(policy.channels)),
        )
    )
    count = 0
    for address, conversation in (await session.execute(statement)).all():
        t = texts(conversation.locale)
        idle = conversation.flow in (survey_flow.IDLE, survey_flow.OFFER)
        if idle:
            prompt = topics_prompt(t, [title for _, title in listed])
            text, choices = prompt.text, prompt.choices
            conversation.flow, conversation.step, conversation.survey_id = TOPICS, "choose", None
            conversation.context = {"topics": listed}
            conversation.resume = None
        else:
            lines = [t.gettext("These topics are on the panel's list:")]
            lines += [f"- {title}" for _, title in listed]
            lines.append(t.gettext("Send TOPICS when you want to support one."))
            text, choices = "\n".join(lines), ()
        session.add(outbox_row("topics", None, address, conversation.locale, text, choices, policy.send_time(now), None, now))
        count += 1
    log.info("topics offered to %s residents (%s)", count, period_key)
    return count
