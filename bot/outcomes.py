"""Survey outcomes: what the requesting organisation did with a closed survey's results.

An outcome is recorded once per survey and queued for every resident who answered the
survey, the same residents who got its summary.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot import topics
from bot.i18n import Texts
from bot.notify import notify_resident
from bot.settings import SUPPORTED_LOCALES
from bot.summaries import (
    OUTCOME_DEFAULT_LOCALE,
    organisation_name,
    outcome_block,
    outcome_text,
    pack_messages,
    respondents_statement,
)
from bot.surveys import find_survey, survey_model
from store.models import Survey, SurveyOutcome

log = logging.getLogger(__name__)

OUTCOME_KIND = "outcome"
# Maximum length of an outcome text per locale, in characters: the same as for the text
# of a survey question. A longer text would reach each resident as many SMS messages.
OUTCOME_MAX_LENGTH = 1000
ACTOR_MAX_LENGTH = SurveyOutcome.__table__.c.recorded_by.type.length


class OutcomeError(ValueError):
    """An outcome that cannot be recorded. The message explains why and what to do."""


def validate_texts(texts: Mapping[str, object]) -> dict[str, str]:
    """Return the outcome texts stripped of surrounding whitespace, or raise OutcomeError.

    The texts need the default locale (nl). Other keys must be supported locales, and
    every text must be non-empty and at most OUTCOME_MAX_LENGTH characters long.
    """
    unknown = sorted(str(locale) for locale in texts if locale not in SUPPORTED_LOCALES)
    if unknown:
        raise OutcomeError(
            f"unknown language {', '.join(repr(locale) for locale in unknown)}; "
            f"give texts only for {' and '.join(SUPPORTED_LOCALES)}"
        )
    if OUTCOME_DEFAULT_LOCALE not in texts:
        raise OutcomeError(f"the text for {OUTCOME_DEFAULT_LOCALE!r} is missing; every outcome needs a Dutch text")
    cleaned: dict[str, str] = {}
    for locale in SUPPORTED_LOCALES:
        if locale not in texts:
            continue
        text = texts[locale]
        if not isinstance(text, str) or not text.strip():
            raise OutcomeError(f"the text for {locale!r} is empty; write the text, or leave out {locale!r}")
        text = text.strip()
        if len(text) > OUTCOME_MAX_LENGTH:
            raise OutcomeError(
                f"the text for {locale!r} has {len(text)} characters; shorten it to at most {OUTCOME_MAX_LENGTH}"
            )
        cleaned[locale] = text
    return cleaned


async def record_outcome(
    session: AsyncSession, slug: str, texts: dict[str, str], actor: str, now: datetime, send_at: datetime
) -> int:
    """Store the outcome of the closed survey ``slug`` and queue it for its respondents.

    Writes an audit entry in the same transaction. Returns the number of residents
    queued, leaving out those whose addresses all opted out or cannot be reached.
    Raises OutcomeError for invalid texts or actor, an unknown survey, a survey that is
    not closed, or a survey that already has an outcome.
    """
    cleaned = validate_texts(texts)
    actor = actor.strip()
    if not actor or len(actor) > ACTOR_MAX_LENGTH:
        raise OutcomeError(f"invalid actor {actor!r}; give a name of 1 to {ACTOR_MAX_LENGTH} characters with --by")
    row = await find_survey(session, slug)
    if row is None:
        raise OutcomeError(f"no survey with id {slug!r}; see: chatpanel survey list")
    if row.status != "closed":
        raise OutcomeError(f"survey {slug!r} is {row.status}, not closed; close it first with: chatpanel survey close {slug}")
    await _store(session, row, cleaned, actor, now)

    survey = survey_model(row)
    organisation = await organisation_name(session, row)

    def render(t: Texts) -> list[str]:
        requester = organisation or survey.text(survey.requested_by, t.locale)
        title = survey.text(survey.title, t.locale)
        text = outcome_text(cleaned, t.locale, OUTCOME_DEFAULT_LOCALE)
        return pack_messages([outcome_block(t, requester, title, text)])

    count = 0
    for resident_id in (await session.execute(respondents_statement(row.id))).scalars().all():
        queued = await notify_resident(
            session,
            resident_id,
            key=f"{OUTCOME_KIND}:{row.id}:{resident_id}",
            kind=OUTCOME_KIND,
            render=render,
            send_at=send_at,
            now=now,
            survey_id=row.id,
        )
        if queued:
            count += 1

    # topics.audit cuts a long subject short; the details contain the whole id.
    details = {"survey": slug, "locales": sorted(cleaned), "residents": count}
    topics.audit(session, actor, OUTCOME_KIND, f"survey:{slug}", details, now)
    log.info("survey %s: outcome recorded by %s and queued for %s residents", slug, actor, count)
    return count


async def _store(session: AsyncSession, row: Survey, texts: dict[str, str], actor: str, now: datetime) -> None:
    """Add the SurveyOutcome row, or raise OutcomeError if the survey already has one."""
    existing = await session.get(SurveyOutcome, row.id)
    if existing is None:
        try:
            async with session.begin_nested():
                session.add(SurveyOutcome(survey_id=row.id, texts=texts, recorded_by=actor, recorded_at=now))
            return
        except IntegrityError:
            # Another moderator recorded one between the check and this insert.
            existing = await session.get(SurveyOutcome, row.id, populate_existing=True)
    recorded = f" by {existing.recorded_by} at {existing.recorded_at:%Y-%m-%d %H:%M} UTC" if existing is not None else ""
    raise OutcomeError(
        f"survey {row.slug!r} already has an outcome (recorded{recorded}); a survey gets one outcome, "
        "so residents are told once"
    )
