"""A published survey opens, reminds and closes on its own over Telegram, SMS and WhatsApp:
the real clients against the fake APIs, with a clock the test controls."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.channels.types import Channel
from bot.publishing import publish
from bot.segments import Segment
from tests.fakes.payloads import PANEL_NUMBER, sign_twilio, telegram_text_update, twilio_sms_form, twilio_whatsapp_form
from tests.harness import EXAMPLE_SURVEY, ConsolePanel
from tests.panel_app import PUBLIC_URL, fake_api_settings, start_panel

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
SECRET = "broadcast-secret-0123456789"
TEMPLATE_SID = "HX" + "ab" * 16
SMS_NUMBER = "+31611111111"
WHATSAPP_NUMBER = "+31622222222"
CHAT_ID = 777001
JOIN = ("hoi", "ja", "1", "overslaan", "overslaan")


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
async def panel(database_url, telegram_api, twilio_api):
    # Monday 7 December 2026, 10:00 in Amsterdam: outside the quiet hours.
    clock = Clock(datetime(2026, 12, 7, 10, 0, tzinfo=AMSTERDAM).astimezone(timezone.utc))
    settings = fake_api_settings(
        database_url,
        telegram_api,
        twilio_api,
        secret=SECRET,
        twilio_whatsapp_from=PANEL_NUMBER,
        whatsapp_template_nl=TEMPLATE_SID,
    )
    client, runtime = await start_panel(settings, clock=clock)
    try:
        yield client, runtime, clock
    finally:
        await client.close()


async def telegram_says(client, text: str, update_id: int) -> None:
    update = telegram_text_update(update_id, CHAT_ID, text)
    response = await client.post("/webhooks/telegram", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
    assert response.status == 200


async def twilio_says(client, twilio_api, path: str, form: dict) -> None:
    signature = sign_twilio(twilio_api.auth_token, PUBLIC_URL + path, form)
    response = await client.post(path, data=form, headers={"X-Twilio-Signature": signature})
    assert response.status == 200


async def join_everyone(client, runtime, twilio_api) -> None:
    for number, text in enumerate(JOIN):
        await telegram_says(client, text, 5000 + number)
        await twilio_says(client, twilio_api, "/webhooks/twilio/sms", twilio_sms_form(f"SM{number:032x}", SMS_NUMBER, text))
        form = twilio_whatsapp_form(f"SM{100 + number:032x}", WHATSAPP_NUMBER, text)
        await twilio_says(client, twilio_api, "/webhooks/twilio/whatsapp", form)
    await runtime.worker.drain()


async def test_published_survey_runs_on_its_own(panel, telegram_api, twilio_api):
    client, runtime, clock = panel
    await join_everyone(client, runtime, twilio_api)
    row = await ConsolePanel(runtime.sessionmaker).load_survey(EXAMPLE_SURVEY)
    # Loading opened the survey at once; publishing schedules it for tomorrow instead.
    opens = clock() + timedelta(days=1)
    async with runtime.sessionmaker() as session, session.begin():
        channels = [Channel.TELEGRAM.value, Channel.SMS.value, Channel.WHATSAPP.value]
        await publish(session, row.slug, opens, opens + timedelta(days=5), Segment(), channels, clock())

    telegram_before, twilio_before = len(telegram_api.sent), len(twilio_api.messages)
    assert (await runtime.scheduler.tick()).opened == []

    # The next day, more than 24 hours after the WhatsApp resident last wrote.
    clock.advance(days=1)
    report = await runtime.scheduler.tick()
    await runtime.worker.drain()
    assert report.opened == ["groen-in-de-wijk"]
    assert report.invitations == 3

    # Telegram and SMS get the first question itself; WhatsApp, outside its 24-hour
    # window, the approved template.
    [telegram_invitation] = telegram_api.sent[telegram_before:]
    assert telegram_invitation.text.startswith("Nieuwe vragenlijst: Groen in de wijk")
    buttons = [row[0]["text"] for row in telegram_invitation.reply_markup["inline_keyboard"]]
    assert buttons[0] == "Bijna elke dag"
    sms, whatsapp = sorted(twilio_api.messages[twilio_before:], key=lambda message: message.to)
    assert sms.to == SMS_NUMBER
    assert "Deze vragen komen van Gemeente Den Haag." in sms.body
    assert "Vraag 1 van 7" in sms.body
    assert sms.body.endswith("4. Bijna nooit")
    assert whatsapp.to == f"whatsapp:{WHATSAPP_NUMBER}"
    assert whatsapp.content_sid == TEMPLATE_SID
    assert whatsapp.content_variables == {"1": "Groen in de wijk", "2": "Gemeente Den Haag"}

    # The SMS resident answers the first question, the others do not.
    await twilio_says(client, twilio_api, "/webhooks/twilio/sms", twilio_sms_form("SM" + "e" * 32, SMS_NUMBER, "2"))
    await runtime.worker.drain()
    assert "Vraag 2 van 7" in twilio_api.messages[-1].body

    clock.advance(hours=48)
    telegram_before, twilio_before = len(telegram_api.sent), len(twilio_api.messages)
    report = await runtime.scheduler.tick()
    await runtime.worker.drain()
    assert report.reminders == 3
    assert telegram_api.sent[telegram_before].text.startswith("Herinnering: Groen in de wijk staat nog open.")
    assert "Vraag 1 van 7" in telegram_api.sent[telegram_before].text
    reminders = {message.to: message for message in twilio_api.messages[twilio_before:]}
    assert reminders[SMS_NUMBER].body.startswith("Je bent nog niet klaar met Groen in de wijk.")
    assert reminders[f"whatsapp:{WHATSAPP_NUMBER}"].content_sid == TEMPLATE_SID

    clock.advance(days=4)
    twilio_before = len(twilio_api.messages)
    report = await runtime.scheduler.tick()
    await runtime.worker.drain()
    assert report.closed == ["groen-in-de-wijk"]
    # The one resident who answered gets a closing note, then the summary, which is too
    # small a group to show any result.
    closing, summary = twilio_api.messages[twilio_before:]
    assert closing.to == SMS_NUMBER
    assert closing.body.startswith("Groen in de wijk is nu gesloten.")
    assert summary.to == SMS_NUMBER
    assert summary.body.startswith('Er deden te weinig inwoners mee aan "Groen in de wijk"')
