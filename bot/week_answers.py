"""The week's answers as the CSV attachment of a digest: long form, one row per answer,
with the same pseudonymous respondent ids as ``chatpanel export``."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.export import ROWS_PER_BATCH, answer_value, csv_value
from bot.flows.model import QuestionType
from bot.pseudonyms import respondent_id, survey_export_key
from bot.surveys import survey_model
from store.models import Answer, Response, Survey

PERIOD_COLUMNS = ("survey", "respondent", "question_id", "question", "answer", "answered")


@dataclass(frozen=True)
class PeriodAnswers:
    """The answers given in a period, as the CSV attachment of a digest."""

    # CSV text that starts with a byte order mark: encode it as UTF-8.
    csv_text: str
    # Answer rows, without the header.
    rows: int
    # Slugs of surveys whose answers were left out because fewer residents than the
    # minimum group size answered in the period.
    withheld: tuple[str, ...]


async def week_answers_csv(
    session: AsyncSession,
    start: datetime,
    end: datetime,
    survey_pks: Sequence[int],
    locale: str,
    *,
    min_group_size: int,
    timezone: str,
) -> PeriodAnswers:
    """Collect the answers given from ``start`` up to ``end`` (aware, end exclusive) to the
    surveys ``survey_pks``, in long form with the columns of PERIOD_COLUMNS.

    Respondents carry the same pseudonym as in ``chatpanel export`` of that survey. A
    survey is left out when fewer than ``min_group_size`` residents answered it in the
    period, and so is a question with fewer answers in the period. Answers in residents'
    own words (free-text questions) are always left out, because they may name people or
    contain phone numbers, and the file goes out by e-mail unread. Skipped questions are not
    answers. Texts are in ``locale`` and dates in the
    zone ``timezone``. The text is built in memory, which suits a week of answers. Creates
    missing export keys in the caller's transaction, so the caller must commit. Raises
    ValueError for naive datetimes and LookupError for an unknown survey primary key.
    """
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must be aware datetimes")
    zone = ZoneInfo(timezone)
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer)
    writer.writerow(PERIOD_COLUMNS)
    rows, withheld = 0, []
    for survey_pk in survey_pks:
        row = await session.get(Survey, survey_pk)
        if row is None:
            raise LookupError(f"no survey with primary key {survey_pk}")
        survey = survey_model(row)
        answered_in_period = (
            (Response.survey_id == survey_pk)
            & (Answer.answered_at >= start)
            & (Answer.answered_at < end)
            & Answer.skipped.is_(False)
            & Answer.question_id.in_(_shareable_questions(survey))
        )
        respondents = await session.scalar(
            select(func.count(distinct(Response.resident_id))).join(Answer, Answer.response_id == Response.id).where(answered_in_period)
        )
        if not respondents:
            continue
        if respondents < min_group_size:
            withheld.append(row.slug)
            continue
        large_enough = await _questions_with_enough_answers(session, answered_in_period, min_group_size)
        rows += await _write_period_answers(
            session, writer, row, answered_in_period & Answer.question_id.in_(large_enough), locale, zone
        )
    return PeriodAnswers(buffer.getvalue(), rows, tuple(withheld))


def _shareable_questions(survey) -> list[str]:
    return [question.id for question in survey.questions if question.type is not QuestionType.TEXT]


async def _questions_with_enough_answers(session: AsyncSession, answered_in_period, min_group_size: int) -> list[str]:
    statement = (
        select(Answer.question_id)
        .join(Response, Answer.response_id == Response.id)
        .where(answered_in_period)
        .group_by(Answer.question_id)
        .having(func.count() >= max(min_group_size, 1))
    )
    return list((await session.execute(statement)).scalars())


async def _write_period_answers(session, writer, row: Survey, answered_in_period, locale: str, zone: ZoneInfo) -> int:
    survey = survey_model(row)
    questions = {question.id: question for question in survey.questions}
    key = await survey_export_key(session, row)
    statement = (
        select(Response.resident_id, Answer.question_id, Answer.value, Answer.answered_at)
        .join(Answer, Answer.response_id == Response.id)
        .where(answered_in_period)
        .order_by(Answer.answered_at, Answer.id)
        .execution_options(yield_per=ROWS_PER_BATCH)
    )
    cells = _PeriodCells(row, survey, key, locale, zone)
    count = 0
    result = await session.stream(statement)
    # Whole batches, so the loop switches into the database driver once per batch.
    async for batch in result.partitions():
        for resident_pk, question_id, value, answered_at in batch:
            question = questions.get(question_id)
            if question is None:
                continue
            writer.writerow(cells.row(resident_pk, question, value, answered_at))
            count += 1
    return count


class _PeriodCells:
    """The CSV cells of one survey's answers. Residents answer several questions and most
    answers are one of a few choices, so each pseudonym and answer text is computed once."""

    def __init__(self, row: Survey, survey, export_key: str, locale: str, zone: ZoneInfo) -> None:
        self.survey = survey
        self.export_key = export_key
        self.locale = locale
        self.zone = zone
        self.slug = csv_value(row.slug)
        self.question_cells = {
            question.id: (csv_value(question.id), csv_value(survey.text(question.text, locale)))
            for question in survey.questions
        }
        self.respondents: dict[int, str] = {}
        self.answers: dict[tuple[str, object], str] = {}

    def row(self, resident_pk: int | None, question, value: object, answered_at: datetime) -> list[object]:
        answer_key = (question.id, _hashable(value))
        answer = self.answers.get(answer_key)
        if answer is None:
            answer = self.answers[answer_key] = csv_value(answer_value(self.survey, question, value, self.locale))

        # An anonymous answer (of an erased resident, bot.erasure) has no respondent id.
        respondent = ""
        if resident_pk is not None:
            respondent = self.respondents.get(resident_pk)
            if respondent is None:
                respondent = self.respondents[resident_pk] = csv_value(respondent_id(self.export_key, resident_pk))

        # An ISO date needs no escaping for spreadsheets.
        answered = answered_at.astimezone(self.zone).date().isoformat()
        return [self.slug, respondent, *self.question_cells[question.id], answer, answered]


def _hashable(value: object) -> object:
    """Return ``value`` (a stored answer: a number, text, or list of them) as a dict key."""
    return tuple(value) if isinstance(value, list) else value
