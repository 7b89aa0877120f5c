"""Survey results: counts and percentages per option, and n per question."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Mapping
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
    # The same share with each respondent counted by their weight; None without weights.
    weighted_share: float | None = None


@dataclass(frozen=True)
class QuestionResult:
    id: str
    type: str
    text: str
    n: int
    skipped: int
    options: list[OptionCount] = field(default_factory=list)
    mean: float | None = None
    weighted_mean: float | None = None
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


async def survey_results(
    session: AsyncSession, row: Survey, locale: str = "nl", weights: Mapping[int, float] | None = None
) -> SurveyResults:
    """Compute the results of ``row`` from its stored answers, with texts in ``locale``.

    With ``weights`` (resident id to weight, from bot.panel_weights), each option also gets
    its weighted share and each number question its weighted mean. A respondent missing
    from ``weights`` counts with weight 1.
    """
    survey = survey_model(row)
    respondents = await session.scalar(select(func.count()).select_from(Response).where(Response.survey_id == row.id))
    completed = await session.scalar(
        select(func.count()).select_from(Response).where(Response.survey_id == row.id, Response.completed_at.is_not(None))
    )
    statement = (
        select(Answer.question_id, Answer.value, Answer.skipped, Response.resident_id)
        .join(Response, Answer.response_id == Response.id)
        .where(Response.survey_id == row.id)
        .order_by(Answer.answered_at, Answer.id)
    )
    values: dict[str, list[object]] = {question.id: [] for question in survey.questions}
    answer_weights: dict[str, list[float]] = {question.id: [] for question in survey.questions}
    skipped: Counter[str] = Counter()
    for question_id, value, was_skipped, resident_id in (await session.execute(statement)).all():
        if question_id not in values:
            continue
        if was_skipped:
            skipped[question_id] += 1
        else:
            values[question_id].append(value)
            answer_weights[question_id].append(weights.get(resident_id, 1.0) if weights is not None else 1.0)
    questions = [
        _question_result(
            survey, question, values[question.id], skipped[question.id], locale,
            answer_weights[question.id] if weights is not None else None,
        )
        for question in survey.questions
    ]
    return SurveyResults(
        survey_id=survey.id,
        title=survey.text(survey.title, locale),
        status=row.status,
        respondents=respondents or 0,
        completed=completed or 0,
        questions=questions,
    )


def _question_result(
    survey: SurveyModel, question, answers: list[object], skipped: int, locale: str, weights: list[float] | None
) -> QuestionResult:
    n = len(answers)
    base = dict(id=question.id, type=str(question.type), text=survey.text(question.text, locale), n=n, skipped=skipped)
    tally = _Tally(n, weights)
    if question.type in (QuestionType.SINGLE_CHOICE, QuestionType.MULTIPLE_CHOICE):
        for index, answer in enumerate(answers):
            tally.add(answer if isinstance(answer, list) else [answer], index)
        options = [tally.option(option.id, survey.text(option.label, locale)) for option in question.options]
        return QuestionResult(**base, options=options)
    if question.type is QuestionType.YES_NO:
        for index, answer in enumerate(answers):
            tally.add([answer], index)
        t = texts(locale)
        return QuestionResult(**base, options=[tally.option(YES, t.gettext("Yes")), tally.option(NO, t.gettext("No"))])
    if question.type in (QuestionType.SCALE, QuestionType.NUMBER):
        numbers = [float(Decimal(str(answer))) for answer in answers]
        options = []
        if question.type is QuestionType.SCALE:
            for index, number in enumerate(numbers):
                tally.add([str(int(number))], index)
            options = [tally.option(str(point), str(point)) for point in range(int(question.min), int(question.max) + 1)]
        weighted_mean = None
        if weights is not None and numbers and sum(weights) > 0:
            weighted_mean = sum(number * weight for number, weight in zip(numbers, weights)) / sum(weights)
        return QuestionResult(**base, options=options, weighted_mean=weighted_mean, **_summary(numbers))
    return QuestionResult(**base, texts=[str(answer) for answer in answers])


class _Tally:
    """Counts and weight totals per option id over one question's answers."""

    def __init__(self, n: int, weights: list[float] | None) -> None:
        self.n = n
        self.weights = weights
        self.counts: Counter[str] = Counter()
        self.weighted: dict[str, float] = {}
        self.weight_total = sum(weights) if weights is not None else 0.0

    def add(self, option_ids: list[object], index: int) -> None:
        for option_id in option_ids:
            key = str(option_id)
            self.counts[key] += 1
            if self.weights is not None:
                self.weighted[key] = self.weighted.get(key, 0.0) + self.weights[index]

    def option(self, option_id: str, label: str) -> OptionCount:
        count = self.counts[option_id]
        weighted_share = None
        if self.weights is not None and self.weight_total > 0:
            weighted_share = self.weighted.get(option_id, 0.0) / self.weight_total
        return OptionCount(option_id, label, count, count / self.n if self.n else None, weighted_share)


def _summary(numbers: list[float]) -> dict[str, float | None]:
    if not numbers:
        return dict(mean=None, median=None, minimum=None, maximum=None)
    return dict(
        mean=statistics.fmean(numbers), median=statistics.median(numbers), minimum=min(numbers), maximum=max(numbers)
    )
