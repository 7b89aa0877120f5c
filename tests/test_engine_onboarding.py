"""Joining the panel through the engine, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select

from bot.channels.types import InboundKind
from store.models import Address, Conversation, Resident
from tests.harness import ConsolePanel


async def count(sessionmaker, model) -> int:
    async with sessionmaker() as session:
        return await session.scalar(select(func.count()).select_from(model))


async def test_welcome_names_owner_and_privacy(db):
    panel = ConsolePanel(db[1])
    reply = await panel.say("hoi")
    assert "Stichting Test" in reply
    assert "https://example.org/privacy" in reply
    assert "Doe je mee?" in reply


async def test_nothing_but_address_before_consent(db):
    panel = ConsolePanel(db[1])
    await panel.say("hoi")
    await panel.say("misschien")
    assert await count(db[1], Resident) == 0
    assert await count(db[1], Address) == 1
    assert await count(db[1], Conversation) == 1


async def test_unclear_consent_is_asked_again(db):
    panel = ConsolePanel(db[1])
    await panel.say("hoi")
    reply = await panel.say("misschien")
    assert "Antwoord met ja of nee." in reply
    assert "Doe je mee?" in reply


async def test_declining_stores_no_resident(db):
    panel = ConsolePanel(db[1])
    await panel.say("hoi")
    reply = await panel.say("nee")
    assert "Je doet niet mee" in reply
    assert await count(db[1], Resident) == 0


async def test_declined_resident_can_start_again(db):
    panel = ConsolePanel(db[1])
    await panel.say("hoi")
    await panel.say("nee")
    reply = await panel.say("START")
    assert "Doe je mee?" in reply


async def test_consent_creates_resident(db):
    panel = ConsolePanel(db[1])
    await panel.say("hoi")
    reply = await panel.say("JA!")
    assert "Welkom" in reply
    assert await count(db[1], Resident) == 1


async def test_profile_answers_are_stored(db):
    panel = ConsolePanel(db[1])
    for text in ("hoi", "ja", "1", "2"):
        await panel.say(text)
    await panel.say("2511 AB")
    async with db[1]() as session:
        resident = (await session.execute(select(Resident))).scalar_one()
    assert resident.age_band == "25-44"
    assert resident.postcode == "2511"


async def test_profile_questions_can_be_skipped(db):
    panel = ConsolePanel(db[1])
    for text in ("hoi", "ja", "1"):
        await panel.say(text)
    reply = await panel.say("overslaan")
    assert "postcode" in reply
    reply = await panel.say("SKIP")
    assert "Er staat nu geen vragenlijst" in reply
    async with db[1]() as session:
        resident = (await session.execute(select(Resident))).scalar_one()
    assert resident.age_band is None
    assert resident.postcode is None


async def test_consent_cannot_be_skipped(db):
    panel = ConsolePanel(db[1])
    await panel.say("hoi")
    reply = await panel.say("overslaan")
    assert "Deze vraag kun je niet overslaan." in reply
    assert "Doe je mee?" in reply


async def test_choosing_english_switches_texts(db):
    panel = ConsolePanel(db[1])
    for text in ("hoi", "ja"):
        await panel.say(text)
    reply = await panel.say("English")
    assert "Fine, from now on you will get our messages in English." in reply
    assert "How old are you?" in reply


async def test_locale_hint_and_forced_locale(db):
    panel = ConsolePanel(db[1])
    reply = await panel.say("hello", locale="en")
    assert "Do you want to join?" in reply


async def test_invalid_postcode_asked_again(db):
    panel = ConsolePanel(db[1])
    for text in ("hoi", "ja", "1", "1"):
        await panel.say(text)
    reply = await panel.say("0123")
    assert "Stuur alleen de 4 cijfers" in reply


async def test_third_postcode_miss_skips_it(db):
    panel = ConsolePanel(db[1])
    for text in ("hoi", "ja", "1", "1", "abc", "def"):
        await panel.say(text)
    reply = await panel.say("ghi")
    assert "We slaan deze vraag nu over." in reply
    assert "aanmelding is klaar" in reply


async def test_sticker_before_consent_repeats_question(db):
    panel = ConsolePanel(db[1])
    await panel.say("hoi")
    reply = await panel.say("", kind=InboundKind.NON_TEXT)
    assert "Ik kan alleen tekst lezen" in reply
    assert "Doe je mee?" in reply


async def test_age_in_years_maps_to_band(db):
    panel = ConsolePanel(db[1])
    for text in ("hoi", "ja", "1"):
        await panel.say(text)
    reply = await panel.say("35 jaar")
    assert "postcode" in reply
    async with db[1]() as session:
        resident = (await session.execute(select(Resident))).scalar_one()
    assert resident.age_band == "25-44"


async def test_start_after_stop_before_consent(db):
    panel = ConsolePanel(db[1])
    await panel.say("hoi")
    await panel.say("STOP")
    reply = await panel.say("START")
    assert "Welkom terug" not in reply
    assert "Doe je mee?" in reply


async def test_last_message_time_kept_within_minute(db):
    panel = ConsolePanel(db[1])
    start = datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc)
    now = [start]
    panel.processor.engine.clock = lambda: now[0]

    async def last_message_time() -> datetime:
        async with db[1]() as session:
            return (await session.execute(select(Address.last_inbound_at))).scalar_one()

    await panel.say("hoi")
    assert await last_message_time() == start
    now[0] = start + timedelta(seconds=59)
    await panel.say("ja")
    # Less than a minute later the stored time stays, so a quick reply writes nothing.
    assert await last_message_time() == start
    now[0] = start + timedelta(seconds=61)
    await panel.say("1")
    assert await last_message_time() == start + timedelta(seconds=61)
