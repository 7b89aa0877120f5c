"""Moderator commands for surveys and the database."""

from __future__ import annotations

import dataclasses
import getpass
import json
import sys
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from bot.flows.loader import SurveyValidationError, load_survey_file
from bot.i18n import texts
from bot.results import SurveyResults, survey_results
from bot.settings import Settings
from bot.surveys import SurveyConflict, find_survey, save_survey, survey_model
from bot.topics import TopicError, audit, link_survey
from store.db import create_sessionmaker, describe_database, migrated_engine, sqlite_file
from store.models import Organisation, Response, Survey, utcnow


def validate(paths: list[str]) -> int:
    failed = False
    for path in paths:
        try:
            survey = load_survey_file(path)
        except SurveyValidationError as error:
            failed = True
            for problem in error.errors:
                print(problem, file=sys.stderr)
            continue
        print(f"{path}: survey {survey.id!r} is valid ({len(survey.questions)} questions)")
    return 1 if failed else 0


async def upgrade_database(settings: Settings) -> int:
    async with migrated_engine(settings.database_url):
        pass
    print("database is at the latest schema")
    return 0


async def load(settings: Settings, path: str, *, organisation: str | None = None, topic_id: int | None = None) -> int:
    try:
        survey = load_survey_file(path)
    except SurveyValidationError as error:
        for problem in error.errors:
            print(problem, file=sys.stderr)
        count = len(error.errors)
        print(f"chatpanel: error: {path} has {count} error{'s' if count != 1 else ''}; nothing was loaded", file=sys.stderr)
        return 1
    try:
        async with migrated_engine(settings.database_url) as engine:
            async with create_sessionmaker(engine)() as session, session.begin():
                saved = await save_survey(session, survey)
                await _link(session, saved.row, organisation, topic_id)
                if saved.outcome != "unchanged" or organisation is not None or topic_id is not None:
                    details = {"outcome": saved.outcome, "organisation": organisation, "topic": topic_id}
                    audit(session, getpass.getuser(), "load", f"survey:{survey.id}", details, utcnow())
    except (SurveyConflict, TopicError) as error:
        print(f"chatpanel: error: {error}; nothing was loaded", file=sys.stderr)
        return 1
    print(f"survey {survey.id!r} {saved.outcome}; {_status_note(saved.row, settings)}")
    if organisation is not None:
        print(f"survey {survey.id!r} is asked by organisation {organisation!r}: its digest lists the survey first, as its own")
    return 0


def _status_note(row: Survey, settings: Settings) -> str:
    """Describe what a just loaded survey's status means for residents."""
    if row.status == "closed":
        return "it is closed, so residents cannot answer it; load it under a new id to ask again"
    if row.status == "scheduled" and row.opens_at is not None:
        opens = row.opens_at.astimezone(ZoneInfo(settings.timezone))
        return f"it opens for residents at {opens:%Y-%m-%d %H:%M} ({settings.timezone})"
    return "it is open for residents"


async def _link(session, row, organisation: str | None, topic_id: int | None) -> None:
    """Link a loaded survey to its organisation and the topic it grew from."""
    if organisation is not None:
        found = (await session.execute(select(Organisation).where(Organisation.slug == organisation))).scalar_one_or_none()
        if found is None:
            raise TopicError(f"no organisation {organisation!r}; add it with: chatpanel org add")
        row.organisation_id = found.id
    if topic_id is not None:
        await link_survey(session, row, topic_id, getpass.getuser(), utcnow())


async def list_surveys(settings: Settings) -> int:
    if not database_exists(settings):
        return 1
    async with migrated_engine(settings.database_url) as engine:
        async with create_sessionmaker(engine)() as session:
            counts = select(Response.survey_id, func.count().label("n")).group_by(Response.survey_id).subquery()
            statement = (
                select(Survey, func.coalesce(counts.c.n, 0))
                .outerjoin(counts, counts.c.survey_id == Survey.id)
                .order_by(Survey.loaded_at.desc())
            )
            rows = (await session.execute(statement)).all()
    if not rows:
        print("no surveys loaded; load one with: chatpanel survey load FILE")
        return 0
    print(f"{'ID':<32} {'STATUS':<9} {'RESPONSES':>9}  TITLE")
    for row, responses in rows:
        survey = survey_model(row)
        print(f"{row.slug:<32} {row.status:<9} {responses:>9}  {survey.text(survey.title, settings.default_locale)}")
    return 0


async def results(settings: Settings, survey_id: str, output_format: str, locale: str) -> int:
    if not database_exists(settings):
        return 1
    async with migrated_engine(settings.database_url) as engine:
        async with create_sessionmaker(engine)() as session:
            row = await find_survey(session, survey_id)
            if row is None:
                print(f"chatpanel: error: no survey with id {survey_id!r}; see: chatpanel survey list", file=sys.stderr)
                return 1
            computed = await survey_results(session, row, locale)
    if output_format == "json":
        print(json.dumps(dataclasses.asdict(computed), ensure_ascii=False, indent=2))
    else:
        print(format_results(computed, locale))
    return 0


def format_results(computed: SurveyResults, locale: str) -> str:
    t = texts(locale)
    lines = [
        f"{computed.survey_id}: {computed.title} ({computed.status})",
        f"respondents: {computed.respondents}, completed: {computed.completed}",
    ]
    for question in computed.questions:
        lines.append("")
        summary = f"{question.id} ({question.type}): n={question.n}"
        if question.skipped:
            summary += f", skipped={question.skipped}"
        if question.mean is not None:
            summary += f", mean={t.number(round(question.mean, 2))}, median={t.number(question.median)}"
            summary += f", min={t.number(question.minimum)}, max={t.number(question.maximum)}"
        lines.append(summary)
        lines.append(f"  {question.text}")
        width = max((len(option.label) for option in question.options), default=0)
        for option in question.options:
            share = t.percent(option.share, decimals=1) if option.share is not None else "-"
            lines.append(f"  {option.label:<{width}}  {option.count:>6}  {share:>7}")
        for answer in question.texts:
            lines.append("  - " + " ".join(answer.split()))
    return "\n".join(lines)


def database_exists(settings: Settings) -> bool:
    """Report a missing SQLite file instead of creating an empty one for a read-only command."""
    path = sqlite_file(settings.database_url)
    if path is None or path.is_file():
        return True
    print(
        f"chatpanel: error: no database at {describe_database(settings.database_url)}; "
        "give the right file with --db, or load a survey first with: chatpanel survey load FILE",
        file=sys.stderr,
    )
    return False
