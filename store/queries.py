"""Queries the engine and the commands share. Callers own the transaction."""

from __future__ import annotations

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.flows.model import AnswerValue
from store.models import Address, Answer, Response, Survey


async def lock_address(session: AsyncSession, channel: str, value: str) -> Address | None:
    """Return the address with a row lock (PostgreSQL), so two messages from one resident
    are handled one after the other. SQLite serialises writers already."""
    statement = select(Address).where(Address.channel == channel, Address.value == value).with_for_update()
    return (await session.execute(statement)).scalar_one_or_none()


async def open_surveys_for(session: AsyncSession, resident_id: int) -> list[Survey]:
    """Return the open surveys this resident has not completed, newest first."""
    completed = exists().where(
        Response.survey_id == Survey.id,
        Response.resident_id == resident_id,
        Response.completed_at.is_not(None),
    )
    statement = select(Survey).where(Survey.status == "open", ~completed).order_by(Survey.loaded_at.desc(), Survey.id.desc())
    return list((await session.execute(statement)).scalars())


async def get_response(session: AsyncSession, survey_pk: int, resident_id: int) -> Response | None:
    statement = select(Response).where(Response.survey_id == survey_pk, Response.resident_id == resident_id)
    return (await session.execute(statement)).scalar_one_or_none()


async def answers_of(session: AsyncSession, response_id: int) -> dict[str, Answer]:
    rows = (await session.execute(select(Answer).where(Answer.response_id == response_id))).scalars()
    return {answer.question_id: answer for answer in rows}


def answer_values(answers: dict[str, Answer]) -> dict[str, AnswerValue]:
    return {question_id: answer.value for question_id, answer in answers.items() if not answer.skipped}
