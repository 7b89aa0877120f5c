"""Joining the panel: who runs it and why, explicit consent, language, optional profile.

Before consent the store holds only the address and its conversation step. The resident
row is created at the moment of an explicit yes.
"""

from __future__ import annotations

import re
import secrets

from bot.flows import survey_flow
from bot.flows.answers import Accepted, parse_answer
from bot.flows.model import YES, Option, Question, QuestionType
from bot.flows.prompts import make_choices, yes_no_prompt
from bot.flows.text import normalize
from bot.profile import AGE_BANDS
from bot.i18n import Texts
from bot.turn import Prompt, Turn
from store.models import Resident

FLOW = "onboarding"
CONSENT, LANGUAGE, AGE, POSTCODE = "consent", "language", "age", "postcode"
DECLINED = "declined"
MAX_MISSES = 3

LANGUAGE_NAMES = {"nl": "Nederlands", "en": "English"}

_CONSENT_QUESTION = Question(id="consent", type=QuestionType.YES_NO, text={"nl": ""})
LANGUAGE_QUESTION = Question(
    id="language",
    type=QuestionType.SINGLE_CHOICE,
    text={"nl": ""},
    options=tuple(Option(id=code, label={"nl": name}) for code, name in LANGUAGE_NAMES.items()),
)
_AGE = re.compile(r"(\d{2,3})(?:\s*(?:jaar|years?|jr))?")
_POSTCODE = re.compile(r"([1-9][0-9]{3})(?:\s*[a-z]{2})?")


async def welcome(turn: Turn) -> None:
    """Introduce the panel and ask for consent."""
    t = turn.t
    turn.set_step(FLOW, CONSENT)
    intro = t.gettext(
        "Welcome to %(panel)s of %(owner)s. In this panel you give your opinion on your "
        "neighbourhood and town in a few taps. Every question says who is asking it, and you "
        "hear what the panel thought and what was done with it.",
        panel=turn.panel.name,
        owner=turn.panel.owner,
    )
    # The Dutch catalog has the English sentence here and the English catalog the Dutch one,
    # because the hint is meant for someone who cannot read the current language.
    switch = t.gettext("To read this in English, send LANGUAGE.")
    turn.say(intro, switch, prompt=consent_prompt(turn))


def consent_prompt(turn: Turn) -> Prompt:
    t = turn.t
    text = t.gettext(
        "If you join, we store your answers and your phone number or chat, and nothing else "
        "without asking. Read how we handle your data: %(url)s\nDo you want to join?",
        url=turn.panel.privacy_url,
    )
    return yes_no_prompt(text, CONSENT, t)


def language_prompt(turn: Turn) -> Prompt:
    text = turn.t.gettext("Which language do you want to use?")
    return Prompt(text, make_choices(LANGUAGE, list(LANGUAGE_NAMES.values())))


def age_prompt(turn: Turn) -> Prompt:
    t = turn.t
    text = t.gettext(
        "How old are you? With this we can see whether the panel looks like the whole town. "
        "You may skip this question: send SKIP."
    )
    labels = [age_band_label(t, band) for band in AGE_BANDS]
    return Prompt(text, make_choices(AGE, labels))


def postcode_prompt(turn: Turn) -> Prompt:
    text = turn.t.gettext(
        "What are the 4 digits of your postcode? For example 2511. You may skip this question: send SKIP."
    )
    return Prompt(text)


def prompt(turn: Turn) -> Prompt | None:
    step = turn.conversation.step
    return {
        CONSENT: consent_prompt,
        LANGUAGE: language_prompt,
        AGE: age_prompt,
        POSTCODE: postcode_prompt,
    }[step](turn)


def age_band_label(t: Texts, band: str) -> str:
    if band.endswith("+"):
        return t.gettext("%(age)s years or older", age=band[:-1])
    low, high = band.split("-")
    return t.gettext("%(low)s to %(high)s years", low=low, high=high)


async def answer(turn: Turn, text: str) -> None:
    step = turn.conversation.step
    if step == CONSENT:
        await _answer_consent(turn, text)
    elif step == LANGUAGE:
        await _answer_language(turn, text)
    elif step == AGE:
        await _answer_age(turn, text)
    else:
        await _answer_postcode(turn, text)


async def skip(turn: Turn) -> None:
    """Handle SKIP during onboarding: only the profile questions may be skipped."""
    step = turn.conversation.step
    if step == AGE:
        _ask_postcode(turn, turn.t.gettext("OK, we'll skip that question."))
    elif step == POSTCODE:
        await _finish(turn, turn.t.gettext("OK, we'll skip that question."))
    else:
        turn.say(turn.t.gettext("You cannot skip this question."), prompt=prompt(turn))


async def _answer_consent(turn: Turn, text: str) -> None:
    t = turn.t
    result = parse_answer(_CONSENT_QUESTION, text)
    if not isinstance(result, Accepted):
        turn.conversation.misses += 1
        turn.say(t.gettext("Please answer yes or no."), prompt=consent_prompt(turn))
        return
    if result.value != YES:
        turn.set_step(DECLINED)
        turn.say(
            t.gettext(
                "That is fine. You have not joined and we have kept nothing but this chat. "
                "Send START if you want to join later."
            )
        )
        return
    resident = Resident(pseudonym=secrets.token_hex(6), consented_at=turn.now, consent_version=turn.panel.privacy_version)
    turn.session.add(resident)
    await turn.session.flush()
    turn.address.resident_id = resident.id
    turn.resident = resident
    turn.set_step(FLOW, LANGUAGE)
    turn.say(t.gettext("Welcome, you have joined the panel!"), prompt=language_prompt(turn))


async def _answer_language(turn: Turn, text: str) -> None:
    result = parse_answer(LANGUAGE_QUESTION, text)
    if not isinstance(result, Accepted):
        turn.conversation.misses += 1
        turn.say(turn.t.gettext("Send 1 for Nederlands or 2 for English."), prompt=language_prompt(turn))
        return
    turn.conversation.locale = str(result.value)
    turn.set_step(FLOW, AGE)
    turn.say(turn.t.gettext("Fine, from now on you will get our messages in English."), prompt=age_prompt(turn))


async def _answer_age(turn: Turn, text: str) -> None:
    question = _age_question(turn.t)
    result = parse_answer(question, text)
    band = str(result.value) if isinstance(result, Accepted) else _band_of_age(text)
    if band is not None:
        assert turn.resident is not None
        turn.resident.age_band = band
        _ask_postcode(turn)
        return
    await _miss(turn, turn.t.gettext("Send the number of your age group, or your age, for example 35."), age_prompt(turn))


async def _answer_postcode(turn: Turn, text: str) -> None:
    match = _POSTCODE.fullmatch(normalize(text))
    if match:
        assert turn.resident is not None
        turn.resident.postcode = match.group(1)
        await _finish(turn)
        return
    await _miss(turn, turn.t.gettext("Please send only the 4 digits of your postcode, for example 2511."), postcode_prompt(turn))


async def _miss(turn: Turn, hint: str, pending: Prompt) -> None:
    """Re-ask an optional profile question, or skip it after the third reply that does not fit."""
    turn.conversation.misses += 1
    if turn.conversation.misses < MAX_MISSES:
        turn.say(hint, prompt=pending)
        return
    skipped = turn.t.gettext("We'll skip this question for now.")
    if turn.conversation.step == AGE:
        _ask_postcode(turn, skipped)
    else:
        await _finish(turn, skipped)


def _ask_postcode(turn: Turn, *preface: str) -> None:
    turn.set_step(FLOW, POSTCODE)
    turn.say(*preface, prompt=postcode_prompt(turn))


async def _finish(turn: Turn, *preface: str) -> None:
    done = turn.t.gettext("Thank you, you are all set. Send HELP at any time to see what you can do.")
    await survey_flow.start_next(turn, *preface, done)


def _band_of_age(text: str) -> str | None:
    """Return the age band of a reply that gives an age in years ("35", "35 jaar")."""
    match = _AGE.fullmatch(normalize(text))
    if match is None:
        return None
    age = int(match.group(1))
    for band in AGE_BANDS:
        low, _, high = band.rstrip("+").partition("-")
        if int(low) <= age and (not high or age <= int(high)):
            return band
    return None


def _age_question(t: Texts) -> Question:
    options = tuple(Option(id=band, label={"nl": age_band_label(t, band)}) for band in AGE_BANDS)
    return Question(id="age", type=QuestionType.SINGLE_CHOICE, text={"nl": ""}, options=options)
