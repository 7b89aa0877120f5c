"""Prompts for pending questions and the button payloads that answer them.

A button's payload is ``<step token>|<option number>``. The step token names the question
the button belongs to, so a button pressed under an old message is recognised as late
instead of being filed under whatever question is pending now.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.channels.types import Choice
from bot.flows.model import Question, QuestionType, Survey
from bot.i18n import Texts
from bot.turn import Prompt

PAYLOAD_SEPARATOR = "|"
IDEA_MAX_LENGTH = 500


def make_choices(token: str, labels: Sequence[str]) -> tuple[Choice, ...]:
    return tuple(
        Choice(number=number, label=label, payload=f"{token}{PAYLOAD_SEPARATOR}{number}")
        for number, label in enumerate(labels, start=1)
    )


def split_payload(payload: str) -> tuple[str, str] | None:
    """Return (step token, option number) from a button payload, or None if malformed."""
    token, separator, number = payload.rpartition(PAYLOAD_SEPARATOR)
    if not separator or not token or not number.isdigit():
        return None
    return token, number


def survey_token(survey_pk: int, question_id: str) -> str:
    # At most 2 + 10 + 1 + 32 characters, so a payload stays within Telegram's 64 bytes.
    return f"q:{survey_pk}:{question_id}"


def yes_no_labels(t: Texts) -> list[str]:
    return [t.gettext("Yes"), t.gettext("No")]


def yes_no_prompt(text: str, token: str, t: Texts) -> Prompt:
    return Prompt(text, make_choices(token, yes_no_labels(t)))


def question_prompt(t: Texts, survey: Survey, survey_pk: int, question: Question) -> Prompt:
    """Render ``question`` for the resident: its number, text, how to answer, and buttons."""
    locale = t.locale
    index = survey.index_of(question.id)
    heading = t.gettext("Question %(number)s of %(total)s", number=index + 1, total=len(survey.questions))
    lines = [f"{heading}: {survey.text(question.text, locale)}"]
    token = survey_token(survey_pk, question.id)
    choices: tuple[Choice, ...] = ()
    list_choices = True

    if question.type is QuestionType.SINGLE_CHOICE:
        choices = make_choices(token, [survey.text(option.label, locale) for option in question.options])
    elif question.type is QuestionType.YES_NO:
        choices = make_choices(token, yes_no_labels(t))
    elif question.type is QuestionType.MULTIPLE_CHOICE:
        lines.extend(f"{number}. {survey.text(option.label, locale)}" for number, option in enumerate(question.options, 1))
        example = "1,3" if len(question.options) > 2 else "1,2"
        lines.append(t.gettext("Send the numbers of your choices, for example %(example)s.", example=example))
    elif question.type is QuestionType.SCALE:
        lines.append(_scale_hint(t, survey, question))
        low, high = int(question.min), int(question.max)
        choices = tuple(
            Choice(number=point, label=str(point), payload=f"{token}{PAYLOAD_SEPARATOR}{point}")
            for point in range(low, high + 1)
        )
        list_choices = False
    elif question.type is QuestionType.NUMBER:
        lines.append(_number_hint(t, question))
    elif question.type is QuestionType.TEXT:
        lines.append(t.gettext("Answer in your own words (at most %(max)s characters).", max=question.max_length or 500))

    if question.optional:
        lines.append(t.gettext("Send SKIP to skip this question."))
    return Prompt("\n".join(lines), choices, list_choices)


def _scale_hint(t: Texts, survey: Survey, question: Question) -> str:
    low, high = t.number(question.min), t.number(question.max)
    if question.min_label and question.max_label:
        return t.gettext(
            "Send a number from %(min)s (%(min_label)s) to %(max)s (%(max_label)s).",
            min=low,
            max=high,
            min_label=survey.text(question.min_label, t.locale),
            max_label=survey.text(question.max_label, t.locale),
        )
    return t.gettext("Send a number from %(min)s to %(max)s.", min=low, max=high)


def _number_hint(t: Texts, question: Question) -> str:
    if question.min is not None and question.max is not None:
        return t.gettext("Send a number from %(min)s to %(max)s.", min=t.number(question.min), max=t.number(question.max))
    if question.min is not None:
        return t.gettext("Send a number of at least %(min)s.", min=t.number(question.min))
    if question.max is not None:
        return t.gettext("Send a number of at most %(max)s.", max=t.number(question.max))
    return t.gettext("Send a number.")


def idea_prompt(t: Texts) -> Prompt:
    return Prompt(
        t.gettext(
            "What topic would you like the panel to ask residents about? Describe it in your own "
            "words in one message (at most %(max)s characters). Send SKIP if you would rather not.",
            max=IDEA_MAX_LENGTH,
        )
    )


IDEA_TOKEN = "idea"
TOPICS_TOKEN = "topics"
NEIGHBOURHOOD_MAX_LENGTH = 100


def idea_neighbourhood_prompt(t: Texts) -> Prompt:
    return Prompt(
        t.gettext(
            "In which neighbourhood does this play? Send its name, or SKIP if it is about the whole town."
        )
    )


def idea_confirm_prompt(t: Texts, text: str, neighbourhood: str | None) -> Prompt:
    lines = [t.gettext("This is your topic:"), text]
    if neighbourhood:
        lines.append(t.gettext("Neighbourhood: %(name)s", name=neighbourhood))
    lines.append(t.gettext("Shall we send it to the moderators?"))
    return yes_no_prompt("\n".join(lines), IDEA_TOKEN, t)


def idea_offer_prompt(t: Texts, text: str) -> Prompt:
    lines = [t.gettext("Do you want to suggest this as a topic for the panel?"), text]
    return yes_no_prompt("\n".join(lines), IDEA_TOKEN, t)


PRIVACY_TOKEN = "privacy"
ERASE_TOKEN = "erase"


def privacy_update_prompt(t: Texts, privacy_url: str) -> Prompt:
    """Ask a resident who agreed to an older privacy statement to agree to the current one."""
    text = t.gettext(
        "Our privacy statement has changed. Read the new version: %(url)s\n"
        "Do you agree, so that you stay in the panel? If you answer no, you will get no more messages from us.",
        url=privacy_url,
    )
    return yes_no_prompt(text, PRIVACY_TOKEN, t)


def erase_prompt(t: Texts, *, joined: bool, keeps_answers: bool) -> Prompt:
    """Ask for confirmation before erasing; the text lists what erasing removes and keeps."""
    if not joined:
        text = t.gettext("We only store this chat or phone number, and nothing else. Do you want us to delete it?")
    elif keeps_answers:
        text = t.gettext(
            "Do you want us to delete all your data? We delete your phone number or chat, your profile, "
            "your topics and your support. Your answers stay only without your name or number, so no one "
            "can trace them to you. Texts you typed yourself are deleted. You cannot undo this."
        )
    else:
        text = t.gettext(
            "Do you want us to delete all your data? We delete your phone number or chat, your profile, "
            "your answers, your topics and your support. You cannot undo this."
        )
    return yes_no_prompt(text, ERASE_TOKEN, t)


def topics_prompt(t: Texts, titles: Sequence[str]) -> Prompt:
    text = t.gettext("Which of these topics matters to you? Send its number, or SKIP to go back.")
    return Prompt(text, make_choices(TOPICS_TOKEN, list(titles)))
