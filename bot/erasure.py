"""Erasing a resident's data (the GDPR's right to erasure), from the chat or the command line.

``erase`` removes the resident row, with its pseudonym, profile and consent. It removes
every address of the resident with its conversation, outbox rows and claimed inbound
message ids. It removes the resident's supports, the moderator prompts about their
suggestions, and their suggestions that are not approved, with the announcements of
those to the moderators. Approved suggestions are the panel's topics: they stay, without
the link to the resident.

Answers depend on ``keeps_answers``. When true, each response stays as an anonymous
response: no resident, no channel, and its times and its answers' times rounded down to
midnight in the panel's time zone, so they cannot be matched with the times of messages.
Free-text answers are deleted even then, because a resident's own words can identify
them. When false, every response and answer of the resident is deleted.

An erasure from the chat keeps one address row, marked erased and linked to no one, until
the confirmation has been sent to it; ``drop_sent_confirmation`` then deletes both.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, delete, exists, func, inspect, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.flows.model import QuestionType
from bot.surveys import survey_model
from bot.topics import APPROVED, announcement_key
from store.models import (
    Address,
    Answer,
    Conversation,
    InboundMessage,
    ModeratorPrompt,
    OutboxMessage,
    Resident,
    Response,
    Suggestion,
    Support,
    Survey,
)

# Outbox statuses of messages still to be sent (bot.delivery.UNSENT).
_UNSENT = ("queued", "sending")
# How long an erased address waits for its confirmation to be sent before the daily
# retention job deletes it anyway (bot.retention).
CONFIRMATION_GRACE = timedelta(days=1)


@dataclass
class ErasureCounts:
    """Rows erased per kind, or for a dry run the rows that would be."""

    residents: int = 0
    addresses: int = 0
    conversations: int = 0
    outbox_messages: int = 0
    inbound_messages: int = 0
    supports: int = 0
    suggestions_deleted: int = 0
    moderator_prompts: int = 0
    responses_deleted: int = 0
    answers_deleted: int = 0
    # Changed rather than removed: approved topics kept without the resident, and
    # responses kept as anonymous responses.
    topics_unlinked: int = 0
    responses_anonymised: int = 0

    @property
    def rows_removed(self) -> int:
        changed_only = {"topics_unlinked", "responses_anonymised"}
        return sum(getattr(self, field.name) for field in fields(self) if field.name not in changed_only)

    def __add__(self, other: ErasureCounts) -> ErasureCounts:
        return ErasureCounts(**{field.name: getattr(self, field.name) + getattr(other, field.name) for field in fields(self)})


@dataclass(frozen=True)
class ErasureTarget:
    """The scope of one erasure: a resident (None for an address that never joined) and
    every address of theirs."""

    resident_id: int | None
    address_ids: tuple[int, ...]


async def target_of(session: AsyncSession, address: Address) -> ErasureTarget:
    """Return the erasure target for ``address``: its resident with all their addresses,
    or the address alone when it belongs to no resident."""
    if address.resident_id is None:
        return ErasureTarget(None, (address.id,))
    statement = select(Address.id).where(Address.resident_id == address.resident_id).order_by(Address.id)
    return ErasureTarget(address.resident_id, tuple((await session.execute(statement)).scalars()))


async def erase(
    session: AsyncSession,
    target: ErasureTarget,
    *,
    now: datetime,
    zone: ZoneInfo,
    keeps_answers: bool,
    keep_address_id: int | None = None,
    dry_run: bool = False,
) -> ErasureCounts:
    """Erase ``target`` in the caller's transaction and return what was removed.

    ``keep_address_id`` names the address that still gets the confirmation: it stays,
    linked to no one and marked erased, and counts as removed. With ``dry_run`` nothing
    changes, and the counts are those an erasure would remove now.
    """
    counts = ErasureCounts()
    address_ids = list(target.address_ids)
    if not dry_run:
        # The inbound path locks an address before it handles a message from it (PostgreSQL).
        await session.execute(select(Address.id).where(Address.id.in_(address_ids)).with_for_update())
    if target.resident_id is not None:
        await _erase_responses(session, target.resident_id, counts, zone, keeps_answers, dry_run)
        await _erase_topics(session, target.resident_id, counts, dry_run)

    counts.outbox_messages += await _remove(session, OutboxMessage, OutboxMessage.address_id.in_(address_ids), dry_run)
    counts.inbound_messages = await _remove(session, InboundMessage, InboundMessage.address_id.in_(address_ids), dry_run)
    counts.conversations = await _remove(session, Conversation, Conversation.address_id.in_(address_ids), dry_run)
    removed = [address_id for address_id in address_ids if address_id != keep_address_id]
    if removed:
        counts.addresses = await _remove(session, Address, Address.id.in_(removed), dry_run)
    if keep_address_id is not None:
        counts.addresses += 1
        if not dry_run:
            await _mark_erased(session, keep_address_id, now)

    if target.resident_id is not None:
        counts.residents = await _remove(session, Resident, Resident.id == target.resident_id, dry_run)
    return counts


async def drop_sent_confirmation(session: AsyncSession, row: OutboxMessage) -> bool:
    """Delete ``row`` if it went to an erased address, and the address too once no other
    message waits for it. Return whether ``row`` was deleted.

    The delivery worker calls this when ``row`` reaches a final status, so the erasure
    confirmation keeps the phone number or chat id only while it is being sent.
    """
    address = await session.get(Address, row.address_id)
    if address is None or address.erased_at is None:
        return False
    await session.execute(delete(OutboxMessage).where(OutboxMessage.id == row.id).execution_options(synchronize_session="fetch"))
    waiting = await session.scalar(
        select(func.count()).select_from(OutboxMessage).where(OutboxMessage.address_id == address.id, OutboxMessage.status.in_(_UNSENT))
    )
    if not waiting:
        await _remove(session, Address, Address.id == address.id, dry_run=False)
    return True


async def purge_erased_addresses(session: AsyncSession, now: datetime, *, dry_run: bool = False) -> int:
    """Delete erased addresses that no message waits for any more, or that waited longer
    than CONFIRMATION_GRACE, and return how many."""
    waiting = exists().where(OutboxMessage.address_id == Address.id, OutboxMessage.status.in_(_UNSENT))
    condition = Address.erased_at.is_not(None) & (~waiting | (Address.erased_at < now - CONFIRMATION_GRACE))
    return await _remove(session, Address, condition, dry_run)


def start_of_day(moment: datetime, zone: ZoneInfo) -> datetime:
    """Return midnight (in UTC) of the day that ``moment`` falls on in ``zone``."""
    local_day = moment.astimezone(zone).date()
    return datetime.combine(local_day, time(0), tzinfo=zone).astimezone(timezone.utc)


async def _erase_responses(
    session: AsyncSession, resident_id: int, counts: ErasureCounts, zone: ZoneInfo, keeps_answers: bool, dry_run: bool
) -> None:
    responses = list((await session.execute(select(Response).where(Response.resident_id == resident_id))).scalars())
    if not responses:
        return
    response_ids = [response.id for response in responses]
    if not keeps_answers:
        counts.answers_deleted = await _remove(session, Answer, Answer.response_id.in_(response_ids), dry_run)
        counts.responses_deleted = await _remove(session, Response, Response.id.in_(response_ids), dry_run)
        return

    free_text = await _free_text_questions(session, {response.survey_id for response in responses})
    survey_of_response = {response.id: response.survey_id for response in responses}
    answers = list((await session.execute(select(Answer).where(Answer.response_id.in_(response_ids)))).scalars())
    typed = [answer for answer in answers if answer.question_id in free_text[survey_of_response[answer.response_id]]]
    counts.answers_deleted = len(typed)
    counts.responses_anonymised = len(responses)
    if dry_run:
        return
    for answer in answers:
        if answer in typed:
            await session.delete(answer)
        else:
            answer.answered_at = start_of_day(answer.answered_at, zone)
    for response in responses:
        response.resident_id = None
        response.channel = None
        response.started_at = start_of_day(response.started_at, zone)
        if response.completed_at is not None:
            response.completed_at = start_of_day(response.completed_at, zone)
    await session.flush()


async def _free_text_questions(session: AsyncSession, survey_ids: set[int]) -> dict[int, set[str]]:
    """Return the ids of the free-text questions of each survey."""
    questions: dict[int, set[str]] = {}
    for row in (await session.execute(select(Survey).where(Survey.id.in_(survey_ids)))).scalars():
        questions[row.id] = {question.id for question in survey_model(row).questions if question.type is QuestionType.TEXT}
    return questions


async def _erase_topics(session: AsyncSession, resident_id: int, counts: ErasureCounts, dry_run: bool) -> None:
    counts.supports = await _remove(session, Support, Support.resident_id == resident_id, dry_run)
    suggestions = (await session.execute(select(Suggestion.id, Suggestion.status).where(Suggestion.resident_id == resident_id))).all()
    if not suggestions:
        return
    all_ids = [suggestion_id for suggestion_id, _ in suggestions]
    approved = [suggestion_id for suggestion_id, status in suggestions if status == APPROVED]
    others = [suggestion_id for suggestion_id, status in suggestions if status != APPROVED]
    counts.moderator_prompts = await _remove(session, ModeratorPrompt, ModeratorPrompt.suggestion_id.in_(all_ids), dry_run)
    announcements = [announcement_key(suggestion_id) for suggestion_id in all_ids]
    counts.outbox_messages += await _remove(session, OutboxMessage, OutboxMessage.key.in_(announcements), dry_run)
    if others:
        counts.suggestions_deleted = await _remove(session, Suggestion, Suggestion.id.in_(others), dry_run)
    counts.topics_unlinked = len(approved)
    if approved and not dry_run:
        statement = update(Suggestion).where(Suggestion.id.in_(approved)).values(resident_id=None)
        await session.execute(statement.execution_options(synchronize_session="fetch"))


async def _mark_erased(session: AsyncSession, address_id: int, now: datetime) -> None:
    """Unlink the address that gets the confirmation and mark it erased."""
    address = await session.get(Address, address_id)
    address.resident_id = None
    address.erased_at = now
    address.opted_out_at = None
    address.unreachable_at = None
    address.unreachable_code = None
    # Deleting the resident would otherwise delete this address with it (ON DELETE CASCADE).
    await session.flush()


async def _remove(session: AsyncSession, model: type, condition: ColumnElement[bool], dry_run: bool) -> int:
    """Delete the rows of ``model`` that match ``condition`` and return how many; with
    ``dry_run``, only count them."""
    if dry_run:
        key = inspect(model).primary_key[0]
        return await session.scalar(select(func.count(key)).where(condition)) or 0
    result = await session.execute(delete(model).where(condition).execution_options(synchronize_session="fetch"))
    return result.rowcount
