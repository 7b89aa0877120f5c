"""Moderating topics from the moderators' Telegram chat, end to end through the webhooks:
the real python-telegram-bot and twilio clients against the fake APIs on 127.0.0.1, and
the store on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from bot import topics
from store.models import Address, AuditEntry, Conversation, ModeratorPrompt, OutboxMessage, Suggestion, utcnow
from tests.panel_app import fake_api_settings, start_panel
from tests.fakes.payloads import (
    sign_twilio,
    telegram_callback_update,
    telegram_group_callback_update,
    telegram_group_text_update,
    twilio_sms_form,
)

SECRET = "webhook-secret-0123456789"
PUBLIC_URL = "https://panel.example.nl"
RESIDENT_NUMBER = "+31612345678"
MODERATORS_CHAT = -1001234567890
OTHER_GROUP = -1009876543210
MILA, JOOST = 5001, 5002
OUTSIDER = 7007
TOPIC_TEXT = "Meer bankjes in het park aan de Laan"
REASON = "Dit gaat over de hele regio, niet over onze gemeente."


@pytest.fixture
async def panel_server(database_url, telegram_api, twilio_api):
    settings = fake_api_settings(
        database_url,
        telegram_api,
        twilio_api,
        secret=SECRET,
        moderator_telegram_ids=f"{MILA},{JOOST}",
        moderator_chat_id=MODERATORS_CHAT,
    )
    client, runtime = await start_panel(settings)
    try:
        yield client, runtime
    finally:
        await client.close()


class SmsResident:
    def __init__(self, client: TestClient, runtime, api) -> None:
        self.client, self.runtime, self.api = client, runtime, api
        self.count = 0

    async def say(self, body: str) -> list:
        self.count += 1
        form = twilio_sms_form(f"SM{self.count:032x}", RESIDENT_NUMBER, body)
        path = "/webhooks/twilio/sms"
        signature = sign_twilio(self.api.auth_token, PUBLIC_URL + path, form)
        response = await self.client.post(path, data=form, headers={"X-Twilio-Signature": signature})
        assert response.status == 200
        before = len(self.api.messages)
        await self.runtime.worker.drain()
        return self.api.messages[before:]

    async def join(self) -> int:
        """Join the panel with the replies test_webhooks uses, and return the resident id."""
        for text in ("Hoi", "ja", "1", "2", "2511"):
            await self.say(text)
        async with self.runtime.sessionmaker() as session:
            address = await session.scalar(select(Address).where(Address.value == RESIDENT_NUMBER))
        assert address.resident_id is not None
        return address.resident_id

    async def suggest(self, text: str) -> None:
        """Suggest a topic with IDEE, answering the flow's later questions generically:
        yes to a yes-or-no question, SKIP to anything else (such as a neighbourhood)."""
        await self.say("IDEE")
        replies = await self.say(text)
        for _ in range(4):
            if await suggestion_count(self.runtime):
                return
            last = replies[-1].body if replies else ""
            replies = await self.say("ja" if "1. Ja" in last else "overslaan")
        assert await suggestion_count(self.runtime) == 1


class ModeratorsChat:
    """Moderators and others pressing buttons and writing in Telegram group chats."""

    def __init__(self, client: TestClient, runtime, telegram_api, twilio_api) -> None:
        self.client, self.runtime = client, runtime
        self.telegram_api, self.twilio_api = telegram_api, twilio_api
        self.update_id = 9000

    def next_id(self) -> int:
        self.update_id += 1
        return self.update_id

    async def post(self, update: dict) -> dict:
        headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
        response = await self.client.post("/webhooks/telegram", json=update, headers=headers)
        assert response.status == 200
        return await response.json()

    async def press(self, user_id: int, data: str, chat_id: int = MODERATORS_CHAT, first_name: str = "Mila") -> dict:
        update = telegram_group_callback_update(self.next_id(), chat_id, user_id, data, first_name=first_name)
        return await self.post(update)

    async def write(self, user_id: int, text: str, first_name: str = "Mila") -> dict:
        update = telegram_group_text_update(
            self.next_id(), MODERATORS_CHAT, user_id, text, first_name=first_name, reply_to_text="Reden?"
        )
        return await self.post(update)

    async def deliver(self) -> tuple[list, list]:
        """Send what is queued; return the new messages to the moderators' chat and the new SMS."""
        chat_before, sms_before = len(self.telegram_api.sent), len(self.twilio_api.messages)
        await self.runtime.worker.drain()
        chat = [sent for sent in self.telegram_api.sent[chat_before:] if sent.chat_id == str(MODERATORS_CHAT)]
        return chat, self.twilio_api.messages[sms_before:]


async def suggestion_count(runtime) -> int:
    async with runtime.sessionmaker() as session:
        return await session.scalar(select(func.count()).select_from(Suggestion))


async def load(runtime, model, key):
    async with runtime.sessionmaker() as session:
        return await session.get(model, key)


async def audit_entries(runtime) -> list[AuditEntry]:
    async with runtime.sessionmaker() as session:
        return list((await session.execute(select(AuditEntry).order_by(AuditEntry.id))).scalars())


async def submit_topic(runtime, resident_id: int) -> int:
    async with runtime.sessionmaker() as session, session.begin():
        suggestion = await topics.submit(session, resident_id, TOPIC_TEXT, None, utcnow(), moderator_chat_id=MODERATORS_CHAT)
        return suggestion.id


@pytest.fixture
async def chat(panel_server, telegram_api, twilio_api):
    client, runtime = panel_server
    return ModeratorsChat(client, runtime, telegram_api, twilio_api)


@pytest.fixture
async def topic(panel_server, chat, twilio_api) -> int:
    """A pending topic of an SMS resident, announced in the moderators' chat."""
    client, runtime = panel_server
    resident_id = await SmsResident(client, runtime, twilio_api).join()
    suggestion_id = await submit_topic(runtime, resident_id)
    await chat.deliver()
    return suggestion_id


async def test_idea_announced_with_buttons(panel_server, chat, twilio_api):
    client, runtime = panel_server
    resident = SmsResident(client, runtime, twilio_api)
    await resident.join()
    await resident.suggest(TOPIC_TEXT)
    announcements = [sent for sent in chat.telegram_api.sent if sent.chat_id == str(MODERATORS_CHAT)]
    assert len(announcements) == 1
    assert TOPIC_TEXT in announcements[0].text
    buttons = [button for row in announcements[0].reply_markup["inline_keyboard"] for button in row]
    assert [button["text"] for button in buttons] == ["Goedkeuren", "Afwijzen"]
    assert [button["callback_data"] for button in buttons] == ["mod:approve:1", "mod:reject:1"]


async def test_idea_approved_from_chat(panel_server, chat, twilio_api):
    client, runtime = panel_server
    resident = SmsResident(client, runtime, twilio_api)
    await resident.join()
    await resident.suggest(TOPIC_TEXT)
    [announcement] = [sent for sent in chat.telegram_api.sent if sent.chat_id == str(MODERATORS_CHAT)]
    approve_payload = announcement.reply_markup["inline_keyboard"][0][0]["callback_data"]
    await chat.press(MILA, approve_payload)
    _, sms = await chat.deliver()
    assert (await load(runtime, Suggestion, 1)).status == "approved"
    assert "Goed nieuws" in sms[0].body


async def test_approve_decides_topic(panel_server, chat, topic):
    _, runtime = panel_server
    answer = await chat.press(MILA, f"mod:approve:{topic}")
    chat_messages, sms = await chat.deliver()
    assert answer["method"] == "answerCallbackQuery"
    assert answer["text"] == f"Onderwerp #{topic} is goedgekeurd."
    assert (await load(runtime, Suggestion, topic)).status == "approved"
    assert [message.text for message in chat_messages] == [f"#{topic} goedgekeurd door Mila."]
    assert len(sms) == 1
    assert sms[0].to == RESIDENT_NUMBER
    assert TOPIC_TEXT in sms[0].body


async def test_approve_audited_with_user_id(panel_server, chat, topic):
    _, runtime = panel_server
    await chat.press(MILA, f"mod:approve:{topic}")
    [entry] = await audit_entries(runtime)
    assert entry.actor == f"telegram:{MILA}"
    assert entry.action == "approve"
    assert entry.subject == f"suggestion:{topic}"


async def test_reject_asks_reason(panel_server, chat, topic):
    _, runtime = panel_server
    answer = await chat.press(MILA, f"mod:reject:{topic}")
    chat_messages, sms = await chat.deliver()
    assert answer["text"] == "Stuur de reden in de chat."
    assert len(chat_messages) == 1
    assert chat_messages[0].text.startswith("Mila, beantwoord dit bericht")
    assert f"#{topic}" in chat_messages[0].text
    assert (await load(runtime, ModeratorPrompt, MILA)).suggestion_id == topic
    assert (await load(runtime, Suggestion, topic)).status == "pending"
    assert sms == []


async def test_reason_rejects_topic(panel_server, chat, topic):
    _, runtime = panel_server
    await chat.press(MILA, f"mod:reject:{topic}")
    await chat.deliver()
    answer = await chat.write(MILA, REASON)
    chat_messages, sms = await chat.deliver()
    suggestion = await load(runtime, Suggestion, topic)
    assert answer == {}
    assert suggestion.status == "rejected"
    assert suggestion.decision_reason == REASON
    assert await load(runtime, ModeratorPrompt, MILA) is None
    assert [message.text for message in chat_messages] == [f"#{topic} afgewezen door Mila. Reden: {REASON}"]
    assert len(sms) == 1
    assert REASON in sms[0].body


async def test_reject_audited_with_reason(panel_server, chat, topic):
    _, runtime = panel_server
    await chat.press(MILA, f"mod:reject:{topic}")
    await chat.write(MILA, REASON)
    [entry] = await audit_entries(runtime)
    assert entry.actor == f"telegram:{MILA}"
    assert entry.action == "reject"
    assert entry.details == {"reason": REASON}


@pytest.mark.parametrize("word", ["annuleer", "CANCEL", "/cancel@chatpanel_test_bot"])
async def test_cancel_keeps_topic_pending(panel_server, chat, topic, word):
    _, runtime = panel_server
    await chat.press(MILA, f"mod:reject:{topic}")
    await chat.deliver()
    await chat.write(MILA, word)
    chat_messages, sms = await chat.deliver()
    assert (await load(runtime, Suggestion, topic)).status == "pending"
    assert await load(runtime, ModeratorPrompt, MILA) is None
    assert [message.text for message in chat_messages] == [
        f"Afwijzen van #{topic} is geannuleerd. Het onderwerp wacht nog op een besluit."
    ]
    assert sms == []
    assert await audit_entries(runtime) == []


async def test_cancelled_prompt_ignores_later_text(panel_server, chat, topic):
    _, runtime = panel_server
    await chat.press(MILA, f"mod:reject:{topic}")
    await chat.write(MILA, "annuleer")
    await chat.deliver()
    await chat.write(MILA, REASON)
    chat_messages, _ = await chat.deliver()
    assert (await load(runtime, Suggestion, topic)).status == "pending"
    assert chat_messages == []


async def test_reason_only_from_asked_moderator(panel_server, chat, topic):
    _, runtime = panel_server
    await chat.press(MILA, f"mod:reject:{topic}")
    await chat.deliver()
    await chat.write(JOOST, "Ik vind het een goed idee.", first_name="Joost")
    await chat.write(OUTSIDER, "Hallo allemaal", first_name="Kees")
    chat_messages, _ = await chat.deliver()
    assert chat_messages == []
    assert (await load(runtime, Suggestion, topic)).status == "pending"
    await chat.write(MILA, REASON)
    assert (await load(runtime, Suggestion, topic)).status == "rejected"


async def test_non_moderator_press_ignored(panel_server, chat, topic):
    _, runtime = panel_server
    for payload in (f"mod:approve:{topic}", f"mod:reject:{topic}"):
        answer = await chat.press(OUTSIDER, payload, first_name="Kees")
        assert answer["text"] == "Alleen moderatoren kunnen dit doen."
    chat_messages, sms = await chat.deliver()
    assert (await load(runtime, Suggestion, topic)).status == "pending"
    assert await load(runtime, ModeratorPrompt, OUTSIDER) is None
    assert await audit_entries(runtime) == []
    assert chat_messages == []
    assert sms == []


@pytest.mark.parametrize("place", ["private chat", "other group"])
async def test_moderator_outside_chat_ignored(panel_server, chat, topic, place):
    _, runtime = panel_server
    if place == "private chat":
        update = telegram_callback_update(chat.next_id(), MILA, f"mod:approve:{topic}")
    else:
        update = telegram_group_callback_update(chat.next_id(), OTHER_GROUP, MILA, f"mod:approve:{topic}")
    await chat.post(update)
    await chat.deliver()
    assert (await load(runtime, Suggestion, topic)).status == "pending"
    assert await audit_entries(runtime) == []


async def test_redelivered_press_handled_once(panel_server, chat, topic):
    _, runtime = panel_server
    update = telegram_group_callback_update(chat.next_id(), MODERATORS_CHAT, MILA, f"mod:approve:{topic}")
    answers = await asyncio.gather(*(chat.post(update) for _ in range(4)))
    chat_messages, sms = await chat.deliver()
    assert sum(1 for answer in answers if "text" in answer) == 1
    assert len(await audit_entries(runtime)) == 1
    assert len(chat_messages) == 1
    assert len(sms) == 1


async def test_redelivered_reason_handled_once(panel_server, chat, topic):
    _, runtime = panel_server
    await chat.press(MILA, f"mod:reject:{topic}")
    await chat.deliver()
    update = telegram_group_text_update(chat.next_id(), MODERATORS_CHAT, MILA, REASON)
    for _ in range(3):
        await chat.post(update)
    chat_messages, sms = await chat.deliver()
    assert len(await audit_entries(runtime)) == 1
    assert len(chat_messages) == 1
    assert len(sms) == 1


async def test_decided_topic_answered(panel_server, chat, topic):
    _, runtime = panel_server
    await chat.press(MILA, f"mod:approve:{topic}")
    await chat.deliver()
    for payload in (f"mod:approve:{topic}", f"mod:reject:{topic}"):
        answer = await chat.press(JOOST, payload, first_name="Joost")
        assert answer["text"] == f"Onderwerp #{topic} is al goedgekeurd."
    chat_messages, sms = await chat.deliver()
    assert len(await audit_entries(runtime)) == 1
    assert await load(runtime, ModeratorPrompt, JOOST) is None
    assert chat_messages == []
    assert sms == []


async def test_approve_clears_reason_prompts(panel_server, chat, topic):
    _, runtime = panel_server
    await chat.press(JOOST, f"mod:reject:{topic}", first_name="Joost")
    await chat.press(MILA, f"mod:approve:{topic}")
    await chat.deliver()
    assert await load(runtime, ModeratorPrompt, JOOST) is None
    await chat.write(JOOST, "Toch maar niet.", first_name="Joost")
    chat_messages, _ = await chat.deliver()
    assert chat_messages == []
    assert (await load(runtime, Suggestion, topic)).status == "approved"


async def test_reason_after_other_decision(panel_server, chat, topic):
    _, runtime = panel_server
    await chat.press(MILA, f"mod:reject:{topic}")
    async with runtime.sessionmaker() as session, session.begin():
        await topics.approve(session, topic, actor="ans", now=utcnow())
    await chat.deliver()
    await chat.write(MILA, REASON)
    chat_messages, _ = await chat.deliver()
    assert (await load(runtime, Suggestion, topic)).status == "approved"
    assert await load(runtime, ModeratorPrompt, MILA) is None
    assert [message.text for message in chat_messages] == [f"Onderwerp #{topic} is al goedgekeurd."]


async def test_missing_topic_answered(panel_server, chat, topic):
    answer = await chat.press(MILA, "mod:approve:999")
    assert answer["text"] == "Onderwerp #999 bestaat niet."


@pytest.mark.parametrize(
    "payload",
    ["mod:approve:abc", "mod:delete:1", "mod:approve:1:2", "mod:approve:0", "mod:approve:99999999999", "idea:1", ""],
    ids=["not a number", "unknown action", "extra part", "zero", "too large", "other prefix", "empty"],
)
async def test_malformed_payload_answered(panel_server, chat, topic, payload):
    _, runtime = panel_server
    answer = await chat.press(MILA, payload)
    chat_messages, _ = await chat.deliver()
    assert answer["text"].startswith("Sorry, deze knop werkt niet.")
    assert (await load(runtime, Suggestion, topic)).status == "pending"
    assert await audit_entries(runtime) == []
    assert chat_messages == []


async def test_chat_messages_skip_engine(panel_server, chat, topic):
    _, runtime = panel_server
    async with runtime.sessionmaker() as session:
        outbox_before = await session.scalar(select(func.count()).select_from(OutboxMessage))
    for text in ("IDEE", "hoi", "STOP"):
        answer = await chat.write(MILA, text)
        assert answer == {}
    async with runtime.sessionmaker() as session:
        chat_address = await session.scalar(select(Address).where(Address.value == str(MODERATORS_CHAT)))
        assert await session.get(Conversation, chat_address.id) is None
        assert await session.scalar(select(func.count()).select_from(OutboxMessage)) == outbox_before


async def test_long_reason_asked_again(panel_server, chat, topic):
    _, runtime = panel_server
    await chat.press(MILA, f"mod:reject:{topic}")
    await chat.deliver()
    await chat.write(MILA, "x" * 301)
    chat_messages, sms = await chat.deliver()
    suggestion = await load(runtime, Suggestion, topic)
    assert suggestion.status == "pending"
    assert await load(runtime, ModeratorPrompt, MILA) is not None
    assert "301 tekens" in chat_messages[0].text
    assert sms == []


async def test_stale_prompt_is_forgotten(panel_server, chat, topic):
    _, runtime = panel_server
    await chat.press(MILA, f"mod:reject:{topic}")
    await chat.deliver()
    async with runtime.sessionmaker() as session, session.begin():
        prompt = await session.get(ModeratorPrompt, MILA)
        prompt.asked_at = prompt.asked_at - timedelta(hours=25)
    await chat.write(MILA, REASON)
    suggestion = await load(runtime, Suggestion, topic)
    assert suggestion.status == "pending"
    assert await load(runtime, ModeratorPrompt, MILA) is None
