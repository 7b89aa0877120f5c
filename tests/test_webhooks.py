"""End to end through the webhooks: the real python-telegram-bot and twilio clients against
the fake APIs on 127.0.0.1, signed requests, and the store on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from bot.logs import silence_secret_bearing_loggers
from store.models import Answer, Response, Survey
from tests.fakes.payloads import (
    PANEL_NUMBER,
    sign_twilio,
    telegram_callback_update,
    telegram_edited_update,
    telegram_group_update,
    telegram_my_chat_member_update,
    telegram_sticker_update,
    telegram_text_update,
    twilio_sms_form,
)
from tests.harness import EXAMPLE_SURVEY, ConsolePanel
from tests.panel_app import fake_api_settings, start_panel

SECRET = "webhook-secret-0123456789"
PUBLIC_URL = "https://panel.example.nl"
RESIDENT_NUMBER = "+31612345678"
CHAT_ID = 424242

# Every reply that completes the sample survey, after consent, language and profile.
SURVEY_REPLIES = ["2", "4", "1,5", "10", "ja", "Een geveltuin", "Meer bankjes"]


@pytest.fixture
async def panel_server(database_url, telegram_api, twilio_api):
    client, runtime = await start_panel(fake_api_settings(database_url, telegram_api, twilio_api, secret=SECRET))
    await ConsolePanel(runtime.sessionmaker).load_survey(EXAMPLE_SURVEY)
    try:
        yield client, runtime
    finally:
        await client.close()


class TelegramResident:
    def __init__(self, client: TestClient, runtime, api, chat_id: int = CHAT_ID) -> None:
        self.client, self.runtime, self.api, self.chat_id = client, runtime, api, chat_id
        self.update_id = 1000

    async def post(self, update: dict, secret: str | None = SECRET):
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
        return await self.client.post("/webhooks/telegram", json=update, headers=headers)

    async def say(self, text: str) -> list:
        self.update_id += 1
        response = await self.post(telegram_text_update(self.update_id, self.chat_id, text))
        assert response.status == 200
        return await self.delivered()

    async def press(self, data: str):
        self.update_id += 1
        response = await self.post(telegram_callback_update(self.update_id, self.chat_id, data))
        assert response.status == 200
        return response, await self.delivered()

    async def delivered(self) -> list:
        before = len(self.api.sent)
        await self.runtime.worker.drain()
        return self.api.sent[before:]


class SmsResident:
    def __init__(self, client: TestClient, runtime, api, number: str = RESIDENT_NUMBER) -> None:
        self.client, self.runtime, self.api, self.number = client, runtime, api, number
        self.count = 0

    async def post(self, form: dict, *, signature: str | None = None, path: str = "/webhooks/twilio/sms"):
        signature = signature if signature is not None else sign_twilio(self.api.auth_token, PUBLIC_URL + path, form)
        return await self.client.post(path, data=form, headers={"X-Twilio-Signature": signature})

    def form(self, body: str, num_media: int = 0) -> dict:
        self.count += 1
        return twilio_sms_form(f"SM{self.count:032x}", self.number, body, num_media=num_media)

    async def say(self, body: str) -> list:
        response = await self.post(self.form(body))
        assert response.status == 200
        assert response.content_type == "text/xml"
        assert "<Response />" in await response.text() or "<Response/>" in await response.text()
        return await self.delivered()

    async def delivered(self) -> list:
        before = len(self.api.messages)
        await self.runtime.worker.drain()
        return self.api.messages[before:]


async def completed_responses(runtime) -> int:
    async with runtime.sessionmaker() as session:
        statement = select(func.count()).select_from(Response).where(Response.completed_at.is_not(None))
        return await session.scalar(statement)


async def test_healthz(panel_server):
    client, _ = panel_server
    response = await client.get("/healthz")
    assert response.status == 200
    assert await response.json() == {"status": "ok"}


async def test_telegram_survey_end_to_end(panel_server, telegram_api):
    client, runtime = panel_server
    resident = TelegramResident(client, runtime, telegram_api)
    welcome = await resident.say("/start")
    assert "Doe je mee?" in welcome[-1].text
    consent_buttons = welcome[-1].reply_markup["inline_keyboard"]
    assert [row[0]["text"] for row in consent_buttons] == ["Ja", "Nee"]

    response, _ = await resident.press(consent_buttons[0][0]["callback_data"])
    assert (await response.json())["method"] == "answerCallbackQuery"
    for text in ("Nederlands", "overslaan", "2511"):
        replies = await resident.say(text)
    assert "Deze vragen komen van Gemeente Den Haag." in replies[-1].text
    assert replies[-1].reply_markup is not None

    for text in SURVEY_REPLIES:
        replies = await resident.say(text)
    assert "Bedankt voor je antwoorden!" in replies[-1].text
    assert await completed_responses(runtime) == 1


async def test_telegram_buttons_fit_callback_limit(panel_server, telegram_api):
    client, runtime = panel_server
    resident = TelegramResident(client, runtime, telegram_api)
    for text in ("hoi", "ja", "1", "overslaan", "overslaan"):
        replies = await resident.say(text)
    buttons = [button for row in replies[-1].reply_markup["inline_keyboard"] for button in row]
    assert len(buttons) == 4
    assert all(len(button["callback_data"].encode()) <= 64 for button in buttons)
    _, replies = await resident.press(buttons[1]["callback_data"])
    assert "Vraag 2 van 7" in replies[-1].text


async def test_sms_survey_end_to_end(panel_server, twilio_api):
    client, runtime = panel_server
    resident = SmsResident(client, runtime, twilio_api)
    welcome = await resident.say("Hoi")
    assert welcome[-1].to == RESIDENT_NUMBER
    assert welcome[-1].from_ == PANEL_NUMBER
    assert "1. Ja\n2. Nee" in welcome[-1].body
    for text in ("ja", "1", "2", "2511"):
        replies = await resident.say(text)
    assert "1. Bijna elke dag" in replies[-1].body
    for text in SURVEY_REPLIES:
        replies = await resident.say(text)
    assert "Bedankt voor je antwoorden!" in replies[-1].body
    assert await completed_responses(runtime) == 1


async def test_telegram_wrong_secret_rejected(panel_server, telegram_api):
    client, runtime = panel_server
    resident = TelegramResident(client, runtime, telegram_api)
    for secret in ("wrong-secret-0123456789", None, ""):
        response = await resident.post(telegram_text_update(1, CHAT_ID, "hoi"), secret=secret)
        assert response.status == 403
    assert await resident.delivered() == []


async def test_sms_bad_signature_rejected(panel_server, twilio_api):
    client, runtime = panel_server
    resident = SmsResident(client, runtime, twilio_api)
    response = await resident.post(resident.form("hoi"), signature="bm90IGEgc2lnbmF0dXJl")
    assert response.status == 403
    assert await resident.delivered() == []


async def test_sms_signature_over_internal_url_rejected(panel_server, twilio_api):
    client, runtime = panel_server
    resident = SmsResident(client, runtime, twilio_api)
    form = resident.form("hoi")
    internal = sign_twilio(twilio_api.auth_token, str(client.make_url("/webhooks/twilio/sms")), form)
    response = await resident.post(form, signature=internal)
    assert response.status == 403


async def test_sms_signature_with_query_string(panel_server, twilio_api):
    client, runtime = panel_server
    resident = SmsResident(client, runtime, twilio_api)
    response = await resident.post(resident.form("hoi"), path="/webhooks/twilio/sms?source=panel")
    assert response.status == 200


async def test_telegram_redelivery_processed_once(panel_server, telegram_api):
    client, runtime = panel_server
    resident = TelegramResident(client, runtime, telegram_api)
    update = telegram_text_update(77, CHAT_ID, "hoi")
    responses = await asyncio.gather(*(resident.post(update) for _ in range(4)))
    assert [response.status for response in responses] == [200] * 4
    assert len(await resident.delivered()) == 1


async def test_sms_redelivery_processed_once(panel_server, twilio_api):
    client, runtime = panel_server
    resident = SmsResident(client, runtime, twilio_api)
    form = resident.form("hoi")
    responses = await asyncio.gather(*(resident.post(form) for _ in range(4)))
    assert [response.status for response in responses] == [200] * 4
    assert len(await resident.delivered()) == 1


@pytest.mark.parametrize(
    "update",
    [
        telegram_sticker_update(5, CHAT_ID),
        telegram_edited_update(6, CHAT_ID, "ja"),
        telegram_group_update(7, -100123, CHAT_ID, "ja"),
        telegram_my_chat_member_update(8, CHAT_ID),
    ],
    ids=["sticker", "edited", "group", "member update"],
)
async def test_telegram_non_answers_get_200(panel_server, telegram_api, update):
    client, runtime = panel_server
    resident = TelegramResident(client, runtime, telegram_api)
    await resident.say("hoi")
    response = await resident.post(update)
    assert response.status == 200
    async with runtime.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Answer)) == 0


async def test_telegram_sticker_asks_for_text(panel_server, telegram_api):
    client, runtime = panel_server
    resident = TelegramResident(client, runtime, telegram_api)
    await resident.say("hoi")
    await resident.post(telegram_sticker_update(9, CHAT_ID))
    replies = await resident.delivered()
    assert "Ik kan alleen tekst lezen" in replies[-1].text


async def test_sms_mms_without_body_asks_for_text(panel_server, twilio_api):
    client, runtime = panel_server
    resident = SmsResident(client, runtime, twilio_api)
    await resident.say("hoi")
    response = await resident.post(resident.form("", num_media=1))
    assert response.status == 200
    replies = await resident.delivered()
    assert "Ik kan alleen tekst lezen" in replies[-1].body


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"{not json", 400),
        (b"[1, 2]", 400),
        (b"\xff\xfe", 400),
        (json.dumps({"update_id": "x", "message": 5}).encode(), 400),
        (b"{" + b'"a": "' + b"x" * 70000 + b'"}', 413),
    ],
    ids=["malformed", "array", "not utf-8", "wrong shape", "oversized"],
)
async def test_telegram_bad_bodies(panel_server, body, status):
    client, _ = panel_server
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}
    response = await client.post("/webhooks/telegram", data=body, headers=headers)
    assert response.status == status
    assert (await client.get("/healthz")).status == 200


async def test_sms_missing_fields_rejected(panel_server, twilio_api):
    client, runtime = panel_server
    resident = SmsResident(client, runtime, twilio_api)
    form = {"Body": "hoi"}
    response = await resident.post(form)
    assert response.status == 400
    assert "From" in await response.text() or "MessageSid" in await response.text()


async def test_sms_oversized_body_rejected(panel_server, twilio_api):
    client, runtime = panel_server
    resident = SmsResident(client, runtime, twilio_api)
    form = resident.form("x" * 70000)
    response = await resident.post(form)
    assert response.status == 413


async def test_sms_wrong_content_type_rejected(panel_server):
    client, _ = panel_server
    response = await client.post("/webhooks/twilio/sms", data=b"{}", headers={"Content-Type": "application/json"})
    assert response.status == 415


@pytest.mark.parametrize(
    "text",
    ["🙂🙂🙂", "مرحبا بكم", "a\x00b\x07c", "x" * 1600, "\u202eevil"],
    ids=["emoji", "right-to-left", "control characters", "very long", "bidi override"],
)
async def test_sms_odd_text_keeps_serving(panel_server, twilio_api, text):
    client, runtime = panel_server
    resident = SmsResident(client, runtime, twilio_api)
    for step in ("hoi", "ja", "1", "overslaan", "overslaan", "1", "3", "1"):
        await resident.say(step)
    replies = await resident.say(text)
    assert len(replies) == 1
    assert (await client.get("/healthz")).status == 200


async def test_sms_stop_confirmed_once(panel_server, twilio_api):
    client, runtime = panel_server
    resident = SmsResident(client, runtime, twilio_api)
    await resident.say("hoi")
    first = await resident.say("STOP")
    second = await resident.say("hoi")
    assert "Je bent afgemeld" in first[0].body
    assert second == []


async def test_survey_row_loaded(panel_server):
    _, runtime = panel_server
    async with runtime.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Survey)) == 1


async def test_logs_never_name_resident(panel_server, twilio_api, telegram_api, caplog):
    client, runtime = panel_server
    silence_secret_bearing_loggers()
    caplog.set_level("INFO")
    sms = SmsResident(client, runtime, twilio_api)
    chat = TelegramResident(client, runtime, telegram_api)
    twilio_api.fail_next_send(RESIDENT_NUMBER, 400, 21610)
    for text in ("hoi", "ja", "STOP"):
        await sms.say(text)
        await chat.say(text)
    assert caplog.records
    assert RESIDENT_NUMBER not in caplog.text
    assert RESIDENT_NUMBER[1:] not in caplog.text
    assert str(CHAT_ID) not in caplog.text
    assert telegram_api.token not in caplog.text
    assert twilio_api.auth_token not in caplog.text


async def test_telegram_unknown_fields_accepted(panel_server, telegram_api):
    client, runtime = panel_server
    resident = TelegramResident(client, runtime, telegram_api)
    update = telegram_text_update(31, CHAT_ID, "hoi")
    update["future_update_field"] = {"x": 1}
    update["message"]["future_message_field"] = [1, 2, 3]
    response = await resident.post(update)
    assert response.status == 200
    replies = await resident.delivered()
    assert "Doe je mee?" in replies[0].text


async def test_telegram_wrong_content_type(panel_server):
    client, _ = panel_server
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "text/plain"}
    response = await client.post("/webhooks/telegram", data=json.dumps(telegram_text_update(1, CHAT_ID, "hoi")), headers=headers)
    assert response.status == 415


async def test_rejections_are_logged(panel_server, twilio_api, caplog):
    client, runtime = panel_server
    caplog.set_level("WARNING")
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}
    await client.post("/webhooks/telegram", data=b"{not json", headers=headers)
    await SmsResident(client, runtime, twilio_api).post({"Body": "hoi"})
    messages = [record.getMessage() for record in caplog.records]
    assert "Telegram webhook rejected: body is not valid JSON" in messages
    assert "Twilio webhook rejected: malformed message form on /webhooks/twilio/sms" in messages
