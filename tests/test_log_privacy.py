"""Logs never contain a phone number, chat id or answer text, at any level, also when a
webhook fails. Runs through the real webhooks and clients against the fake APIs."""

from __future__ import annotations

import logging

import pytest

from bot.logs import address_tag, silence_secret_bearing_loggers
from tests.fakes.payloads import telegram_text_update, twilio_sms_form
from tests.harness import EXAMPLE_SURVEY, ConsolePanel
from tests.panel_app import fake_api_settings, start_panel
from tests.test_webhooks import SECRET, SmsResident, TelegramResident

NUMBER = "+31687654321"
CHAT_ID = 515151515
FREE_TEXT = "Mijn geveltuin aan de Lindelaan 23"
REMARK = "Bel me op 0687654321 voor meer"
CONVERSATION = ("hoi", "ja", "1", "2", "2511", "2", "4", "1,5", "10", "ja", FREE_TEXT, REMARK, "STOP")


@pytest.fixture
async def panel_server(database_url, telegram_api, twilio_api):
    client, runtime = await start_panel(fake_api_settings(database_url, telegram_api, twilio_api, secret=SECRET))
    await ConsolePanel(runtime.sessionmaker).load_survey(EXAMPLE_SURVEY)
    try:
        yield client, runtime
    finally:
        await client.close()


@pytest.fixture
def debug_logs(caplog):
    """Capture every record at DEBUG, with the library loggers set as ``chatpanel serve``
    sets them; their levels are restored afterwards."""
    loggers = [logger for logger in logging.root.manager.loggerDict.values() if isinstance(logger, logging.Logger)]
    saved = {logger: logger.level for logger in loggers}
    silence_secret_bearing_loggers()
    caplog.set_level(logging.DEBUG)
    yield caplog
    for logger, level in saved.items():
        logger.setLevel(level)


def logged_text(caplog) -> str:
    """Return every captured message and traceback as one text."""
    formatter = logging.Formatter()
    parts = []
    for record in caplog.records:
        parts.append(record.getMessage())
        if record.exc_info:
            parts.append(formatter.formatException(record.exc_info))
    return "\n".join(parts)


def assert_nothing_personal(text: str) -> None:
    for needle in (NUMBER, NUMBER[1:], NUMBER[3:], str(CHAT_ID), FREE_TEXT, "Lindelaan", REMARK, "0687654321"):
        assert needle not in text, needle


async def test_conversation_logs_nothing_personal(panel_server, telegram_api, twilio_api, debug_logs):
    client, runtime = panel_server
    sms = SmsResident(client, runtime, twilio_api, number=NUMBER)
    chat = TelegramResident(client, runtime, telegram_api, chat_id=CHAT_ID)
    for text in CONVERSATION:
        await sms.say(text)
        await chat.say(text)
    assert "Bedankt voor je antwoorden!" in twilio_api.messages[-2].body
    assert "Je bent afgemeld" in twilio_api.messages[-1].body
    text = logged_text(debug_logs)
    assert f"new address {address_tag('sms', NUMBER)}, starting onboarding" in text
    assert f"address {address_tag('telegram', str(CHAT_ID))} opted out" in text
    assert_nothing_personal(text)


async def test_webhook_errors_log_nothing_personal(panel_server, telegram_api, twilio_api, debug_logs):
    client, runtime = panel_server
    chat = TelegramResident(client, runtime, telegram_api, chat_id=CHAT_ID)
    sms = SmsResident(client, runtime, twilio_api, number=NUMBER)

    # A Telegram update that python-telegram-bot cannot read: its chat has no type.
    update = telegram_text_update(901, CHAT_ID, FREE_TEXT)
    del update["message"]["chat"]["type"]
    assert (await chat.post(update)).status == 400

    # A Twilio form whose sender is no phone number.
    form = twilio_sms_form("SM" + "1" * 32, NUMBER + "123456789", FREE_TEXT)
    assert (await sms.post(form)).status == 400

    # A reply the Bot API refuses because the resident blocked the bot.
    telegram_api.fail_blocked(CHAT_ID)
    await chat.say("hoi")

    # The database fails while a message is handled: the error reaches aiohttp's log with
    # the failed statement, but without its parameters.
    async with runtime.engine.begin() as connection:
        await connection.exec_driver_sql("ALTER TABLE addresses RENAME TO addresses_unavailable")
    assert (await sms.post(sms.form(FREE_TEXT))).status == 500

    text = logged_text(debug_logs)
    assert "Telegram webhook rejected" in text
    assert "Twilio webhook rejected: malformed message form" in text
    assert "failed permanently with code" in text
    assert any(record.levelno >= logging.ERROR and record.exc_info for record in debug_logs.records)
    assert "addresses" in text
    assert_nothing_personal(text)
