"""Queries the engine and the commands share. Callers own the transaction."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, Integer, any_, bindparam, exists, literal, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from bot.flows.model import AnswerValue
from store.models import Address, Answer, Conversation, Resident, Response, Survey


def id_in(session: AsyncSession, column: ColumnElement[int], ids: Sequence[int]) -> ColumnElement[bool]:
    """Return the condition that ``column`` is one of ``ids``, for lists of thousands.

    On PostgreSQL the ids go as one array parameter (``= ANY``). A plain IN sends a
    parameter per id, and SQLAlchemy processes each: for a broadcast batch of 5,000 ids
    that took longer in Python than the statement on the server (docs/benchmarks.md).
    SQLite, which has no arrays, gets IN.
    """
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(literal(list(ids), ARRAY(Integer)))
    return column.in_(ids)


# The engine's statements for each inbound message, built once. Building one with its
# cache key took about 100 µs of Python, for every message (docs/benchmarks.md).
_ADDRESS_WHERE = (Address.channel == bindparam("channel"), Address.value == bindparam("value"))
_LOCK_ADDRESS = select(Address.id).where(*_ADDRESS_WHERE).with_for_update()
_ADDRESS_WITH_STATE = (
    select(Address, Conversation, Resident, Survey)
    .outerjoin(Conversation, Conversation.address_id == Address.id)
    .outerjoin(Resident, Resident.id == Address.resident_id)
    .outerjoin(Survey, Survey.id == Conversation.survey_id)
    .where(*_ADDRESS_WHERE)
)
_RESPONSE_WITH_ANSWERS = (
    select(Response, Answer)
    .outerjoin(Answer, Answer.response_id == Response.id)
    .where(Response.survey_id == bindparam("survey_pk"), Response.resident_id == bindparam("resident_id"))
)
_COMPLETED_BY_RESIDENT = exists().where(
    Response.survey_id == Survey.id,
    Response.resident_id == bindparam("resident_id"),
    Response.completed_at.is_not(None),
)
_OPEN_SURVEYS_FOR = (
    select(Survey)
    .where(Survey.status == "open", ~_COMPLETED_BY_RESIDENT)
    .order_by(Survey.loaded_at.desc(), Survey.id.desc())
)


async def lock_address(
    session: AsyncSession, channel: str, value: str
) -> tuple[Address, Conversation | None, Resident | None, Survey | None] | None:
    """Return the address with its conversation, resident and the conversation's survey,
    the address locked (PostgreSQL), so two messages from one resident are handled one
    after the other. SQLite serialises writers already.

    On PostgreSQL a statement of its own takes the lock first. A statement that waits for
    a row lock reads the new version of the locked row only, so a joined conversation
    would come back as it was before the other message changed it. One statement then
    loads all four. While the caller holds the survey, a lookup of it by primary key is
    answered from the session without a query (the session's identity map holds its
    rows only by weak reference).
    """
    parameters = {"channel": channel, "value": value}
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(_LOCK_ADDRESS, parameters)
    found = (await session.execute(_ADDRESS_WITH_STATE, parameters)).one_or_none()
    return None if found is None else tuple(found)


async def open_surveys_for(session: AsyncSession, resident_id: int) -> list[Survey]:
    """Return the open surveys this resident has not completed, newest first."""
    return list((await session.execute(_OPEN_SURVEYS_FOR, {"resident_id": resident_id})).scalars())


async def response_with_answers(
    session: AsyncSession, survey_pk: int, resident_id: int
) -> tuple[Response | None, dict[str, Answer]]:
    """Return the resident's response to a survey and its answers by question id, in one query."""
    response: Response | None = None
    answers: dict[str, Answer] = {}
    parameters = {"survey_pk": survey_pk, "resident_id": resident_id}
    for response, answer in (await session.execute(_RESPONSE_WITH_ANSWERS, parameters)).all():
        if answer is not None:
            answers[answer.question_id] = answer
    return response, answers


def answer_values(answers: dict[str, Answer]) -> dict[str, AnswerValue]:
    return {question_id: answer.value for question_id, answer in answers.items() if not answer.skipped}
