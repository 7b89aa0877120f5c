"""Topics: suggestions from residents, their moderation, and residents' support.

Every moderator action writes an audit entry in the same transaction, and tells the
resident who suggested the topic what was decided, in their own language.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, union
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.notify import notify_resident
from bot.surveys import survey_model
from store.models import Address, AuditEntry, OutboxMessage, Suggestion, Support, Survey

log = logging.getLogger(__name__)

WEEK = timedelta(days=7)
PENDING, APPROVED, REJECTED, MERGED = "pending", "approved", "rejected", "merged"
STATUSES = (PENDING, APPROVED, REJECTED, MERGED)
TOPIC_NOTICE = "topic"
# A rejection reason goes to the resident inside one message, SMS included.
MAX_REASON_LENGTH = 300
_AUDIT_SUBJECT_LENGTH = AuditEntry.__table__.c.subject.type.length
_AUDIT_ACTOR_LENGTH = AuditEntry.__table__.c.actor.type.length


class TopicError(ValueError):
    """A moderation request that cannot be carried out. The message gives the reason and the fix."""


@dataclass(frozen=True)
class TopicRow:
    suggestion: Suggestion
    supporters: int


def public_title(suggestion: Suggestion) -> str:
    return suggestion.title or suggestion.text


async def recent_suggestion_times(session: AsyncSession, resident_id: int, now: datetime) -> list[datetime]:
    """Return when the resident sent suggestions in the 7 days before ``now``, oldest first."""
    statement = (
        select(Suggestion.created_at)
        .where(Suggestion.resident_id == resident_id, Suggestion.created_at > now - WEEK)
        .order_by(Suggestion.created_at)
    )
    return list((await session.execute(statement)).scalars())


async def submit(
    session: AsyncSession,
    resident_id: int,
    text: str,
    neighbourhood: str | None,
    now: datetime,
    moderator_chat_id: int | None = None,
) -> Suggestion:
    """Store a new suggestion for moderation, and announce it in the moderators' chat."""
    suggestion = Suggestion(resident_id=resident_id, text=text, neighbourhood=neighbourhood, status=PENDING, created_at=now)
    session.add(suggestion)
    await session.flush()
    log.info("suggestion %s submitted", suggestion.id)
    if moderator_chat_id is not None:
        await announce_to_moderators(session, suggestion, moderator_chat_id, now)
    return suggestion


async def announce_to_moderators(session: AsyncSession, suggestion: Suggestion, chat_id: int, now: datetime) -> None:
    """Queue the suggestion, with approve and reject buttons, for the moderators' chat."""
    from bot.moderation_chat import announcement

    address = (
        await session.execute(select(Address).where(Address.channel == "telegram", Address.value == str(chat_id)))
    ).scalar_one_or_none()
    if address is None:
        address = Address(channel="telegram", value=str(chat_id), created_at=now)
        session.add(address)
        await session.flush()
    text, choices = announcement(suggestion)
    session.add(
        OutboxMessage(
            key=announcement_key(suggestion.id),
            kind="moderation",
            channel="telegram",
            address_id=address.id,
            text=text,
            choices=[{"number": c.number, "label": c.label, "payload": c.payload} for c in choices],
            next_attempt_at=now,
            created_at=now,
        )
    )


def announcement_key(suggestion_id: int) -> str:
    """Return the outbox key of a suggestion's announcement in the moderators' chat."""
    return f"moderation:{suggestion_id}"


async def approve(session: AsyncSession, suggestion_id: int, actor: str, now: datetime, title: str | None = None) -> Suggestion:
    suggestion = await _pending(session, suggestion_id)
    suggestion.status = APPROVED
    suggestion.title = title
    suggestion.decided_at = now
    audit(session, actor, "approve", f"suggestion:{suggestion_id}", {"title": title} if title else None, now)
    await _tell_suggester(
        session,
        suggestion,
        "approved",
        lambda t: t.gettext(
            'Good news: your topic "%(topic)s" is now on the panel\'s list. Other residents can support it.',
            topic=_short(public_title(suggestion)),
        ),
        now,
    )
    return suggestion


async def reject(session: AsyncSession, suggestion_id: int, actor: str, reason: str, now: datetime) -> Suggestion:
    reason = " ".join(reason.split())
    if not reason:
        raise TopicError("give a reason with --reason: the resident is told why")
    if len(reason) > MAX_REASON_LENGTH:
        raise TopicError(f"the reason is {len(reason)} characters; keep it to {MAX_REASON_LENGTH}, because residents read it in one message")
    suggestion = await _pending(session, suggestion_id)
    suggestion.status = REJECTED
    suggestion.decision_reason = reason
    suggestion.decided_at = now
    audit(session, actor, "reject", f"suggestion:{suggestion_id}", {"reason": reason}, now)
    await _tell_suggester(
        session,
        suggestion,
        "rejected",
        lambda t: t.gettext(
            'Your topic "%(topic)s" was not added to the panel\'s list. The moderator\'s reason: %(reason)s',
            topic=_short(suggestion.text),
            reason=reason,
        ),
        now,
    )
    return suggestion


async def merge(session: AsyncSession, suggestion_id: int, into_id: int, actor: str, now: datetime) -> Suggestion:
    """Merge a pending suggestion into an approved topic: its suggester and supporters
    count toward that topic from now on."""
    if suggestion_id == into_id:
        raise TopicError("a suggestion cannot be merged into itself")
    suggestion = await _pending(session, suggestion_id)
    target = await session.get(Suggestion, into_id)
    if target is None or target.status != APPROVED:
        raise TopicError(f"topic {into_id} is not an approved topic; see: chatpanel topics list --status approved")
    suggestion.status = MERGED
    suggestion.merged_into_id = into_id
    suggestion.decided_at = now
    audit(session, actor, "merge", f"suggestion:{suggestion_id}", {"into": into_id}, now)
    await _tell_suggester(
        session,
        suggestion,
        "merged",
        lambda t: t.gettext(
            'Your topic "%(topic)s" is much like one already on the panel\'s list: "%(existing)s". '
            "We added your topic to it, so it counts as support.",
            topic=_short(suggestion.text),
            existing=_short(public_title(target)),
        ),
        now,
    )
    return suggestion


async def support(session: AsyncSession, topic_id: int, resident_id: int, now: datetime) -> bool:
    """Record the resident's support; return False if they already supported the topic
    (or suggested it, or a suggestion merged into it)."""
    if resident_id in await followers(session, topic_id):
        return False
    try:
        async with session.begin_nested():
            session.add(Support(suggestion_id=topic_id, resident_id=resident_id, created_at=now))
    except IntegrityError:
        return False
    return True


async def followers(session: AsyncSession, topic_id: int) -> set[int]:
    """Return the residents behind a topic: its suggester, the suggesters of suggestions
    merged into it, and everyone who supported it or a merged suggestion."""
    topic_ids = select(Suggestion.id).where(or_(Suggestion.id == topic_id, Suggestion.merged_into_id == topic_id))
    statement = union(
        select(Suggestion.resident_id).where(Suggestion.id.in_(topic_ids), Suggestion.resident_id.is_not(None)),
        select(Support.resident_id).where(Support.suggestion_id.in_(topic_ids)),
    )
    return set((await session.execute(statement)).scalars())


async def list_topics(session: AsyncSession, status: str | None = None) -> list[TopicRow]:
    """Return suggestions (of one status, or all), the most supported first."""
    statement = select(Suggestion)
    if status is not None:
        statement = statement.where(Suggestion.status == status)
    suggestions = list((await session.execute(statement)).scalars())
    rows = [TopicRow(suggestion, len(await followers(session, suggestion.id))) for suggestion in suggestions]
    return sorted(rows, key=lambda row: (-row.supporters, row.suggestion.id))


async def approved_topics(session: AsyncSession, limit: int) -> list[TopicRow]:
    """Return the most supported approved topics that no survey has been made of yet."""
    return (await list_topics(session, APPROVED))[:limit]


async def link_survey(session: AsyncSession, survey: Survey, topic_id: int, actor: str, now: datetime) -> None:
    """Record that ``survey`` grew from approved topic ``topic_id``; if the survey is open,
    tell the topic's followers now (otherwise the scheduler does when it opens)."""
    topic = await session.get(Suggestion, topic_id)
    if topic is None or topic.status != APPROVED:
        raise TopicError(f"topic {topic_id} is not an approved topic; see: chatpanel topics list --status approved")
    survey.topic_id = topic_id
    audit(session, actor, "survey", f"suggestion:{topic_id}", {"survey": survey.slug}, now)
    if survey.status == "open":
        await tell_topic_followers(session, survey, now)


async def tell_topic_followers(session: AsyncSession, survey: Survey, now: datetime) -> int:
    """Tell everyone behind the survey's topic that the survey is open, once."""
    if survey.topic_id is None or survey.topic_followers_told_at is not None:
        return 0
    survey.topic_followers_told_at = now
    topic = await session.get(Suggestion, survey.topic_id)
    model = survey_model(survey)
    told = 0
    for resident_id in sorted(await followers(session, survey.topic_id)):
        told += await notify_resident(
            session,
            resident_id,
            key=f"topic_survey:{survey.id}:{resident_id}",
            kind=TOPIC_NOTICE,
            render=lambda t: t.gettext(
                'There is now a survey about the topic "%(topic)s" that you support: %(title)s. Send START to take part.',
                topic=_short(public_title(topic)),
                title=model.text(model.title, t.locale),
            ),
            send_at=now,
            now=now,
            survey_id=survey.id,
        )
    log.info("survey %s: %s followers of topic %s told", survey.slug, told, survey.topic_id)
    return told


def audit(session: AsyncSession, actor: str, action: str, subject: str, details: dict | None, now: datetime) -> None:
    """Add an audit log entry. A subject or actor longer than its column (a survey or
    organisation id may be 64 characters) is cut short, and the whole text goes in the
    details."""
    if len(subject) > _AUDIT_SUBJECT_LENGTH:
        details = {**(details or {}), "subject": subject}
        subject = subject[:_AUDIT_SUBJECT_LENGTH]
    if len(actor) > _AUDIT_ACTOR_LENGTH:
        details = {**(details or {}), "actor": actor}
        actor = actor[:_AUDIT_ACTOR_LENGTH]
    session.add(AuditEntry(at=now, actor=actor, action=action, subject=subject, details=details))
    log.info("moderator %s: %s %s", actor, action, subject)


async def audit_log(session: AsyncSession, limit: int = 100) -> list[AuditEntry]:
    statement = select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)
    return list((await session.execute(statement)).scalars())


async def count_supporters(session: AsyncSession, topic_id: int) -> int:
    return len(await followers(session, topic_id))


async def _pending(session: AsyncSession, suggestion_id: int) -> Suggestion:
    suggestion = await session.get(Suggestion, suggestion_id, with_for_update=True)
    if suggestion is None:
        raise TopicError(f"no suggestion with id {suggestion_id}; see: chatpanel topics list")
    if suggestion.status != PENDING:
        raise TopicError(f"suggestion {suggestion_id} is already {suggestion.status}")
    return suggestion


async def _tell_suggester(session: AsyncSession, suggestion: Suggestion, decision: str, render, now: datetime) -> None:
    if suggestion.resident_id is None:
        return
    await notify_resident(
        session,
        suggestion.resident_id,
        key=f"{TOPIC_NOTICE}:{decision}:{suggestion.id}",
        kind=TOPIC_NOTICE,
        render=render,
        send_at=now,
        now=now,
    )


def _short(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."

