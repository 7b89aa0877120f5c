import json
import logging
import time
from datetime import datetime, timedelta, timezone

import pytest
from twilio.base.exceptions import TwilioRestException

from bot.channels.errors import (
    PermanentDeliveryError,
    TransientDeliveryError,
    UndeliverableMessageError,
)
from bot.channels.twilio_sms import parse_form
from bot.channels.twilio_whatsapp import TwilioWhatsAppSender
from bot.channels.types import Channel, Choice, InboundKind, Outbound
from tests.fakes.payloads import PANEL_NUMBER, twilio_whatsapp_form

RESIDENT = "+31612345678"
TO = "whatsapp:" + RESIDENT
FROM = "whatsapp:" + PANEL_NUMBER
MESSAGE_SID = "SM" + "cd" * 16
TEMPLATE_NL = "HX" + "0a" * 16
TEMPLATE_EN = "HX" + "0b" * 16
TEMPLATES = {"nl": TEMPLATE_NL, "en": TEMPLATE_EN}
NOW = datetime(2025, 3, 10, 12, 0, tzinfo=timezone.utc)
INSIDE = NOW - timedelta(hours=1)
OUTSIDE = NOW - timedelta(hours=25)
VARIABLES = {"1": "Groen in de wijk", "2": "Gemeente Den Haag"}
CHOICES = (
    Choice(number=1, label="Ja", payload="q1|1"),
    Choice(number=2, label="Nee", payload="q1|2"),
)


def outbound(text="Woont u hier?", **fields) -> Outbound:
    fields.setdefault("locale", "nl")
    return Outbound(Channel.WHATSAPP, RESIDENT, text, **fields)


def make_sender(api, **options) -> TwilioWhatsAppSender:
    options.setdefault("templates", TEMPLATES)
    options.setdefault("clock", lambda: NOW)
    return TwilioWhatsAppSender(
        api.account_sid, api.auth_token, PANEL_NUMBER, api_url=api.url, **options
    )


@pytest.fixture
async def whatsapp_sender(twilio_api):
    sender = make_sender(twilio_api)
    yield sender
    await sender.close()


# Inside the 24-hour window


async def test_inside_window_free_form(whatsapp_sender, twilio_api):
    await whatsapp_sender.send(outbound(choices=CHOICES, last_inbound_at=INSIDE))

    assert len(twilio_api.requests) == 1
    assert twilio_api.requests[0].form == {
        "To": TO,
        "From": FROM,
        "Body": "Woont u hier?\n1. Ja\n2. Nee",
    }


async def test_inside_window_ignores_variables(whatsapp_sender, twilio_api):
    message = outbound(last_inbound_at=INSIDE, template_variables=VARIABLES)

    await whatsapp_sender.send(message)

    assert twilio_api.messages[0].body == "Woont u hier?"
    assert twilio_api.messages[0].content_sid is None


async def test_send_adds_whatsapp_prefixes(whatsapp_sender, twilio_api):
    await whatsapp_sender.send(outbound(last_inbound_at=INSIDE))

    assert twilio_api.messages[0].to == TO
    assert twilio_api.messages[0].from_ == FROM


async def test_send_returns_sid(whatsapp_sender, twilio_api):
    sid = await whatsapp_sender.send(outbound(last_inbound_at=INSIDE))

    assert sid == twilio_api.messages[0].sid
    assert sid.startswith("SM")


@pytest.mark.parametrize(
    ("age", "free_form"),
    [
        (timedelta(0), True),
        (timedelta(hours=23, minutes=59, seconds=59), True),
        (timedelta(hours=24), False),
        (timedelta(days=3), False),
        # A time ahead of the sender's clock, from clock skew between servers.
        (-timedelta(minutes=5), True),
    ],
    ids=["just now", "last second", "exactly 24 hours", "3 days", "in the future"],
)
async def test_window_boundary(whatsapp_sender, twilio_api, age, free_form):
    message = outbound(last_inbound_at=NOW - age, template_variables=VARIABLES)

    await whatsapp_sender.send(message)

    assert (twilio_api.messages[0].content_sid is None) == free_form


async def test_empty_body_rejected(whatsapp_sender, twilio_api):
    with pytest.raises(ValueError, match="empty"):
        await whatsapp_sender.send(outbound("  ", last_inbound_at=INSIDE))

    assert twilio_api.requests == []


async def test_body_over_1600_rejected(whatsapp_sender, twilio_api):
    with pytest.raises(ValueError, match="1600"):
        await whatsapp_sender.send(outbound("a" * 1601, last_inbound_at=INSIDE))

    assert twilio_api.requests == []


async def test_naive_last_inbound_rejected(whatsapp_sender, twilio_api):
    naive = INSIDE.replace(tzinfo=None)

    with pytest.raises(ValueError, match="naive"):
        await whatsapp_sender.send(outbound(last_inbound_at=naive))

    assert twilio_api.requests == []


# Outside the window: the approved template


async def test_outside_window_sends_template(whatsapp_sender, twilio_api):
    await whatsapp_sender.send(outbound(last_inbound_at=OUTSIDE, template_variables=VARIABLES))

    form = twilio_api.requests[0].form
    assert form["ContentSid"] == TEMPLATE_NL
    assert json.loads(form["ContentVariables"]) == VARIABLES
    assert "Body" not in form
    assert form["To"] == TO
    assert form["From"] == FROM


async def test_never_written_sends_template(whatsapp_sender, twilio_api):
    await whatsapp_sender.send(outbound(last_inbound_at=None, template_variables=VARIABLES))

    assert twilio_api.messages[0].content_sid == TEMPLATE_NL


async def test_template_variables_exact(whatsapp_sender, twilio_api):
    variables = {
        "1": 'Het "Groene" plein',
        "2": "Gemeente 's-Hertogenbosch",
        "3": "Buurt \N{DECIDUOUS TREE}\N{SMILING FACE WITH SMILING EYES} & co",
        "4": "regel een\nregel twee\ttab",
        "5": "back\\slash {{1}} </script>",
    }

    await whatsapp_sender.send(outbound(last_inbound_at=OUTSIDE, template_variables=variables))

    assert twilio_api.messages[0].content_variables == variables


async def test_outside_window_without_variables(whatsapp_sender, twilio_api):
    with pytest.raises(UndeliverableMessageError) as caught:
        await whatsapp_sender.send(outbound(last_inbound_at=OUTSIDE))

    assert caught.value.code == "outside_window"
    assert twilio_api.requests == []


async def test_undeliverable_is_not_permanent(whatsapp_sender):
    with pytest.raises(UndeliverableMessageError) as caught:
        await whatsapp_sender.send(outbound(last_inbound_at=None))

    assert not isinstance(caught.value, PermanentDeliveryError)


async def test_template_for_english(whatsapp_sender, twilio_api):
    message = outbound(locale="en", last_inbound_at=OUTSIDE, template_variables=VARIABLES)

    await whatsapp_sender.send(message)

    assert twilio_api.messages[0].content_sid == TEMPLATE_EN


@pytest.mark.parametrize("locale", ["de", None], ids=["unknown locale", "no locale"])
async def test_template_falls_back_to_default(whatsapp_sender, twilio_api, locale):
    message = outbound(locale=locale, last_inbound_at=OUTSIDE, template_variables=VARIABLES)

    await whatsapp_sender.send(message)

    assert twilio_api.messages[0].content_sid == TEMPLATE_NL


async def test_default_locale_english(twilio_api):
    sender = make_sender(twilio_api, default_locale="en")
    message = outbound(locale="de", last_inbound_at=OUTSIDE, template_variables=VARIABLES)

    try:
        await sender.send(message)
    finally:
        await sender.close()

    assert twilio_api.messages[0].content_sid == TEMPLATE_EN


async def test_no_template_undeliverable(twilio_api, caplog):
    caplog.set_level(logging.WARNING)
    sender = make_sender(twilio_api, templates={"en": TEMPLATE_EN})
    message = outbound(locale="nl", last_inbound_at=OUTSIDE, template_variables=VARIABLES)

    try:
        with pytest.raises(UndeliverableMessageError) as caught:
            await sender.send(message)
    finally:
        await sender.close()

    assert caught.value.code == "no_template"
    assert "CHATPANEL_WHATSAPP_TEMPLATE_NL" in str(caught.value)
    assert "no WhatsApp template for the default locale nl" in caplog.text
    assert twilio_api.requests == []


@pytest.mark.parametrize(
    "variables",
    [{"1": ""}, {"1": None}, {"1": 7}],
    ids=["empty", "null", "number"],
)
async def test_invalid_variables_rejected(whatsapp_sender, twilio_api, variables):
    message = outbound(last_inbound_at=OUTSIDE, template_variables=variables)

    with pytest.raises(ValueError, match="template variable"):
        await whatsapp_sender.send(message)

    assert twilio_api.requests == []


# Error 63016: Twilio rejects free-form text outside the window


async def test_63016_falls_back_to_template(whatsapp_sender, twilio_api):
    twilio_api.close_whatsapp_window(RESIDENT)
    message = outbound(last_inbound_at=INSIDE, template_variables=VARIABLES)

    sid = await whatsapp_sender.send(message)

    assert len(twilio_api.requests) == 2
    assert "Body" in twilio_api.requests[0].form
    assert len(twilio_api.messages) == 1
    assert twilio_api.messages[0].content_sid == TEMPLATE_NL
    assert twilio_api.messages[0].content_variables == VARIABLES
    assert sid == twilio_api.messages[0].sid


async def test_63016_without_variables(whatsapp_sender, twilio_api):
    twilio_api.close_whatsapp_window(RESIDENT)

    with pytest.raises(UndeliverableMessageError) as caught:
        await whatsapp_sender.send(outbound(last_inbound_at=INSIDE))

    assert caught.value.code == "63016"
    assert len(twilio_api.requests) == 1
    assert twilio_api.messages == []


async def test_63016_from_injected_failure(whatsapp_sender, twilio_api):
    twilio_api.fail_next_send(TO, 400, 63016)
    message = outbound(last_inbound_at=INSIDE, template_variables=VARIABLES)

    await whatsapp_sender.send(message)

    assert twilio_api.messages[0].content_sid == TEMPLATE_NL


async def test_window_opened_again(whatsapp_sender, twilio_api):
    twilio_api.close_whatsapp_window(RESIDENT)
    twilio_api.open_whatsapp_window(RESIDENT)

    await whatsapp_sender.send(outbound(last_inbound_at=INSIDE))

    assert twilio_api.messages[0].body == "Woont u hier?"


# Error mapping, shared with SMS


async def test_unsubscribed_permanent(whatsapp_sender, twilio_api):
    twilio_api.fail_next_send(TO, 400, 21610)

    with pytest.raises(PermanentDeliveryError) as caught:
        await whatsapp_sender.send(outbound(last_inbound_at=INSIDE))

    assert caught.value.code == "21610"
    assert twilio_api.messages == []


async def test_template_unsubscribed_permanent(whatsapp_sender, twilio_api):
    twilio_api.fail_next_send(TO, 400, 21610)
    message = outbound(last_inbound_at=OUTSIDE, template_variables=VARIABLES)

    with pytest.raises(PermanentDeliveryError) as caught:
        await whatsapp_sender.send(message)

    assert caught.value.code == "21610"


async def test_rate_limited_transient(whatsapp_sender, twilio_api):
    twilio_api.fail_next_send(TO, 429, 20429)

    with pytest.raises(TransientDeliveryError) as caught:
        await whatsapp_sender.send(outbound(last_inbound_at=INSIDE))

    assert caught.value.code == "20429"


async def test_server_error_transient(whatsapp_sender, twilio_api):
    twilio_api.fail_next_send(TO, 500, 20500)

    with pytest.raises(TransientDeliveryError) as caught:
        await whatsapp_sender.send(outbound(last_inbound_at=INSIDE))

    assert caught.value.code == "20500"


async def test_invalid_variables_undeliverable(whatsapp_sender, twilio_api):
    twilio_api.fail_next_send(TO, 400, 21656)
    message = outbound(last_inbound_at=OUTSIDE, template_variables=VARIABLES)

    with pytest.raises(UndeliverableMessageError) as caught:
        await whatsapp_sender.send(message)

    assert caught.value.code == "21656"


async def test_wrong_token_not_mapped(twilio_api):
    sender = TwilioWhatsAppSender(
        twilio_api.account_sid,
        "wrong-token",
        PANEL_NUMBER,
        api_url=twilio_api.url,
        templates=TEMPLATES,
    )

    try:
        with pytest.raises(TwilioRestException) as caught:
            await sender.send(outbound(last_inbound_at=datetime.now(timezone.utc)))
    finally:
        await sender.close()

    assert caught.value.status == 401


async def test_connection_refused_transient(closed_port):
    sender = TwilioWhatsAppSender(
        "AC" + "0" * 32,
        "token",
        PANEL_NUMBER,
        api_url=f"http://127.0.0.1:{closed_port}",
        templates=TEMPLATES,
    )

    try:
        with pytest.raises(TransientDeliveryError) as caught:
            await sender.send(outbound(last_inbound_at=datetime.now(timezone.utc)))
    finally:
        await sender.close()

    assert caught.value.code == "network"


async def test_status_callback_sent(twilio_api):
    callback = "https://panel.example.nl/webhooks/twilio/status"
    sender = make_sender(twilio_api, status_callback=callback)

    try:
        await sender.send(outbound(last_inbound_at=INSIDE))
        await sender.send(outbound(last_inbound_at=OUTSIDE, template_variables=VARIABLES))
    finally:
        await sender.close()

    assert [message.status_callback for message in twilio_api.messages] == [callback] * 2


async def test_no_status_callback_by_default(whatsapp_sender, twilio_api):
    await whatsapp_sender.send(outbound(last_inbound_at=INSIDE))

    assert "StatusCallback" not in twilio_api.requests[0].form


# parse_form on WhatsApp webhook forms


def test_parse_text_strips_prefix():
    inbound = parse_form(twilio_whatsapp_form(MESSAGE_SID, RESIDENT, "Ja graag"), Channel.WHATSAPP)

    assert inbound.channel == Channel.WHATSAPP
    assert inbound.address == RESIDENT
    assert inbound.kind == InboundKind.TEXT
    assert inbound.text == "Ja graag"
    assert inbound.message_id == MESSAGE_SID


def test_parse_button_is_choice():
    form = twilio_whatsapp_form(
        MESSAGE_SID, RESIDENT, "", button_payload="offer:3|1", button_text="Ja, ik doe mee"
    )

    inbound = parse_form(form, Channel.WHATSAPP)

    assert inbound.kind == InboundKind.CHOICE
    assert inbound.payload == "offer:3|1"
    assert inbound.text == ""


def test_parse_empty_button_payload_is_text():
    form = twilio_whatsapp_form(MESSAGE_SID, RESIDENT, "Ja")
    form["ButtonPayload"] = ""

    inbound = parse_form(form, Channel.WHATSAPP)

    assert inbound.kind == InboundKind.TEXT


def test_parse_media_without_body():
    form = twilio_whatsapp_form(MESSAGE_SID, RESIDENT, "", num_media=1)

    inbound = parse_form(form, Channel.WHATSAPP)

    assert inbound.kind == InboundKind.NON_TEXT
    assert inbound.text == ""


def test_parse_media_with_caption_is_text():
    form = twilio_whatsapp_form(MESSAGE_SID, RESIDENT, "Kijk, de speeltuin", num_media=1)

    inbound = parse_form(form, Channel.WHATSAPP)

    assert inbound.kind == InboundKind.TEXT


def test_parse_location_non_text():
    form = twilio_whatsapp_form(MESSAGE_SID, RESIDENT, "", latitude=52.0799, longitude=4.3113)

    inbound = parse_form(form, Channel.WHATSAPP)

    assert inbound.kind == InboundKind.NON_TEXT
    assert inbound.text == ""


# Fake Twilio API helpers for load tests


async def test_fake_response_delay(whatsapp_sender, twilio_api):
    twilio_api.response_delay = 0.2
    started = time.monotonic()

    await whatsapp_sender.send(outbound(last_inbound_at=INSIDE))

    assert time.monotonic() - started >= 0.2


async def test_fake_counts_creates(whatsapp_sender, twilio_api):
    twilio_api.fail_next_send(TO, 500, 20500)
    with pytest.raises(TransientDeliveryError):
        await whatsapp_sender.send(outbound(last_inbound_at=INSIDE))
    for _ in range(2):
        await whatsapp_sender.send(outbound(last_inbound_at=INSIDE))

    assert sum(twilio_api.creates_per_second()) == 3
    assert twilio_api.peak_creates_per_second() == 3


def test_fake_peak_uses_sliding_second(twilio_api):
    twilio_api.create_times.extend([10.0, 10.9, 11.1, 11.8, 12.95])

    assert twilio_api.creates_per_second() == [2, 2, 1]
    assert twilio_api.peak_creates_per_second() == 3
