"""The question a conversation is waiting for, and returning to it after an interruption."""

from __future__ import annotations

from bot.flows import onboarding, survey_flow
from bot.flows.prompts import (
    erase_prompt,
    idea_confirm_prompt,
    idea_neighbourhood_prompt,
    idea_offer_prompt,
    idea_prompt,
    privacy_update_prompt,
    topics_prompt,
)
from bot.turn import Prompt, Turn

IDEA = "idea"
LANGUAGE = "language"
TOPICS = "topics"
# Agreeing to a newer privacy statement (bot.flows.consent) and confirming an erasure
# (bot.flows.erase).
PRIVACY = "privacy"
ERASE = "erase"
# The steps of the idea flow: the offer to send a free message in as a topic, the text,
# the optional neighbourhood, and the confirmation.
IDEA_OFFER, IDEA_TEXT, IDEA_NEIGHBOURHOOD, IDEA_CONFIRM = "offer", "text", "neighbourhood", "confirm"
INTERRUPTIONS = (IDEA, LANGUAGE, TOPICS, PRIVACY, ERASE)


async def current_prompt(turn: Turn) -> Prompt | None:
    """Return the pending prompt of the conversation, or None when nothing is pending.

    An opted-out resident has nothing pending but the erasure question: their answers
    to anything else are ignored until they send START.
    """
    flow = turn.conversation.flow
    if turn.address.opted_out_at is not None and flow != ERASE:
        return None
    if flow == onboarding.FLOW:
        return onboarding.prompt(turn)
    if flow in (survey_flow.FLOW, survey_flow.OFFER):
        return await survey_flow.prompt(turn)
    if flow == IDEA:
        return _idea_prompt(turn)
    if flow == LANGUAGE:
        return onboarding.language_prompt(turn)
    if flow == TOPICS:
        listed = (turn.conversation.context or {}).get("topics", [])
        return topics_prompt(turn.t, [title for _, title in listed])
    if flow == PRIVACY:
        return privacy_update_prompt(turn.t, turn.panel.privacy_url)
    if flow == ERASE:
        return erase_prompt(turn.t, joined=turn.resident is not None, keeps_answers=turn.panel.erasure_keeps_answers)
    return None


def _idea_prompt(turn: Turn) -> Prompt:
    context = turn.conversation.context or {}
    step = turn.conversation.step
    if step == IDEA_OFFER:
        return idea_offer_prompt(turn.t, context.get("text", ""))
    if step == IDEA_NEIGHBOURHOOD:
        return idea_neighbourhood_prompt(turn.t)
    if step == IDEA_CONFIRM:
        return idea_confirm_prompt(turn.t, context.get("text", ""), context.get("neighbourhood"))
    return idea_prompt(turn.t)


def interrupt(turn: Turn, flow: str, step: str) -> None:
    """Enter ``flow`` and remember where the conversation was, unless already inside it."""
    conversation = turn.conversation
    if conversation.flow not in INTERRUPTIONS:
        conversation.resume = {"flow": conversation.flow, "step": conversation.step, "survey_id": conversation.survey_id}
    conversation.context = None
    turn.set_step(flow, step, None)


def drop(turn: Turn) -> None:
    """Go back to where the conversation was before the interruption, without a reply."""
    saved = turn.conversation.resume or {"flow": survey_flow.IDLE, "step": None, "survey_id": None}
    turn.conversation.resume = None
    turn.conversation.context = None
    turn.set_step(saved["flow"], saved["step"], saved["survey_id"])


async def resume(turn: Turn, *preface: str) -> None:
    """Go back to where the conversation was before the interruption and re-ask its prompt."""
    drop(turn)
    await ask_again(turn, *preface)


async def ask_again(turn: Turn, *preface: str) -> None:
    """Say ``preface`` with the conversation's pending prompt, if any."""
    pending = await current_prompt(turn)
    # No prompt for a survey means it has closed in the meantime (unless the resident
    # opted out, which hides every prompt).
    if pending is None and turn.address.opted_out_at is None and turn.conversation.flow in (survey_flow.FLOW, survey_flow.OFFER):
        turn.set_step(survey_flow.IDLE)
    turn.say(*preface, prompt=pending)
