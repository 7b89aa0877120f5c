"""The dialogue engine: one inbound message in, a state change and replies out.

The engine never imports a channel. It runs inside the caller's transaction and does not
commit; the caller then claims the message id and stores the replies in the outbox.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot import summaries
from bot.channels.types import Inbound, InboundKind
from bot.flows import about, consent, erase, idea, language, my_data, onboarding, pending, support, survey_flow
from bot.flows.keywords import Keyword, match_keyword
from bot.flows.prompts import ERASE_TOKEN, IDEA_TOKEN, PRIVACY_TOKEN, TOPICS_TOKEN, split_payload, survey_token
from bot.flows.text import is_reaction
from bot.i18n import normalize_locale
from bot.logs import address_tag
from bot.turn import PanelInfo, Reply, Turn
from store.models import Address, Conversation, utcnow
from store.queries import load_address

log = logging.getLogger(__name__)

# A bare command as Telegram clients send it ("/start", "/help@PanelBot") counts as the keyword.
_COMMAND_PREFIX = "/"
# The resident's rights under the GDPR, which work at any moment, also before they agree
# to a newer privacy statement.
_RIGHTS_KEYWORDS = (Keyword.MY_DATA, Keyword.ERASE)
# The flows in which a resident who still has to agree to a newer privacy statement may
# answer: that question itself, and the confirmation of an erasure.
_FLOWS_BEFORE_CONSENT = (pending.PRIVACY, pending.ERASE)
# Maximum age of the stored time of a resident's last message before a new message updates it.
_INBOUND_NOTE_INTERVAL = timedelta(minutes=1)


@dataclass(frozen=True)
class Handled:
    address_id: int
    replies: list[Reply]
    # The addresses whose rows an erasure in this turn deleted (bot.flows.erase).
    erased_address_ids: tuple[int, ...] = ()


class Engine:
    def __init__(self, panel: PanelInfo, clock: Callable[[], datetime] = utcnow) -> None:
        self.panel = panel
        self.clock = clock

    async def handle(self, session: AsyncSession, inbound: Inbound, *, locale: str | None = None) -> Handled:
        """Apply ``inbound`` to the sender's conversation and return the replies to send.

        ``locale`` forces the conversation's language (the demo's ``--lang``); otherwise a
        new conversation takes the client's language hint or the panel's default. An
        address whose resident erased their data starts again as a new address. The caller
        locks the sender's address first (store.queries.lock_addresses).
        """
        found = await load_address(session, inbound.channel, inbound.address)
        if found is None or found.address.erased_at is not None:
            turn = await self._new_turn(session, inbound, locale, found.address if found else None)
            await self._first_contact(turn, inbound)
            return Handled(turn.address.id, turn.replies)

        # The reference to ``found``, with its survey, keeps the survey in the session for
        # the flows' get_survey.
        address, conversation, resident = found.address, found.conversation, found.resident
        if conversation is None:
            conversation = self._new_conversation(address, inbound, locale)
            session.add(conversation)
        elif locale is not None:
            conversation.locale = locale
        turn = Turn(session, self.panel, self.clock(), address, conversation, resident, response=found.response)
        _note_inbound(turn)
        await self._continue(turn, inbound)
        return Handled(address.id, turn.replies, turn.erased_address_ids)

    async def _new_turn(self, session: AsyncSession, inbound: Inbound, locale: str | None, erased: Address | None) -> Turn:
        """Start the conversation of a new address, reusing the row of an ``erased`` one
        that still waits for its erasure confirmation to be sent."""
        now = self.clock()
        if erased is None:
            # With the time of this message, so _note_inbound has nothing to update.
            address = Address(channel=inbound.channel, value=inbound.address, last_inbound_at=now)
            session.add(address)
            await session.flush()
        else:
            address = erased
            address.erased_at = None
            address.created_at = now
        conversation = self._new_conversation(address, inbound, locale)
        session.add(conversation)
        log.info("new address %s, starting onboarding", address_tag(inbound.channel, inbound.address))
        turn = Turn(session, self.panel, now, address, conversation, None)
        _note_inbound(turn)
        return turn

    def _new_conversation(self, address: Address, inbound: Inbound, locale: str | None) -> Conversation:
        chosen = locale or normalize_locale(inbound.locale_hint) or self.panel.default_locale
        return Conversation(address_id=address.id, locale=chosen, flow=onboarding.DECLINED, misses=0)

    async def _first_contact(self, turn: Turn, inbound: Inbound) -> None:
        if _keyword(inbound) is Keyword.STOP:
            _opt_out(turn)
            return
        await onboarding.welcome(turn)

    async def _continue(self, turn: Turn, inbound: Inbound) -> None:
        if inbound.kind is InboundKind.TEXT and is_reaction(inbound.text):
            # A tapback quoting one of our messages is not an answer and needs no reply.
            return
        keyword = _keyword(inbound)
        if turn.address.opted_out_at is not None:
            # Nothing goes to an opted-out address until it sends START, except what the
            # resident's rights ask for: their data, and an erasure with its confirmation.
            if keyword is Keyword.START:
                await self._restart(turn)
            elif keyword in _RIGHTS_KEYWORDS or (keyword is None and turn.conversation.flow == pending.ERASE):
                await self._rights_after_stop(turn, inbound, keyword)
            return
        if keyword is Keyword.STOP or keyword in _RIGHTS_KEYWORDS:
            await self._keyword(turn, keyword)
            return
        if consent.needs_consent(turn) and (keyword is not None or turn.conversation.flow not in _FLOWS_BEFORE_CONSENT):
            # Until the resident agrees to the current privacy statement, nothing else is
            # taken as an answer; the interrupted question is asked again after they agree.
            await consent.ask(turn)
            return
        if keyword is not None:
            await self._keyword(turn, keyword)
            return
        if inbound.kind is InboundKind.NON_TEXT:
            await self._non_text(turn)
            return
        text = inbound.text
        if inbound.kind is InboundKind.CHOICE:
            text = await self._button_text(turn, inbound.payload)
            if text is None:
                return
        await self._route(turn, text)

    async def _rights_after_stop(self, turn: Turn, inbound: Inbound, keyword: Keyword | None) -> None:
        """Answer MY DATA, DELETE or the erasure question from an opted-out address, with
        replies that go despite the opt-out. Nothing else is asked of the resident."""
        if keyword is not None:
            await self._keyword(turn, keyword)
        elif inbound.kind is InboundKind.CHOICE:
            # Only the erasure question's own buttons count: an older button, such as an
            # invitation's "Yes", must not be taken as a yes to erasing.
            parts = split_payload(inbound.payload)
            if parts is not None and parts[0] == ERASE_TOKEN:
                await erase.answer(turn, parts[1])
        elif inbound.kind is InboundKind.TEXT:
            await erase.answer(turn, inbound.text)
        turn.replies[:] = [dataclasses.replace(reply, ignores_opt_out=True) for reply in turn.replies]

    async def _route(self, turn: Turn, text: str) -> None:
        flow = turn.conversation.flow
        if flow == onboarding.FLOW:
            await onboarding.answer(turn, text)
        elif flow == survey_flow.FLOW:
            await survey_flow.answer(turn, text)
        elif flow == survey_flow.OFFER:
            await survey_flow.answer_offer(turn, text)
        elif flow == pending.IDEA:
            await idea.answer(turn, text)
        elif flow == pending.LANGUAGE:
            await language.answer(turn, text)
        elif flow == pending.TOPICS:
            await support.answer(turn, text)
        elif flow == pending.PRIVACY:
            if await consent.answer(turn, text):
                _opt_out(turn)
        elif flow == pending.ERASE:
            await erase.answer(turn, text)
        elif turn.resident is None:
            # Declined earlier, or never got further than the address: start again.
            await onboarding.welcome(turn)
        elif not await idea.offer_free_message(turn, text):
            await survey_flow.offer(turn)

    async def _keyword(self, turn: Turn, keyword: Keyword) -> None:
        if keyword is Keyword.STOP:
            _opt_out(turn)
        elif keyword is Keyword.START:
            await self._restart(turn)
        elif keyword is Keyword.HELP:
            turn.say(_help_text(turn), _rights_text(turn), prompt=await pending.current_prompt(turn))
        elif keyword is Keyword.LANGUAGE:
            await language.begin(turn)
        elif keyword is Keyword.IDEA:
            await idea.begin(turn)
        elif keyword is Keyword.SKIP:
            await self._skip(turn)
        elif keyword is Keyword.ABOUT:
            turn.say(await about.about_text(turn), prompt=await pending.current_prompt(turn))
        elif keyword is Keyword.TOPICS:
            await support.begin(turn)
        elif keyword is Keyword.RESULTS:
            await summaries.send_results(turn)
        elif keyword is Keyword.MY_DATA:
            if consent.needs_consent(turn) and turn.conversation.flow not in _FLOWS_BEFORE_CONSENT:
                # The reply then ends with the privacy question instead of a survey question.
                consent.enter(turn)
            await my_data.send(turn)
        elif keyword is Keyword.ERASE:
            await erase.begin(turn)
        else:
            raise AssertionError(f"unhandled keyword {keyword}")

    async def _skip(self, turn: Turn) -> None:
        flow = turn.conversation.flow
        if flow == onboarding.FLOW:
            await onboarding.skip(turn)
        elif flow == survey_flow.FLOW:
            await survey_flow.skip(turn)
        elif flow == pending.IDEA:
            await idea.skip(turn)
        elif flow in (pending.LANGUAGE, pending.TOPICS, pending.ERASE):
            await pending.resume(turn)
        else:
            turn.say(turn.t.gettext("There is no question to skip right now."), prompt=await pending.current_prompt(turn))

    async def _restart(self, turn: Turn) -> None:
        """START: opt back in, or continue where the conversation was."""
        t = turn.t
        welcome_back = ""
        if turn.address.opted_out_at is not None:
            turn.address.opted_out_at = None
            welcome_back = t.gettext("Welcome back! You will receive messages from us again.")
            log.info("address %s opted in again", address_tag(turn.address.channel, turn.address.value))
        if turn.resident is None:
            # Someone who never joined gets the introduction, not a welcome back.
            await onboarding.welcome(turn)
            return
        if consent.needs_consent(turn):
            await consent.ask(turn, welcome_back)
            return
        pending_prompt = await pending.current_prompt(turn)
        if pending_prompt is not None:
            turn.say(welcome_back, prompt=pending_prompt)
            return
        await survey_flow.start_next(turn, welcome_back)

    async def _non_text(self, turn: Turn) -> None:
        if turn.resident is None and turn.conversation.flow != onboarding.FLOW:
            await onboarding.welcome(turn)
            return
        note = turn.t.gettext("I can only read text. Please send your answer as a text message.")
        turn.say(note, prompt=await pending.current_prompt(turn))

    async def _button_text(self, turn: Turn, payload: str) -> str | None:
        """Return the option number a pressed button stands for, or None (and a reply) when
        the button belongs to an earlier question."""
        parts = split_payload(payload)
        current = _step_token(turn)
        if parts is not None and current is not None and parts[0] == current:
            return parts[1]
        may_accept_offer = turn.resident is not None and not consent.needs_consent(turn)
        if parts is not None and may_accept_offer and await survey_flow.accept_offer_button(turn, parts[0]):
            # An invitation's buttons stay valid while its survey is open, whatever the
            # conversation was doing when the invitation arrived.
            return parts[1]
        note = turn.t.gettext("That button belongs to an earlier question.")
        turn.say(note, prompt=await pending.current_prompt(turn))
        return None


def _keyword(inbound: Inbound) -> Keyword | None:
    if inbound.kind is not InboundKind.TEXT:
        return None
    text = inbound.text.strip()
    if text.startswith(_COMMAND_PREFIX):
        text = text[len(_COMMAND_PREFIX) :].split("@", 1)[0]
    return match_keyword(text)


def _note_inbound(turn: Turn) -> None:
    """Record that the resident wrote: it opens WhatsApp's 24-hour window and shows the
    address is reachable again after a delivery failure.

    A time less than a minute old is kept. That saves a write for each quick reply and
    makes the window end at most a minute earlier.
    """
    last = turn.address.last_inbound_at
    if last is None or not timedelta(0) <= turn.now - last < _INBOUND_NOTE_INTERVAL:
        turn.address.last_inbound_at = turn.now
    if turn.address.unreachable_at is not None:
        log.info("address %s is reachable again", address_tag(turn.address.channel, turn.address.value))
        turn.address.unreachable_at = None
        turn.address.unreachable_code = None


def _opt_out(turn: Turn) -> None:
    turn.address.opted_out_at = turn.now
    if turn.conversation.flow == pending.ERASE:
        # STOP is the answer to the erasure question too: nothing is erased, and later
        # messages are not taken as answers to it.
        pending.drop(turn)
    log.info("address %s opted out", address_tag(turn.address.channel, turn.address.value))
    turn.say(
        turn.t.gettext("You have left the panel and will get no more messages from us. Send START to join again."),
        ignores_opt_out=True,
    )


def _step_token(turn: Turn) -> str | None:
    """Return the token that buttons for the pending question carry (see bot.flows.prompts)."""
    conversation = turn.conversation
    if conversation.flow == onboarding.FLOW:
        return conversation.step
    if conversation.flow == pending.LANGUAGE:
        return onboarding.LANGUAGE
    if conversation.flow == survey_flow.OFFER:
        return f"offer:{conversation.survey_id}"
    if conversation.flow == survey_flow.FLOW:
        return survey_token(conversation.survey_id or 0, conversation.step or "")
    if conversation.flow == pending.IDEA and conversation.step in (pending.IDEA_OFFER, pending.IDEA_CONFIRM):
        return IDEA_TOKEN
    if conversation.flow == pending.TOPICS:
        return TOPICS_TOKEN
    if conversation.flow == pending.PRIVACY:
        return PRIVACY_TOKEN
    if conversation.flow == pending.ERASE:
        return ERASE_TOKEN
    return None


def _help_text(turn: Turn) -> str:
    t = turn.t
    return t.gettext(
        "You can send these words at any time:\n"
        "START - join, or continue\n"
        "STOP - leave the panel\n"
        "SKIP - skip a question you may skip\n"
        "IDEA - suggest a topic\n"
        "TOPICS - support a topic\n"
        "RESULTS - results of recent surveys\n"
        "ABOUT - who runs the panel and who asks\n"
        "LANGUAGE - Nederlands or English\n"
        "HELP - this list\n"
        "%(panel)s is run by %(owner)s. Privacy: %(url)s",
        panel=turn.panel.name,
        owner=turn.panel.owner,
        url=turn.panel.privacy_url,
    )


def _rights_text(turn: Turn) -> str:
    return turn.t.gettext("Your data:\nMY DATA - see what we store about you\nDELETE - have all your data deleted")
