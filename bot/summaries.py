"""Survey results for residents: the summary sent when a survey closes, and RESULTATEN/RESULTS.

Results are shown only for groups of at least ``min_group_size`` residents, so that no
answer can be traced to one person. A question with fewer answers gets a line that says
so, and a survey with fewer respondents gets one message that says so and nothing else.
Free-text answers are never shown, and a number question shows only its mean.
"""

from __future__ import annotations

import logging
import textwrap
from collections.abc import Sequence
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import Select, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.flows import pending
from bot.flows.model import NO, YES, Question, QuestionType
from bot.flows.model import Survey as SurveyModel
from bot.i18n import Texts
from bot.notify import notify_resident
from bot.results import QuestionResult, SurveyResults, survey_results
from bot.surveys import survey_model
from bot.turn import Turn
from store.models import Address, Answer, Conversation, Organisation, Response, Survey, SurveyOutcome
from store.sqlite_driver import statements_in_loop

log = logging.getLogger(__name__)

SUMMARY_KIND = "results"
# Every summary message is shorter than this many characters. Twilio rejects SMS and
# WhatsApp bodies over 1600 characters, and a shorter text leaves room for the pending
# question that a RESULTS reply ends with.
MESSAGE_LENGTH_LIMIT = 1000
# RESULTS lists at most this many closed surveys, the most recently closed first.
MAX_LISTED_SURVEYS = 3
PERCENT_DECIMALS = 1
# Every outcome has a text in this locale, and residents in other languages fall back to it.
OUTCOME_DEFAULT_LOCALE = "nl"


def summary_messages(t: Texts, survey: SurveyModel, results: SurveyResults, min_group_size: int) -> list[str]:
    """Render the results of ``survey`` for residents in ``t``'s language.

    Returns one or more messages, each shorter than MESSAGE_LENGTH_LIMIT characters.
    """
    return pack_messages(summary_blocks(t, survey, results, min_group_size))


def summary_blocks(t: Texts, survey: SurveyModel, results: SurveyResults, min_group_size: int) -> list[str]:
    """Return the summary as paragraphs: the title and respondents, then one per shown question."""
    minimum = max(min_group_size, 1)
    title = survey.text(survey.title, t.locale)
    if results.respondents < minimum:
        return [
            t.gettext(
                'Too few residents took part in "%(title)s" to share the results. We only share results '
                "of at least %(minimum)s residents, so that no one can be recognised.",
                title=title,
                minimum=minimum,
            )
        ]

    blocks = [
        "\n".join(
            [
                t.gettext('Results of "%(title)s"', title=title),
                t.ngettext("%(count)s resident took part.", "%(count)s residents took part.", results.respondents),
            ]
        )
    ]
    by_id = {question.id: question for question in results.questions}
    for question in survey.questions:
        result = by_id.get(question.id)
        if result is None:
            continue
        block = _question_block(t, survey, question, result, minimum)
        if block is not None:
            blocks.append(block)
    return blocks


def _question_block(t: Texts, survey: SurveyModel, question: Question, result: QuestionResult, minimum: int) -> str | None:
    """Return the paragraph for one question, or None for a question that is not shown."""
    text = survey.text(question.text, t.locale)
    if question.type is QuestionType.TEXT:
        return None
    if question.type is QuestionType.NUMBER:
        if result.n < minimum or result.mean is None:
            return None
        return "\n".join([_question_heading(t, text, result.n), t.gettext("Average: %(mean)s", mean=_mean(t, result.mean))])
    if result.n < minimum:
        return "\n".join([text, t.gettext("Too few residents answered this question to show the results.")])

    lines = [_question_heading(t, text, result.n)]
    labels = _option_labels(t, survey, question)
    for option in result.options:
        label = labels.get(option.id, option.label)
        lines.append(f"- {label}: {t.percent(option.share or 0, decimals=PERCENT_DECIMALS)}")
    if question.type is QuestionType.MULTIPLE_CHOICE:
        lines.append(t.gettext("You could choose more than one answer."))
    if question.type is QuestionType.SCALE and result.mean is not None:
        lines.append(t.gettext("Average: %(mean)s", mean=_mean(t, result.mean)))
    return "\n".join(lines)


def _question_heading(t: Texts, text: str, n: int) -> str:
    answers = t.ngettext("%(count)s answer", "%(count)s answers", n)
    return f"{text} ({answers})"


def _option_labels(t: Texts, survey: SurveyModel, question: Question) -> dict[str, str]:
    """Return each option's label in ``t``'s language, keyed by OptionCount.id."""
    if question.type is QuestionType.YES_NO:
        return {YES: t.gettext("Yes"), NO: t.gettext("No")}
    if question.type is QuestionType.SCALE:
        low, high = int(question.min), int(question.max)
        labels = {str(point): t.number(point) for point in range(low, high + 1)}
        if question.min_label:
            labels[str(low)] = f"{t.number(low)} ({survey.text(question.min_label, t.locale)})"
        if question.max_label:
            labels[str(high)] = f"{t.number(high)} ({survey.text(question.max_label, t.locale)})"
        return labels
    return {option.id: survey.text(option.label, t.locale) for option in question.options}


def _mean(t: Texts, mean: float) -> str:
    # Round half up to one decimal, as residents expect, not to the nearest even digit.
    return t.number(Decimal(str(mean)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def pack_messages(blocks: Sequence[str], limit: int = MESSAGE_LENGTH_LIMIT) -> list[str]:
    """Join paragraphs with blank lines into as few messages as possible.

    Each message is shorter than ``limit`` characters. A paragraph that does not fit in
    one message is split at line breaks, and a line that does not fit is wrapped at spaces.
    """
    messages: list[str] = []
    current = ""
    for piece in _pieces(blocks, limit):
        candidate = f"{current}\n\n{piece}" if current else piece
        if len(candidate) < limit:
            current = candidate
            continue
        messages.append(current)
        current = piece
    if current:
        messages.append(current)
    return messages


def _pieces(blocks: Sequence[str], limit: int) -> list[str]:
    """Return the paragraphs, with each one that is too long split into parts that fit."""
    pieces: list[str] = []
    for block in blocks:
        if len(block) < limit:
            pieces.append(block)
            continue
        lines: list[str] = []
        for line in block.split("\n"):
            lines.extend(textwrap.wrap(line, width=limit - 1) if len(line) >= limit else [line])
        part = ""
        for line in lines:
            candidate = f"{part}\n{line}" if part else line
            if len(candidate) < limit:
                part = candidate
                continue
            pieces.append(part)
            part = line
        if part:
            pieces.append(part)
    return pieces


def respondents_statement(survey_pk: int) -> Select:
    """Select the ids of the residents who gave at least one answer that is not skipped.

    Anonymous responses of erased residents have no resident and are left out.
    """
    answered = exists().where(Answer.response_id == Response.id, Answer.skipped.is_(False))
    return (
        select(Response.resident_id)
        .where(Response.survey_id == survey_pk, Response.resident_id.is_not(None), answered)
        .order_by(Response.resident_id)
    )


async def enqueue_summaries(session: AsyncSession, row: Survey, now: datetime, send_at: datetime, min_group_size: int) -> int:
    """Queue the summary of ``row`` for every resident who answered it, in their language.

    Residents whose addresses all opted out or cannot be reached get nothing, and a
    summary already queued is not queued again. Returns the number of residents queued.
    """
    survey = survey_model(row)
    resident_ids = list((await session.execute(respondents_statement(row.id))).scalars())
    if not resident_ids:
        return 0

    # Results are computed once per language the respondents use. A conversation that
    # switched language since this query still gets the summary in its new language,
    # because summary_messages takes every text from the survey and ``t``.
    locales_statement = (
        select(Conversation.locale)
        .join(Address, Address.id == Conversation.address_id)
        .where(Address.resident_id.in_(respondents_statement(row.id).order_by(None).scalar_subquery()))
        .distinct()
    )
    results_by_locale: dict[str, SurveyResults] = {}
    for locale in (await session.execute(locales_statement)).scalars():
        results_by_locale[locale] = await survey_results(session, row, locale)
    if not results_by_locale:
        results_by_locale[survey.default_locale] = await survey_results(session, row, survey.default_locale)
    rendered: dict[str, list[str]] = {}

    def render(t: Texts) -> list[str]:
        if t.locale not in rendered:
            results = results_by_locale.get(t.locale) or next(iter(results_by_locale.values()))
            rendered[t.locale] = summary_messages(t, survey, results, min_group_size)
        return rendered[t.locale]

    count = 0
    for resident_id in resident_ids:
        queued = await notify_resident(
            session,
            resident_id,
            key=f"summary:{row.id}:{resident_id}",
            kind=SUMMARY_KIND,
            render=render,
            send_at=send_at,
            now=now,
            survey_id=row.id,
        )
        if queued:
            count += 1
    log.info("survey %s: result summaries queued for %s residents", row.slug, count)
    return count


def outcome_block(t: Texts, organisation: str, title: str, text: str) -> str:
    """Return the outcome message: a heading that names the organisation, then its text."""
    heading = t.gettext(
        'What %(organisation)s did with the results of "%(title)s":', organisation=organisation, title=title
    )
    return f"{heading}\n{text.strip()}"


async def organisation_name(session: AsyncSession, row: Survey) -> str | None:
    """Return the name of the survey's linked Organisation, or None when none is linked."""
    if row.organisation_id is None:
        return None
    organisation = await session.get(Organisation, row.organisation_id)
    return organisation.name if organisation is not None else None


def outcome_text(texts: dict[str, str], locale: str, default_locale: str) -> str:
    """Return the outcome text in ``locale``, falling back to ``default_locale``."""
    return texts.get(locale) or texts[default_locale]


async def results_reply(turn: Turn) -> list[str]:
    """Return the summaries of the most recently closed surveys, in the resident's language.

    A survey with a recorded outcome is followed by what the requesting organisation did
    with its results. Each survey starts a new message.
    """
    t = turn.t
    statement = (
        select(Survey)
        .where(Survey.status == "closed")
        .order_by(Survey.closed_at.desc().nulls_last(), Survey.id.desc())
        .limit(MAX_LISTED_SURVEYS)
    )
    rows = list((await turn.session.execute(statement)).scalars())
    if not rows:
        return [t.gettext("There are no results yet. When a survey has closed, send RESULTS to see what residents answered.")]

    messages: list[str] = []
    for row in rows:
        survey = survey_model(row)
        # Counting 1,000,000 answers took 1 to 2 s on SQLite (docs/benchmarks.md), too long
        # to hold up the event loop's thread (store.sqlite_driver).
        with statements_in_loop(False):
            results = await survey_results(turn.session, row, t.locale)
        blocks = summary_blocks(t, survey, results, turn.panel.min_group_size)
        outcome = await turn.session.get(SurveyOutcome, row.id)
        if outcome is not None:
            organisation = await organisation_name(turn.session, row) or survey.text(survey.requested_by, t.locale)
            title = survey.text(survey.title, t.locale)
            text = outcome_text(outcome.texts, t.locale, OUTCOME_DEFAULT_LOCALE)
            blocks.append(outcome_block(t, organisation, title, text))
        messages.extend(pack_messages(blocks))
    return messages


async def send_results(turn: Turn) -> None:
    """Queue the reply to RESULTS: the summaries, then the question the conversation is waiting for."""
    messages = await results_reply(turn)
    prompt = await pending.current_prompt(turn)
    for message in messages[:-1]:
        turn.say(message)
    last = messages[-1]
    if prompt is None or len(last) + len(prompt.text) + 2 < MESSAGE_LENGTH_LIMIT:
        turn.say(last, prompt=prompt)
        return
    # The delivery worker sends an address's messages in order, so a prompt in its own
    # message still arrives last.
    turn.say(last)
    turn.say(prompt=prompt)

