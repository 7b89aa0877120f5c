"""The question a conversation is waiting for, and returning to it after an interruption."""

from __future__ import annotations

from bot.flows import onboarding, survey_flow
from bot.flows.prompts import idea_prompt
from bot.turn import Prompt, Turn

IDEA = "idea"
LANGUAGE = "language"


async def current_prompt(turn: Turn) -> Prompt | None:
    """Return the pending prompt of the conversation, or None when nothing is pending."""
    flow = turn.conversation.flow
    if flow == onboarding.FLOW:
        return onboarding.prompt(turn)
    if flow in (survey_flow.FLOW, survey_flow.OFFER):
        return await survey_flow.prompt(turn)
    if flow == IDEA:
        return idea_prompt(turn.t)
    if flow == LANGUAGE:
        return onboarding.language_prompt(turn)
    return None


def interrupt(turn: Turn, flow: str, step: str) -> None:
    """Enter ``flow`` and remember where the conversation was, unless already inside it."""
    conversation = turn.conversation
    if conversation.flow not in (IDEA, LANGUAGE):
        conversation.resume = {"flow": conversation.flow, "step": conversation.step, "survey_id": conversation.survey_id}
    turn.set_step(flow, step, None)


async def resume(turn: Turn, *preface: str) -> None:
    """Go back to where the conversation was before the interruption and re-ask its prompt."""
    saved = turn.conversation.resume or {"flow": survey_flow.IDLE, "step": None, "survey_id": None}
    turn.conversation.resume = None
    turn.set_step(saved["flow"], saved["step"], saved["survey_id"])
    pending = await current_prompt(turn)
    if pending is None and turn.conversation.flow in (survey_flow.FLOW, survey_flow.OFFER):
        turn.set_step(survey_flow.IDLE)
    turn.say(*preface, prompt=pending)
