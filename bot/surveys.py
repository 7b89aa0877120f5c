"""Surveys in the store: saving a validated survey and rebuilding it from its stored form."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.flows.loader import survey_from_source
from bot.flows.model import Survey as SurveyModel
from store.models import Response, Survey, utcnow

_MAX_CACHED_SURVEYS = 256
_cache: dict[tuple[int, int, object], SurveyModel] = {}


class SurveyConflict(Exception):
    """A survey with this id already exists with other content and has responses."""


@dataclass(frozen=True)
class SaveResult:
    row: Survey
    # "created", "updated" or "unchanged"
    outcome: str


def _answer_shape(definition: dict) -> list:
    """Return what stored answers depend on: each question's id, type, options and range.

    Texts may change while a survey has responses; this may not.
    """
    shape = []
    for question in definition.get("questions", []):
        options = [option.get("id") for option in question.get("options", [])]
        bounds = (question.get("min"), question.get("max"), question.get("decimals"), question.get("show_if"))
        shape.append((question.get("id"), question.get("type"), options, bounds))
    return shape


def survey_model(row: Survey) -> SurveyModel:
    """Return the parsed survey of ``row``, cached by its id, version and load time."""
    key = (row.id, row.version, row.loaded_at)
    model = _cache.get(key)
    if model is None:
        if len(_cache) >= _MAX_CACHED_SURVEYS:
            _cache.clear()
        model = survey_from_source(row.definition)
        _cache[key] = model
    return model


async def get_survey(session: AsyncSession, survey_pk: int) -> tuple[Survey, SurveyModel] | None:
    row = await session.get(Survey, survey_pk)
    if row is None:
        return None
    return row, survey_model(row)


async def find_survey(session: AsyncSession, slug: str) -> Survey | None:
    return (await session.execute(select(Survey).where(Survey.slug == slug))).scalar_one_or_none()


async def save_survey(session: AsyncSession, survey: SurveyModel) -> SaveResult:
    """Store ``survey`` as open, or update the stored survey with the same id.

    Raises SurveyConflict when the stored survey has responses and different content,
    because its results would no longer match its questions.
    """
    definition = dict(survey.source)
    row = await find_survey(session, survey.id)
    if row is None:
        row = Survey(slug=survey.id, version=survey.version, definition=definition, status="open", opened_at=utcnow())
        session.add(row)
        await session.flush()
        return SaveResult(row, "created")
    if row.definition == definition:
        return SaveResult(row, "unchanged")
    responses = await session.scalar(select(func.count()).select_from(Response).where(Response.survey_id == row.id))
    if responses and _answer_shape(row.definition) != _answer_shape(definition):
        raise SurveyConflict(
            f"survey {survey.id!r} already has responses ({responses}), and the new file changes its "
            "questions, types or options; give the changed survey a new id, or change only texts"
        )
    row.version = survey.version
    row.definition = definition
    row.loaded_at = utcnow()
    await session.flush()
    return SaveResult(row, "updated")
