import pytest
from twilio.base.exceptions import TwilioRestException

from bot.channels.errors import PermanentDeliveryError, TransientDeliveryError
from bot.channels.twilio_sms import (
    MalformedForm,
    TwilioSmsSender,
    empty_twiml,
    parse_form,
    public_request_url,
    signature_valid,
)
from bot.channels.types import Channel, Choice, InboundKind, Outbound
from tests.fakes.fixtures import (  # noqa: F401 (pytest fixtures)
    ExternalConnectionBlocked,
    closed_port,
    loopback_only,
    twilio_api,
    twilio_sender,
)
from tests.fakes.payloads import PANEL_NUMBER, sign_twilio, twilio_sms_form

AUTH_TOKEN = "12345678901234567890123456789012"
PUBLIC_URL = "https://panel.example.org"
WEBHOOK_PATH = "/webhooks/twilio/sms"
RESIDENT = "+31612345678"
MESSAGE_SID = "SM" + "ab" * 16
CHOICES = (
    Choice(number=1, label="Ja", payload="q1:yes"),
    Choice(number=2, label="Nee", payload="q1:no"),
)


# signature_valid


def test_signature_valid():
    url = public_request_url(PUBLIC_URL, WEBHOOK_PATH)
    form = twilio_sms_form(MESSAGE_SID, RESIDENT, "Ja")

    assert signature_valid(AUTH_TOKEN, url, form, sign_twilio(AUTH_TOKEN, url, form))


def test_signature_wrong_token():
    url = public_request_url(PUBLIC_URL, WEBHOOK_PATH)
    form = twilio_sms_form(MESSAGE_SID, RESIDENT, "Ja")
    signature = sign_twilio("another-token-0000000000000000000", url, form)

    assert not signature_valid(AUTH_TOKEN, url, form, signature)


def test_signature_with_query_string():
    url = public_request_url(PUBLIC_URL, WEBHOOK_PATH + "?panel=noord&lang=nl")
    form = twilio_sms_form(MESSAGE_SID, RESIDENT, "Ja")
    signature = sign_twilio(AUTH_TOKEN, url, form)

    assert signature_valid(AUTH_TOKEN, url, form, signature)


def test_signature_query_string_dropped_fails():
    signed_url = public_request_url(PUBLIC_URL, WEBHOOK_PATH + "?panel=noord")
    form = twilio_sms_form(MESSAGE_SID, RESIDENT, "Ja")
    signature = sign_twilio(AUTH_TOKEN, signed_url, form)
    url_without_query = public_request_url(PUBLIC_URL, WEBHOOK_PATH)

    assert not signature_valid(AUTH_TOKEN, url_without_query, form, signature)


def test_signature_http_vs_https_fails():
    form = twilio_sms_form(MESSAGE_SID, RESIDENT, "Ja")
    signature = sign_twilio(AUTH_TOKEN, "https://panel.example.org" + WEBHOOK_PATH, form)

    http_url = "http://panel.example.org" + WEBHOOK_PATH

    assert not signature_valid(AUTH_TOKEN, http_url, form, signature)


def test_signature_changed_body_fails():
    url = public_request_url(PUBLIC_URL, WEBHOOK_PATH)
    form = twilio_sms_form(MESSAGE_SID, RESIDENT, "Ja")
    signature = sign_twilio(AUTH_TOKEN, url, form)
    form["Body"] = "Nee"

    assert not signature_valid(AUTH_TOKEN, url, form, signature)


def test_signature_missing():
    url = public_request_url(PUBLIC_URL, WEBHOOK_PATH)
    form = twilio_sms_form(MESSAGE_SID, RESIDENT, "Ja")

    assert not signature_valid(AUTH_TOKEN, url, form, None)


def test_public_url_trailing_slash():
    assert public_request_url(PUBLIC_URL + "/", "/sms?a=1") == "https://panel.example.org/sms?a=1"


# parse_form


def test_parse_form_text():
    inbound = parse_form(twilio_sms_form(MESSAGE_SID, RESIDENT, "Ja graag"))

    assert inbound.channel == Channel.SMS
    assert inbound.kind == InboundKind.TEXT
    assert inbound.address == RESIDENT
    assert inbound.message_id == MESSAGE_SID
    assert inbound.text == "Ja graag"
    assert inbound.locale_hint is None


def test_parse_form_mms_empty_body():
    inbound = parse_form(twilio_sms_form(MESSAGE_SID, RESIDENT, "", num_media=1))

    assert inbound.kind == InboundKind.NON_TEXT
    assert inbound.text == ""


def test_parse_form_mms_with_body_is_text():
    inbound = parse_form(twilio_sms_form(MESSAGE_SID, RESIDENT, "Kijk", num_media=2))

    assert inbound.kind == InboundKind.TEXT
    assert inbound.text == "Kijk"


def test_parse_form_whatsapp_prefix():
    form = twilio_sms_form(MESSAGE_SID, "whatsapp:" + RESIDENT, "Hoi")

    inbound = parse_form(form, channel=Channel.WHATSAPP)

    assert inbound.address == RESIDENT
    assert inbound.channel == Channel.WHATSAPP


def test_parse_form_national_number_nl():
    inbound = parse_form(twilio_sms_form(MESSAGE_SID, "06 12345678", "Hoi"))

    assert inbound.address == RESIDENT


def test_parse_form_foreign_number():
    inbound = parse_form(twilio_sms_form(MESSAGE_SID, "+32 470 12 34 56", "Hoi"))

    assert inbound.address == "+32470123456"


@pytest.mark.parametrize("number", ["not-a-number", "Vodafone", "12", "+31 6"])
def test_parse_form_invalid_number(number):
    with pytest.raises(MalformedForm, match="From"):
        parse_form(twilio_sms_form(MESSAGE_SID, number, "Hoi"))


def test_parse_form_missing_from():
    form = twilio_sms_form(MESSAGE_SID, RESIDENT, "Hoi")
    del form["From"]

    with pytest.raises(MalformedForm, match="From"):
        parse_form(form)


def test_parse_form_missing_message_sid():
    form = twilio_sms_form(MESSAGE_SID, RESIDENT, "Hoi")
    del form["MessageSid"]

    with pytest.raises(MalformedForm, match="MessageSid"):
        parse_form(form)


def test_parse_form_invalid_num_media():
    form = twilio_sms_form(MESSAGE_SID, RESIDENT, "")
    form["NumMedia"] = "one"

    with pytest.raises(MalformedForm, match="NumMedia"):
        parse_form(form)


def test_malformed_form_is_value_error():
    assert issubclass(MalformedForm, ValueError)


def test_empty_twiml():
    assert empty_twiml() == '<?xml version="1.0" encoding="UTF-8"?><Response />'


# TwilioSmsSender against the fake API


async def test_send_returns_sid(twilio_sender, twilio_api):
    sid = await twilio_sender.send(Outbound(Channel.SMS, RESIDENT, "Welkom bij het panel."))

    assert len(twilio_api.messages) == 1
    assert sid == twilio_api.messages[0].sid
    assert sid.startswith("SM")
    assert len(sid) == 34


async def test_send_request_auth_and_body(twilio_sender, twilio_api):
    await twilio_sender.send(Outbound(Channel.SMS, RESIDENT, "Woont u hier?", CHOICES))

    assert len(twilio_api.requests) == 1
    request = twilio_api.requests[0]
    assert request.method == "POST"
    assert request.path == f"/2010-04-01/Accounts/{twilio_api.account_sid}/Messages.json"
    assert request.auth == (twilio_api.account_sid, twilio_api.auth_token)
    assert request.form == {
        "To": RESIDENT,
        "From": PANEL_NUMBER,
        "Body": "Woont u hier?\n1. Ja\n2. Nee",
    }


async def test_send_unsubscribed_permanent(twilio_sender, twilio_api):
    twilio_api.fail_next_send(RESIDENT, 400, 21610)

    with pytest.raises(PermanentDeliveryError) as caught:
        await twilio_sender.send(Outbound(Channel.SMS, RESIDENT, "Hallo"))

    assert caught.value.code == "21610"
    assert twilio_api.messages == []


async def test_send_invalid_number_permanent(twilio_sender, twilio_api):
    twilio_api.fail_next_send(RESIDENT, 400, 21211)

    with pytest.raises(PermanentDeliveryError) as caught:
        await twilio_sender.send(Outbound(Channel.SMS, RESIDENT, "Hallo"))

    assert caught.value.code == "21211"


async def test_send_unknown_4xx_keeps_code(twilio_sender, twilio_api):
    twilio_api.fail_next_send(RESIDENT, 400, 21699, "Some new error")

    with pytest.raises(PermanentDeliveryError) as caught:
        await twilio_sender.send(Outbound(Channel.SMS, RESIDENT, "Hallo"))

    assert caught.value.code == "21699"


async def test_send_rate_limited_transient(twilio_sender, twilio_api):
    twilio_api.fail_next_send(RESIDENT, 429, 20429)

    with pytest.raises(TransientDeliveryError) as caught:
        await twilio_sender.send(Outbound(Channel.SMS, RESIDENT, "Hallo"))

    assert caught.value.code == "20429"


async def test_send_server_error_transient(twilio_sender, twilio_api):
    twilio_api.fail_next_send(RESIDENT, 500, 20500)

    with pytest.raises(TransientDeliveryError) as caught:
        await twilio_sender.send(Outbound(Channel.SMS, RESIDENT, "Hallo"))

    assert caught.value.code == "20500"


async def test_send_after_transient_succeeds(twilio_sender, twilio_api):
    twilio_api.fail_next_send(RESIDENT, 500, 20500)
    with pytest.raises(TransientDeliveryError):
        await twilio_sender.send(Outbound(Channel.SMS, RESIDENT, "Hallo"))

    await twilio_sender.send(Outbound(Channel.SMS, RESIDENT, "Hallo"))

    assert len(twilio_api.messages) == 1


async def test_send_wrong_token_not_mapped(twilio_api):
    sender = TwilioSmsSender(
        twilio_api.account_sid, "wrong-token", PANEL_NUMBER, api_url=twilio_api.url
    )

    try:
        with pytest.raises(TwilioRestException) as caught:
            await sender.send(Outbound(Channel.SMS, RESIDENT, "Hallo"))
    finally:
        await sender.close()

    assert caught.value.status == 401


async def test_send_connection_refused_transient(closed_port):
    sender = TwilioSmsSender(
        "AC" + "0" * 32, AUTH_TOKEN, PANEL_NUMBER, api_url=f"http://127.0.0.1:{closed_port}"
    )

    try:
        with pytest.raises(TransientDeliveryError) as caught:
            await sender.send(Outbound(Channel.SMS, RESIDENT, "Hallo"))
    finally:
        await sender.close()

    assert caught.value.code == "network"


async def test_send_body_over_1600_rejected(twilio_sender, twilio_api):
    with pytest.raises(ValueError, match="1600"):
        await twilio_sender.send(Outbound(Channel.SMS, RESIDENT, "a" * 1601))

    assert twilio_api.requests == []


async def test_send_ignores_twilio_region_env(twilio_api, monkeypatch):
    monkeypatch.setenv("TWILIO_REGION", "ie1")
    monkeypatch.setenv("TWILIO_EDGE", "dublin")
    sender = TwilioSmsSender(
        twilio_api.account_sid, twilio_api.auth_token, PANEL_NUMBER, api_url=twilio_api.url
    )

    try:
        await sender.send(Outbound(Channel.SMS, RESIDENT, "Hallo"))
    finally:
        await sender.close()

    assert len(twilio_api.messages) == 1


async def test_client_pinned_to_api_url(twilio_sender):
    # Another Twilio domain keeps its real host, so the pinned client must refuse it.
    with pytest.raises(ValueError, match="outside"):
        await twilio_sender._client.lookups.v2.phone_numbers(RESIDENT).fetch_async()


async def test_guard_blocks_real_twilio(loopback_only):
    sender = TwilioSmsSender("AC" + "0" * 32, AUTH_TOKEN, PANEL_NUMBER)

    try:
        with pytest.raises(ExternalConnectionBlocked):
            await sender.send(Outbound(Channel.SMS, RESIDENT, "Hallo"))
    finally:
        await sender.close()

    assert loopback_only == ["api.twilio.com"]
    # The attempt was expected, so clear it before the guard checks at teardown.
    loopback_only.clear()
