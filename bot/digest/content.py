"""Gather one organisation's weekly digest from the store.

Closed survey results are public: residents receive them when a survey closes, so every
partner's digest shows every survey that closed in the week, its own surveys first.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import distinct, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.digest.model import ClosedSurvey, Digest, DigestOrganisation, DigestTopic, PanelFigures, RunningSurvey
from bot.digest.weeks import Week
from bot.week_answers import week_answers_csv
from bot.i18n import texts
from bot.panel_weights import survey_weights
from bot.representativeness import ReferenceSetup, panel_profiles_statement, representativeness
from bot.results import survey_results
from bot.surveys import survey_model
from bot.topics import public_title
from store.models import Address, Organisation, Resident, OutboxMessage, Response, Suggestion, Support, Survey, SurveyOutcome

# The most supported topics listed in a digest.
TOP_TOPICS = 5
INVITATION = "invitation"


class DigestError(LookupError):
    """No such organisation. The message names it and where to find the right one."""


async def find_organisation(session: AsyncSession, slug: str) -> Organisation:
    organisation = await session.scalar(select(Organisation).where(Organisation.slug == slug))
    if organisation is None:
        raise DigestError(f"no organisation {slug!r}; see: chatpanel org list")
    return organisation


async def gather_digest(
    session: AsyncSession,
    organisation: Organisation,
    week: Week,
    *,
    panel_name: str,
    zone: ZoneInfo,
    min_group_size: int,
    setup: ReferenceSetup | None,
) -> Digest:
    """Collect the content of ``organisation``'s digest for ``week`` from the store as it is now.

    Creates the export keys of surveys exported for the first time, so the caller commits.
    """
    start, end = week.bounds(zone)
    locale = organisation.locale
    closed = await _closed_surveys(session, organisation, start, end, locale, min_group_size, setup)
    running = await _running_surveys(session, organisation, end, locale)
    report = await representativeness(session, setup, min_group_size, at=end) if setup is not None else None
    # Individual answers go only to the organisation that asked the questions. Every
    # partner gets the results of all closed surveys in the digest itself.
    own = [survey.pk for survey in closed + running if survey.value.own]
    answers = await week_answers_csv(
        session, start, end, own, locale,
        min_group_size=min_group_size, timezone=zone.key,
    )
    return Digest(
        panel_name=panel_name,
        organisation=DigestOrganisation(organisation.slug, organisation.name, locale, organisation.contact_email),
        week=str(week),
        timezone=zone.key,
        first_day=week.first_day,
        last_day=week.last_day,
        closed=[survey.value for survey in closed],
        running=[survey.value for survey in running],
        new_topics=await _new_topics(session, start, end),
        top_topics=await _top_topics(session, start, end),
        panel=await _panel_figures(session, start, end, closed),
        representativeness=report,
        min_group_size=min_group_size,
        answers_csv=answers.csv_text,
        answer_rows=answers.rows,
    )


class _Gathered:
    """A survey's digest entry with its primary key, which the entry itself does not show."""

    def __init__(self, pk: int, value) -> None:
        self.pk = pk
        self.value = value


async def _closed_surveys(session, organisation, start, end, locale, min_group_size, setup) -> list[_Gathered]:
    statement = select(Survey).where(Survey.closed_at >= start, Survey.closed_at < end)
    rows = list((await session.execute(statement)).scalars())
    rows.sort(key=lambda row: (row.organisation_id != organisation.id, -row.closed_at.timestamp()))
    t = texts(locale)
    gathered = []
    for row in rows:
        survey = survey_model(row)
        weighting = await survey_weights(session, row.id, setup, min_group_size)
        results = await survey_results(session, row, locale, weighting.weights)
        problem = None
        if weighting.problem is not None:
            label = setup.label(weighting.problem.characteristic, weighting.problem.category) if weighting.problem.category else None
            problem = weighting.problem.describe(t, label)
        entry = ClosedSurvey(
            slug=row.slug,
            title=survey.text(survey.title, locale),
            requested_by=survey.text(survey.requested_by, locale),
            own=row.organisation_id == organisation.id,
            closed_at=row.closed_at,
            invited=await _invited(session, row.id),
            results=results,
            shown=results.respondents >= max(min_group_size, 1),
            weighting_problem=problem,
            weighted=weighting.weights is not None,
            outcome=await _outcome(session, row.id, locale),
        )
        gathered.append(_Gathered(row.id, entry))
    return gathered


async def _running_surveys(session, organisation, end, locale) -> list[_Gathered]:
    statement = select(Survey).where(
        Survey.opened_at < end, or_(Survey.closed_at.is_(None), Survey.closed_at >= end), Survey.status.in_(("open", "closed"))
    )
    rows = list((await session.execute(statement)).scalars())
    rows.sort(key=lambda row: (row.organisation_id != organisation.id, row.closes_at is None, row.closes_at or row.opened_at))
    gathered = []
    for row in rows:
        survey = survey_model(row)
        responses = select(func.count()).select_from(Response).where(Response.survey_id == row.id, Response.started_at < end)
        completed = responses.where(Response.completed_at.is_not(None), Response.completed_at < end)
        entry = RunningSurvey(
            slug=row.slug,
            title=survey.text(survey.title, locale),
            requested_by=survey.text(survey.requested_by, locale),
            own=row.organisation_id == organisation.id,
            closes_at=row.closes_at,
            invited=await _invited(session, row.id, before=end),
            responses=await session.scalar(responses) or 0,
            completed=await session.scalar(completed) or 0,
        )
        gathered.append(_Gathered(row.id, entry))
    return gathered


async def _invited(session: AsyncSession, survey_pk: int, before: datetime | None = None) -> int:
    statement = select(func.count(distinct(OutboxMessage.address_id))).where(
        OutboxMessage.survey_id == survey_pk, OutboxMessage.kind == INVITATION
    )
    if before is not None:
        statement = statement.where(OutboxMessage.created_at < before)
    return await session.scalar(statement) or 0


async def _outcome(session: AsyncSession, survey_pk: int, locale: str) -> str | None:
    outcome = await session.get(SurveyOutcome, survey_pk)
    if outcome is None:
        return None
    return outcome.texts.get(locale) or outcome.texts.get("nl")


async def _new_topics(session: AsyncSession, start: datetime, end: datetime) -> list[DigestTopic]:
    statement = (
        select(Suggestion)
        .where(Suggestion.status == "approved", Suggestion.decided_at >= start, Suggestion.decided_at < end)
        .order_by(Suggestion.decided_at.desc())
    )
    return [await _topic(session, suggestion, start, end) for suggestion in (await session.execute(statement)).scalars()]


async def _top_topics(session: AsyncSession, start: datetime, end: datetime) -> list[DigestTopic]:
    supporters = (
        select(func.count())
        .select_from(Support)
        .where(Support.suggestion_id == Suggestion.id, Support.created_at < end)
        .scalar_subquery()
    )
    statement = (
        select(Suggestion)
        .where(Suggestion.status == "approved", Suggestion.decided_at < end)
        .order_by(supporters.desc(), Suggestion.decided_at.desc())
        .limit(TOP_TOPICS)
    )
    topics = [await _topic(session, suggestion, start, end) for suggestion in (await session.execute(statement)).scalars()]
    return [topic for topic in topics if topic.supporters > 0]


async def _topic(session: AsyncSession, suggestion: Suggestion, start: datetime, end: datetime) -> DigestTopic:
    supports = select(func.count()).select_from(Support).where(Support.suggestion_id == suggestion.id, Support.created_at < end)
    return DigestTopic(
        id=suggestion.id,
        title=public_title(suggestion),
        neighbourhood=suggestion.neighbourhood,
        supporters=await session.scalar(supports) or 0,
        new_supporters=await session.scalar(supports.where(Support.created_at >= start)) or 0,
        approved_at=suggestion.decided_at,
    )


async def _panel_figures(session: AsyncSession, start: datetime, end: datetime, closed: list[_Gathered]) -> PanelFigures:
    size = await session.scalar(select(func.count()).select_from(panel_profiles_statement(at=end).subquery()))
    joined = await session.scalar(
        select(func.count()).select_from(Resident).where(Resident.consented_at >= start, Resident.consented_at < end)
    )
    left = await session.scalar(
        select(func.count(distinct(Address.resident_id))).where(
            Address.resident_id.is_not(None), Address.opted_out_at >= start, Address.opted_out_at < end
        )
    )
    invited = sum(entry.value.invited for entry in closed)
    responded = sum(entry.value.results.respondents for entry in closed if entry.value.invited)
    return PanelFigures(size=size or 0, joined=joined or 0, left=left or 0, invited=invited, responded=responded)
