"""Queries the engine and the commands share. Callers own the transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

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
# One row per answer so far to the conversation's survey, or one row without an answer.
_ADDRESS_WITH_STATE = (
    select(Address, Conversation, Resident, Survey, Response, Answer)
    .outerjoin(Conversation, Conversation.address_id == Address.id)
    .outerjoin(Resident, Resident.id == Address.resident_id)
    .outerjoin(Survey, Survey.id == Conversation.survey_id)
    .outerjoin(Response, (Response.survey_id == Survey.id) & (Response.resident_id == Resident.id))
    .outerjoin(Answer, Answer.response_id == Response.id)
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


@dataclass(frozen=True)
class SurveyResponse:
    """A resident's response to one survey as loaded, with its answers by question id.

    ``response`` is None when the resident has not answered that survey yet."""

    survey_pk: int
    response: Response | None
    answers: dict[str, Answer]


@dataclass(frozen=True)
class AddressState:
    address: Address
    conversation: Conversation | None
    resident: Resident | None
    # The conversation's survey, and the resident's response to it when both are known.
    survey: Survey | None
    survey_response: SurveyResponse | None


async def lock_address(session: AsyncSession, channel: str, value: str) -> AddressState | None:
    """Return the address with its conversation, resident, the conversation's survey and
    the resident's response to it, the address locked (PostgreSQL), so two messages from
    one resident are handled one after the other. SQLite serialises writers already.

    On PostgreSQL a statement of its own takes the lock first. A statement that waits for
    a row lock reads the new version of the locked row only, so a joined conversation
    would come back as it was before the other message changed it. One statement then
    loads everything. While the caller holds the survey, a lookup of it by primary key is
    answered from the session without a query (the session's identity map holds its
    rows only by weak reference).
    """
    parameters = {"channel": channel, "value": value}
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(_LOCK_ADDRESS, parameters)
    rows = (await session.execute(_ADDRESS_WITH_STATE, parameters)).all()
    if not rows:
        return None
    address, conversation, resident, survey, response, _ = rows[0]
    survey_response = None
    if survey is not None and resident is not None:
        answers = {answer.question_id: answer for *_, answer in rows if answer is not None}
        survey_response = SurveyResponse(survey.id, response, answers)
    return AddressState(address, conversation, resident, survey, survey_response)


async def open_surveys_for(session: AsyncSession, resident_id: int) -> list[Survey]:
    """Return the open surveys this resident has not completed, newest first."""
    return list((await session.execute(_OPEN_SURVEYS_FOR, {"resident_id": resident_id})).scalars())


async def response_with_answers(session: AsyncSession, survey_pk: int, resident_id: int) -> SurveyResponse:
    """Return the resident's response to a survey and its answers by question id, in one query."""
    response: Response | None = None
    answers: dict[str, Answer] = {}
    parameters = {"survey_pk": survey_pk, "resident_id": resident_id}
    for response, answer in (await session.execute(_RESPONSE_WITH_ANSWERS, parameters)).all():
        if answer is not None:
            answers[answer.question_id] = answer
    return SurveyResponse(survey_pk, response, answers)


def answer_values(answers: dict[str, Answer]) -> dict[str, AnswerValue]:
    return {question_id: answer.value for question_id, answer in answers.items() if not answer.skipped}
