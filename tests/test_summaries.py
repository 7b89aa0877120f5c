"""Result summaries for residents: formatting, the minimum group size, the summary sent
when a survey closes, and the RESULTATEN/RESULTS keyword."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from bot import broadcast
from bot.channels.sms_segments import is_gsm7
from bot.channels.types import Channel
from bot.flows.keywords import Keyword, match_keyword
from bot.flows.loader import load_survey_file
from bot.flows.model import Option, Question, QuestionType
from bot.flows.model import Survey as SurveyModel
from bot.i18n import texts
from bot.results import OptionCount, QuestionResult, SurveyResults
from bot.scheduler import PanelScheduler
from bot.summaries import MESSAGE_LENGTH_LIMIT, enqueue_summaries, pack_messages, summary_messages
from bot.turn import PanelInfo
from store.db import create_engine, create_sessionmaker, sqlite_url, upgrade
from store.models import Address, Answer, Conversation, OutboxMessage, Resident, Response, Survey, utcnow
from tests.harness import ConsolePanel
from tests.test_scheduler import MONDAY_10, Clock, policy, publish_survey

ALL_TYPES = Path(__file__).parent / "data" / "all-types.yaml"
SURVEY = load_survey_file(ALL_TYPES)
# The answers of one resident to the all-types survey, as the console harness sends them.
FULL_ANSWERS = ("1", "1,3", "4", "ja", "7,5", "Meer bankjes")


# --- helpers ---------------------------------------------------------------------------


def results(respondents: int, *questions: QuestionResult) -> SurveyResults:
    return SurveyResults("alle-typen", "Alle typen", "closed", respondents, respondents, list(questions))


def counted(question_id: str, kind: str, counts: dict[str, int], **summary) -> QuestionResult:
    n = sum(counts.values()) if kind != "multiple_choice" else summary.pop("n")
    options = [OptionCount(option_id, option_id, count, count / n if n else None) for option_id, count in counts.items()]
    return QuestionResult(question_id, kind, "", n, 0, options, **summary)


def visits(daily: int, weekly: int, never: int) -> QuestionResult:
    return counted("visits", "single_choice", {"daily": daily, "weekly": weekly, "never": never})


def render(locale: str, result: SurveyResults, minimum: int = 10, survey: SurveyModel = SURVEY) -> str:
    return "\n\n".join(summary_messages(texts(locale), survey, result, minimum))


async def joined_panel(db, *names: str, panel_info: PanelInfo | None = None, survey: Path = ALL_TYPES) -> tuple[ConsolePanel, Survey]:
    """A panel with ``survey`` open and each resident joined, at its first question."""
    panel = ConsolePanel(db[1], panel_info) if panel_info is not None else ConsolePanel(db[1])
    row = await panel.load_survey(survey)
    for name in names:
        for text in ("hoi", "ja", "1", "overslaan", "overslaan"):
            await panel.say(text, resident=name)
    return panel, row


async def answer_all(panel: ConsolePanel, name: str, answers=FULL_ANSWERS) -> None:
    for text in answers:
        await panel.say(text, resident=name)


async def add_respondents(db, row: Survey, count: int, answers: dict[str, object], *, prefix: str, locale: str = "nl") -> None:
    """Store ``count`` residents who each gave ``answers`` (None is a skipped answer)."""
    now = utcnow()
    async with db[1]() as session, session.begin():
        for number in range(count):
            resident = Resident(pseudonym=f"{prefix}{number}", consented_at=now)
            session.add(resident)
            await session.flush()
            address = Address(channel=Channel.CONSOLE.value, value=f"{prefix}-{number}", resident_id=resident.id, last_inbound_at=now)
            session.add(address)
            await session.flush()
            session.add(Conversation(address_id=address.id, locale=locale, flow="idle", misses=0))
            response = Response(survey_id=row.id, resident_id=resident.id, channel=Channel.CONSOLE.value, started_at=now)
            session.add(response)
            await session.flush()
            for question_id, value in answers.items():
                session.add(Answer(response_id=response.id, question_id=question_id, value=value, skipped=value is None, answered_at=now))


async def close(db, row: Survey, minimum: int = 10, now=None) -> int | None:
    async with db[1]() as session, session.begin():
        return await broadcast.close_survey(session, row.id, policy(quiet_hours=None), now or utcnow(), min_group_size=minimum)


async def outbox(db, kind: str) -> list[OutboxMessage]:
    async with db[1]() as session:
        statement = select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id)
        return list((await session.execute(statement)).scalars())


async def resident_id(db, name: str) -> int:
    async with db[1]() as session:
        return (await session.execute(select(Address.resident_id).where(Address.value == name))).scalar_one()


# --- formatting ------------------------------------------------------------------------


def test_percentage_in_dutch():
    text = render("nl", results(16, visits(10, 4, 2)))
    assert "- Elke dag: 62,5%" in text
    assert "- Nooit: 12,5%" in text


def test_percentage_in_english():
    text = render("en", results(16, visits(10, 4, 2)))
    assert "- Every day: 62.5%" in text
    assert "- Never: 12.5%" in text


def test_summary_names_title_and_respondents():
    text = render("nl", results(16, visits(10, 4, 2)))
    assert text.startswith('Resultaten van "Alle typen"\n16 inwoners deden mee.')


def test_respondents_plural_in_english():
    assert "1 resident took part." in render("en", results(1, visits(1, 0, 0)), minimum=1)
    assert "12 residents took part." in render("en", results(12, visits(12, 0, 0)))


def test_question_shows_answer_count():
    assert "Hoe vaak ga je naar het park? (16 antwoorden)" in render("nl", results(16, visits(10, 4, 2)))


def test_yes_no_labels_translated():
    more_trees = counted("more_trees", "yes_no", {"yes": 12, "no": 4})
    text = render("en", results(16, more_trees))
    assert "- Yes: 75.0%" in text
    assert "- No: 25.0%" in text


def test_multiple_choice_notes_several_answers():
    activities = counted("activities", "multiple_choice", {"walk": 8, "sport": 5, "picnic": 3}, n=10)
    text = render("nl", results(10, activities))
    assert "- Wandelen: 80,0%" in text
    assert "Je kon meerdere antwoorden kiezen." in text


def test_scale_shows_points_and_mean():
    satisfaction = counted("satisfaction", "scale", {"1": 2, "2": 0, "3": 2, "4": 4, "5": 2}, mean=3.45)
    text = render("nl", results(10, satisfaction))
    assert "- 1 (heel ontevreden): 20,0%" in text
    assert "- 2: 0,0%" in text
    assert "- 5 (heel tevreden): 20,0%" in text
    assert "Gemiddeld: 3,5" in text


def test_number_shows_only_mean():
    distance = QuestionResult("distance", "number", "", 10, 0, [], mean=7.25, median=7.0, minimum=1.0, maximum=20.0)
    text = render("en", results(10, distance))
    assert "How many kilometres do you live from the park? (10 answers)\nAverage: 7.3" in text
    assert "20" not in text


def test_number_below_minimum_not_shown():
    distance = QuestionResult("distance", "number", "", 9, 1, [], mean=7.25)
    text = render("nl", results(10, visits(10, 0, 0), distance))
    assert "kilometer" not in text


def test_text_answers_never_shown():
    remarks = QuestionResult("remarks", "text", "", 10, 0, texts=["Een geheim plan"])
    text = render("nl", results(10, visits(10, 0, 0), remarks))
    assert "Een geheim plan" not in text
    assert "Wil je nog iets kwijt?" not in text


def test_nine_respondents_show_nothing():
    messages = summary_messages(texts("nl"), SURVEY, results(9, visits(5, 3, 1)), 10)
    assert len(messages) == 1
    assert "te weinig inwoners" in messages[0]
    assert "minstens 10 inwoners" in messages[0]
    assert "%" not in messages[0]
    assert "9" not in messages[0]


def test_ten_respondents_are_shown():
    text = render("nl", results(10, visits(5, 3, 2)))
    assert "- Elke dag: 50,0%" in text


def test_small_question_is_hidden():
    more_trees = counted("more_trees", "yes_no", {"yes": 6, "no": 3})
    text = render("nl", results(12, visits(6, 4, 2), more_trees))
    block = text.split("\n\n")[-1]
    assert block == "Wil je meer bomen?\nTe weinig inwoners gaven antwoord op deze vraag om de resultaten te laten zien."


def test_unanswered_question_is_hidden():
    why_not = counted("visits", "single_choice", {"daily": 0, "weekly": 0, "never": 0})
    text = render("nl", results(12, why_not), minimum=1)
    assert "Te weinig inwoners gaven antwoord op deze vraag" in text
    assert "%" not in text


def test_summary_fits_gsm7():
    activities = counted("activities", "multiple_choice", {"walk": 8, "sport": 5, "picnic": 3}, n=10)
    for locale in ("nl", "en"):
        assert is_gsm7(render(locale, results(16, visits(10, 4, 2), activities)))


def test_long_summary_is_split():
    long_questions = tuple(
        Question(
            id=f"q{number}",
            type=QuestionType.SINGLE_CHOICE,
            text={"nl": f"Vraag {number} " + "lang " * 190},
            options=tuple(Option(id=f"o{option}", label={"nl": f"Keuze {option} " + "x" * 80}) for option in range(20)),
        )
        for number in range(5)
    )
    survey = SurveyModel(
        id="lang", title={"nl": "Lang"}, requested_by={"nl": "Wij"}, intro={"nl": ""}, outro={"nl": ""}, questions=long_questions
    )
    question_results = [counted(f"q{number}", "single_choice", {f"o{option}": 1 for option in range(20)}) for number in range(5)]
    messages = summary_messages(texts("nl"), survey, results(20, *question_results), 10)
    assert len(messages) > 5
    assert max(len(message) for message in messages) < MESSAGE_LENGTH_LIMIT
    assert sum("Keuze 19" in message for message in messages) == 5


def test_pack_joins_short_blocks():
    assert pack_messages(["a", "b"]) == ["a\n\nb"]


def test_pack_wraps_long_line():
    messages = pack_messages(["woord " * 400], limit=100)
    assert max(len(message) for message in messages) < 100
    assert " ".join(messages).split() == ["woord"] * 400


# --- the summary when a survey closes ----------------------------------------------------


async def test_close_reaches_respondents(db):
    panel, row = await joined_panel(db, "alice", "bob", "carol")
    await answer_all(panel, "alice")
    await answer_all(panel, "bob")
    await panel.say("STOP", resident="bob")
    await close(db, row, minimum=1)
    await panel.worker.drain()
    summaries = [message for message in panel.sender.sent if message.text.startswith("Resultaten van")]
    assert [message.address for message in summaries] == ["alice"]


async def test_summary_skips_only_skipped(db):
    _, row = await joined_panel(db)
    await add_respondents(db, row, 1, {"visits": "daily"}, prefix="answered")
    await add_respondents(db, row, 1, {"why_not": None}, prefix="skipped")
    await close(db, row, minimum=1)
    rows = await outbox(db, "results")
    assert [message.address_id for message in rows] == [await address_id(db, "answered-0")]


async def test_summary_key_and_kind(db):
    panel, row = await joined_panel(db, "alice")
    await answer_all(panel, "alice")
    await close(db, row, minimum=1)
    [message] = await outbox(db, "results")
    assert message.key == f"summary:{row.id}:{await resident_id(db, 'alice')}"
    assert message.survey_id == row.id


async def test_summary_in_resident_language(db):
    _, row = await joined_panel(db)
    await add_respondents(db, row, 10, {"visits": "weekly"}, prefix="en", locale="en")
    await close(db, row)
    messages = await outbox(db, "results")
    assert len(messages) == 10
    assert all("- Every week: 100.0%" in message.text for message in messages)


async def test_nine_stored_respondents_hidden(db):
    _, row = await joined_panel(db)
    await add_respondents(db, row, 9, {"visits": "daily"}, prefix="r")
    await close(db, row)
    messages = await outbox(db, "results")
    assert len(messages) == 9
    assert all("%" not in message.text for message in messages)


async def test_ten_stored_respondents_shown(db):
    _, row = await joined_panel(db)
    await add_respondents(db, row, 8, {"visits": "daily", "more_trees": "yes"}, prefix="a")
    await add_respondents(db, row, 2, {"visits": "never"}, prefix="b")
    await close(db, row)
    [first, *_] = await outbox(db, "results")
    assert "- Elke dag: 80,0%" in first.text
    assert "Wil je meer bomen?\nTe weinig inwoners" in first.text


async def test_summary_queued_once(db):
    _, row = await joined_panel(db)
    await add_respondents(db, row, 2, {"visits": "daily"}, prefix="r")
    await close(db, row, minimum=1)
    async with db[1]() as session, session.begin():
        survey = await session.get(Survey, row.id)
        again = await enqueue_summaries(session, survey, utcnow(), utcnow(), 1)
    assert again == 0
    assert len(await outbox(db, "results")) == 2


async def test_summary_waits_for_quiet_hours(db):
    _, row = await joined_panel(db)
    await add_respondents(db, row, 1, {"visits": "daily"}, prefix="r")
    night = MONDAY_10 + timedelta(hours=12)
    async with db[1]() as session, session.begin():
        await broadcast.close_survey(session, row.id, policy(), night, min_group_size=1)
    [message] = await outbox(db, "results")
    assert message.next_attempt_at == MONDAY_10 + timedelta(days=1, hours=-1)


async def test_scheduler_passes_min_group_size(db):
    clock = Clock(MONDAY_10)
    row = await publish_survey(db, ConsolePanel(db[1]), clock, opens=MONDAY_10, closes=MONDAY_10 + timedelta(days=1))
    scheduler = PanelScheduler(db[1], policy(), clock=clock, min_group_size=3)
    await scheduler.tick()
    await add_respondents(db, row, 3, {"visits": "daily"}, prefix="r")
    clock.advance(days=1)
    report = await scheduler.tick()
    assert report.closed == ["alle-typen"]
    [first, *_] = await outbox(db, "results")
    assert "- Elke dag: 100,0%" in first.text


async def address_id(db, value: str) -> int:
    async with db[1]() as session:
        return (await session.execute(select(Address.id).where(Address.value == value))).scalar_one()


# --- RESULTATEN/RESULTS ------------------------------------------------------------------


def test_results_keyword_matches():
    assert match_keyword("RESULTATEN") is Keyword.RESULTS
    assert match_keyword("results") is Keyword.RESULTS
    assert match_keyword("Uitkomsten!") is Keyword.RESULTS


async def test_results_when_none_closed(db):
    panel, _ = await joined_panel(db, "alice")
    await answer_all(panel, "alice")
    reply = await panel.say("RESULTATEN", resident="alice")
    assert reply == "Er zijn nog geen resultaten. Stuur RESULTATEN als een vragenlijst gesloten is. Dan zie je wat inwoners hebben geantwoord."


async def test_results_lists_closed_surveys(db, tmp_path):
    panel, first = await joined_panel(db, "alice", panel_info=PanelInfo("P", "O", "https://example.org/p", min_group_size=1))
    await answer_all(panel, "alice")
    rows = [first]
    for number in range(1, 5):
        path = tmp_path / f"survey-{number}.yaml"
        path.write_text(ALL_TYPES.read_text().replace("id: alle-typen", f"id: vragen-{number}").replace("Alle typen", f"Lijst {number}"))
        rows.append(await panel.load_survey(path))
    for number, row in enumerate(rows[:4]):
        await close(db, row, now=MONDAY_10 + timedelta(hours=number))
    await panel.worker.drain()
    reply = await panel.say("RESULTATEN", resident="alice")
    assert reply.index('"Lijst 3"') < reply.index('"Lijst 2"') < reply.index('"Lijst 1"')
    assert '"Alle typen"' not in reply
    assert '"Lijst 4"' not in reply


async def test_results_keep_min_group_size(db):
    panel, row = await joined_panel(db, "alice", "bob", panel_info=PanelInfo("P", "O", "https://example.org/p", min_group_size=2))
    await answer_all(panel, "alice")
    await answer_all(panel, "bob", ("1", "1", "5", "nee", "2", "overslaan"))
    await add_respondents(db, row, 1, {"visits": "never", "why_not": "Te ver"}, prefix="r")
    await close(db, row)
    await panel.worker.drain()
    reply = await panel.say("RESULTATEN", resident="alice")
    assert "- Elke dag: 66,7%" in reply
    assert "Wil je meer bomen? (2 antwoorden)" in reply
    assert "Te ver" not in reply


async def test_results_in_english(db):
    panel, row = await joined_panel(db, "alice", panel_info=PanelInfo("P", "O", "https://example.org/p", min_group_size=1))
    await answer_all(panel, "alice")
    await close(db, row)
    await panel.say("LANGUAGE", resident="alice")
    await panel.say("2", resident="alice")
    reply = await panel.say("results", resident="alice")
    assert 'Results of "All types"' in reply
    assert "- Every day: 100.0%" in reply


async def test_results_end_with_pending_question(db, tmp_path):
    panel, row = await joined_panel(db, "alice", panel_info=PanelInfo("P", "O", "https://example.org/p", min_group_size=1))
    await answer_all(panel, "alice")
    await close(db, row)
    other = tmp_path / "other.yaml"
    other.write_text(ALL_TYPES.read_text().replace("id: alle-typen", "id: nog-een"))
    await panel.load_survey(other)
    await panel.say("START", resident="alice")
    replies = await panel.send("RESULTATEN", resident="alice")
    assert replies[0].text.startswith('Resultaten van "Alle typen"')
    assert replies[-1].text.endswith("Vraag 1 van 7: Hoe vaak ga je naar het park?")
    assert [choice.label for choice in replies[-1].choices] == ["Elke dag", "Elke week", "Nooit"]


async def test_results_count_in_database_thread(tmp_path):
    """On SQLite a turn's statements run in the event loop's thread, but RESULTS counts
    every answer of a survey, so those statements go to aiosqlite's thread."""
    engine = create_engine(sqlite_url(tmp_path / "panel.db"))
    await upgrade(engine)
    db = (engine, create_sessionmaker(engine))
    try:
        panel, row = await joined_panel(db, "alice", panel_info=PanelInfo("P", "O", "https://example.org/p", min_group_size=1))
        await answer_all(panel, "alice")
        await close(db, row)
        statements: list[tuple[bool, str]] = []
        loop_thread = threading.get_ident()
        async with engine.connect() as connection:
            # The pool's only connection: the turn below runs on it too.
            raw = await connection.get_raw_connection()
            raw.driver_connection._conn.set_trace_callback(
                lambda sql: statements.append((threading.get_ident() == loop_thread, sql))
            )
        await panel.say("RESULTATEN", resident="alice")
    finally:
        await engine.dispose()
    in_loop = {sql.split()[0] + (" addresses" if "FROM addresses" in sql else "") for same, sql in statements if same}
    counts = [same for same, sql in statements if "count(" in sql and "FROM answers" in sql]
    assert "SELECT addresses" in in_loop
    assert "INSERT" in in_loop
    assert counts
    assert not any(counts)
