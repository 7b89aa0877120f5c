"""The WhatsApp webhook end to end: signed Twilio forms through the aiohttp app into the
engine, with the store on SQLite and PostgreSQL.

Replies are read from the outbox instead of the fake Twilio API. The WhatsApp sender
tests cover sending.
"""

from __future__ import annotations

import asyncio

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from bot.settings import Settings
from store.models import Address, Answer, InboundMessage, OutboxMessage
from tests.fakes.payloads import PANEL_NUMBER, sign_twilio, twilio_whatsapp_form
from tests.harness import EXAMPLE_SURVEY, ConsolePanel
from tests.panel_app import fake_api_settings, start_panel

SECRET = "webhook-secret-0123456789"
PUBLIC_URL = "https://panel.example.nl"
WEBHOOK_PATH = "/webhooks/twilio/whatsapp"
RESIDENT_NUMBER = "+31612345678"
TEMPLATE_SID = "HX" + "0123456789abcdef" * 2


def panel_settings(database_url, telegram_api, twilio_api, **overrides) -> Settings:
    whatsapp = dict(twilio_sms_from=None, twilio_whatsapp_from=PANEL_NUMBER, whatsapp_template_nl=TEMPLATE_SID)
    return fake_api_settings(database_url, telegram_api, twilio_api, secret=SECRET, **{**whatsapp, **overrides})


@pytest.fixture
async def panel_server(database_url, telegram_api, twilio_api):
    client, runtime = await start_panel(panel_settings(database_url, telegram_api, twilio_api))
    await ConsolePanel(runtime.sessionmaker).load_survey(EXAMPLE_SURVEY)
    try:
        yield client, runtime
    finally:
        await client.close()


class WhatsAppResident:
    def __init__(self, client: TestClient, runtime, api, number: str = RESIDENT_NUMBER) -> None:
        self.client, self.runtime, self.api, self.number = client, runtime, api, number
        self.count = 0

    def form(self, body: str, **options) -> dict:
        self.count += 1
        return twilio_whatsapp_form(f"SM{self.count:032x}", self.number, body, **options)

    async def post(self, form: dict, *, signature: str | None = None, path: str = WEBHOOK_PATH):
        if signature is None:
            signature = sign_twilio(self.api.auth_token, PUBLIC_URL + path, form)
        return await self.client.post(path, data=form, headers={"X-Twilio-Signature": signature})

    async def say(self, body: str, **options) -> list[str]:
        """Post a signed message and return the texts of the replies it queued."""
        before = await self.queued()
        response = await self.post(self.form(body, **options))
        assert response.status == 200
        return (await self.queued())[len(before) :]

    # TODO: read the fake Twilio API after a worker drain, as tests/test_webhooks.py does
    # for SMS, once the delivery worker fills in Outbound.last_inbound_at. Until then
    # every WhatsApp reply fails there as outside the 24-hour window.
    async def queued(self) -> list[str]:
        async with self.runtime.sessionmaker() as session:
            statement = (
                select(OutboxMessage.text)
                .join(Address, Address.id == OutboxMessage.address_id)
                .where(Address.channel == "whatsapp", Address.value == self.number)
                .order_by(OutboxMessage.id)
            )
            return list((await session.scalars(statement)).all())


async def count_rows(runtime, model) -> int:
    async with runtime.sessionmaker() as session:
        return await session.scalar(select(func.count()).select_from(model))


async def test_signed_form_gets_empty_twiml(panel_server, twilio_api):
    client, runtime = panel_server
    resident = WhatsAppResident(client, runtime, twilio_api)

    response = await resident.post(resident.form("Hoi"))

    assert response.status == 200
    assert response.content_type == "text/xml"
    assert await response.text() == '<?xml version="1.0" encoding="UTF-8"?><Response />'


async def test_first_message_gets_welcome(panel_server, twilio_api):
    client, runtime = panel_server
    resident = WhatsAppResident(client, runtime, twilio_api)

    replies = await resident.say("Hoi")

    assert replies
    assert "Doe je mee?" in replies[-1]


async def test_address_stored_without_prefix(panel_server, twilio_api):
    client, runtime = panel_server
    resident = WhatsAppResident(client, runtime, twilio_api)

    await resident.say("Hoi")

    async with runtime.sessionmaker() as session:
        addresses = (await session.execute(select(Address.channel, Address.value))).all()
    assert addresses == [("whatsapp", RESIDENT_NUMBER)]


async def test_replies_queued_for_whatsapp(panel_server, twilio_api):
    client, runtime = panel_server
    resident = WhatsAppResident(client, runtime, twilio_api)

    await resident.say("Hoi")

    async with runtime.sessionmaker() as session:
        channels = set((await session.scalars(select(OutboxMessage.channel))).all())
    assert channels == {"whatsapp"}


async def test_bad_signature_rejected(panel_server, twilio_api):
    client, runtime = panel_server
    resident = WhatsAppResident(client, runtime, twilio_api)

    response = await resident.post(resident.form("Hoi"), signature="bm90IGEgc2lnbmF0dXJl")

    assert response.status == 403
    assert await count_rows(runtime, InboundMessage) == 0
    assert await resident.queued() == []


async def test_missing_signature_rejected(panel_server, twilio_api):
    client, runtime = panel_server
    resident = WhatsAppResident(client, runtime, twilio_api)

    response = await client.post(WEBHOOK_PATH, data=resident.form("Hoi"))

    assert response.status == 403


async def test_sms_signature_rejected(panel_server, twilio_api):
    client, runtime = panel_server
    resident = WhatsAppResident(client, runtime, twilio_api)
    form = resident.form("Hoi")
    sms_signature = sign_twilio(twilio_api.auth_token, PUBLIC_URL + "/webhooks/twilio/sms", form)

    response = await resident.post(form, signature=sms_signature)

    assert response.status == 403


async def test_signature_with_query_string(panel_server, twilio_api):
    client, runtime = panel_server
    resident = WhatsAppResident(client, runtime, twilio_api)

    response = await resident.post(resident.form("Hoi"), path=WEBHOOK_PATH + "?source=panel")

    assert response.status == 200


async def test_button_payload_answers_question(panel_server, twilio_api):
    client, runtime = panel_server
    resident = WhatsAppResident(client, runtime, twilio_api)
    await resident.say("Hoi")

    replies = await resident.say("", button_payload="consent|1", button_text="Ja")

    assert replies
    assert "Die knop hoort bij een eerdere vraag." not in replies[-1]
    assert "In welke taal" in replies[-1]


async def test_stale_button_payload(panel_server, twilio_api):
    client, runtime = panel_server
    resident = WhatsAppResident(client, runtime, twilio_api)
    await resident.say("Hoi")

    replies = await resident.say("", button_payload="q:99:wijk|2", button_text="Nee")

    assert "Die knop hoort bij een eerdere vraag." in replies[0]


async def test_media_without_body_asks_for_text(panel_server, twilio_api):
    client, runtime = panel_server
    resident = WhatsAppResident(client, runtime, twilio_api)
    await resident.say("Hoi")

    replies = await resident.say("", num_media=1)

    assert "Ik kan alleen tekst lezen" in replies[0]
    assert await count_rows(runtime, Answer) == 0


async def test_location_asks_for_text(panel_server, twilio_api):
    client, runtime = panel_server
    resident = WhatsAppResident(client, runtime, twilio_api)
    await resident.say("Hoi")

    replies = await resident.say("", latitude=52.0799, longitude=4.3113)

    assert "Ik kan alleen tekst lezen" in replies[0]


async def test_redelivery_processed_once(panel_server, twilio_api):
    client, runtime = panel_server
    resident = WhatsAppResident(client, runtime, twilio_api)
    form = resident.form("Hoi")

    responses = await asyncio.gather(*(resident.post(form) for _ in range(4)))

    assert [response.status for response in responses] == [200] * 4
    assert await count_rows(runtime, InboundMessage) == 1


async def test_missing_from_rejected(panel_server, twilio_api):
    client, runtime = panel_server
    resident = WhatsAppResident(client, runtime, twilio_api)
    form = resident.form("Hoi")
    del form["From"]

    response = await resident.post(form)

    assert response.status == 400
    assert "From" in await response.text()


async def test_wrong_content_type_rejected(panel_server):
    client, _ = panel_server

    response = await client.post(
        WEBHOOK_PATH, data=b"{}", headers={"Content-Type": "application/json"}
    )

    assert response.status == 415


async def test_sms_route_off_without_sms_number(panel_server, twilio_api):
    client, runtime = panel_server
    resident = WhatsAppResident(client, runtime, twilio_api)

    response = await resident.post(resident.form("Hoi"), path="/webhooks/twilio/sms")

    assert response.status == 404


async def test_whatsapp_route_off_when_unconfigured(database_url, telegram_api, twilio_api):
    settings = panel_settings(
        database_url,
        telegram_api,
        twilio_api,
        twilio_whatsapp_from=None,
        whatsapp_template_nl=None,
        twilio_sms_from=PANEL_NUMBER,
    )
    client, runtime = await start_panel(settings)
    resident = WhatsAppResident(client, runtime, twilio_api)

    try:
        response = await resident.post(resident.form("Hoi"))
        body = await response.text()
    finally:
        await client.close()

    assert response.status == 404
    assert "WhatsApp" in body


async def test_runtime_has_whatsapp_sender(panel_server):
    _, runtime = panel_server

    assert set(runtime.senders) == {"telegram", "whatsapp"}
