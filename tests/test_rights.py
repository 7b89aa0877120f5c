"""Residents' rights from the chat, on SQLite and PostgreSQL: MIJN GEGEVENS/MY DATA,
VERWIJDER/DELETE, and agreeing again after the privacy statement changed."""

from __future__ import annotations

import dataclasses
from datetime import time
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from bot import topics
from bot.channels.render import render_numbered
from bot.channels.sms_segments import segment_count
from bot.channels.types import Channel, InboundKind
from bot.delivery import DeliveryWorker
from bot.export import plan_export, response_rows
from bot.flows import message_size
from bot.flows.consent import is_older
from bot.results import survey_results
from bot.settings import Settings
from store.models import (
    Address,
    Answer,
    Conversation,
    ModeratorPrompt,
    OutboxMessage,
    Resident,
    Response,
    Suggestion,
    Survey,
    utcnow,
)
from tests.harness import PANEL, ConsolePanel, RecordingSender
from tests.panel_week import ALL_TYPES
from tests.stored_data import dump_rows, places_containing, references_to_resident

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
NUMBER = "+31612345678"
POSTCODE = "9876"
JOIN = ("hoi", "ja", "1", "2", POSTCODE)
# Another resident, with another postcode.
OTHER_JOIN = ("hoi", "ja", "1", "3", "2511")
HELP_IDEA = "Een geveltuin bij mijn huis op nummer 17"
REMARK = "Meer bankjes bij de vijver graag"
SURVEY = ("2", "4", "1,5", "10", "ja", HELP_IDEA, REMARK)
PENDING_TOPIC = "Een hondenuitlaatplek bij de Kastanjelaan"
APPROVED_TOPIC = "Een zebrapad bij de school aan de Beukenlaan"
OTHER_TOPIC = "Meer prullenbakken in het park"
ERASE_QUESTION = "Wil je dat we al je gegevens verwijderen?"
PRIVACY_QUESTION = "Onze privacyverklaring is veranderd"


def sms_panel(db, panel_info=PANEL) -> ConsolePanel:
    """A console panel whose delivery worker also sends SMS, recorded with the console's."""
    panel = ConsolePanel(db[1], panel_info)
    panel.worker = DeliveryWorker(db[1], {Channel.CONSOLE: panel.sender, Channel.SMS: panel.sender})
    return panel


async def say_all(panel: ConsolePanel, texts, **kwargs) -> str:
    reply = ""
    for text in texts:
        reply = await panel.say(text, **kwargs)
    return reply


async def suggest(panel: ConsolePanel, text: str, **kwargs) -> None:
    await say_all(panel, ("IDEE", text, "overslaan", "ja"), **kwargs)


async def approve(db, text: str) -> int:
    async with db[1]() as session, session.begin():
        suggestion = (await session.execute(select(Suggestion).where(Suggestion.text == text))).scalar_one()
        await topics.approve(session, suggestion.id, "moderator", utcnow())
        return suggestion.id


async def count(db, model, *conditions) -> int:
    async with db[1]() as session:
        return await session.scalar(select(func.count()).select_from(model).where(*conditions))


async def only_resident(db) -> Resident:
    async with db[1]() as session:
        return (await session.execute(select(Resident))).scalar_one()


# MIJN GEGEVENS / MY DATA


async def test_my_data_lists_stored_data(db):
    panel = ConsolePanel(db[1])
    await panel.load_survey()
    await say_all(panel, (*JOIN, *SURVEY))
    await suggest(panel, PENDING_TOPIC)
    reply = await panel.say("MIJN GEGEVENS")
    assert "Dit bewaren we over jou." in reply
    assert "Leeftijd: 25 tot en met 44 jaar" in reply
    assert f"Postcode: {POSTCODE}" in reply
    assert "Taal: Nederlands" in reply
    assert "privacyverklaring (versie 1)" in reply
    assert "- Console **ice" in reply
    assert "Groen in de wijk, " in reply
    assert "Eén keer of een paar keer per week" in reply
    assert "Wandelen, Zitten en rusten" in reply
    assert HELP_IDEA in reply
    assert f"- {PENDING_TOPIC} (wacht op een moderator, " in reply
    assert reply.endswith("Wil je dat we al je gegevens verwijderen? Stuur dan VERWIJDER.")


async def test_my_data_keyword_forms(db):
    panel = ConsolePanel(db[1])
    await say_all(panel, JOIN)
    for text in ("MIJN GEGEVENS", "mijn data", "Gegevens", "MY DATA", "my data!"):
        reply = await panel.say(text)
        assert "Dit bewaren we over jou." in reply, text


async def test_my_data_in_english(db):
    panel = ConsolePanel(db[1])
    await say_all(panel, ("hoi", "ja", "2", "2", POSTCODE))
    reply = await panel.say("MY DATA")
    assert "This is what we store about you." in reply
    assert "Language: English" in reply
    assert reply.endswith("Do you want us to delete all your data? Send DELETE.")


async def test_my_data_before_joining(db):
    panel = ConsolePanel(db[1])
    await panel.say("hoi")
    reply = await panel.say("mijn gegevens")
    assert "Je doet niet mee met het panel." in reply
    assert "(**ice)" in reply
    assert "Postcode" not in reply
    # The consent question is still pending, so the reply ends with it.
    assert reply.endswith("1. Ja\n2. Nee")


async def test_my_data_split_for_sms(db):
    panel = sms_panel(db)
    await panel.load_survey()
    idea = ("Samen met de buren wil ik een geveltuin aanleggen en de boom voor ons huis verzorgen. " * 4)[:300]
    # The emoji makes this answer UCS-2, with 67 characters a segment instead of 153.
    remark = ("Graag meer bomen, bankjes en een speelplek in het park \U0001F333. " * 9)[:500]
    await say_all(panel, (*JOIN, "2", "4", "1,5", "10", "ja", idea, remark), resident=NUMBER, channel=Channel.SMS)
    await suggest(panel, PENDING_TOPIC, resident=NUMBER, channel=Channel.SMS)

    messages = await panel.send("MIJN GEGEVENS", resident=NUMBER, channel=Channel.SMS)

    assert len(messages) >= 4
    for message in messages:
        assert message.channel is Channel.SMS
        assert segment_count(render_numbered(message)) <= message_size.SMS_MAX_SEGMENTS
    text = " ".join(" ".join(message.text for message in messages).split())
    assert "*********678" in text
    assert f"Postcode: {POSTCODE}" in text
    assert " ".join(idea.split()) in text
    assert " ".join(remark.split()) in text
    assert PENDING_TOPIC in text
    assert messages[-1].text.endswith("Stuur dan VERWIJDER.")


def test_pack_fits_telegram_limit():
    blocks = ["a" * 3000, "b" * 3000, "c " * 2500]
    messages = message_size.pack(Channel.TELEGRAM.value, blocks)
    # The third paragraph (5000 characters) is cut in two at a space.
    assert len(messages) == 4
    assert all(len(message) <= message_size.TELEGRAM_MAX_CHARACTERS for message in messages)
    assert messages[:2] == ["a" * 3000, "b" * 3000]
    assert " ".join(messages[2:]).split() == ["c"] * 2500


def test_pack_keeps_short_paragraphs_together():
    assert message_size.pack(Channel.SMS.value, ["een", "twee"]) == ["een\n\ntwee"]


def test_pack_splits_long_sms_paragraph():
    block = "woord " * 200
    messages = message_size.pack(Channel.SMS.value, [block])
    assert len(messages) == 3
    assert all(segment_count(message) <= message_size.SMS_MAX_SEGMENTS for message in messages)
    assert " ".join(messages).split() == block.split()


# VERWIJDER / DELETE


async def test_delete_needs_typed_yes(db):
    panel = ConsolePanel(db[1])
    await say_all(panel, (*JOIN, "VERWIJDER"))
    for emoji in ("👍", "✅", "👍 ok"):
        reply = await panel.say(emoji)
        assert "Stuur het woord ja als je echt alles wilt laten verwijderen." in reply
        assert ERASE_QUESTION in reply
    assert await count(db, Resident) == 1
    assert "Al je gegevens zijn verwijderd" in await panel.say("ja")
    assert await count(db, Resident) == 0


async def test_delete_cancelled_keeps_data_and_question(db):
    panel = ConsolePanel(db[1])
    await panel.load_survey()
    await say_all(panel, JOIN)
    for text in ("VERWIJDER", "delete", "Wis mijn gegevens"):
        reply = await panel.say(text)
        assert ERASE_QUESTION in reply, text
        assert reply.endswith("1. Ja\n2. Nee")
    reply = await panel.say("misschien")
    assert "Antwoord met ja of nee." in reply
    reply = await panel.say("nee")
    assert "Goed, we hebben niets verwijderd." in reply
    assert "Vraag 1 van 7" in reply
    assert await count(db, Resident) == 1
    assert await count(db, Address) == 1


async def stopped_mid_survey(db) -> ConsolePanel:
    """A panel whose resident answered the first survey question and then sent STOP."""
    panel = ConsolePanel(db[1])
    await panel.load_survey()
    await say_all(panel, (*JOIN, "2", "STOP"))
    return panel


async def test_my_data_works_after_stop(db):
    panel = await stopped_mid_survey(db)
    assert await panel.say("4") == ""
    reply = await panel.say("MIJN GEGEVENS")
    assert "Dit bewaren we over jou." in reply
    # The survey question waits for START and is not asked while the resident stopped.
    assert "Vraag 2 van 7" not in reply
    assert reply.endswith("Wil je dat we al je gegevens verwijderen? Stuur dan VERWIJDER.")
    reply = await panel.say("START")
    assert "Welkom terug!" in reply
    assert "Vraag 2 van 7" in reply


async def test_delete_works_after_stop(db):
    panel = await stopped_mid_survey(db)
    reply = await panel.say("VERWIJDER")
    assert ERASE_QUESTION in reply
    reply = await panel.say("nee")
    assert reply == "Goed, we hebben niets verwijderd."
    assert await count(db, Resident) == 1
    assert await panel.say("4") == ""
    assert "Vraag 2 van 7" in await panel.say("START")

    await panel.say("STOP")
    await panel.say("VERWIJDER")
    reply = await panel.say("ja")
    assert "Al je gegevens zijn verwijderd" in reply
    assert await count(db, Resident) == 0
    assert await count(db, Answer) == 1


async def test_stop_drops_pending_delete_question(db):
    panel = ConsolePanel(db[1])
    await panel.load_survey()
    await say_all(panel, (*JOIN, "2", "VERWIJDER"))
    await panel.say("STOP")
    assert await panel.say("doei") == ""
    assert await panel.say("ja") == ""
    assert await count(db, Resident) == 1
    assert "Vraag 2 van 7" in await panel.say("START")


async def test_old_button_after_stop_erases_nothing(db):
    panel = ConsolePanel(db[1])
    survey = await panel.load_survey()
    await say_all(panel, (*JOIN, "2", "STOP", "VERWIJDER"))
    # The "Yes" of an invitation to the open survey, pressed while the erasure question waits.
    reply = await panel.say("", kind=InboundKind.CHOICE, payload=f"offer:{survey.id}|1")
    assert reply == ""
    assert await count(db, Resident) == 1
    reply = await panel.say("", kind=InboundKind.CHOICE, payload="erase|1")
    assert "Al je gegevens zijn verwijderd" in reply
    assert await count(db, Resident) == 0


async def test_delete_question_says_answers_stay_anonymous(db):
    panel = ConsolePanel(db[1])
    await say_all(panel, JOIN)
    reply = await panel.say("VERWIJDER")
    assert "Je antwoorden blijven alleen bewaard zonder je naam of nummer" in reply
    assert "Teksten die je zelf hebt getypt, verwijderen we." in reply


async def test_erasure_leaves_nothing_identifying(db):
    panel = sms_panel(db, dataclasses.replace(PANEL, moderator_chat_id=-1001234567890))
    survey_row = await panel.load_survey()
    await say_all(panel, OTHER_JOIN, resident="bob")
    await suggest(panel, OTHER_TOPIC, resident="bob")
    other_topic_id = await approve(db, OTHER_TOPIC)

    await say_all(panel, (*JOIN, *SURVEY), resident=NUMBER, channel=Channel.SMS)
    await suggest(panel, APPROVED_TOPIC, resident=NUMBER, channel=Channel.SMS)
    approved_id = await approve(db, APPROVED_TOPIC)
    await suggest(panel, PENDING_TOPIC, resident=NUMBER, channel=Channel.SMS)
    listing = await panel.say("ONDERWERPEN", resident=NUMBER, channel=Channel.SMS)
    choice = next(line.split(".")[0] for line in listing.splitlines() if OTHER_TOPIC in line)
    assert "Je steunt nu" in await panel.say(choice, resident=NUMBER, channel=Channel.SMS)
    async with db[1]() as session, session.begin():
        pending_id = (await session.execute(select(Suggestion.id).where(Suggestion.text == PENDING_TOPIC))).scalar_one()
        session.add(ModeratorPrompt(moderator_id=4242, suggestion_id=pending_id))
        alice = (
            await session.execute(select(Resident).join(Address, Address.resident_id == Resident.id).where(Address.value == NUMBER))
        ).scalar_one()

    before = await dump_rows(db[1])
    for needle in (NUMBER[3:], alice.pseudonym, POSTCODE, HELP_IDEA, REMARK, PENDING_TOPIC):
        assert places_containing(before, needle), needle

    assert ERASE_QUESTION in await panel.say("VERWIJDER", resident=NUMBER, channel=Channel.SMS)
    confirmation = await panel.send("ja", resident=NUMBER, channel=Channel.SMS)
    assert [message.address for message in confirmation] == [NUMBER]
    assert "Al je gegevens zijn verwijderd" in confirmation[0].text

    after = await dump_rows(db[1])
    for needle in (NUMBER[3:], alice.pseudonym, POSTCODE, HELP_IDEA, REMARK, PENDING_TOPIC):
        assert places_containing(after, needle) == [], needle
    assert await references_to_resident(db[1], alice.id) == []

    async with db[1]() as session:
        responses = list((await session.execute(select(Response).where(Response.resident_id.is_(None)))).scalars())
        answers = list((await session.execute(select(Answer))).scalars())
        approved = await session.get(Suggestion, approved_id)
        results = await survey_results(session, await session.get(Survey, survey_row.id))
        followers = await topics.followers(session, other_topic_id)
    assert len(responses) == 1
    assert responses[0].survey_id == survey_row.id
    assert responses[0].channel is None
    assert responses[0].started_at.astimezone(AMSTERDAM).time() == time(0)
    assert responses[0].completed_at.astimezone(AMSTERDAM).time() == time(0)
    assert sorted(answer.question_id for answer in answers) == ["activities", "help_out", "park_visits", "satisfaction", "walk_minutes"]
    assert all(answer.answered_at.astimezone(AMSTERDAM).time() == time(0) for answer in answers)
    # Bob started the survey without answering; the anonymous response is the one completed.
    assert results.respondents == 2
    assert results.completed == 1
    park_visits = next(question for question in results.questions if question.id == "park_visits")
    assert park_visits.n == 1
    assert approved.text == APPROVED_TOPIC
    assert approved.resident_id is None
    assert len(followers) == 1
    assert await count(db, Resident) == 1
    assert await count(db, ModeratorPrompt) == 0


async def test_export_keeps_anonymous_response(db):
    panel = sms_panel(db)
    survey_row = await panel.load_survey()
    await say_all(panel, (*JOIN, *SURVEY, "VERWIJDER", "ja"), resident=NUMBER, channel=Channel.SMS)
    async with db[1]() as session, session.begin():
        plan = await plan_export(session, await session.get(Survey, survey_row.id), Settings(), "nl", None)
        rows = [row async for row in response_rows(session, plan)]
    assert len(rows) == 1
    respondent, channel, started, completed = rows[0][:4]
    assert (respondent, channel) == (None, None)
    assert (started.hour, started.minute) == (0, 0)
    assert (completed.hour, completed.minute) == (0, 0)
    assert "Eén keer of een paar keer per week" in rows[0]


async def test_erasure_can_delete_answers(db):
    panel = sms_panel(db, dataclasses.replace(PANEL, erasure_keeps_answers=False))
    await panel.load_survey()
    await say_all(panel, (*JOIN, *SURVEY), resident=NUMBER, channel=Channel.SMS)
    reply = await panel.say("VERWIJDER", resident=NUMBER, channel=Channel.SMS)
    assert "je profiel, je antwoorden, je onderwerpen en je steun" in reply
    await panel.say("ja", resident=NUMBER, channel=Channel.SMS)
    assert await count(db, Response) == 0
    assert await count(db, Answer) == 0
    assert places_containing(await dump_rows(db[1]), NUMBER[3:]) == []


async def test_erased_resident_starts_again_as_new(db):
    panel = ConsolePanel(db[1])
    await panel.load_survey()
    await say_all(panel, (*JOIN, "2"))
    await panel.say("VERWIJDER")
    await panel.say("ja")
    assert await count(db, Resident) == 0
    assert await count(db, Address) == 0

    reply = await panel.say("hoi")
    assert "Welkom bij Buurtpanel Test" in reply
    assert "Doe je mee?" in reply
    assert await count(db, Resident) == 0
    await say_all(panel, ("ja", "1", "2", POSTCODE))
    resident = await only_resident(db)
    assert resident.postcode == POSTCODE


async def test_confirmation_keeps_number_until_sent(db):
    panel = ConsolePanel(db[1])
    await say_all(panel, (*JOIN, "VERWIJDER", "ja"), resident=NUMBER, channel=Channel.SMS)
    async with db[1]() as session:
        address = (await session.execute(select(Address))).scalar_one()
        queued = list((await session.execute(select(OutboxMessage))).scalars())
    assert address.erased_at is not None
    assert address.resident_id is None
    assert [row.address_id for row in queued] == [address.id]
    assert "Al je gegevens zijn verwijderd" in queued[0].text
    assert await count(db, Resident) == 0
    assert await count(db, Conversation) == 0

    sms = RecordingSender()
    await DeliveryWorker(db[1], {Channel.SMS: sms}).drain()
    assert [message.text for message in sms.sent] == [queued[0].text]
    assert await count(db, Address) == 0
    assert await count(db, OutboxMessage) == 0


async def test_message_before_confirmation_sent_starts_over(db):
    panel = ConsolePanel(db[1])
    await say_all(panel, (*JOIN, "VERWIJDER", "ja", "hoi"), resident=NUMBER, channel=Channel.SMS)
    sms = RecordingSender()
    await DeliveryWorker(db[1], {Channel.SMS: sms}).drain()
    assert len(sms.sent) == 2
    assert "Al je gegevens zijn verwijderd" in sms.sent[0].text
    assert "Doe je mee?" in sms.sent[1].text
    async with db[1]() as session:
        address = (await session.execute(select(Address))).scalar_one()
    assert address.erased_at is None
    assert await count(db, Conversation) == 1


async def test_delete_before_joining_removes_address(db):
    panel = ConsolePanel(db[1])
    await panel.say("hoi")
    reply = await panel.say("VERWIJDER")
    assert "We bewaren alleen deze chat of dit telefoonnummer" in reply
    reply = await panel.say("ja")
    assert "is verwijderd uit ons panel" in reply
    assert await count(db, Address) == 0
    assert await count(db, Conversation) == 0


# Agreeing to a newer privacy statement


def bumped_panel(db, version: str = "2") -> ConsolePanel:
    return ConsolePanel(db[1], dataclasses.replace(PANEL, privacy_version=version))


async def test_new_privacy_version_asked_and_survey_resumed(db):
    panel = ConsolePanel(db[1])
    await panel.load_survey()
    await say_all(panel, (*JOIN, "2"))
    joined_at = (await only_resident(db)).consented_at
    bumped = bumped_panel(db)

    reply = await bumped.say("4")
    assert PRIVACY_QUESTION in reply
    assert "https://example.org/privacy" in reply
    assert await count(db, Answer) == 1
    reply = await bumped.say("HELP")
    assert PRIVACY_QUESTION in reply
    assert "Deze woorden kun je altijd sturen" not in reply
    reply = await bumped.say("MIJN GEGEVENS")
    assert "Dit bewaren we over jou." in reply
    assert reply.endswith("1. Ja\n2. Nee")
    assert PRIVACY_QUESTION in reply.split("---")[-1]

    reply = await bumped.say("ja")
    assert "Dank je! Je blijft in het panel." in reply
    assert "Vraag 2 van 7" in reply
    resident = await only_resident(db)
    assert resident.consent_version == "2"
    assert resident.consented_at > joined_at
    assert "Vraag 3 van 7" in await bumped.say("4")
    assert await count(db, Answer) == 2


async def test_agreeing_offers_survey_opened_before(db):
    # Joined while no survey was open. The survey opened before the resident agreed to the
    # new privacy statement, so its invitations would have passed them over.
    panel = ConsolePanel(db[1])
    await say_all(panel, JOIN)
    await panel.load_survey()
    bumped = bumped_panel(db)
    assert PRIVACY_QUESTION in await bumped.say("hoi")

    reply = await bumped.say("ja")
    assert "Dank je! Je blijft in het panel." in reply
    assert "Er staat een vragenlijst voor je klaar" in reply
    assert "Vraag 1 van 7" in await bumped.say("ja")


async def test_agreeing_offers_survey_after_close(db):
    panel = ConsolePanel(db[1])
    await panel.load_survey()
    await say_all(panel, (*JOIN, "2"))
    async with db[1]() as session, session.begin():
        (await session.execute(select(Survey))).scalar_one().status = "closed"
    await panel.load_survey(ALL_TYPES)
    bumped = bumped_panel(db)
    assert PRIVACY_QUESTION in await bumped.say("4")

    reply = await bumped.say("ja")
    assert "Dank je! Je blijft in het panel." in reply
    assert "Er staat een vragenlijst voor je klaar: Alle typen" in reply


async def test_agreeing_without_open_survey_only_thanks(db):
    panel = ConsolePanel(db[1])
    await say_all(panel, JOIN)
    bumped = bumped_panel(db)
    await bumped.say("hoi")
    reply = await bumped.say("ja")
    assert reply == "Dank je! Je blijft in het panel."


async def test_same_privacy_version_not_asked(db):
    panel = ConsolePanel(db[1])
    await panel.load_survey()
    await say_all(panel, JOIN)
    reply = await bumped_panel(db, "1").say("2")
    assert PRIVACY_QUESTION not in reply
    assert "Vraag 2 van 7" in reply


async def test_new_consent_records_version_for_new_residents(db):
    await say_all(bumped_panel(db, "2026-03"), JOIN)
    assert (await only_resident(db)).consent_version == "2026-03"


async def test_declining_new_privacy_version_stops(db):
    panel = ConsolePanel(db[1])
    await panel.load_survey()
    await say_all(panel, JOIN)
    bumped = bumped_panel(db)
    await bumped.say("hoi")
    reply = await bumped.say("nee")
    assert "Je bent afgemeld" in reply
    assert await bumped.say("hoi") == ""
    async with db[1]() as session:
        assert (await session.execute(select(Address))).scalar_one().opted_out_at is not None

    reply = await bumped.say("START")
    assert "Welkom terug" in reply
    assert PRIVACY_QUESTION in reply
    reply = await bumped.say("ja")
    assert "Vraag 1 van 7" in reply
    assert (await only_resident(db)).consent_version == "2"


async def test_privacy_button_agrees(db):
    panel = ConsolePanel(db[1])
    survey_row = await panel.load_survey()
    await say_all(panel, JOIN)
    bumped = bumped_panel(db)
    # An invitation's button does not start a survey before the resident agrees.
    reply = await bumped.say("", kind=InboundKind.CHOICE, payload=f"offer:{survey_row.id}|1")
    assert PRIVACY_QUESTION in reply
    reply = await bumped.say("", kind=InboundKind.CHOICE, payload="privacy|1")
    assert "Dank je! Je blijft in het panel." in reply
    assert (await only_resident(db)).consent_version == "2"


async def test_stop_works_before_new_consent(db):
    panel = ConsolePanel(db[1])
    await say_all(panel, JOIN)
    reply = await bumped_panel(db).say("STOP")
    assert "Je bent afgemeld" in reply
    assert PRIVACY_QUESTION not in reply


async def test_delete_works_before_new_consent(db):
    panel = ConsolePanel(db[1])
    await say_all(panel, JOIN)
    bumped = bumped_panel(db)
    reply = await bumped.say("VERWIJDER")
    assert ERASE_QUESTION in reply
    assert PRIVACY_QUESTION not in reply
    assert "Al je gegevens zijn verwijderd" in await bumped.say("ja")
    assert await count(db, Resident) == 0


async def test_delete_cancelled_before_new_consent_asks_consent(db):
    panel = ConsolePanel(db[1])
    await panel.load_survey()
    await say_all(panel, JOIN)
    bumped = bumped_panel(db)
    await bumped.say("VERWIJDER")
    reply = await bumped.say("nee")
    assert "Goed, we hebben niets verwijderd." in reply
    assert PRIVACY_QUESTION in reply
    assert "Vraag 1 van 7" in await bumped.say("ja")


@pytest.mark.parametrize(
    ("agreed", "current", "older"),
    [
        ("1", "2", True),
        ("2", "1", False),
        ("2", "2", False),
        ("2026-9", "2026-10", True),
        ("1.9", "1.10", True),
        ("2026-03", "2026-03", False),
        ("10", "9", False),
    ],
)
def test_privacy_version_order(agreed, current, older):
    assert is_older(agreed, current) is older
