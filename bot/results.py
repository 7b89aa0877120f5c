"""Survey results: counts and percentages per option, and n per question."""

from __future__ import annotations

import functools
import json
import statistics
from collections import Counter
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import Row, Text, cast, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.flows.model import NO, YES, Question, QuestionType
from bot.flows.model import Survey as SurveyModel
from bot.i18n import texts
from bot.surveys import survey_model
from store.models import Answer, Response, Survey

# Answers fetched per round trip while they are streamed.
ROWS_PER_BATCH = 5000
# Distinct answer values whose decoded JSON is kept while weighted answers are streamed.
DECODED_VALUES_CACHED = 4096


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

    Without weights the database counts the answers per question and value, and only
    free-text answers are read one by one. With weights every answer is streamed, oldest
    first. Either way the memory held per answer is at most its free text, one list entry
    per answer to a scale or number question and, with weights, one weight.
    """
    survey = survey_model(row)
    respondents = await session.scalar(select(func.count()).select_from(Response).where(Response.survey_id == row.id))
    completed = await session.scalar(
        select(func.count()).select_from(Response).where(Response.survey_id == row.id, Response.completed_at.is_not(None))
    )
    tallies = {question.id: _QuestionTally(question, weighted=weights is not None) for question in survey.questions}
    if weights is None:
        await _count_answers(session, row.id, tallies)
    else:
        await _add_weighted_answers(session, row.id, tallies, weights)
    return SurveyResults(
        survey_id=survey.id,
        title=survey.text(survey.title, locale),
        status=row.status,
        respondents=respondents or 0,
        completed=completed or 0,
        questions=[tallies[question.id].result(survey, locale) for question in survey.questions],
    )


async def _count_answers(session: AsyncSession, survey_pk: int, tallies: Mapping[str, _QuestionTally]) -> None:
    """Add every answer to ``tallies``: counted per distinct value in SQL, free texts in order."""
    text_ids = [question_id for question_id, tally in tallies.items() if tally.question.type is QuestionType.TEXT]
    # PostgreSQL's json type has no equality operator, so answers are grouped by their JSON text.
    value_text = cast(Answer.value, Text)
    counted = (
        select(Answer.question_id, Answer.skipped, value_text, func.count())
        .join(Response, Answer.response_id == Response.id)
        .where(
            Response.survey_id == survey_pk,
            Answer.question_id.in_(list(tallies)),
            or_(Answer.question_id.not_in(text_ids), Answer.skipped),
        )
        .group_by(Answer.question_id, Answer.skipped, value_text)
    )
    for question_id, skipped, text, count in (await session.execute(counted)).all():
        if skipped:
            tallies[question_id].add_skipped(count)
        else:
            tallies[question_id].add(json.loads(text) if text is not None else None, count)
    if not text_ids:
        return
    statement = (
        select(Answer.question_id, Answer.value)
        .join(Response, Answer.response_id == Response.id)
        .where(Response.survey_id == survey_pk, Answer.question_id.in_(text_ids), Answer.skipped.is_(False))
        .order_by(Answer.answered_at, Answer.id)
    )
    async for rows in _stream_partitions(session, statement):
        for question_id, value in rows:
            tallies[question_id].add(value)


async def _add_weighted_answers(
    session: AsyncSession, survey_pk: int, tallies: Mapping[str, _QuestionTally], weights: Mapping[int, float]
) -> None:
    """Add every answer to ``tallies`` with its respondent's weight, oldest first, so the
    weighted sums are added up in the same order on every run."""
    statement = (
        select(Answer.question_id, cast(Answer.value, Text), Answer.skipped, Response.resident_id)
        .join(Response, Answer.response_id == Response.id)
        .where(Response.survey_id == survey_pk)
        .order_by(Answer.answered_at, Answer.id)
    )
    # Most answers repeat a few values, so each distinct JSON text is decoded once.
    decode = functools.lru_cache(maxsize=DECODED_VALUES_CACHED)(json.loads)
    async for rows in _stream_partitions(session, statement):
        for question_id, text, skipped, resident_id in rows:
            tally = tallies.get(question_id)
            if tally is None:
                continue
            if skipped:
                tally.add_skipped()
            else:
                tally.add(decode(text) if text is not None else None, weight=weights.get(resident_id, 1.0))


async def _stream_partitions(session: AsyncSession, statement) -> AsyncIterator[Sequence[Row]]:
    """Yield the rows of ``statement`` in batches of ROWS_PER_BATCH from a server-side cursor.

    Core rows, not ORM rows, and one switch into the database driver per batch instead of
    per row keep the cost per answer low.
    """
    connection = await session.connection()
    result = await connection.stream(statement.execution_options(yield_per=ROWS_PER_BATCH))
    async for rows in result.partitions():
        yield rows


class _QuestionTally:
    """One question's answers as they are added: counts and weight totals per option, the
    numbers of scale and number questions, and free texts in the order added."""

    def __init__(self, question: Question, weighted: bool) -> None:
        self.question = question
        self.n = 0
        self.skipped = 0
        self.counts: Counter[str] = Counter()
        # With weights: each answer's weight in the order added, and weight totals per option.
        self.weights: list[float] | None = [] if weighted else None
        self.weighted: dict[str, float] = {}
        self.numbers: list[float] = []
        self.texts: list[str] = []

    def add_skipped(self, count: int = 1) -> None:
        self.skipped += count

    def add(self, value: object, count: int = 1, weight: float | None = None) -> None:
        """Add ``count`` answers of ``value``. A weighted tally takes one answer at a time,
        with its ``weight``."""
        if self.weights is not None:
            if weight is None or count != 1:
                raise ValueError("a weighted tally takes one answer at a time, with its weight")
            self.weights.append(weight)
        self.n += count
        question_type = self.question.type
        if question_type in (QuestionType.SINGLE_CHOICE, QuestionType.MULTIPLE_CHOICE):
            self._count(value if isinstance(value, list) else [value], count, weight)
        elif question_type is QuestionType.YES_NO:
            self._count([value], count, weight)
        elif question_type in (QuestionType.SCALE, QuestionType.NUMBER):
            number = float(Decimal(str(value)))
            self.numbers.extend([number] * count)
            if question_type is QuestionType.SCALE:
                self._count([str(int(number))], count, weight)
        else:
            self.texts.extend([str(value)] * count)

    def result(self, survey: SurveyModel, locale: str) -> QuestionResult:
        question = self.question
        base = dict(id=question.id, type=str(question.type), text=survey.text(question.text, locale), n=self.n, skipped=self.skipped)
        weight_total = sum(self.weights) if self.weights is not None else 0.0
        if question.type in (QuestionType.SINGLE_CHOICE, QuestionType.MULTIPLE_CHOICE):
            options = [self._option(option.id, survey.text(option.label, locale), weight_total) for option in question.options]
            return QuestionResult(**base, options=options)
        if question.type is QuestionType.YES_NO:
            t = texts(locale)
            options = [self._option(YES, t.gettext("Yes"), weight_total), self._option(NO, t.gettext("No"), weight_total)]
            return QuestionResult(**base, options=options)
        if question.type in (QuestionType.SCALE, QuestionType.NUMBER):
            options = []
            if question.type is QuestionType.SCALE:
                points = range(int(question.min), int(question.max) + 1)
                options = [self._option(str(point), str(point), weight_total) for point in points]
            weighted_mean = None
            if self.weights is not None and self.numbers and weight_total > 0:
                weighted_mean = sum(number * weight for number, weight in zip(self.numbers, self.weights)) / weight_total
            return QuestionResult(**base, options=options, weighted_mean=weighted_mean, **_summary(self.numbers))
        return QuestionResult(**base, texts=self.texts)

    def _count(self, option_ids: list[object], count: int, weight: float | None) -> None:
        for option_id in option_ids:
            key = str(option_id)
            self.counts[key] += count
            if weight is not None:
                self.weighted[key] = self.weighted.get(key, 0.0) + weight

    def _option(self, option_id: str, label: str, weight_total: float) -> OptionCount:
        count = self.counts[option_id]
        weighted_share = None
        if self.weights is not None and weight_total > 0:
            weighted_share = self.weighted.get(option_id, 0.0) / weight_total
        return OptionCount(option_id, label, count, count / self.n if self.n else None, weighted_share)


def _summary(numbers: list[float]) -> dict[str, float | None]:
    if not numbers:
        return dict(mean=None, median=None, minimum=None, maximum=None)
    return dict(
        mean=statistics.fmean(numbers), median=statistics.median(numbers), minimum=min(numbers), maximum=max(numbers)
    )
