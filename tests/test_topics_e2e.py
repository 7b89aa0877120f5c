"""From a resident's topic to results back: a topic suggested over SMS is approved in the
moderators' Telegram chat, supported, made into a survey, and its summary and outcome
reach every respondent and nobody else."""

from __future__ import annotations


import pytest
from sqlalchemy import select

from bot import broadcast, topics
from bot.outcomes import record_outcome
from bot.schedule_policy import SendPolicy
from store.models import AuditEntry, Suggestion, Survey, utcnow
from tests.fakes.payloads import sign_twilio, telegram_group_callback_update, telegram_text_update, twilio_sms_form
from tests.harness import EXAMPLE_SURVEY, ConsolePanel
from tests.panel_app import PUBLIC_URL, fake_api_settings, start_panel

SECRET = "topics-secret-0123456789"
MODERATORS_CHAT = -1001234567890
MODERATOR = 4242
SUGGESTER, SUPPORTER_SMS, QUIET_SMS, STOPPER_SMS = "+31611000001", "+31611000002", "+31611000003", "+31611000004"
SUPPORTER_CHATS = (7001, 7002)
JOIN = ("hoi", "ja", "1", "overslaan", "overslaan")
ANSWERS = ("2", "4", "1,5", "10", "nee", "overslaan")


@pytest.fixture
async def panel(database_url, telegram_api, twilio_api):
    settings = fake_api_settings(
        database_url,
        telegram_api,
        twilio_api,
        secret=SECRET,
        moderator_telegram_ids=str(MODERATOR),
        moderator_chat_id=MODERATORS_CHAT,
        min_group_size=3,
        quiet_hours="off",
    )
    client, runtime = await start_panel(settings)
    try:
        yield Panel(client, runtime, settings, telegram_api, twilio_api)
    finally:
        await client.close()


class Panel:
    def __init__(self, client, runtime, settings, telegram_api, twilio_api) -> None:
        self.client, self.runtime, self.settings = client, runtime, settings
        self.telegram_api, self.twilio_api = telegram_api, twilio_api
        self.count = 0

    async def sms(self, number: str, text: str) -> None:
        self.count += 1
        form = twilio_sms_form(f"SM{self.count:032x}", number, text)
        signature = sign_twilio(self.twilio_api.auth_token, PUBLIC_URL + "/webhooks/twilio/sms", form)
        response = await self.client.post("/webhooks/twilio/sms", data=form, headers={"X-Twilio-Signature": signature})
        assert response.status == 200
        await self.runtime.worker.drain()

    async def telegram(self, update: dict) -> dict:
        headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
        response = await self.client.post("/webhooks/telegram", json=update, headers=headers)
        assert response.status == 200
        await self.runtime.worker.drain()
        return await response.json()

    async def chat(self, chat_id: int, text: str) -> None:
        self.count += 1
        await self.telegram(telegram_text_update(10000 + self.count, chat_id, text))

    def sms_to(self, number: str) -> list[str]:
        return [message.body for message in self.twilio_api.messages if message.to == number]

    def telegram_to(self, chat_id: int) -> list[str]:
        return [message.text for message in self.telegram_api.sent if message.chat_id == str(chat_id)]


async def test_topic_to_results_and_outcome(panel):
    for number in (SUGGESTER, SUPPORTER_SMS, QUIET_SMS, STOPPER_SMS):
        for text in JOIN:
            await panel.sms(number, text)
    for chat_id in SUPPORTER_CHATS:
        for text in JOIN:
            await panel.chat(chat_id, text)

    # A resident suggests a topic over SMS; the moderators' chat gets it with buttons.
    for text in ("IDEE", "Meer bankjes in het park", "Centrum", "ja"):
        await panel.sms(SUGGESTER, text)
    [announcement] = [message for message in panel.telegram_api.sent if message.chat_id == str(MODERATORS_CHAT)]
    assert "Meer bankjes in het park" in announcement.text
    approve_payload = announcement.reply_markup["inline_keyboard"][0][0]["callback_data"]

    # Someone who is not a moderator presses the button: nothing happens.
    await panel.telegram(telegram_group_callback_update(900, MODERATORS_CHAT, 1111, approve_payload))
    async with panel.runtime.sessionmaker() as session:
        assert (await session.execute(select(Suggestion.status))).scalar_one() == "pending"

    # The moderator approves it from the chat; the suggester hears over SMS.
    await panel.telegram(telegram_group_callback_update(901, MODERATORS_CHAT, MODERATOR, approve_payload))
    assert any("staat nu op de lijst" in body for body in panel.sms_to(SUGGESTER))

    # Three residents support it.
    await panel.sms(SUPPORTER_SMS, "ONDERWERPEN")
    await panel.sms(SUPPORTER_SMS, "1")
    for chat_id in SUPPORTER_CHATS:
        await panel.chat(chat_id, "TOPICS")
        await panel.chat(chat_id, "1")
    async with panel.runtime.sessionmaker() as session:
        [row] = await topics.list_topics(session, "approved")
    assert row.supporters == 4

    # It becomes a survey; the suggester and supporters are told.
    survey_row = await ConsolePanel(panel.runtime.sessionmaker).load_survey(EXAMPLE_SURVEY)
    async with panel.runtime.sessionmaker() as session, session.begin():
        survey = await session.get(Survey, survey_row.id)
        await topics.link_survey(session, survey, row.suggestion.id, "ans", utcnow())
    await panel.runtime.worker.drain()
    assert any("Er is nu een vragenlijst over het onderwerp" in body for body in panel.sms_to(SUGGESTER))
    assert any("Er is nu een vragenlijst over het onderwerp" in text for text in panel.telegram_to(SUPPORTER_CHATS[0]))

    # The suggester, one SMS supporter and one Telegram supporter answer; the stopper
    # answers and then sends STOP; the quiet resident never answers.
    for number in (SUGGESTER, SUPPORTER_SMS, STOPPER_SMS):
        await panel.sms(number, "START")
        for text in ANSWERS:
            await panel.sms(number, text)
    await panel.chat(SUPPORTER_CHATS[0], "START")
    for text in ANSWERS:
        await panel.chat(SUPPORTER_CHATS[0], text)
    await panel.sms(STOPPER_SMS, "STOP")

    # The survey closes: a summary for every respondent who did not stop.
    policy = SendPolicy.from_settings(panel.settings, panel.runtime.senders)
    async with panel.runtime.sessionmaker() as session, session.begin():
        await broadcast.close_survey(session, survey_row.id, policy, utcnow(), min_group_size=3)
    await panel.runtime.worker.drain()
    for messages in (panel.sms_to(SUGGESTER), panel.sms_to(SUPPORTER_SMS), panel.telegram_to(SUPPORTER_CHATS[0])):
        assert any("Groen in de wijk" in message and "%" in message for message in messages[-2:])
    assert not any("%" in body for body in panel.sms_to(QUIET_SMS))
    assert not any("%" in text for text in panel.telegram_to(SUPPORTER_CHATS[1]))
    stopper_before = len(panel.sms_to(STOPPER_SMS))

    # The outcome reaches the same respondents, naming the organisation that asked.
    async with panel.runtime.sessionmaker() as session, session.begin():
        told = await record_outcome(
            session,
            "groen-in-de-wijk",
            {"nl": "Er komen tien nieuwe bankjes.", "en": "Ten new benches are coming."},
            "ans",
            utcnow(),
            utcnow(),
        )
    await panel.runtime.worker.drain()
    assert told == 3
    for messages in (panel.sms_to(SUGGESTER), panel.sms_to(SUPPORTER_SMS), panel.telegram_to(SUPPORTER_CHATS[0])):
        assert "Er komen tien nieuwe bankjes." in messages[-1]
        assert "Gemeente Den Haag" in messages[-1]
    assert not any("bankjes." in body for body in panel.sms_to(QUIET_SMS))
    assert len(panel.sms_to(STOPPER_SMS)) == stopper_before

    # The audit log shows every moderator step.
    async with panel.runtime.sessionmaker() as session:
        actions = [(entry.actor, entry.action) for entry in (await session.execute(select(AuditEntry).order_by(AuditEntry.id))).scalars()]
    assert actions == [(f"telegram:{MODERATOR}", "approve"), ("ans", "survey"), ("ans", "outcome")]


