"""Twilio status callbacks: signed requests to the web app, stored on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import logging

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bot.channels.types import Channel
from bot.runtime import build_runtime
from bot.settings import Settings
from bot.status_callbacks import (
    CALLBACK_ERROR_CODES,
    STATUS_CALLBACK_PATH,
    MalformedStatusCallback,
    next_delivery_status,
    parse_status_form,
    status_callback_url,
)
from bot.web import create_app
from store.models import Address, OutboxMessage, utcnow
from tests.fakes.payloads import PANEL_NUMBER, sign_twilio
from tests.fakes.twilio_api import API_VERSION, DEFAULT_ACCOUNT_SID

PUBLIC_URL = "https://panel.example.nl"
RESIDENT_NUMBER = "+31612345678"

# (status stored on the row, status in the callback, status afterwards)
TRANSITIONS = [
    (None, "queued", "queued"),
    (None, "delivered", "delivered"),
    ("accepted", "queued", "queued"),
    ("scheduled", "canceled", "canceled"),
    ("queued", "sending", "sending"),
    ("queued", "sent", "sent"),
    ("sending", "sent", "sent"),
    ("sent", "delivered", "delivered"),
    ("sent", "undelivered", "undelivered"),
    ("queued", "failed", "failed"),
    ("sending", "read", "read"),
    ("delivered", "read", "read"),
    # Late callbacks never move a row back.
    ("sent", "queued", "sent"),
    ("sent", "sending", "sent"),
    ("sending", "queued", "sending"),
    ("queued", "accepted", "queued"),
    ("delivered", "sent", "delivered"),
    ("delivered", "queued", "delivered"),
    ("delivered", "undelivered", "delivered"),
    ("delivered", "failed", "delivered"),
    ("read", "delivered", "read"),
    ("read", "sent", "read"),
    ("undelivered", "delivered", "undelivered"),
    ("undelivered", "sent", "undelivered"),
    ("failed", "delivered", "failed"),
    ("failed", "read", "failed"),
    ("failed", "queued", "failed"),
    ("canceled", "sent", "canceled"),
    # Repeats and statuses of inbound or unknown messages change nothing.
    ("sent", "sent", "sent"),
    ("sent", "received", "sent"),
    ("sent", "receiving", "sent"),
    ("sent", "partially_delivered", "sent"),
    (None, "received", None),
]


def status_form(message_sid: str, status: str, error_code: str | None = None) -> dict[str, str]:
    """Build the form of a Twilio status callback for an outbound SMS."""
    form = {
        "SmsSid": message_sid,
        "SmsStatus": status,
        "MessageStatus": status,
        "To": RESIDENT_NUMBER,
        "MessageSid": message_sid,
        "AccountSid": DEFAULT_ACCOUNT_SID,
        "From": PANEL_NUMBER,
        "ApiVersion": API_VERSION,
    }
    if error_code is not None:
        form["ErrorCode"] = error_code
    return form


@pytest.fixture
async def status_server(database_url, twilio_api):
    settings = Settings(
        database_url=database_url,
        public_url=PUBLIC_URL,
        twilio_account_sid=twilio_api.account_sid,
        twilio_auth_token=twilio_api.auth_token,
        twilio_sms_from=PANEL_NUMBER,
        twilio_api_url=twilio_api.url,
        panel_owner="Stichting Test",
        privacy_url="https://example.org/privacy",
    )
    settings.require_for_serving()
    runtime = build_runtime(settings)
    runtime.run_worker = False
    client = TestClient(TestServer(create_app(runtime), host="127.0.0.1"))
    await client.start_server()
    try:
        yield client, runtime
    finally:
        await client.close()


async def post_status(client: TestClient, auth_token: str, form: dict[str, str], *, signature: str | None = None):
    if signature is None:
        signature = sign_twilio(auth_token, PUBLIC_URL + STATUS_CALLBACK_PATH, form)
    return await client.post(STATUS_CALLBACK_PATH, data=form, headers={"X-Twilio-Signature": signature})


async def add_sent_row(
    runtime, message_sid: str, *, delivery_status: str | None = None, number: str = RESIDENT_NUMBER, channel: str = Channel.SMS
) -> int:
    async with runtime.sessionmaker() as session, session.begin():
        address = (
            await session.execute(select(Address).where(Address.channel == channel, Address.value == number))
        ).scalar_one_or_none()
        if address is None:
            address = Address(channel=channel, value=number)
            session.add(address)
            await session.flush()
        row = OutboxMessage(
            key=f"test:{message_sid}",
            channel=channel,
            address_id=address.id,
            text="Doe je mee?",
            status="sent",
            provider_message_id=message_sid,
            delivery_status=delivery_status,
        )
        session.add(row)
        await session.flush()
        return row.id


async def row_by_id(runtime, row_id: int) -> OutboxMessage:
    async with runtime.sessionmaker() as session:
        return await session.get(OutboxMessage, row_id)


async def address_by_number(runtime, number: str = RESIDENT_NUMBER) -> Address:
    async with runtime.sessionmaker() as session:
        return (await session.execute(select(Address).where(Address.value == number))).scalar_one()


@pytest.mark.parametrize(("current", "reported", "expected"), TRANSITIONS)
def test_next_delivery_status_table(current, reported, expected):
    result = next_delivery_status(current, reported)
    assert (result if result is not None else current) == expected


async def test_transition_table_through_webhook(status_server, twilio_api):
    client, runtime = status_server
    for number, (current, reported, expected) in enumerate(TRANSITIONS):
        message_sid = f"SM{number:032x}"
        row_id = await add_sent_row(runtime, message_sid, delivery_status=current)
        response = await post_status(client, twilio_api.auth_token, status_form(message_sid, reported))
        assert response.status == 200, (current, reported)
        row = await row_by_id(runtime, row_id)
        assert row.delivery_status == expected, (current, reported)


async def test_status_callback_updates_row(status_server, twilio_api):
    client, runtime = status_server
    row_id = await add_sent_row(runtime, "SM" + "1" * 32)
    response = await post_status(client, twilio_api.auth_token, status_form("SM" + "1" * 32, "delivered"))
    assert response.status == 200
    assert await response.text() == ""
    row = await row_by_id(runtime, row_id)
    assert row.delivery_status == "delivered"
    assert row.status == "sent"


async def test_late_callbacks_never_move_back(status_server, twilio_api):
    client, runtime = status_server
    message_sid = "SM" + "2" * 32
    row_id = await add_sent_row(runtime, message_sid)
    for status in ("sent", "delivered", "sending", "queued", "undelivered", "sent"):
        response = await post_status(client, twilio_api.auth_token, status_form(message_sid, status))
        assert response.status == 200, status
    row = await row_by_id(runtime, row_id)
    assert row.delivery_status == "delivered"


async def test_simultaneous_callbacks_end_final(status_server, twilio_api):
    client, runtime = status_server
    message_sid = "SM" + "3" * 32
    row_id = await add_sent_row(runtime, message_sid)
    forms = [status_form(message_sid, status) for status in ("queued", "sent", "delivered", "sending", "sent", "queued")]
    responses = await asyncio.gather(*(post_status(client, twilio_api.auth_token, form) for form in forms))
    assert [response.status for response in responses] == [200] * len(forms)
    row = await row_by_id(runtime, row_id)
    assert row.delivery_status == "delivered"


@pytest.mark.parametrize(
    "signature",
    [None, "", "bm90IGEgc2lnbmF0dXJl"],
    ids=["missing", "empty", "wrong"],
)
async def test_status_callback_requires_signature(status_server, twilio_api, signature):
    client, runtime = status_server
    row_id = await add_sent_row(runtime, "SM" + "4" * 32)
    form = status_form("SM" + "4" * 32, "delivered")
    if signature is None:
        response = await client.post(STATUS_CALLBACK_PATH, data=form)
    else:
        response = await post_status(client, twilio_api.auth_token, form, signature=signature)
    assert response.status == 403
    row = await row_by_id(runtime, row_id)
    assert row.delivery_status is None


async def test_status_signature_over_internal_url_rejected(status_server, twilio_api):
    client, runtime = status_server
    row_id = await add_sent_row(runtime, "SM" + "5" * 32)
    form = status_form("SM" + "5" * 32, "delivered")
    internal = sign_twilio(twilio_api.auth_token, str(client.make_url(STATUS_CALLBACK_PATH)), form)
    response = await post_status(client, twilio_api.auth_token, form, signature=internal)
    assert response.status == 403
    row = await row_by_id(runtime, row_id)
    assert row.delivery_status is None


@pytest.mark.parametrize(
    ("missing", "reason"),
    [("MessageSid", "missing MessageSid"), ("MessageStatus", "missing MessageStatus")],
)
async def test_status_missing_fields_rejected(status_server, twilio_api, missing, reason):
    client, _ = status_server
    form = status_form("SM" + "6" * 32, "delivered")
    del form[missing]
    response = await post_status(client, twilio_api.auth_token, form)
    assert response.status == 400
    assert reason in await response.text()


async def test_status_invalid_error_code_rejected(status_server, twilio_api):
    client, _ = status_server
    response = await post_status(client, twilio_api.auth_token, status_form("SM" + "7" * 32, "failed", "abc"))
    assert response.status == 400
    assert "invalid ErrorCode" in await response.text()


async def test_status_wrong_content_type_rejected(status_server):
    client, _ = status_server
    response = await client.post(STATUS_CALLBACK_PATH, data=b"{}", headers={"Content-Type": "application/json"})
    assert response.status == 415


async def test_unsubscribed_callback_marks_unreachable(status_server, twilio_api):
    client, runtime = status_server
    row_id = await add_sent_row(runtime, "SM" + "8" * 32, delivery_status="sent")
    before = utcnow()
    response = await post_status(client, twilio_api.auth_token, status_form("SM" + "8" * 32, "failed", "21610"))
    assert response.status == 200
    row = await row_by_id(runtime, row_id)
    assert row.delivery_status == "failed"
    assert row.error_code == "21610"
    address = await address_by_number(runtime)
    assert address.unreachable_code == "21610"
    assert address.unreachable_at >= before


@pytest.mark.parametrize(
    ("error_code", "unreachable"),
    [("21211", True), ("21610", True), ("21614", True), ("30003", False), ("30005", True), ("30006", True), ("30007", False)],
)
async def test_callback_error_code_table(status_server, twilio_api, error_code, unreachable):
    client, runtime = status_server
    row_id = await add_sent_row(runtime, "SM" + "9" * 32, delivery_status="sent")
    response = await post_status(client, twilio_api.auth_token, status_form("SM" + "9" * 32, "undelivered", error_code))
    assert response.status == 200
    row = await row_by_id(runtime, row_id)
    assert row.error_code == error_code
    address = await address_by_number(runtime)
    assert (address.unreachable_code == error_code) is unreachable
    assert (address.unreachable_at is not None) is unreachable


def test_error_code_table_covers_documented_codes():
    assert set(CALLBACK_ERROR_CODES) == {"21211", "21610", "21614", "30003", "30005", "30006"}
    assert CALLBACK_ERROR_CODES["30003"].address_unreachable is False


async def test_late_failure_after_delivered_ignored(status_server, twilio_api):
    client, runtime = status_server
    row_id = await add_sent_row(runtime, "SM" + "a" * 32, delivery_status="delivered")
    response = await post_status(client, twilio_api.auth_token, status_form("SM" + "a" * 32, "undelivered", "30005"))
    assert response.status == 200
    row = await row_by_id(runtime, row_id)
    assert row.delivery_status == "delivered"
    assert row.error_code is None
    address = await address_by_number(runtime)
    assert address.unreachable_at is None


async def test_unreachable_address_keeps_first_code(status_server, twilio_api):
    client, runtime = status_server
    await add_sent_row(runtime, "SM" + "b" * 32, delivery_status="sent")
    await add_sent_row(runtime, "SM" + "c" * 32, delivery_status="sent")
    await post_status(client, twilio_api.auth_token, status_form("SM" + "b" * 32, "undelivered", "30005"))
    await post_status(client, twilio_api.auth_token, status_form("SM" + "c" * 32, "failed", "21610"))
    address = await address_by_number(runtime)
    assert address.unreachable_code == "30005"


async def test_unknown_message_sid_answered(status_server, twilio_api, caplog):
    client, runtime = status_server
    row_id = await add_sent_row(runtime, "SM" + "d" * 32)
    caplog.set_level(logging.INFO, logger="bot.status_callbacks")
    response = await post_status(client, twilio_api.auth_token, status_form("SM" + "e" * 32, "delivered"))
    assert response.status == 200
    assert "unknown MessageSid SM" + "e" * 32 in caplog.text
    row = await row_by_id(runtime, row_id)
    assert row.delivery_status is None


async def test_telegram_message_id_not_matched(status_server, twilio_api):
    client, runtime = status_server
    row_id = await add_sent_row(runtime, "42", number="5550001", channel=Channel.TELEGRAM)
    response = await post_status(client, twilio_api.auth_token, status_form("42", "delivered"))
    assert response.status == 200
    row = await row_by_id(runtime, row_id)
    assert row.delivery_status is None


async def test_unknown_status_logged(status_server, twilio_api, caplog):
    client, runtime = status_server
    row_id = await add_sent_row(runtime, "SM" + "f" * 32, delivery_status="sent")
    caplog.set_level(logging.WARNING, logger="bot.status_callbacks")
    response = await post_status(client, twilio_api.auth_token, status_form("SM" + "f" * 32, "partially_delivered"))
    assert response.status == 200
    assert "unknown status 'partially_delivered'" in caplog.text
    row = await row_by_id(runtime, row_id)
    assert row.delivery_status == "sent"


async def test_sms_sender_sets_status_callback(status_server, twilio_api):
    _, runtime = status_server
    async with runtime.sessionmaker() as session, session.begin():
        address = Address(channel=Channel.SMS, value=RESIDENT_NUMBER)
        session.add(address)
        await session.flush()
        session.add(OutboxMessage(key="test:callback", channel=Channel.SMS, address_id=address.id, text="Doe je mee?"))
    assert await runtime.worker.drain() == 1
    [request] = [request for request in twilio_api.requests if request.path.endswith("/Messages.json")]
    assert request.form["StatusCallback"] == PUBLIC_URL + STATUS_CALLBACK_PATH


def test_status_callback_url_needs_public_url():
    assert status_callback_url(None) is None
    assert status_callback_url(PUBLIC_URL + "/") == PUBLIC_URL + STATUS_CALLBACK_PATH


def test_parse_status_form_lowercases_status():
    report = parse_status_form({"MessageSid": "SM1", "MessageStatus": "Delivered", "ErrorCode": ""})
    assert report.status == "delivered"
    assert report.error_code is None


def test_parse_status_form_rejects_long_error_code():
    with pytest.raises(MalformedStatusCallback, match="invalid ErrorCode"):
        parse_status_form({"MessageSid": "SM1", "MessageStatus": "failed", "ErrorCode": "1" * 33})
