"""IDEE/IDEA: a resident puts forward a topic for the panel in their own words."""

from __future__ import annotations

from bot.flows import pending
from bot.flows.answers import Accepted, parse_answer
from bot.flows.hints import hint_text
from bot.flows.model import Question, QuestionType
from bot.flows.prompts import IDEA_MAX_LENGTH, idea_prompt
from bot.turn import Turn
from store.models import Suggestion

STEP = "text"

_IDEA_QUESTION = Question(id="idea", type=QuestionType.TEXT, text={"nl": ""}, max_length=IDEA_MAX_LENGTH)


async def begin(turn: Turn) -> None:
    if turn.resident is None:
        pending_prompt = await pending.current_prompt(turn)
        turn.say(turn.t.gettext("You can suggest topics once you have joined the panel."), prompt=pending_prompt)
        return
    pending.interrupt(turn, pending.IDEA, STEP)
    turn.say(prompt=idea_prompt(turn.t))


async def answer(turn: Turn, text: str) -> None:
    result = parse_answer(_IDEA_QUESTION, text)
    if not isinstance(result, Accepted):
        turn.say(hint_text(turn.t, result), prompt=idea_prompt(turn.t))
        return
    assert turn.resident is not None
    turn.session.add(Suggestion(resident_id=turn.resident.id, text=str(result.value), created_at=turn.now))
    await pending.resume(turn, turn.t.gettext("Thank you for your topic! A moderator will look at it soon."))


async def cancel(turn: Turn) -> None:
    await pending.resume(turn, turn.t.gettext("Fine, no topic this time."))
