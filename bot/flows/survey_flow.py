"""Taking a survey: offering it, asking each shown question, storing answers, the outro."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, insert, update

from bot.flows.answers import Accepted, parse_answer
from bot.flows.hints import hint_text
from bot.flows.model import YES, Question, QuestionType
from bot.flows.model import Survey as SurveyModel
from bot.flows.prompts import question_prompt, yes_no_prompt
from bot.segments import Segment
from bot.surveys import get_survey, survey_model
from bot.turn import Prompt, Turn
from store.models import Answer, Response, Survey
from store.queries import StoredAnswer, answer_values, open_surveys_for, response_with_answers

FLOW = "survey"
OFFER = "offer"
IDLE = "idle"
MAX_MISSES = 3

# Built once, like the engine's other statements (store.queries).
_INSERT_ANSWER = insert(Answer.__table__)
_UPDATE_ANSWER = update(Answer.__table__).where(Answer.__table__.c.id == bindparam("answer_id"))
_OFFER_QUESTION = Question(id="offer", type=QuestionType.YES_NO, text={"nl": ""})


async def start_next(turn: Turn, *preface: str) -> None:
    """Start the newest open survey the resident has not completed, or say there is none."""
    assert turn.resident is not None
    row = await next_open_survey(turn)
    if row is None:
        turn.set_step(IDLE)
        turn.say(*preface, turn.t.gettext("There is no survey for you right now. We will send you a message when there is a new one."))
        return
    await start(turn, row, *preface)


async def start(turn: Turn, row: Survey, *preface: str) -> None:
    """Begin (or continue) ``row`` for the resident, with the intro and the next question."""
    assert turn.resident is not None
    survey = survey_model(row)
    response, answers = await _response(turn, row)
    question = _next_unanswered(survey, answers)
    if question is None:
        await _complete(turn, survey, response, *preface)
        return
    intro = _intro_text(turn, survey)
    turn.set_step(FLOW, question.id, row.id)
    turn.say(*preface, intro, prompt=question_prompt(turn.t, survey, row.id, question))


async def offer(turn: Turn, *preface: str) -> None:
    """Offer the next open survey to a resident who wrote while nothing was pending."""
    assert turn.resident is not None
    t = turn.t
    row = await next_open_survey(turn)
    if row is None:
        turn.set_step(IDLE)
        turn.say(
            *preface,
            t.gettext("There is no question waiting for you right now."),
            t.gettext("Send IDEA to suggest a topic for the panel, or HELP to see what you can do."),
        )
        return
    turn.set_step(OFFER, None, row.id)
    turn.say(*preface, prompt=offer_prompt(turn, row))


async def next_open_survey(turn: Turn) -> Survey | None:
    """Return the newest open survey that the resident has not completed and whose
    segment includes them, if any."""
    assert turn.resident is not None
    for row in await open_surveys_for(turn.session, turn.resident.id):
        if Segment.from_json(row.segment).matches(turn.resident, turn.address, turn.conversation.locale):
            return row
    return None


def offer_prompt(turn: Turn, row: Survey) -> Prompt:
    survey = survey_model(row)
    text = turn.t.gettext(
        "A survey is waiting for you: %(title)s. Do you want to take part now?",
        title=survey.text(survey.title, turn.t.locale),
    )
    return yes_no_prompt(text, f"offer:{row.id}", turn.t)


async def accept_offer_button(turn: Turn, token: str) -> bool:
    """Switch the conversation to the offer that an invitation button names, if that
    survey is still open. Return whether it did."""
    prefix, _, survey_pk = token.partition(":")
    if prefix != OFFER or not survey_pk.isdigit():
        return False
    found = await get_survey(turn.session, int(survey_pk))
    if found is None or found[0].status != "open":
        return False
    turn.set_step(OFFER, None, found[0].id)
    return True


async def answer_offer(turn: Turn, text: str) -> None:
    found = await get_survey(turn.session, turn.conversation.survey_id or 0)
    if found is None or found[0].status != "open":
        await offer(turn)
        return
    row, _ = found
    result = parse_answer(_OFFER_QUESTION, text)
    if not isinstance(result, Accepted):
        turn.say(turn.t.gettext("Please answer yes or no."), prompt=offer_prompt(turn, row))
        return
    if result.value == YES:
        await start(turn, row)
        return
    turn.set_step(IDLE)
    turn.say(turn.t.gettext("Fine. Send START when you want to take part after all."))


async def prompt(turn: Turn) -> Prompt | None:
    """Return the pending survey question or offer, if the survey is still open."""
    found = await get_survey(turn.session, turn.conversation.survey_id or 0)
    if found is None or found[0].status != "open":
        return None
    row, survey = found
    if turn.conversation.flow == OFFER:
        return offer_prompt(turn, row)
    return question_prompt(turn.t, survey, row.id, survey.question(turn.conversation.step))


async def answer(turn: Turn, text: str) -> None:
    """File ``text`` as the answer to the pending question and ask the next one."""
    found = await _open_survey(turn)
    if found is None:
        return
    row, survey = found
    question = survey.question(turn.conversation.step)
    result = parse_answer(question, text)
    if isinstance(result, Accepted):
        await _store_and_continue(turn, row, survey, question, result.value)
        return

    turn.conversation.misses += 1
    hint = hint_text(turn.t, result)
    if question.optional and turn.conversation.misses >= MAX_MISSES:
        await _store_and_continue(turn, row, survey, question, None, hint, turn.t.gettext("We'll skip this question for now."))
        return
    turn.say(hint, prompt=question_prompt(turn.t, survey, row.id, question))


async def skip(turn: Turn) -> None:
    found = await _open_survey(turn)
    if found is None:
        return
    row, survey = found
    question = survey.question(turn.conversation.step)
    if not question.optional:
        turn.say(turn.t.gettext("You cannot skip this question."), prompt=question_prompt(turn.t, survey, row.id, question))
        return
    await _store_and_continue(turn, row, survey, question, None, turn.t.gettext("OK, we'll skip that question."))


async def _open_survey(turn: Turn) -> tuple[Survey, SurveyModel] | None:
    """Return the conversation's survey, or close the conversation politely if the survey
    closed, or was scheduled to open later, while the resident was answering."""
    found = await get_survey(turn.session, turn.conversation.survey_id or 0)
    if found is not None and found[0].status == "open":
        return found
    turn.set_step(IDLE)
    if found is not None and found[0].status == "scheduled":
        turn.say(turn.t.gettext("This survey is not open yet, so we could not save that answer."))
        return None
    turn.say(turn.t.gettext("This survey has closed in the meantime, so we could not save that answer. Thank you for taking part!"))
    return None


async def _store_and_continue(
    turn: Turn, row: Survey, survey: SurveyModel, question: Question, value: object, *preface: str
) -> None:
    assert turn.resident is not None
    response, answers = await _response(turn, row)
    stored = answers.get(question.id)
    if stored is None:
        # A Core insert skips the ORM's unit of work for a turn's most frequent write.
        await turn.session.execute(_INSERT_ANSWER, _answer_row(response, question, value, turn.now))
        answers[question.id] = StoredAnswer(None, value, value is None)
    else:
        await turn.session.execute(_UPDATE_ANSWER, {"answer_id": stored.id, **_answer_row(response, question, value, turn.now)})
        answers[question.id] = StoredAnswer(stored.id, value, value is None)

    following = _next_unanswered(survey, answers)
    if following is None:
        await _complete(turn, survey, response, *preface)
        return
    turn.set_step(FLOW, following.id, row.id)
    turn.say(*preface, prompt=question_prompt(turn.t, survey, row.id, following))


async def _complete(turn: Turn, survey: SurveyModel, response: Response, *preface: str) -> None:
    if response.completed_at is None:
        response.completed_at = turn.now
    turn.set_step(IDLE)
    t = turn.t
    turn.say(
        *preface,
        survey.text(survey.outro, t.locale),
    )


async def _response(turn: Turn, row: Survey) -> tuple[Response, dict[str, StoredAnswer]]:
    """Return the resident's response to ``row`` and its answers, creating the response at
    their first answer (an invitation that is the first question starts a conversation
    without one)."""
    assert turn.resident is not None
    state = turn.response
    if state is None or state.survey_pk != row.id:
        state = turn.response = await response_with_answers(turn.session, row.id, turn.resident.id)
    if state.response is None:
        state.response = Response(survey_id=row.id, resident_id=turn.resident.id, channel=turn.address.channel, started_at=turn.now)
        turn.session.add(state.response)
        await turn.session.flush()
    return state.response, state.answers


def _answer_row(response: Response, question: Question, value: object, now: datetime) -> dict[str, object]:
    return {"response_id": response.id, "question_id": question.id, "value": value, "skipped": value is None, "answered_at": now}


def _next_unanswered(survey: SurveyModel, answers: dict[str, StoredAnswer]) -> Question | None:
    """Return the first question that is shown for the answers so far and not yet answered."""
    values = answer_values(answers)
    for question in survey.questions:
        if question.id in answers:
            continue
        if question.show_if is None or question.show_if.holds(values):
            return question
    return None


def _intro_text(turn: Turn, survey: SurveyModel) -> str:
    locale = turn.t.locale
    asked_by = turn.t.gettext("These questions come from %(organisation)s.", organisation=survey.text(survey.requested_by, locale))
    return "\n".join([survey.text(survey.title, locale), survey.text(survey.intro, locale), asked_by])
