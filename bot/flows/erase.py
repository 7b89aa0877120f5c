"""VERWIJDER/DELETE: a resident erases their data from the chat, after confirming.

The confirmation question lists what is deleted and what stays (bot.erasure). After a yes the
resident's data is gone within this turn, except this address, which stays only until
the one reply that confirms the erasure has been sent to it. Whoever writes from it after
that is a new resident and starts at the introduction.
"""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

from bot import erasure
from bot.flows import consent, pending
from bot.flows.answers import Accepted, parse_answer, starts_with_word
from bot.flows.model import YES, Question, QuestionType
from bot.flows.pending import ERASE
from bot.logs import address_tag
from bot.turn import Turn

log = logging.getLogger(__name__)

STEP = "confirm"

_CONFIRM_QUESTION = Question(id="erase", type=QuestionType.YES_NO, text={"nl": ""})


async def begin(turn: Turn) -> None:
    """Ask whether the resident really wants their data erased."""
    pending.interrupt(turn, ERASE, STEP)
    turn.say(prompt=await pending.current_prompt(turn))


async def answer(turn: Turn, text: str) -> None:
    """Erase after a yes; after a no, return to the question that was pending."""
    t = turn.t
    result = parse_answer(_CONFIRM_QUESTION, text)
    if not isinstance(result, Accepted):
        turn.conversation.misses += 1
        turn.say(t.gettext("Please answer yes or no."), prompt=await pending.current_prompt(turn))
        return
    if result.value == YES and not starts_with_word(text):
        # Erasing cannot be undone, so it needs a typed yes or the button, not an emoji.
        turn.conversation.misses += 1
        turn.say(t.gettext("Send the word yes if you really want everything deleted."), prompt=await pending.current_prompt(turn))
        return
    if result.value != YES:
        nothing_deleted = t.gettext("Fine, we have deleted nothing.")
        if consent.needs_consent(turn) and turn.address.opted_out_at is None:
            await consent.ask(turn, nothing_deleted)
        else:
            await pending.resume(turn, nothing_deleted)
        return
    await _erase(turn)


async def _erase(turn: Turn) -> None:
    # The conversation row is deleted below, so its language is read first.
    t = turn.t
    joined = turn.resident is not None
    target = await erasure.target_of(turn.session, turn.address)
    counts = await erasure.erase(
        turn.session,
        target,
        now=turn.now,
        zone=ZoneInfo(turn.panel.timezone),
        keeps_answers=turn.panel.erasure_keeps_answers,
        keep_address_id=turn.address.id,
    )
    turn.resident = None
    turn.erased_address_ids = target.address_ids
    # The log names the address by its tag only: the pseudonym no longer exists.
    log.info(
        "address %s erased from the chat: %s rows removed, %s responses kept anonymously",
        address_tag(turn.address.channel, turn.address.value),
        counts.rows_removed,
        counts.responses_anonymised,
    )
    if joined:
        done = t.gettext(
            "All your data has been deleted and you have left the panel. If you send us a message "
            "again, you start as a new participant. Goodbye!"
        )
    else:
        done = t.gettext("This chat or phone number has been deleted from our panel. Goodbye!")
    turn.say(done)
