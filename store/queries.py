"""Queries the engine and the commands share. Callers own the transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import JSON, ColumnElement, Integer, ScalarSelect, Select, and_, any_, bindparam, exists, func, literal, select, tuple_, type_coerce
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
# In the order of their ids, so two transactions that lock some of the same addresses
# cannot each wait for the other.
_LOCK_ADDRESSES = (
    select(Address.id)
    .where(tuple_(Address.channel, Address.value).in_(bindparam("addresses", expanding=True)))
    .order_by(Address.id)
    .with_for_update()
)


def _answers_as_json(dialect_name: str) -> ScalarSelect:
    """Return the answers of the outer query's response as one JSON array of
    [id, question id, value, skipped] arrays: NULL or [] when there are none.

    One column instead of a row per answer: joined rows would repeat the survey's
    definition for every answer, and each copy would be decoded.
    """
    if dialect_name == "postgresql":
        aggregate = func.json_agg(func.json_build_array(Answer.id, Answer.question_id, Answer.value, Answer.skipped))
    else:
        # SQLite stores JSON as text, so json() turns it back into JSON inside the array.
        aggregate = func.json_group_array(func.json_array(Answer.id, Answer.question_id, func.json(Answer.value), Answer.skipped))
    return select(type_coerce(aggregate, JSON)).where(Answer.response_id == Response.id).scalar_subquery()


def _address_with_state(dialect_name: str) -> Select:
    return (
        select(Address, Conversation, Resident, Survey, Response, _answers_as_json(dialect_name))
        .outerjoin(Conversation, Conversation.address_id == Address.id)
        .outerjoin(Resident, Resident.id == Address.resident_id)
        .outerjoin(Survey, Survey.id == Conversation.survey_id)
        .outerjoin(Response, and_(Response.survey_id == Conversation.survey_id, Response.resident_id == Address.resident_id))
        .where(*_ADDRESS_WHERE)
    )


_ADDRESS_WITH_STATE = {name: _address_with_state(name) for name in ("postgresql", "sqlite")}
_RESPONSE_WITH_ANSWERS = (
    select(Response, Answer.id, Answer.question_id, Answer.value, Answer.skipped)
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
class StoredAnswer:
    """An answer as a turn reads it. ``id`` is None for an answer this turn inserted."""

    id: int | None
    value: AnswerValue | None
    skipped: bool


@dataclass
class ResponseState:
    """The resident's response to one survey, if any, and its answers by question id."""

    survey_pk: int
    response: Response | None
    answers: dict[str, StoredAnswer]


@dataclass(frozen=True)
class AddressState:
    address: Address
    conversation: Conversation | None
    resident: Resident | None
    # The conversation's survey, with the resident's response to it.
    survey: Survey | None
    response: ResponseState | None


async def lock_addresses(session: AsyncSession, addresses: Sequence[tuple[str, str]]) -> None:
    """Lock the existing ones of ``addresses`` (channel, value) for the transaction, so
    two messages from one resident are handled one after the other.

    Only on PostgreSQL, because SQLite serialises writers already. The lock is a statement
    of its own, run before load_address. A statement that waits for a row lock reads the
    new version of the locked row only, so a joined conversation would come back as it
    was before the other message changed it.
    """
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(_LOCK_ADDRESSES, {"addresses": list(addresses)})


async def load_address(session: AsyncSession, channel: str, value: str) -> AddressState | None:
    """Return the address with its conversation, resident, the conversation's survey and
    the resident's response to it, in one statement. Lock it first (lock_addresses).

    While the caller keeps a reference to the survey, a lookup of it by primary key is
    answered from the session without a query (the session's identity map keeps its
    rows only by weak reference).
    """
    parameters = {"channel": channel, "value": value}
    dialect_name = session.get_bind().dialect.name
    found = (await session.execute(_ADDRESS_WITH_STATE[dialect_name], parameters)).one_or_none()
    if found is None:
        return None
    address, conversation, resident, survey, response, answers = found
    state = None
    if survey is not None and resident is not None:
        stored = {row[1]: StoredAnswer(row[0], row[2], bool(row[3])) for row in answers or ()}
        state = ResponseState(survey.id, response, stored)
    return AddressState(address, conversation, resident, survey, state)


async def open_surveys_for(session: AsyncSession, resident_id: int) -> list[Survey]:
    """Return the open surveys this resident has not completed, newest first."""
    return list((await session.execute(_OPEN_SURVEYS_FOR, {"resident_id": resident_id})).scalars())


async def response_with_answers(session: AsyncSession, survey_pk: int, resident_id: int) -> ResponseState:
    """Return the resident's response to a survey and its answers, in one query."""
    state = ResponseState(survey_pk, None, {})
    parameters = {"survey_pk": survey_pk, "resident_id": resident_id}
    for response, answer_id, question_id, value, skipped in (await session.execute(_RESPONSE_WITH_ANSWERS, parameters)).all():
        state.response = response
        if answer_id is not None:
            state.answers[question_id] = StoredAnswer(answer_id, value, skipped)
    return state


def answer_values(answers: dict[str, StoredAnswer]) -> dict[str, AnswerValue]:
    return {question_id: answer.value for question_id, answer in answers.items() if not answer.skipped}
