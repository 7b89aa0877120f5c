"""TAAL/LANGUAGE: switch the conversation's language at any moment."""

from __future__ import annotations

from bot.flows import onboarding, pending
from bot.flows.answers import Accepted, parse_answer
from bot.turn import Turn

STEP = "choose"


async def begin(turn: Turn) -> None:
    if turn.conversation.flow == onboarding.FLOW and turn.conversation.step == onboarding.LANGUAGE:
        turn.say(prompt=onboarding.language_prompt(turn))
        return
    pending.interrupt(turn, pending.LANGUAGE, STEP)
    turn.say(prompt=onboarding.language_prompt(turn))


async def answer(turn: Turn, text: str) -> None:
    result = parse_answer(onboarding.LANGUAGE_QUESTION, text)
    if not isinstance(result, Accepted):
        turn.say(turn.t.gettext("Send 1 for Nederlands or 2 for English."), prompt=onboarding.language_prompt(turn))
        return
    turn.conversation.locale = str(result.value)
    await pending.resume(turn, turn.t.gettext("Fine, from now on you will get our messages in English."))
