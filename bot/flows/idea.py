"""IDEE/IDEA: a resident puts a topic on the panel's agenda in their own words.

The flow asks for the topic, an optional neighbourhood, and a confirmation. A free
message sent while nothing is pending is never turned into a topic silently: the resident
is asked first. A resident may send a limited number of topics in any 7 days.
"""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_date

from bot import topics
from bot.flows import pending
from bot.flows.answers import Accepted, Hint, Rejected, parse_answer
from bot.flows.hints import hint_text
from bot.flows.model import YES, Question, QuestionType
from bot.flows.pending import IDEA, IDEA_CONFIRM, IDEA_NEIGHBOURHOOD, IDEA_OFFER, IDEA_TEXT
from bot.flows.prompts import IDEA_MAX_LENGTH, NEIGHBOURHOOD_MAX_LENGTH
from bot.turn import Turn

# A free message of at least this many words is offered as a topic; "hoi" or "ok" is not.
MIN_WORDS_FOR_TOPIC = 4

_TOPIC_QUESTION = Question(id="idea", type=QuestionType.TEXT, text={"nl": ""}, max_length=IDEA_MAX_LENGTH)
_NEIGHBOURHOOD_QUESTION = Question(id="neighbourhood", type=QuestionType.TEXT, text={"nl": ""}, max_length=NEIGHBOURHOOD_MAX_LENGTH)
_YES_NO = Question(id="confirm", type=QuestionType.YES_NO, text={"nl": ""})


async def begin(turn: Turn) -> None:
    """IDEE: ask for a topic, unless the resident has not joined or reached the weekly limit."""
    if turn.resident is None:
        pending_prompt = await pending.current_prompt(turn)
        turn.say(turn.t.gettext("You can suggest topics once you have joined the panel."), prompt=pending_prompt)
        return
    if await _explain_limit(turn):
        return
    pending.interrupt(turn, IDEA, IDEA_TEXT)
    turn.say(prompt=await pending.current_prompt(turn))


async def offer_free_message(turn: Turn, text: str) -> bool:
    """Ask whether a free message should go in as a topic. Return False (asking nothing)
    for a short message or when the resident reached the weekly limit. A message too long
    for a topic gets the limit instead."""
    if turn.resident is None or len(text.split()) < MIN_WORDS_FOR_TOPIC:
        return False
    result = parse_answer(_TOPIC_QUESTION, text)
    if isinstance(result, Rejected) and result.hint is not Hint.TEXT_TOO_LONG:
        return False
    if await _limit_reached_at(turn) is not None:
        return False
    if isinstance(result, Rejected):
        turn.say(
            turn.t.gettext(
                "Your message is %(length)s characters long. To suggest it as a topic, "
                "send it again in at most %(max)s characters.",
                length=result.params["length"],
                max=result.params["max_length"],
            )
        )
        return True
    pending.interrupt(turn, IDEA, IDEA_OFFER)
    turn.conversation.context = {"text": str(result.value)}
    turn.say(prompt=await pending.current_prompt(turn))
    return True


async def answer(turn: Turn, text: str) -> None:
    step = turn.conversation.step
    if step == IDEA_OFFER:
        await _answer_yes_no(turn, text, on_yes=_ask_neighbourhood)
    elif step == IDEA_TEXT:
        await _answer_text(turn, text)
    elif step == IDEA_NEIGHBOURHOOD:
        await _answer_neighbourhood(turn, text)
    else:
        await _answer_yes_no(turn, text, on_yes=_submit)


async def skip(turn: Turn) -> None:
    """SKIP leaves out the neighbourhood; at any other step it cancels the topic."""
    if turn.conversation.step == IDEA_NEIGHBOURHOOD:
        await _ask_confirmation(turn, None)
        return
    await pending.resume(turn, turn.t.gettext("Fine, no topic this time."))


async def _answer_text(turn: Turn, text: str) -> None:
    result = parse_answer(_TOPIC_QUESTION, text)
    if not isinstance(result, Accepted):
        turn.say(hint_text(turn.t, result), prompt=await pending.current_prompt(turn))
        return
    turn.conversation.context = {"text": str(result.value)}
    await _ask_neighbourhood(turn)


async def _ask_neighbourhood(turn: Turn) -> None:
    turn.set_step(IDEA, IDEA_NEIGHBOURHOOD)
    turn.say(prompt=await pending.current_prompt(turn))


async def _answer_neighbourhood(turn: Turn, text: str) -> None:
    result = parse_answer(_NEIGHBOURHOOD_QUESTION, text)
    if not isinstance(result, Accepted):
        turn.say(hint_text(turn.t, result), prompt=await pending.current_prompt(turn))
        return
    await _ask_confirmation(turn, " ".join(str(result.value).split()))


async def _ask_confirmation(turn: Turn, neighbourhood: str | None) -> None:
    turn.conversation.context = {**(turn.conversation.context or {}), "neighbourhood": neighbourhood}
    turn.set_step(IDEA, IDEA_CONFIRM)
    turn.say(prompt=await pending.current_prompt(turn))


async def _answer_yes_no(turn: Turn, text: str, on_yes) -> None:
    result = parse_answer(_YES_NO, text)
    if not isinstance(result, Accepted):
        turn.say(turn.t.gettext("Please answer yes or no."), prompt=await pending.current_prompt(turn))
        return
    if result.value == YES:
        await on_yes(turn)
        return
    await pending.resume(turn, turn.t.gettext("Fine, no topic this time."))


async def _submit(turn: Turn) -> None:
    assert turn.resident is not None
    context = turn.conversation.context or {}
    await topics.submit(
        turn.session,
        turn.resident.id,
        context["text"],
        context.get("neighbourhood"),
        turn.now,
        moderator_chat_id=turn.panel.moderator_chat_id,
    )
    await pending.resume(
        turn,
        turn.t.gettext("Thank you for your topic! A moderator will look at it soon, and we will let you know what they decide."),
    )


async def _limit_reached_at(turn: Turn):
    """Return when the resident may send a topic again, or None if they may now."""
    assert turn.resident is not None
    limit = turn.panel.suggestions_per_week
    sent = await topics.recent_suggestion_times(turn.session, turn.resident.id, turn.now)
    if len(sent) < limit:
        return None
    return sent[len(sent) - limit] + timedelta(days=7)


async def _explain_limit(turn: Turn) -> bool:
    again = await _limit_reached_at(turn)
    if again is None:
        return False
    t = turn.t
    day = format_date(again.astimezone(ZoneInfo(turn.panel.timezone)).date(), format="long", locale=t.locale)
    limit = turn.panel.suggestions_per_week
    note = t.ngettext(
        "You can send %(count)s topic a week, and you have already sent it. You can send a new one from %(date)s.",
        "You can send %(count)s topics a week, and you have already sent them. You can send a new one from %(date)s.",
        limit,
        date=day,
    )
    turn.say(note, prompt=await pending.current_prompt(turn))
    return True
