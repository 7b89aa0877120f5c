"""Agreeing to a newer privacy statement.

Every resident stores the version of the privacy statement they agreed to. When the
panel's version (Settings.privacy_version) is newer, the next message from the resident
gets the new statement's address and the question whether they agree. Until they do, the
engine lets only STOP, the rights keywords (MY DATA, DELETE) and this answer through.
Agreeing stores the new version and time and returns to the pending question, so no
survey loses its place. With no question pending, it offers the newest open survey: the
resident got no invitations while they had not agreed. Declining is a STOP.
"""

from __future__ import annotations

import functools
import logging
import re

from bot.flows import pending, survey_flow
from bot.flows.answers import Accepted, parse_answer
from bot.flows.model import YES, Question, QuestionType
from bot.flows.pending import PRIVACY
from bot.turn import Turn

log = logging.getLogger(__name__)

STEP = "agree"

_AGREE_QUESTION = Question(id="privacy", type=QuestionType.YES_NO, text={"nl": ""})
_VERSION_PART = re.compile(r"\d+")


# A panel has a handful of versions, and a broadcast compares one per resident.
@functools.lru_cache(maxsize=256)
def is_older(agreed: str, current: str) -> bool:
    """Return whether version ``agreed`` is older than ``current``.

    Versions are compared number by number, so "2026-10" is newer than "2026-9" and "1.10"
    newer than "1.9". A version with no numbers at all counts as older than any other.
    """
    return _numbers(agreed) < _numbers(current)


def needs_consent(turn: Turn) -> bool:
    """Return whether the resident has to agree to the current privacy statement first."""
    resident = turn.resident
    return resident is not None and is_older(resident.consent_version, turn.panel.privacy_version)


def enter(turn: Turn) -> None:
    """Make the question whether the resident agrees the pending one, remembering the
    question it interrupts (unless another interruption already did)."""
    if turn.conversation.flow != PRIVACY:
        pending.interrupt(turn, PRIVACY, STEP)


async def ask(turn: Turn, *preface: str) -> None:
    """Ask the resident to agree to the current privacy statement."""
    enter(turn)
    turn.say(*preface, prompt=await pending.current_prompt(turn))


async def answer(turn: Turn, text: str) -> bool:
    """Apply the resident's answer. Return True when they declined: the caller then
    handles it as STOP."""
    assert turn.resident is not None
    t = turn.t
    result = parse_answer(_AGREE_QUESTION, text)
    if not isinstance(result, Accepted):
        turn.conversation.misses += 1
        turn.say(t.gettext("Please answer yes or no."), prompt=await pending.current_prompt(turn))
        return False
    if result.value != YES:
        log.info("resident %s declined privacy statement %s", turn.resident.pseudonym, turn.panel.privacy_version)
        return True
    turn.resident.consent_version = turn.panel.privacy_version
    turn.resident.consented_at = turn.now
    log.info("resident %s agreed to privacy statement %s", turn.resident.pseudonym, turn.panel.privacy_version)
    thanks = t.gettext("Thank you! You stay in the panel.")
    pending.drop(turn)
    if await pending.current_prompt(turn) is None:
        # Nothing waits, or the survey that waited has closed. Invitations pass over
        # residents who have not agreed yet, so this one may have missed an open survey's.
        row = await survey_flow.next_open_survey(turn)
        if row is not None:
            turn.set_step(survey_flow.OFFER, None, row.id)
            turn.say(thanks, prompt=survey_flow.offer_prompt(turn, row))
            return False
    await pending.ask_again(turn, thanks)
    return False


def _numbers(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in _VERSION_PART.findall(version))
