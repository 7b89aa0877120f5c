"""MIJN GEGEVENS/MY DATA: a resident gets a copy of what the panel stores about them (the
GDPR's right of access), in their language, in messages that fit the channel.

The reply lists the profile and language, every address of the resident (masked but
for the last 3 characters) and whether it is stopped, when and to which privacy
statement version they agreed, each survey they answered with their own answers, their
topics and the topics they support. It ends with how to erase it all, and then the
question the conversation is waiting for.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel.dates import format_date
from sqlalchemy import select

from bot.flows import message_size, pending
from bot.flows.model import YES, Question, QuestionType
from bot.flows.model import Survey as SurveyModel
from bot.flows.onboarding import LANGUAGE_NAMES, age_band_label
from bot.i18n import Texts
from bot.surveys import survey_model
from bot.topics import APPROVED, MERGED, PENDING, public_title
from bot.turn import Turn
from store.models import Address, Answer, Resident, Response, Suggestion, Support, Survey

# Characters of an address shown in full; the rest are masked.
VISIBLE_ADDRESS_CHARACTERS = 3
CHANNEL_NAMES = {"telegram": "Telegram", "sms": "SMS", "whatsapp": "WhatsApp", "console": "Console"}


async def send(turn: Turn) -> None:
    """Queue the resident's data, split over as many messages as the channel needs, with
    the pending question in the last one (or after it, when it does not fit)."""
    channel = turn.address.channel
    messages = message_size.pack(channel, await data_blocks(turn))
    prompt = await pending.current_prompt(turn)
    for message in messages[:-1]:
        turn.say(message)
    last = messages[-1]
    if prompt is None or message_size.with_prompt_fits(channel, last, prompt):
        turn.say(last, prompt=prompt)
        return
    # The delivery worker sends an address's messages in order, so the prompt arrives last.
    turn.say(last)
    turn.say(prompt=prompt)


async def data_blocks(turn: Turn) -> list[str]:
    """Return the resident's data as paragraphs in the conversation's language."""
    t = turn.t
    erase_hint = t.gettext("Do you want us to delete all your data? Send DELETE.")
    if turn.resident is None:
        stored = t.gettext(
            "You have not joined the panel. We only store this chat or phone number (%(address)s), so that we can answer you.",
            address=mask_address(turn.address.value),
        )
        return [stored, erase_hint]

    zone = ZoneInfo(turn.panel.timezone)
    resident = turn.resident
    addresses = list((await turn.session.execute(select(Address).where(Address.resident_id == resident.id).order_by(Address.id))).scalars())
    return [
        _profile_block(t, resident, turn.conversation.locale, zone),
        _addresses_block(t, addresses),
        *await _survey_blocks(turn, resident.id, zone),
        await _topics_block(turn, resident.id, zone),
        erase_hint,
    ]


def mask_address(value: str) -> str:
    """Return ``value`` with every character but the last 3 replaced by ``*``."""
    hidden = max(len(value) - VISIBLE_ADDRESS_CHARACTERS, 0)
    return "*" * hidden + value[hidden:]


def _profile_block(t: Texts, resident: Resident, locale: str, zone: ZoneInfo) -> str:
    not_given = t.gettext("not given")
    age = age_band_label(t, resident.age_band) if resident.age_band else not_given
    lines = [
        t.gettext("This is what we store about you."),
        t.gettext("Age group: %(age)s", age=age),
        t.gettext("Postcode: %(postcode)s", postcode=resident.postcode or not_given),
        t.gettext("Language: %(language)s", language=LANGUAGE_NAMES.get(locale, locale)),
        t.gettext(
            "You agreed to our privacy statement (version %(version)s) on %(date)s at %(time)s.",
            version=resident.consent_version,
            date=_date(t, resident.consented_at, zone),
            time=resident.consented_at.astimezone(zone).strftime("%H:%M"),
        ),
    ]
    return "\n".join(lines)


def _addresses_block(t: Texts, addresses: Sequence[Address]) -> str:
    lines = [t.gettext("Your phone numbers and chats:")]
    for address in addresses:
        values = {"channel": CHANNEL_NAMES.get(address.channel, address.channel), "address": mask_address(address.value)}
        if address.opted_out_at is not None:
            lines.append(t.gettext("- %(channel)s %(address)s (stopped: you get no messages there)", **values))
        else:
            lines.append(t.gettext("- %(channel)s %(address)s", **values))
    return "\n".join(lines)


async def _survey_blocks(turn: Turn, resident_id: int, zone: ZoneInfo) -> list[str]:
    """Return one paragraph per survey the resident answered, with their answers."""
    t = turn.t
    statement = (
        select(Response, Survey)
        .join(Survey, Survey.id == Response.survey_id)
        .where(Response.resident_id == resident_id)
        .order_by(Response.started_at, Response.id)
    )
    rows = (await turn.session.execute(statement)).all()
    if not rows:
        return [t.gettext("You have not answered any surveys yet.")]
    answers = await _answers_by_response(turn, [response.id for response, _ in rows])
    blocks = [t.gettext("Your answers:")]
    for response, row in rows:
        survey = survey_model(row)
        answered = response.completed_at or response.started_at
        lines = [t.gettext("%(title)s, %(date)s:", title=survey.text(survey.title, t.locale), date=_date(t, answered, zone))]
        for question in survey.questions:
            answer = answers.get((response.id, question.id))
            if answer is not None:
                lines.append(f"- {survey.text(question.text, t.locale)} {_answer_text(t, survey, question, answer)}")
        blocks.append("\n".join(lines))
    return blocks


async def _answers_by_response(turn: Turn, response_ids: list[int]) -> dict[tuple[int, str], Answer]:
    statement = select(Answer).where(Answer.response_id.in_(response_ids))
    return {(answer.response_id, answer.question_id): answer for answer in (await turn.session.execute(statement)).scalars()}


def _answer_text(t: Texts, survey: SurveyModel, question: Question, answer: Answer) -> str:
    """Return a stored answer as the resident reads it: option labels, Yes or No, numbers
    in the resident's notation, their own words."""
    value = answer.value
    if answer.skipped or value is None:
        return t.gettext("(skipped)")
    if question.type in (QuestionType.SINGLE_CHOICE, QuestionType.MULTIPLE_CHOICE):
        chosen = value if isinstance(value, list) else [value]
        labels = [survey.text(option.label, t.locale) for option in question.options if option.id in chosen]
        return ", ".join(labels) if labels else ", ".join(str(option_id) for option_id in chosen)
    if question.type is QuestionType.YES_NO:
        return t.gettext("Yes") if value == YES else t.gettext("No")
    if question.type is QuestionType.NUMBER:
        return t.number(Decimal(str(value)))
    return str(value)


async def _topics_block(turn: Turn, resident_id: int, zone: ZoneInfo) -> str:
    t = turn.t
    session = turn.session
    suggestions = list(
        (await session.execute(select(Suggestion).where(Suggestion.resident_id == resident_id).order_by(Suggestion.created_at))).scalars()
    )
    supported = list(
        (
            await session.execute(
                select(Suggestion)
                .join(Support, Support.suggestion_id == Suggestion.id)
                .where(Support.resident_id == resident_id)
                .order_by(Support.created_at)
            )
        ).scalars()
    )
    if not suggestions and not supported:
        return t.gettext("You have not suggested or supported any topics.")
    lines: list[str] = []
    if suggestions:
        lines.append(t.gettext("Your topics:"))
        for suggestion in suggestions:
            status = _status_text(t, suggestion.status)
            lines.append(f"- {suggestion.text} ({status}, {_date(t, suggestion.created_at, zone)})")
    if supported:
        lines.append(t.gettext("Topics you support:"))
        lines.extend(f"- {public_title(topic)}" for topic in supported)
    return "\n".join(lines)


def _status_text(t: Texts, status: str) -> str:
    if status == PENDING:
        return t.gettext("waiting for a moderator")
    if status == APPROVED:
        return t.gettext("on the panel's list")
    if status == MERGED:
        return t.gettext("added to a similar topic")
    return t.gettext("not added to the list")


def _date(t: Texts, moment: datetime, zone: ZoneInfo) -> str:
    return format_date(moment.astimezone(zone).date(), format="long", locale=t.locale)
