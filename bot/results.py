"""Survey results: counts and percentages per option, and n per question."""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.flows.model import NO, YES, QuestionType
from bot.flows.model import Survey as SurveyModel
from bot.i18n import texts
from bot.surveys import survey_model
from store.models import Answer, Response, Survey


@dataclass(frozen=True)
class OptionCount:
    id: str
    label: str
    count: int
    # Share of the question's respondents, 0..1; None when nobody answered.
    share: float | None


@dataclass(frozen=True)
class QuestionResult:
    id: str
    type: str
    text: str
    n: int
    skipped: int
    options: list[OptionCount] = field(default_factory=list)
    mean: float | None = None
    median: float | None = None
    minimum: float | None = None
    maximum: float | None = None
    # Free-text answers, oldest first.
    texts: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class SurveyResults:
    survey_id: str
    title: str
    status: str
    respondents: int
    completed: int
    questions: list[QuestionResult]


async def survey_results(session: AsyncSession, row: Survey, locale: str = "nl") -> SurveyResults:
    """Compute the results of ``row`` from its stored answers, with texts in ``locale``."""
    survey = survey_model(row)
    respondents = await session.scalar(select(func.count()).select_from(Response).where(Response.survey_id == row.id))
    completed = await session.scalar(
        select(func.count()).select_from(Response).where(Response.survey_id == row.id, Response.completed_at.is_not(None))
    )
    statement = (
        select(Answer.question_id, Answer.value, Answer.skipped)
        .join(Response, Answer.response_id == Response.id)
        .where(Response.survey_id == row.id)
        .order_by(Answer.answered_at, Answer.id)
    )
    values: dict[str, list[object]] = {question.id: [] for question in survey.questions}
    skipped: Counter[str] = Counter()
    for question_id, value, was_skipped in (await session.execute(statement)).all():
        if question_id not in values:
            continue
        if was_skipped:
            skipped[question_id] += 1
        else:
            values[question_id].append(value)
    questions = [_question_result(survey, question, values[question.id], skipped[question.id], locale) for question in survey.questions]
    return SurveyResults(
        survey_id=survey.id,
        title=survey.text(survey.title, locale),
        status=row.status,
        respondents=respondents or 0,
        completed=completed or 0,
        questions=questions,
    )


def _question_result(survey: SurveyModel, question, answers: list[object], skipped: int, locale: str) -> QuestionResult:
    n = len(answers)
    base = dict(id=question.id, type=str(question.type), text=survey.text(question.text, locale), n=n, skipped=skipped)
    if question.type in (QuestionType.SINGLE_CHOICE, QuestionType.MULTIPLE_CHOICE):
        counts: Counter[str] = Counter()
        for answer in answers:
            counts.update(answer if isinstance(answer, list) else [answer])
        options = [_count(option.id, survey.text(option.label, locale), counts[option.id], n) for option in question.options]
        return QuestionResult(**base, options=options)
    if question.type is QuestionType.YES_NO:
        counts = Counter(answers)
        t = texts(locale)
        options = [_count(YES, t.gettext("Yes"), counts[YES], n), _count(NO, t.gettext("No"), counts[NO], n)]
        return QuestionResult(**base, options=options)
    if question.type in (QuestionType.SCALE, QuestionType.NUMBER):
        numbers = [float(Decimal(str(answer))) for answer in answers]
        options = []
        if question.type is QuestionType.SCALE:
            counts = Counter(int(number) for number in numbers)
            options = [_count(str(point), str(point), counts[point], n) for point in range(int(question.min), int(question.max) + 1)]
        return QuestionResult(**base, options=options, **_summary(numbers))
    return QuestionResult(**base, texts=[str(answer) for answer in answers])


def _count(option_id: str, label: str, count: int, n: int) -> OptionCount:
    return OptionCount(option_id, label, count, count / n if n else None)


def _summary(numbers: list[float]) -> dict[str, float | None]:
    if not numbers:
        return dict(mean=None, median=None, minimum=None, maximum=None)
    return dict(
        mean=statistics.fmean(numbers), median=statistics.median(numbers), minimum=min(numbers), maximum=max(numbers)
    )
