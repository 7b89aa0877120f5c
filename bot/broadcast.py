"""Messages the scheduler starts: invitations, reminders and closing notes.

Every step is a compare-and-set on the survey row in the same transaction as the outbox
rows it writes, so two schedulers, or a scheduler restarted halfway, never write the same
message twice. Invitations go in batches of residents by ascending id; the survey's
``invite_cursor`` records the last resident id done.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, String, and_, cast, exists, func, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import topics
from bot.flows import onboarding, survey_flow
from bot.flows.consent import is_older
from bot.channels.types import Channel, Choice
from bot.flows.prompts import make_choices, question_prompt, yes_no_labels
from bot.i18n import texts
from bot.schedule_policy import SendPolicy
from bot.segments import Segment
from bot.summaries import enqueue_summaries
from bot.surveys import survey_model
from store.models import Address, Conversation, OutboxMessage, Resident, Response, Survey
from store.queries import id_in

log = logging.getLogger(__name__)

INVITATION, REMINDER, CLOSING = "invitation", "reminder", "closing"
DEFAULT_BATCH_SIZE = 5000
# Flows in which a conversation waits for no answer, so an invitation may move it on.
_IDLE_FLOWS = (survey_flow.IDLE, survey_flow.OFFER)
_WHATSAPP = Channel.WHATSAPP.value


class Recipient(NamedTuple):
    """A resident's address to invite. A named tuple, because a broadcast makes one per
    resident and a tuple is the cheapest to build from a row."""

    resident_id: int
    address_id: int
    channel: str
    locale: str
    flow: str
    last_inbound_at: datetime | None
    consent_version: str


async def open_due(session: AsyncSession, survey_pk: int, now: datetime) -> bool:
    """Move a scheduled survey to open. Return False if another process did it first."""
    result = await session.execute(
        update(Survey)
        .where(Survey.id == survey_pk, Survey.status == "scheduled")
        .values(status="open", opened_at=now)
    )
    if result.rowcount != 1:
        return False
    row = await session.get(Survey, survey_pk)
    await session.refresh(row)
    await topics.tell_topic_followers(session, row, now)
    return True


async def enqueue_invitation_batch(
    sessionmaker: async_sessionmaker[AsyncSession],
    survey_pk: int,
    policy: SendPolicy,
    now: datetime,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> int | None:
    """Enqueue invitations for the next batch of residents.

    Returns the number of invitations written, or None when the survey's invitations are
    complete, it is not open, or another process took this batch.
    """
    async with sessionmaker() as session, session.begin():
        row = await session.get(Survey, survey_pk)
        if row is None or row.status != "open" or row.invitations_done_at is not None:
            return None
        cursor = row.invite_cursor
        resident_ids = list(
            (await session.execute(select(Resident.id).where(Resident.id > cursor).order_by(Resident.id).limit(batch_size))).scalars()
        )
        new_cursor = resident_ids[-1] if resident_ids else cursor
        done = len(resident_ids) < batch_size
        claimed = await session.execute(
            update(Survey)
            .where(Survey.id == survey_pk, Survey.invite_cursor == cursor, Survey.invitations_done_at.is_(None))
            .values(invite_cursor=new_cursor, invitations_done_at=now if done else None)
        )
        if claimed.rowcount != 1:
            return None
        if not resident_ids:
            log.info("survey %s: all invitations enqueued", row.slug)
            return 0
        # The batch is every resident id in (cursor, new_cursor], so it is queried as that range.
        batch = (cursor, new_cursor)
        recipients = await _recipients(session, row, batch, policy)
        await _write_invitations(session, row, batch, recipients, policy, now)
        if done:
            log.info("survey %s: all invitations enqueued", row.slug)
        return len(recipients)


async def enqueue_all_invitations(
    sessionmaker: async_sessionmaker[AsyncSession],
    survey_pk: int,
    policy: SendPolicy,
    now: datetime,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    on_batch: Callable[[int], None] | None = None,
) -> int:
    """Enqueue every remaining invitation of an open survey; return how many were written."""
    total = 0
    while True:
        written = await enqueue_invitation_batch(sessionmaker, survey_pk, policy, now, batch_size)
        if written is None:
            return total
        total += written
        if on_batch is not None:
            on_batch(written)


async def count_recipients(session: AsyncSession, row: Survey, policy: SendPolicy) -> dict[str, int]:
    """Count the residents an invitation would reach now, per channel (for a dry run)."""
    statement = _recipient_statement(row, policy)
    channels = _invited_channels(row, policy)
    counts: dict[str, int] = {}
    seen: set[int] = set()
    for found in (await session.execute(statement)).all():
        recipient = Recipient._make(found)
        if not _invitable(recipient, channels, seen, policy):
            continue
        seen.add(recipient.resident_id)
        counts[recipient.channel] = counts.get(recipient.channel, 0) + 1
    return counts


@dataclass(frozen=True)
class Invitation:
    text: str
    choices: tuple[Choice, ...]
    list_choices: bool
    # The WhatsApp template variables: the survey title and the organisation that asks.
    variables: dict[str, str]


def build_invitation(row: Survey, locale: str, *, with_first_question: bool) -> Invitation:
    """Return the invitation in ``locale``: the survey's first question, so the resident can
    answer at once, or a short "do you want to take part?" with Yes and No buttons."""
    survey = survey_model(row)
    t = texts(locale)
    title = survey.text(survey.title, locale)
    organisation = survey.text(survey.requested_by, locale)
    header = [
        t.gettext("New survey: %(title)s", title=title),
        t.gettext("These questions come from %(organisation)s.", organisation=organisation),
        "",
        survey.text(survey.intro, locale),
        "",
    ]
    variables = {"1": title, "2": organisation}
    if with_first_question:
        prompt = question_prompt(t, survey, row.id, survey.questions[0])
        return Invitation("\n".join([*header, prompt.text]), prompt.choices, prompt.list_choices, variables)
    choices = make_choices(f"offer:{row.id}", yes_no_labels(t))
    return Invitation("\n".join([*header, t.gettext("Do you want to take part?")]), choices, True, variables)


def starts_with_question(recipient: Recipient) -> bool:
    """Return whether the invitation can be the first question itself.

    Only an idle conversation can move to the survey's first question. On WhatsApp the
    invitation may have to go as the approved template, which has only the short text.
    """
    return recipient.flow in _IDLE_FLOWS and recipient.channel != _WHATSAPP


async def send_reminders(session: AsyncSession, row: Survey, policy: SendPolicy, now: datetime) -> int | None:
    """Remind invited residents once: those who did not start and those who stopped
    halfway. Returns the number of reminders, or None if another process sent them."""
    claimed = await session.execute(
        update(Survey).where(Survey.id == row.id, Survey.status == "open", Survey.reminders_done_at.is_(None)).values(reminders_done_at=now)
    )
    if claimed.rowcount != 1:
        return None
    survey = survey_model(row)
    invited = (
        select(OutboxMessage.address_id)
        .where(OutboxMessage.survey_id == row.id, OutboxMessage.kind == INVITATION, OutboxMessage.status == "sent")
        .scalar_subquery()
    )
    statement = (
        select(Address, Conversation, Response)
        .join(Conversation, Conversation.address_id == Address.id)
        .outerjoin(Response, and_(Response.resident_id == Address.resident_id, Response.survey_id == row.id))
        .where(Address.id.in_(invited), Address.opted_out_at.is_(None), Address.unreachable_at.is_(None), Response.completed_at.is_(None))
    )
    count = 0
    for address, conversation, response in (await session.execute(statement)).all():
        t = texts(conversation.locale)
        title = survey.text(survey.title, conversation.locale)
        list_choices = True
        if response is None and conversation.flow == survey_flow.FLOW and conversation.survey_id == row.id:
            # The invitation was the first question: ask it again.
            prompt = question_prompt(t, survey, row.id, survey.question(conversation.step))
            text = "\n".join([t.gettext("Reminder: %(title)s is still open.", title=title), "", prompt.text])
            choices, list_choices = prompt.choices, prompt.list_choices
        elif response is None:
            text = "\n".join([t.gettext("Reminder: %(title)s is still open.", title=title), t.gettext("Do you want to take part?")])
            choices = make_choices(f"offer:{row.id}", yes_no_labels(t))
            if conversation.flow in (survey_flow.IDLE, survey_flow.OFFER):
                _set_offer(conversation, row.id, now)
        else:
            text = t.gettext("You have not finished %(title)s yet. Send START to carry on where you stopped.", title=title)
            choices = ()
        variables = {"1": title, "2": survey.text(survey.requested_by, conversation.locale)}
        session.add(
            outbox_row(REMINDER, row.id, address, conversation.locale, text, choices, policy.send_time(now), variables, now, list_choices)
        )
        count += 1
    log.info("survey %s: %s reminders enqueued", row.slug, count)
    return count


async def close_survey(
    session: AsyncSession, survey_pk: int, policy: SendPolicy, now: datetime, *, min_group_size: int = 10
) -> int | None:
    """Close an open or scheduled survey, end its conversations politely, and queue the
    summary of its results for everyone who answered (bot.summaries).

    Returns the number of closing notes, or None if the survey was not open or another
    process closed it. ``min_group_size`` is the smallest group whose results are shown.
    """
    claimed = await session.execute(
        update(Survey)
        .where(Survey.id == survey_pk, Survey.status.in_(("open", "scheduled")))
        .values(status="closed", closed_at=now)
    )
    if claimed.rowcount != 1:
        return None
    row = await session.get(Survey, survey_pk)
    survey = survey_model(row)
    # Only residents who started get a note; an invitation nobody answered ends quietly.
    statement = (
        select(Address, Conversation)
        .join(Conversation, Conversation.address_id == Address.id)
        .join(Response, and_(Response.resident_id == Address.resident_id, Response.survey_id == survey_pk))
        .where(
            Conversation.survey_id == survey_pk,
            Conversation.flow == survey_flow.FLOW,
            Address.opted_out_at.is_(None),
            Response.completed_at.is_(None),
        )
    )
    count = 0
    for address, conversation in (await session.execute(statement)).all():
        t = texts(conversation.locale)
        title = survey.text(survey.title, conversation.locale)
        text = t.gettext("%(title)s has closed. Thank you for your answers so far!", title=title)
        session.add(outbox_row(CLOSING, survey_pk, address, conversation.locale, text, (), policy.send_time(now), None, now))
        count += 1
    await session.execute(
        update(Conversation)
        .where(Conversation.survey_id == survey_pk, Conversation.flow.in_((survey_flow.FLOW, survey_flow.OFFER)))
        .values(flow=survey_flow.IDLE, step=None, survey_id=None, misses=0, updated_at=now)
    )
    summaries = await enqueue_summaries(session, row, now, policy.send_time(now), min_group_size)
    log.info("survey %s closed; %s closing notes and %s result summaries enqueued", row.slug, count, summaries)
    return count


def _recipient_statement(row: Survey, policy: SendPolicy, batch: tuple[int, int] | None = None):
    """Select the addresses of the survey's segment, each resident's most recent first,
    of the residents with ids in ``batch`` (exclusive, inclusive) or of all residents.

    The caller keeps only addresses on _invited_channels. With the channels filtered in
    SQL, SQLite (which has no statistics) reads every address of those channels through
    the (channel, value) index instead of the batch's residents by primary key. Each
    batch would then take as long as the whole panel is large. The batch's range is given
    on both residents and addresses, so PostgreSQL too reads only the batch's addresses.
    """
    segment = dataclasses.replace(Segment.from_json(row.segment), channels=frozenset())
    responded = exists().where(Response.survey_id == row.id, Response.resident_id == Resident.id)
    statement = (
        select(
            Resident.id.label("resident_id"),
            Address.id.label("address_id"),
            Address.channel,
            Conversation.locale,
            Conversation.flow,
            Address.last_inbound_at,
            Resident.consent_version,
        )
        .join(Address, Address.resident_id == Resident.id)
        .join(Conversation, Conversation.address_id == Address.id)
        .where(Address.opted_out_at.is_(None), Address.unreachable_at.is_(None), ~responded, *segment.conditions())
        .order_by(Resident.id, Address.last_inbound_at.desc().nulls_last(), Address.id.desc())
    )
    if batch is not None:
        first, last = batch
        statement = statement.where(
            Resident.id > first, Resident.id <= last, Address.resident_id > first, Address.resident_id <= last
        )
    return statement


async def _recipients(session: AsyncSession, row: Survey, batch: tuple[int, int], policy: SendPolicy) -> list[Recipient]:
    """Return one address per resident: the one the resident wrote from most recently."""
    channels = _invited_channels(row, policy)
    recipients: list[Recipient] = []
    seen: set[int] = set()
    for found in (await session.execute(_recipient_statement(row, policy, batch))).all():
        # The statement selects Recipient's fields in their order.
        recipient = Recipient._make(found)
        if not _invitable(recipient, channels, seen, policy):
            continue
        seen.add(recipient.resident_id)
        recipients.append(recipient)
    return recipients


def _invitable(recipient: Recipient, channels: frozenset[str], seen: set[int], policy: SendPolicy) -> bool:
    """Return whether ``recipient`` gets the invitation: an address on an invited channel,
    the first one found of its resident, who agreed to the current privacy statement and
    is not still answering the sign-up questions. There a "1" picks a language, not "Yes",
    and signing up ends with the newest open survey anyway (bot.flows.onboarding)."""
    return (
        recipient.channel in channels
        and recipient.resident_id not in seen
        and _agreed(recipient, policy)
        and recipient.flow != onboarding.FLOW
    )


def _agreed(recipient: Recipient, policy: SendPolicy) -> bool:
    """Return whether the resident agreed to the current privacy statement. Those who did
    not are asked again when they next write, and miss the invitations that are enqueued
    before they agree. Agreeing with no question pending offers them the newest open
    survey instead (bot.flows.consent)."""
    return not is_older(recipient.consent_version, policy.privacy_version)


def _invited_channels(row: Survey, policy: SendPolicy) -> frozenset[str]:
    """Return the channels the survey invites on: its own, or all configured ones, and
    only those of its segment when the segment names channels."""
    channels = frozenset(row.channels or policy.channels)
    segment = Segment.from_json(row.segment)
    return channels & segment.channels if segment.channels else channels


async def _write_invitations(
    session: AsyncSession, row: Survey, batch: tuple[int, int], recipients: list[Recipient], policy: SendPolicy, now: datetime
) -> None:
    """Write one invitation per recipient and move idle conversations to the survey.

    Recipients who get the same invitation at the same time are written by one
    INSERT ... SELECT, so the database and not Python copies each address into its row.
    Within a batch the rows go in group by group, each group in resident order.
    """
    if not recipients:
        return
    recent = await _recent_invitations(session, batch, now)
    # Most residents had no invitation in the last 7 days, and those all get the same time.
    first_send_at = policy.invitation_time(now, ())
    groups: dict[tuple[str, bool, datetime], list[int]] = {}
    idle: list[tuple[int, bool]] = []
    for recipient in recipients:
        starts = starts_with_question(recipient)
        earlier = recent.get(recipient.resident_id)
        send_at = policy.invitation_time(now, earlier) if earlier else first_send_at
        groups.setdefault((recipient.locale, starts, send_at), []).append(recipient.address_id)
        if recipient.flow in _IDLE_FLOWS:
            idle.append((recipient.address_id, starts))
    rendered: dict[tuple[str, bool], Invitation] = {}
    for (locale, starts, send_at), address_ids in groups.items():
        if (locale, starts) not in rendered:
            rendered[(locale, starts)] = build_invitation(row, locale, with_first_question=starts)
        await session.execute(
            _invitation_insert(row.id, rendered[(locale, starts)], locale, send_at, now, id_in(session, Address.id, address_ids))
        )

    first_question = survey_model(row).questions[0].id
    for starts, flow, step in ((True, survey_flow.FLOW, first_question), (False, survey_flow.OFFER, None)):
        addresses = [address_id for address_id, starts_here in idle if starts_here == starts]
        if addresses:
            # This session contains none of these conversations, so none of its objects need
            # an update. Synchronising them would fetch the id of every updated row back.
            await session.execute(
                update(Conversation)
                .where(id_in(session, Conversation.address_id, addresses), Conversation.flow.in_((survey_flow.IDLE, survey_flow.OFFER)))
                .values(flow=flow, step=step, survey_id=row.id, misses=0, updated_at=now)
                .execution_options(synchronize_session=False)
            )


def _invitation_insert(
    survey_pk: int, invitation: Invitation, locale: str, send_at: datetime, now: datetime, addresses: ColumnElement[bool]
):
    """Return an INSERT ... SELECT of ``invitation`` to each of the ``addresses`` (a
    condition on Address), in resident order, with the column values of _outbox_values."""
    table = OutboxMessage.__table__
    values = _outbox_values(
        INVITATION, survey_pk, 0, "", locale, invitation.text, invitation.choices, send_at, invitation.variables, now,
        list_choices=invitation.list_choices,
    )
    per_address = {
        "key": literal(_outbox_key(INVITATION, survey_pk, "")) + cast(Address.id, String),
        "channel": Address.channel,
        "address_id": Address.id,
    }
    same_for_all = {name: literal(value, table.c[name].type) for name, value in values.items() if name not in per_address}
    columns = {**per_address, **same_for_all}
    source = (
        select(*(expression.label(name) for name, expression in columns.items()))
        .where(addresses)
        .order_by(Address.resident_id)
    )
    return table.insert().from_select(list(columns), source)


async def _recent_invitations(session: AsyncSession, batch: tuple[int, int], now: datetime) -> dict[int, list[datetime]]:
    """Return the invitation send times of the last 7 days (and later ones) of each
    resident with an id in ``batch`` (exclusive, inclusive), on any of their addresses.

    The outbox is queried by its address_id index with the batch's address ids. Joined
    to the addresses instead, PostgreSQL may scan the whole outbox or all addresses for
    each batch, while the outbox grows faster than autovacuum updates its statistics.
    """
    first, last = batch
    residents = select(Address.id, Address.resident_id).where(Address.resident_id > first, Address.resident_id <= last)
    resident_of = {address_id: resident_id for address_id, resident_id in (await session.execute(residents)).all()}
    if not resident_of:
        return {}
    statement = select(OutboxMessage.address_id, OutboxMessage.next_attempt_at, OutboxMessage.sent_at).where(
        id_in(session, OutboxMessage.address_id, list(resident_of)),
        OutboxMessage.kind == INVITATION,
        func.coalesce(OutboxMessage.sent_at, OutboxMessage.next_attempt_at) > now - timedelta(days=7),
    )
    recent: dict[int, list[datetime]] = {}
    for address_id, next_attempt_at, sent_at in (await session.execute(statement)).all():
        recent.setdefault(resident_of[address_id], []).append(sent_at or next_attempt_at)
    return recent


def _set_offer(conversation: Conversation, survey_pk: int, now: datetime) -> None:
    conversation.flow = survey_flow.OFFER
    conversation.step = None
    conversation.survey_id = survey_pk
    conversation.misses = 0
    conversation.updated_at = now


def outbox_row(kind, survey_pk, address: Address, locale, text, choices, send_at, variables, now, list_choices=True) -> OutboxMessage:
    """Return a scheduled message to ``address`` as an outbox row."""
    values = _outbox_values(kind, survey_pk, address.id, address.channel, locale, text, choices, send_at, variables, now, list_choices=list_choices)
    return OutboxMessage(**values)


def _outbox_values(
    kind, survey_pk, address_id, channel, locale, text, choices, send_at, variables, now, *, list_choices: bool = True
) -> dict[str, Any]:
    """Return the column values of one scheduled message; its key makes it unique."""
    subject = survey_pk if survey_pk is not None else send_at.strftime("%Y%m%d%H%M")
    return {
        "key": _outbox_key(kind, subject, address_id),
        "kind": kind,
        "survey_id": survey_pk,
        "channel": channel,
        "address_id": address_id,
        "ignores_opt_out": False,
        "text": text,
        "choices": [{"number": c.number, "label": c.label, "payload": c.payload} for c in choices],
        "list_choices": list_choices,
        "status": "queued",
        "attempts": 0,
        "next_attempt_at": send_at,
        "locale": locale,
        "template_variables": variables,
        "created_at": now,
    }


def _outbox_key(kind: str, subject: object, address_id: int) -> str:
    """Return the unique key of a scheduled message: its kind, survey (or time) and address."""
    return f"{kind}:{subject}:{address_id}"
