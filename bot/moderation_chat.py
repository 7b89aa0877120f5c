"""The moderators' Telegram chat: new suggestions with approve and reject buttons, and the
button presses and replies with which moderators decide them.

Only the users in ``Settings.moderator_ids()`` act, and only in ``moderator_chat_id``. An
update that acts claims its update_id in inbound_messages in the same transaction as its
effects, as bot.inbound does, so a redelivered update changes nothing. Every decision goes
through bot.topics, which writes the audit entry and queues the decision for the resident
who suggested the topic.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import telegram
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import topics
from bot.channels.telegram import deserialize_update
from bot.channels.types import Channel, Choice
from bot.i18n import Texts, texts
from bot.settings import Settings
from store.models import Address, InboundMessage, ModeratorPrompt, OutboxMessage, Suggestion

log = logging.getLogger(__name__)

APPROVE, REJECT = "approve", "reject"
# How long the chat waits for a moderator's reason after they pressed Reject.
PROMPT_LIFETIME = timedelta(hours=24)
PAYLOAD_PREFIX = "mod"
# Words that a moderator who pressed Reject sends instead of a reason, to cancel the rejection.
CANCEL_WORDS = frozenset({"cancel", "annuleer"})
# Suggestion ids are PostgreSQL integers, so a payload with a larger id cannot name one.
MAX_SUGGESTION_ID = 2**31 - 1


@dataclass(frozen=True)
class Moderator:
    """The Telegram user behind a moderator's update."""

    user_id: int
    name: str

    @property
    def actor(self) -> str:
        """The audit log's actor for this moderator."""
        return f"telegram:{self.user_id}"


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


def update_chat_id(data: dict[str, Any]) -> int | None:
    """Return the id of the chat that a raw webhook update comes from, or None.

    The chat is that of ``message``, or for a pressed button that of the message under
    the button. Other kinds of update, and malformed ones, return None.
    """
    message = data.get("message")
    callback_query = data.get("callback_query")
    if isinstance(callback_query, dict):
        message = callback_query.get("message")
    if not isinstance(message, dict):
        return None
    chat = message.get("chat")
    if not isinstance(chat, dict):
        return None
    chat_id = chat.get("id")
    if not isinstance(chat_id, int) or isinstance(chat_id, bool):
        return None
    return chat_id


async def handle_update(
    data: dict[str, Any],
    bot: telegram.Bot,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    now: datetime,
) -> dict[str, Any] | None:
    """Handle an update from the moderators' chat and return the webhook response body.

    A pressed button gets an answerCallbackQuery with a short text for the moderator who
    pressed it. A message returns None. Messages to the chat are queued in the outbox,
    in ``settings.default_locale``.

    Raises bot.channels.telegram.MalformedUpdate when ``data`` is not a valid update.
    """
    update = deserialize_update(data, bot)
    t = texts(settings.default_locale)
    if update.callback_query is not None:
        return await _handle_button(update, sessionmaker, settings, t, now)
    if update.message is not None:
        await _handle_message(update, sessionmaker, settings, t, now)
    return None


async def _handle_button(
    update: telegram.Update,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    t: Texts,
    now: datetime,
) -> dict[str, Any]:
    query = update.callback_query
    in_chat = query.message is not None and query.message.chat.id == settings.moderator_chat_id
    if not in_chat or query.from_user.id not in settings.moderator_ids():
        # The presser may be a resident, so the log leaves out their id.
        log.info("Telegram update %s: button press by a non-moderator ignored", update.update_id)
        return _callback_answer(query, t.gettext("Only moderators can do this."))

    parsed = _parse_payload(query.data)
    if parsed is None:
        log.warning("Telegram update %s: invalid moderation payload %.64r ignored", update.update_id, query.data)
        return _callback_answer(query, t.gettext("Sorry, this button does not work. Use the chatpanel topics command instead."))

    action, suggestion_id = parsed
    moderator = Moderator(query.from_user.id, query.from_user.first_name)
    try:
        async with sessionmaker() as session, session.begin():
            await _claim(session, update.update_id)
            if action == APPROVE:
                text = await _approve(session, suggestion_id, moderator, update.update_id, settings, t, now)
            else:
                text = await _ask_reason(session, suggestion_id, moderator, update.update_id, settings, t, now)
    except IntegrityError:
        log.info("duplicate Telegram update %s in the moderators' chat ignored", update.update_id)
        return _callback_answer(query, None)
    return _callback_answer(query, text)


async def _approve(
    session: AsyncSession,
    suggestion_id: int,
    moderator: Moderator,
    update_id: int,
    settings: Settings,
    t: Texts,
    now: datetime,
) -> str:
    """Approve the suggestion and return the answerCallbackQuery text for the moderator."""
    # A reason locks its prompt before bot.topics.reject locks the suggestion. Locking in
    # the same order here keeps an approval and a rejection from deadlocking on PostgreSQL.
    prompts = await _prompts_for(session, suggestion_id)
    try:
        await topics.approve(session, suggestion_id, actor=moderator.actor, now=now)
    except topics.TopicError:
        return await _not_pending_text(session, suggestion_id, t)

    # Any moderator still asked for a reason to reject it has nothing left to decide.
    for prompt in prompts:
        await session.delete(prompt)
    await _queue_chat_message(
        session,
        settings,
        update_id,
        t.gettext("#%(id)s approved by %(name)s.", id=suggestion_id, name=moderator.name),
        now,
    )
    return t.gettext("Topic #%(id)s approved.", id=suggestion_id)


async def _ask_reason(
    session: AsyncSession,
    suggestion_id: int,
    moderator: Moderator,
    update_id: int,
    settings: Settings,
    t: Texts,
    now: datetime,
) -> str:
    """Store the moderator's prompt for a reason, ask for it in the chat, and return the
    answerCallbackQuery text for the moderator.

    A moderator has at most one prompt, so pressing Reject on another suggestion
    replaces the earlier one.
    """
    suggestion = await session.get(Suggestion, suggestion_id)
    if suggestion is None or suggestion.status != topics.PENDING:
        return await _not_pending_text(session, suggestion_id, t)

    prompt = await session.get(ModeratorPrompt, moderator.user_id, with_for_update=True)
    if prompt is None:
        session.add(ModeratorPrompt(moderator_id=moderator.user_id, suggestion_id=suggestion_id, asked_at=now))
    else:
        prompt.suggestion_id = suggestion_id
        prompt.asked_at = now
    log.info("moderator %s asked for the reason to reject suggestion %s", moderator.actor, suggestion_id)
    await _queue_chat_message(
        session,
        settings,
        update_id,
        t.gettext(
            "%(name)s, reply to this message with the reason for rejecting #%(id)s, or with CANCEL.",
            name=moderator.name,
            id=suggestion_id,
        ),
        now,
    )
    return t.gettext("Send the reason in the chat.")


async def _handle_message(
    update: telegram.Update,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    t: Texts,
    now: datetime,
) -> None:
    """Take a moderator's text message as the reason they were asked for, or as CANCEL.

    Messages from others, messages that are not text and messages from moderators who
    were not asked for a reason change nothing.
    """
    message = update.message
    if message.chat.id != settings.moderator_chat_id or message.from_user is None:
        return
    if message.from_user.id not in settings.moderator_ids():
        return
    text = message.text.strip() if isinstance(message.text, str) else ""
    if not text:
        return

    moderator = Moderator(message.from_user.id, message.from_user.first_name)
    try:
        async with sessionmaker() as session, session.begin():
            prompt = await session.get(ModeratorPrompt, moderator.user_id, with_for_update=True)
            if prompt is None:
                return
            if now - prompt.asked_at > PROMPT_LIFETIME:
                # A reason asked for a day ago is forgotten: this message is ordinary chat.
                await session.delete(prompt)
                return
            await _claim(session, update.update_id)
            await _answer_prompt(session, prompt, text, moderator, update.update_id, settings, t, now)
    except IntegrityError:
        log.info("duplicate Telegram update %s in the moderators' chat ignored", update.update_id)


async def _answer_prompt(
    session: AsyncSession,
    prompt: ModeratorPrompt,
    text: str,
    moderator: Moderator,
    update_id: int,
    settings: Settings,
    t: Texts,
    now: datetime,
) -> None:
    reason_length = len(" ".join(text.split()))
    if not _is_cancel(text) and reason_length > topics.MAX_REASON_LENGTH:
        # Keep the prompt, so the moderator's next reply is taken as the reason again.
        reply = t.gettext(
            "That reason is %(length)s characters long. Please keep it to %(max)s and reply again.",
            length=reason_length,
            max=topics.MAX_REASON_LENGTH,
        )
        await _queue_chat_message(session, settings, update_id, reply, now)
        return
    suggestion_id = prompt.suggestion_id
    await session.delete(prompt)

    if _is_cancel(text):
        log.info("moderator %s cancelled rejecting suggestion %s", moderator.actor, suggestion_id)
        reply = t.gettext("Rejecting #%(id)s is cancelled. The topic still waits for a decision.", id=suggestion_id)
        await _queue_chat_message(session, settings, update_id, reply, now)
        return

    try:
        await topics.reject(session, suggestion_id, actor=moderator.actor, reason=text, now=now)
    except topics.TopicError:
        # Decided in the meantime, by another moderator or with chatpanel topics.
        reply = await _not_pending_text(session, suggestion_id, t)
    else:
        reply = t.gettext(
            "#%(id)s rejected by %(name)s. Reason: %(reason)s", id=suggestion_id, name=moderator.name, reason=text
        )
    await _queue_chat_message(session, settings, update_id, reply, now)


def _parse_payload(data: object) -> tuple[str, int] | None:
    """Parse ``mod:<action>:<suggestion id>`` into (action, id), or return None."""
    if not isinstance(data, str):
        return None
    parts = data.split(":")
    if len(parts) != 3 or parts[0] != PAYLOAD_PREFIX or parts[1] not in (APPROVE, REJECT):
        return None
    if not parts[2].isascii() or not parts[2].isdigit():
        return None
    suggestion_id = int(parts[2])
    if not 1 <= suggestion_id <= MAX_SUGGESTION_ID:
        return None
    return parts[1], suggestion_id


def _is_cancel(text: str) -> bool:
    """Return whether ``text`` is a cancel word, also as a command such as ``/cancel@PanelBot``."""
    word = text.strip().lower().removeprefix("/").split("@", 1)[0].rstrip(".!")
    return word in CANCEL_WORDS


def _callback_answer(query: telegram.CallbackQuery, text: str | None) -> dict[str, Any]:
    answer = {"method": "answerCallbackQuery", "callback_query_id": query.id}
    if text is not None:
        answer["text"] = text
    return answer


async def _claim(session: AsyncSession, update_id: int) -> None:
    """Claim the update id; raises IntegrityError (at once or at commit) for a redelivery."""
    session.add(InboundMessage(channel=Channel.TELEGRAM, message_id=str(update_id)))
    await session.flush()


async def _prompts_for(session: AsyncSession, suggestion_id: int) -> list[ModeratorPrompt]:
    statement = select(ModeratorPrompt).where(ModeratorPrompt.suggestion_id == suggestion_id).with_for_update()
    return list((await session.execute(statement)).scalars())


async def _not_pending_text(session: AsyncSession, suggestion_id: int, t: Texts) -> str:
    """Return the message that explains why the suggestion can no longer be decided."""
    suggestion = await session.get(Suggestion, suggestion_id)
    if suggestion is None:
        return t.gettext("Topic #%(id)s does not exist.", id=suggestion_id)
    if suggestion.status == topics.APPROVED:
        return t.gettext("Topic #%(id)s is already approved.", id=suggestion_id)
    if suggestion.status == topics.REJECTED:
        return t.gettext("Topic #%(id)s is already rejected.", id=suggestion_id)
    if suggestion.status == topics.MERGED:
        return t.gettext("Topic #%(id)s is already merged into another topic.", id=suggestion_id)
    # NOTE: reached only if bot.topics raises TopicError for a pending suggestion, which
    # approve and reject (with a non-empty reason) do not do.
    return t.gettext("Topic #%(id)s could not be changed. Use the chatpanel topics command.", id=suggestion_id)


async def _queue_chat_message(session: AsyncSession, settings: Settings, update_id: int, text: str, now: datetime) -> None:
    """Queue ``text`` for the moderators' chat, keyed by the update that caused it."""
    address = await _chat_address(session, settings.moderator_chat_id, now)
    session.add(
        OutboxMessage(
            key=f"moderation:update:{update_id}",
            kind="moderation",
            channel=Channel.TELEGRAM,
            address_id=address.id,
            text=text,
            choices=[],
            next_attempt_at=now,
            created_at=now,
        )
    )


async def _chat_address(session: AsyncSession, chat_id: int, now: datetime) -> Address:
    """Return the moderators' chat's address, adding it if no announcement did yet."""
    statement = select(Address).where(Address.channel == Channel.TELEGRAM, Address.value == str(chat_id))
    address = (await session.execute(statement)).scalar_one_or_none()
    if address is not None:
        return address
    try:
        # A savepoint, so that a concurrent insert of the same address fails only this step
        # and is not taken for a redelivered update.
        async with session.begin_nested():
            address = Address(channel=Channel.TELEGRAM, value=str(chat_id), created_at=now)
            session.add(address)
    except IntegrityError:
        address = (await session.execute(statement)).scalar_one()
    return address
