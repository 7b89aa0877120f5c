"""Taking a survey through the engine: answers, keywords, interruptions, restarts."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from sqlalchemy import func, select, update

from bot.channels.types import InboundKind
from store.db import create_engine, create_sessionmaker
from store.models import Answer, Conversation, InboundMessage, OutboxMessage, Response, Suggestion, Survey
from tests.harness import ConsolePanel

ALL_TYPES = Path(__file__).parent / "data" / "all-types.yaml"


async def joined_panel(db, resident: str = "alice") -> ConsolePanel:
    """A panel with the all-types survey open and ``resident`` at its first question."""
    panel = ConsolePanel(db[1])
    await panel.load_survey(ALL_TYPES)
    for text in ("hoi", "ja", "1", "overslaan", "overslaan"):
        await panel.say(text, resident=resident)
    return panel


async def stored_answers(sessionmaker) -> dict[str, object]:
    async with sessionmaker() as session:
        rows = (await session.execute(select(Answer))).scalars().all()
    return {row.question_id: row.value for row in rows}


async def test_survey_intro_names_requester(db):
    panel = ConsolePanel(db[1])
    await panel.load_survey(ALL_TYPES)
    for text in ("hoi", "ja", "1", "overslaan"):
        await panel.say(text)
    reply = await panel.say("overslaan")
    assert "Deze vragen komen van Wijkraad Centrum." in reply
    assert "Vraag 1 van 7: Hoe vaak ga je naar het park?" in reply


async def test_full_survey_stores_every_answer(db):
    panel = await joined_panel(db)
    for text in ("Elke week", "1, 3", "4", "ja hoor", "7,5"):
        await panel.say(text)
    reply = await panel.say("Meer bankjes graag")
    assert "Dat was de laatste vraag." in reply
    assert await stored_answers(db[1]) == {
        "visits": "weekly",
        "activities": ["walk", "picnic"],
        "satisfaction": 4,
        "more_trees": "yes",
        "distance": "7.5",
        "remarks": "Meer bankjes graag",
    }


async def test_response_marked_completed(db):
    panel = await joined_panel(db)
    for text in ("1", "1", "5", "nee", "2", "overslaan"):
        await panel.say(text)
    async with db[1]() as session:
        response = (await session.execute(select(Response))).scalar_one()
    assert response.completed_at is not None


async def test_show_if_asks_follow_up(db):
    panel = await joined_panel(db)
    reply = await panel.say("3")
    assert "Waarom ga je nooit?" in reply


async def test_show_if_skips_follow_up(db):
    panel = await joined_panel(db)
    reply = await panel.say("1")
    assert "Wat doe je daar?" in reply
    assert "Waarom" not in reply


async def test_wrong_answer_gets_hint_and_question(db):
    panel = await joined_panel(db)
    reply = await panel.say("7")
    assert "Stuur het nummer van je antwoord (1 tot en met 3)." in reply
    assert "Hoe vaak ga je naar het park?" in reply
    assert await stored_answers(db[1]) == {}


async def test_number_out_of_range_rejected(db):
    panel = await joined_panel(db)
    for text in ("1", "1", "3", "ja"):
        await panel.say(text)
    reply = await panel.say("75")
    assert "Stuur een getal van 0 tot en met 50." in reply


async def test_sentence_with_stop_is_an_answer(db):
    panel = await joined_panel(db)
    await panel.say("3")
    reply = await panel.say("we must stop this plan")
    assert "Wat doe je daar?" in reply
    assert (await stored_answers(db[1]))["why_not"] == "we must stop this plan"


async def test_stop_is_confirmed_once(db):
    panel = await joined_panel(db)
    first = await panel.send("Stop.")
    second = await panel.send("STOP")
    assert len(first) == 1
    assert "Je bent afgemeld" in first[0].text
    assert second == []


async def test_nothing_sent_after_stop(db):
    panel = await joined_panel(db)
    await panel.send("stop 🛑")
    assert await panel.send("1") == []
    assert await stored_answers(db[1]) == {}


async def test_start_after_stop_resumes_question(db):
    panel = await joined_panel(db)
    await panel.say("STOP")
    reply = await panel.say("START")
    assert "Welkom terug" in reply
    assert "Hoe vaak ga je naar het park?" in reply


async def test_start_mid_survey_is_not_an_answer(db):
    panel = await joined_panel(db)
    reply = await panel.say("start")
    assert "Hoe vaak ga je naar het park?" in reply
    assert await stored_answers(db[1]) == {}


async def test_help_repeats_pending_question(db):
    panel = await joined_panel(db)
    replies = await panel.send("HULP")
    assert len(replies) == 1
    assert "OVERSLAAN" in replies[0].text
    assert "Hoe vaak ga je naar het park?" in replies[0].text


async def test_language_switch_repeats_question(db):
    panel = await joined_panel(db)
    await panel.say("LANGUAGE")
    reply = await panel.say("2")
    assert "How often do you go to the park?" in reply


async def test_required_question_cannot_be_skipped(db):
    panel = await joined_panel(db)
    reply = await panel.say("OVERSLAAN")
    assert "Deze vraag kun je niet overslaan." in reply


async def test_optional_question_skipped(db):
    panel = await joined_panel(db)
    await panel.say("3")
    reply = await panel.say("skip")
    assert "Wat doe je daar?" in reply
    async with db[1]() as session:
        answer = (await session.execute(select(Answer))).scalars().all()[-1]
    assert answer.skipped is True


async def test_third_miss_skips_optional_question(db):
    panel = await joined_panel(db)
    await panel.say("3")
    await panel.say("x" * 60)
    await panel.say("y" * 60)
    reply = await panel.say("z" * 60)
    assert "We slaan deze vraag nu over." in reply
    assert "Wat doe je daar?" in reply


async def test_sticker_does_not_advance(db):
    panel = await joined_panel(db)
    reply = await panel.say("", kind=InboundKind.NON_TEXT)
    assert "Ik kan alleen tekst lezen" in reply
    assert "Hoe vaak ga je naar het park?" in reply
    assert await stored_answers(db[1]) == {}


async def test_button_answers_question(db):
    panel = await joined_panel(db)
    first = (await panel.send("START"))[0]
    weekly = first.choices[1]
    reply = await panel.say("", kind=InboundKind.CHOICE, payload=weekly.payload)
    assert "Wat doe je daar?" in reply
    assert (await stored_answers(db[1]))["visits"] == "weekly"


async def test_late_button_is_not_filed(db):
    panel = await joined_panel(db)
    question_one = (await panel.send("START"))[0]
    await panel.say("1")
    reply = await panel.say("", kind=InboundKind.CHOICE, payload=question_one.choices[2].payload)
    assert "Die knop hoort bij een eerdere vraag." in reply
    assert (await stored_answers(db[1]))["visits"] == "daily"


async def test_reaction_is_ignored(db):
    panel = await joined_panel(db)
    replies = await panel.send("Liked “Hoe vaak ga je naar het park?”")
    assert replies == []
    assert await stored_answers(db[1]) == {}


async def test_idea_is_stored_as_suggestion(db):
    panel = await joined_panel(db)
    await panel.say("IDEE")
    await panel.say("Meer bankjes in het park")
    await panel.say("Duinoord")
    reply = await panel.say("ja")
    assert "Bedankt voor je onderwerp!" in reply
    assert "Hoe vaak ga je naar het park?" in reply
    async with db[1]() as session:
        suggestion = (await session.execute(select(Suggestion))).scalar_one()
    assert suggestion.text == "Meer bankjes in het park"
    assert suggestion.neighbourhood == "Duinoord"


@pytest.mark.parametrize(
    ("status", "expected", "unexpected"),
    [("closed", "inmiddels gesloten", "nog niet open"), ("scheduled", "Deze vragenlijst is nog niet open", "gesloten")],
)
async def test_survey_not_open_answer_not_filed(db, status, expected, unexpected):
    panel = await joined_panel(db)
    async with db[1]() as session, session.begin():
        survey = (await session.execute(select(Survey))).scalar_one()
        survey.status = status
    reply = await panel.say("1")
    assert expected in reply
    assert unexpected not in reply
    assert await stored_answers(db[1]) == {}


async def test_conversation_survives_restart(db, database_url):
    panel = await joined_panel(db)
    await panel.say("2")
    engine = create_engine(database_url)
    try:
        restarted = ConsolePanel(create_sessionmaker(engine))
        reply = await restarted.say("1")
    finally:
        await engine.dispose()
    assert "Vraag 4 van 7" in reply


async def test_duplicate_message_processed_once(db):
    panel = await joined_panel(db)
    first = await panel.send("1", message_id="dup-1")
    second = await panel.send("1", message_id="dup-1")
    assert len(first) == 1
    assert second == []


async def test_overlapping_duplicates_processed_once(db):
    panel = await joined_panel(db)
    await asyncio.gather(*(panel.send("2", message_id="dup-2") for _ in range(5)))
    async with db[1]() as session:
        claims = await session.scalar(select(func.count()).select_from(InboundMessage).where(InboundMessage.message_id == "dup-2"))
        replies = await session.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.key.like("reply:console:dup-2:%")))
    assert claims == 1
    assert replies == 1
    assert (await stored_answers(db[1]))["visits"] == "weekly"


async def test_two_residents_answer_separately(db):
    panel = await joined_panel(db, "alice")
    for text in ("hoi", "ja", "1", "overslaan", "overslaan"):
        await panel.say(text, resident="bob")
    await panel.say("1", resident="alice")
    await panel.say("2", resident="bob")
    async with db[1]() as session:
        count = await session.scalar(select(func.count()).select_from(Answer))
    assert count == 2


async def test_answer_again_replaces_stored_answer(db):
    """A conversation sent back to an answered question, as an invitation does with an
    idle one, stores the new answer over the old and goes on from the answers so far."""
    panel = await joined_panel(db)
    await panel.say("1")
    await panel.say("1, 3")
    async with db[1]() as session, session.begin():
        await session.execute(update(Conversation).values(step="visits"))
    assert "Waarom ga je nooit?" in await panel.say("3")
    assert "Hoe tevreden ben je over het park?" in await panel.say("overslaan")
    async with db[1]() as session:
        count = await session.scalar(select(func.count()).select_from(Answer))
    assert count == 3
    assert await stored_answers(db[1]) == {"visits": "never", "why_not": None, "activities": ["walk", "picnic"]}


async def test_text_change_allowed_with_responses(db, tmp_path):
    panel = await joined_panel(db)
    await panel.say("1")
    changed = tmp_path / "changed.yaml"
    changed.write_text(ALL_TYPES.read_text(encoding="utf-8").replace("Een korte test.", "Een nieuwe intro."), encoding="utf-8")
    row = await panel.load_survey(changed)
    assert row.definition["intro"]["nl"] == "Een nieuwe intro."


async def test_question_change_refused_with_responses(db, tmp_path):
    from bot.surveys import SurveyConflict

    panel = await joined_panel(db)
    await panel.say("1")
    changed = tmp_path / "changed.yaml"
    changed.write_text(ALL_TYPES.read_text(encoding="utf-8").replace("id: weekly", "id: weekly_or_more"), encoding="utf-8")
    try:
        await panel.load_survey(changed)
    except SurveyConflict as error:
        assert "give the changed survey a new id" in str(error)
    else:
        raise AssertionError("a changed option id was accepted for a survey with responses")
