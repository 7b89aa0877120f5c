"""Property tests: random and hostile requests to every webhook of the real aiohttp
application, with the store on a SQLite file and on PostgreSQL.

For every generated request the status is below 500, /healthz still responds with 200
afterwards, and a request that is rejected (any 4xx) or that carries a value Telegram or
Twilio never sends in a field the panel uses changes the row count of no table.

The panel and its database are shared by the examples of one test, so each example
compares row counts before and after its own request. The inbound limit is off here:
its own tests are in tests/test_inbound_limit.py.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, quote

import pytest
from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from multidict import MultiDict
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from bot.runtime import Runtime
from bot.status_callbacks import STATUS_CALLBACK_PATH
from store.models import Base
from tests.fakes.payloads import (
    PANEL_NUMBER,
    telegram_callback_update,
    telegram_group_callback_update,
    telegram_group_text_update,
    telegram_sticker_update,
    telegram_text_update,
    twilio_sms_form,
    twilio_status_form,
    twilio_whatsapp_form,
)
from tests.harness import EXAMPLE_SURVEY, ConsolePanel
from tests.panel_app import PUBLIC_URL, fake_api_settings, start_panel

SECRET = "webhook-secret-0123456789"
TEMPLATE_SID = "HX" + "0123456789abcdef" * 2
TELEGRAM_PATH = "/webhooks/telegram"
SMS_PATH = "/webhooks/twilio/sms"
WHATSAPP_PATH = "/webhooks/twilio/whatsapp"
TWILIO_PATHS = (SMS_PATH, WHATSAPP_PATH, STATUS_CALLBACK_PATH)
FORM_TYPE = "application/x-www-form-urlencoded"
MAX_INT64 = 2**63 - 1

FUZZ = settings(
    max_examples=150,
    deadline=None,
    # One panel serves every example of a test; each example checks its own row counts.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
# Fewer examples for the properties that send a whole conversation per example.
FUZZ_CONVERSATIONS = settings(FUZZ, max_examples=40)


# The panel under test


class FuzzPanel:
    def __init__(self, client: TestClient, runtime: Runtime, auth_token: str) -> None:
        self.client, self.runtime, self.auth_token = client, runtime, auth_token

    def __repr__(self) -> str:
        # Hypothesis prints the arguments of a failing example; the settings would bury them.
        return "FuzzPanel()"

    async def counts(self) -> dict[str, int]:
        """Return the row count of every table in store.models, in one query."""
        tables = Base.metadata.sorted_tables
        statement = select(*(select(func.count()).select_from(table).scalar_subquery().label(table.name) for table in tables))
        async with self.runtime.sessionmaker() as session:
            row = (await session.execute(statement)).one()
        return dict(row._mapping)

    async def assert_serving(self) -> None:
        response = await self.client.get("/healthz")
        assert response.status == 200

    async def post(self, path: str, body: bytes, headers: dict[str, str]):
        response = await self.client.post(path, data=body, headers=headers)
        await response.read()
        return response

    async def post_telegram(self, body: bytes, secret: str | None, content_type: str | None = "application/json"):
        headers = {}
        if secret is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret
        if content_type is not None:
            headers["Content-Type"] = content_type
        return await self.post(TELEGRAM_PATH, body, headers)

    async def post_twilio(self, path: str, body: bytes, signature: str | None, content_type: str | None = FORM_TYPE):
        headers = {}
        if signature is not None:
            headers["X-Twilio-Signature"] = signature
        if content_type is not None:
            headers["Content-Type"] = content_type
        return await self.post(path, body, headers)

    def sign(self, path: str, params: Any, token: str | None = None) -> str:
        return RequestValidator(token or self.auth_token).compute_signature(PUBLIC_URL + path, params)

    async def raw_request(self, request: bytes) -> int:
        """Send ``request`` as raw bytes on a new connection and return the response status."""
        reader, writer = await asyncio.open_connection("127.0.0.1", self.client.server.port)
        try:
            writer.write(request)
            await writer.drain()
            status_line = await reader.readline()
        finally:
            writer.close()
            await writer.wait_closed()
        return int(status_line.split()[1])


@pytest.fixture
async def panel(database_url, telegram_api, twilio_api):
    settings_ = fake_api_settings(
        database_url, telegram_api, twilio_api, secret=SECRET,
        twilio_whatsapp_from=PANEL_NUMBER, whatsapp_template_nl=TEMPLATE_SID, inbound_per_minute=0,
        moderator_chat_id=MODERATOR_CHAT_ID, moderator_telegram_ids=str(MODERATOR_ID),
    )
    client, runtime = await start_panel(settings_)
    await ConsolePanel(runtime.sessionmaker).load_survey(EXAMPLE_SURVEY)
    try:
        yield FuzzPanel(client, runtime, twilio_api.auth_token)
    finally:
        await client.close()


async def check_request(panel: FuzzPanel, send: Callable, *, must_not_write: bool):
    """Run ``send`` and check the properties every request has; return the response."""
    before = await panel.counts()
    response = await send()
    assert response.status < 500, f"status {response.status}"
    await panel.assert_serving()
    after = await panel.counts()
    if response.status >= 400 or must_not_write:
        assert after == before
    return response


# Strategies: values of every JSON type, including the hostile ones

# Replaced by a number of 5,000 digits after encoding, which json.dumps cannot write.
HUGE_NUMBER = "<huge number>"
# Removes the field instead of setting it.
DELETE = "<delete>"

any_text = st.text(st.characters(exclude_categories=()), max_size=30)
form_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=30)
# What aiohttp's client sends in a header; other bytes go through FuzzPanel.raw_request.
header_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40)
big_text = st.builds(
    lambda character, length: character * length,
    st.sampled_from(["x", "é", "\U0001f642", "\x00"]),
    st.sampled_from([4096, 20_000, 1_000_000]),
)
hostile_strings = st.one_of(
    any_text,
    st.sampled_from(["", " ", "\x00", "ja\x00", "\ud800", "\udfff", "a\ud83db", "\u202eevil", "/start", "STOP", "1"]),
    big_text,
)
hostile_ints = st.one_of(
    st.integers(),
    st.sampled_from([0, -1, 2**31, 2**53 + 1, MAX_INT64, MAX_INT64 + 1, -(2**63) - 1, 2**64, 10**40]),
)
json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), any_text)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(any_text, children, max_size=4),
    max_leaves=12,
)
hostile_values = st.one_of(hostile_ints, hostile_strings, json_values, st.just(HUGE_NUMBER), st.just(DELETE))


def nested_replies(depth: int) -> dict[str, Any]:
    """Build a message that replies to a message that replies to ... ``depth`` levels deep."""
    message: dict[str, Any] = {"message_id": 1, "date": 1, "chat": {"id": 1, "type": "private"}}
    for _ in range(depth):
        message = {"message_id": 1, "date": 1, "chat": {"id": 1, "type": "private"}, "reply_to_message": message}
    return message


def encode_json(value: Any) -> bytes:
    """Encode ``value`` as JSON with lone surrogates escaped and HUGE_NUMBER as 5,000 digits."""
    return json.dumps(value).replace(json.dumps(HUGE_NUMBER), "9" * 5000).encode("utf-8")


# Telegram: which fields the panel uses, and which of their values are valid.


def is_int64(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and -(2**63) <= value <= MAX_INT64


def valid_update_id(value: Any) -> bool:
    return is_int64(value) and value >= 0


def is_string(value: Any) -> bool:
    return isinstance(value, str)


def is_private(value: Any) -> bool:
    return value == "private"


def optional_string(value: Any) -> bool:
    return value is DELETE or value is None or isinstance(value, str)


def absent(value: Any) -> bool:
    return value is DELETE or value is None


def never(value: Any) -> bool:
    return False


def anything(value: Any) -> bool:
    return True


# For each field path: the predicate of values that the panel may act on. A value outside
# it must leave the store untouched. ``anything`` marks fields the panel does not read.
TEXT_UPDATE_FIELDS: dict[tuple[str, ...], Callable[[Any], bool]] = {
    ("update_id",): valid_update_id,
    ("message",): never,
    ("message", "message_id"): anything,
    ("message", "date"): anything,
    ("message", "chat"): never,
    ("message", "chat", "id"): is_int64,
    ("message", "chat", "type"): is_private,
    ("message", "from"): absent,
    ("message", "from", "id"): is_int64,
    ("message", "from", "language_code"): optional_string,
    ("message", "text"): is_string,
    ("message", "entities"): anything,
}
CALLBACK_UPDATE_FIELDS: dict[tuple[str, ...], Callable[[Any], bool]] = {
    ("update_id",): valid_update_id,
    ("callback_query",): never,
    ("callback_query", "id"): anything,
    ("callback_query", "data"): is_string,
    ("callback_query", "from"): never,
    ("callback_query", "from", "language_code"): optional_string,
    ("callback_query", "message"): never,
    ("callback_query", "message", "date"): anything,
    ("callback_query", "message", "chat", "id"): is_int64,
    ("callback_query", "message", "chat", "type"): is_private,
}
STICKER_UPDATE_FIELDS: dict[tuple[str, ...], Callable[[Any], bool]] = {
    ("update_id",): valid_update_id,
    ("message", "sticker"): anything,
    ("message", "sticker", "file_id"): anything,
    ("message", "caption"): anything,
    ("message", "chat", "id"): is_int64,
}
# Updates in the moderators' chat go to bot.moderation_chat. Its own tests cover what
# they write, so these fields only carry the properties that hold for every request.
MODERATOR_UPDATE_FIELDS: dict[tuple[str, ...], Callable[[Any], bool]] = {
    ("update_id",): valid_update_id,
    ("callback_query", "data"): anything,
    ("callback_query", "from", "id"): anything,
    ("callback_query", "message", "message_id"): anything,
    ("message", "text"): anything,
    ("message", "from", "id"): anything,
    ("message", "reply_to_message"): anything,
    ("message", "reply_to_message", "text"): anything,
}
MODERATOR_CHAT_ID = -1001234567890
MODERATOR_ID = 777001
UPDATE_KINDS = {
    "text": (lambda update_id, chat_id: telegram_text_update(update_id, chat_id, "hoi"), TEXT_UPDATE_FIELDS),
    "callback": (lambda update_id, chat_id: telegram_callback_update(update_id, chat_id, "consent:yes"), CALLBACK_UPDATE_FIELDS),
    "sticker": (telegram_sticker_update, STICKER_UPDATE_FIELDS),
    "moderator button": (
        lambda update_id, _: telegram_group_callback_update(update_id, MODERATOR_CHAT_ID, MODERATOR_ID, "mod:reject:1"),
        MODERATOR_UPDATE_FIELDS,
    ),
    "moderator reply": (
        lambda update_id, _: telegram_group_text_update(
            update_id, MODERATOR_CHAT_ID, MODERATOR_ID, "te vaag", reply_to_text="Waarom wijs je #1 af?"
        ),
        MODERATOR_UPDATE_FIELDS,
    ),
}

# Fresh ids for each example, so a valid update is a new message from a new chat.
_ids = itertools.count(10_000)


def set_path(document: dict[str, Any], path: tuple[str, ...], value: Any) -> bool:
    """Set or (for DELETE) remove ``path`` in ``document``.

    Returns False, changing nothing, when a parent of ``path`` is missing or not an object.
    """
    parent: Any = document
    for key in path[:-1]:
        if not isinstance(parent.get(key), dict):
            return False
        parent = parent[key]
    if value is DELETE:
        parent.pop(path[-1], None)
    else:
        parent[path[-1]] = value
    return True


@st.composite
def hostile_updates(draw) -> tuple[dict[str, Any], bool]:
    """Draw a Telegram update with 1 to 3 fields set to hostile values.

    Returns the update and whether the panel may act on it.
    """
    build, fields = UPDATE_KINDS[draw(st.sampled_from(sorted(UPDATE_KINDS)))]
    # The builders share nested sample objects; changing a copy keeps them intact.
    update = copy.deepcopy(build(next(_ids), next(_ids)))
    actionable = True
    paths = draw(st.lists(st.sampled_from(sorted(fields)), min_size=1, max_size=3, unique=True))
    for path in paths:
        value = draw(hostile_values)
        if set_path(update, path, value):
            actionable = actionable and fields[path](value)
    return update, actionable


telegram_keys = st.sampled_from(
    ["update_id", "message", "callback_query", "edited_message", "chat", "from", "id", "type", "text", "data", "date"]
)
telegram_shaped_json = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(telegram_keys | any_text, children, max_size=5),
    max_leaves=20,
)
# Bodies that break JSON parsers: deep nesting, a huge number, invalid UTF-8, a BOM.
HOSTILE_JSON_BODIES = [
    b"[" * 30_000 + b"]" * 30_000,
    b'{"a":' * 10_000 + b"1" + b"}" * 10_000,
    b'{"update_id": ' + b"9" * 5000 + b"}",
    b'{"update_id": 1e999999}',
    b'{"update_id": NaN, "message": Infinity}',
    b"\xef\xbb\xbf{}",
    b'{"update_id": 1, "message": {"text": "\xff\xfe"}}',
    b'{"update_id": 1, "update_id": 2}',
    b'"\\ud800"',
    b"",
    b"null",
    encode_json(telegram_text_update(1, 1, "hoi") | {"message": nested_replies(500)}),
]
secrets_ = st.one_of(st.just(SECRET), st.none(), st.just(""), st.just(SECRET + "x"), st.just(SECRET.upper()), header_text)


@FUZZ
@given(body=st.binary(max_size=2000) | st.sampled_from(HOSTILE_JSON_BODIES), secret=secrets_)
async def test_telegram_random_bytes(panel, body, secret):
    response = await check_request(panel, lambda: panel.post_telegram(body, secret), must_not_write=True)
    if secret != SECRET:
        assert response.status == 403


@FUZZ
@given(data=telegram_shaped_json, secret=secrets_)
async def test_telegram_json_of_any_shape(panel, data, secret):
    response = await check_request(panel, lambda: panel.post_telegram(encode_json(data), secret), must_not_write=True)
    if secret != SECRET:
        assert response.status == 403


@FUZZ
@given(drawn=hostile_updates())
async def test_telegram_hostile_field_values(panel, drawn):
    update, actionable = drawn
    await check_request(panel, lambda: panel.post_telegram(encode_json(update), SECRET), must_not_write=not actionable)


# Conversations: hostile texts in every state a resident can reach, not only first contact.

# Replies that move a conversation on: consent, language, profile, keywords and answers.
STEERING_TEXTS = [
    "hoi", "ja", "nee", "1", "2", "3", "4", "1,5", "10", "overslaan", "2511", "IDEE", "ONDERWERPEN",
    "RESULTATEN", "TAAL", "OVER", "HELP", "STOP", "START", "/start", "Nederlands",
]
# Steps that bring a new resident to the first question of the sample survey.
ONBOARDING = ["hoi", "ja", "1", "overslaan", "overslaan"]
conversation_texts = st.one_of(
    st.sampled_from(STEERING_TEXTS),
    any_text,
    st.sampled_from(["\x00", "ja\x00", "\ud800", "a\ud83db", "\u202eevil", "x" * 4000, "\U0001f642" * 1000]),
)


@FUZZ_CONVERSATIONS
@given(onboard=st.booleans(), texts=st.lists(conversation_texts, min_size=1, max_size=8))
async def test_telegram_conversation_with_hostile_texts(panel, onboard, texts):
    chat_id = next(_ids)
    for text in (ONBOARDING if onboard else []) + texts:
        update = telegram_text_update(next(_ids), chat_id, text)
        response = await panel.post_telegram(encode_json(update), SECRET)
        assert response.status == 200, f"status {response.status} for {text[:40]!r}"
    await panel.assert_serving()


@FUZZ_CONVERSATIONS
@given(
    path=st.sampled_from([SMS_PATH, WHATSAPP_PATH]),
    onboard=st.booleans(),
    texts=st.lists(st.sampled_from(STEERING_TEXTS) | form_text | st.just("a\x00b"), min_size=1, max_size=8),
)
async def test_twilio_conversation_with_hostile_texts(panel, path, onboard, texts):
    number = f"+316{next(_ids) % 10**8:08d}"
    build = twilio_sms_form if path == SMS_PATH else twilio_whatsapp_form
    for text in (ONBOARDING if onboard else []) + texts:
        form = build(f"SM{next(_ids):032x}", number, text)
        response = await panel.client.post(path, data=form, headers={"X-Twilio-Signature": panel.sign(path, form)})
        assert response.status == 200, f"status {response.status} for {text[:40]!r}"
    await panel.assert_serving()


# Twilio: forms with random fields, signed and unsigned

TWILIO_FIELD_NAMES = [
    "MessageSid", "SmsSid", "From", "To", "Body", "NumMedia", "MediaUrl0", "ButtonPayload", "Latitude",
    "Longitude", "MessageStatus", "ErrorCode", "AccountSid", "ApiVersion", "WaId",
]
twilio_form_values = st.one_of(
    form_text,
    st.sampled_from([
        "", "0", "-1", "1e9", "99999999999999999999", "+31612345678", "whatsapp:+31612345678", "+1", "0612345678",
        "SM" + "0" * 32, "SM" + "0" * 200, "delivered", "failed", "received", "a\x00b", "\x00", "30003", "٣",
    ]),
    st.builds(lambda length: "x" * length, st.sampled_from([4096, 70_000])),
)
SIGNATURE_MODES = ("valid", "wrong token", "internal url", "garbage", "missing")


def base_form(path: str, sid: str, number: str) -> dict[str, str]:
    if path == SMS_PATH:
        return twilio_sms_form(sid, number, "hoi")
    if path == WHATSAPP_PATH:
        return twilio_whatsapp_form(sid, number, "hoi")
    return twilio_status_form(sid, "delivered")


def signature_for(panel: FuzzPanel, mode: str, path: str, params: Any, garbage: str) -> str | None:
    if mode == "valid":
        return panel.sign(path, params)
    if mode == "wrong token":
        return panel.sign(path, params, token="not-the-auth-token")
    if mode == "internal url":
        return RequestValidator(panel.auth_token).compute_signature(str(panel.client.make_url(path)), params)
    if mode == "garbage":
        return garbage
    return None


def valid_message_sid(value: Any) -> bool:
    return isinstance(value, str) and re.fullmatch(r"[A-Za-z0-9]{1,64}", value) is not None


@FUZZ
@given(
    path=st.sampled_from(TWILIO_PATHS),
    start_from_valid=st.booleans(),
    changes=st.dictionaries(st.sampled_from(TWILIO_FIELD_NAMES) | form_text, twilio_form_values | st.just(DELETE), max_size=5),
    mode=st.sampled_from(SIGNATURE_MODES),
    garbage=header_text,
)
async def test_twilio_random_forms(panel, path, start_from_valid, changes, mode, garbage):
    form = base_form(path, f"SM{next(_ids):032x}", f"+316{next(_ids) % 10**8:08d}") if start_from_valid else {}
    for name, value in changes.items():
        set_path(form, (name,), value)
    body = "&".join(f"{quote(name, safe='')}={quote(value, safe='')}" for name, value in form.items()).encode()
    signature = signature_for(panel, mode, path, form, garbage)
    # Twilio sends every field; a form without its MessageSid or From is not one to act on.
    actionable = (
        path != STATUS_CALLBACK_PATH
        and mode == "valid"
        and valid_message_sid(form.get("MessageSid"))
        and bool(form.get("From"))
    )

    response = await check_request(panel, lambda: panel.post_twilio(path, body, signature), must_not_write=not actionable)
    if mode != "valid":
        assert response.status in (403, 413)


STATUS_FIELD_VALUES = {
    "MessageSid": twilio_form_values | st.just(DELETE),
    "MessageStatus": st.sampled_from(["delivered", "failed", "read", "received", "DELIVERED", "", "\x00"]) | form_text,
    "ErrorCode": st.sampled_from(["30003", "21610", "", "0" * 33, "-1", "\x00"]) | form_text | st.just(DELETE),
}


@FUZZ
@given(values=st.fixed_dictionaries(STATUS_FIELD_VALUES))
async def test_twilio_status_callbacks_never_add_rows(panel, values):
    form = twilio_status_form(f"SM{next(_ids):032x}", "delivered")
    for name, value in values.items():
        set_path(form, (name,), value)
    body = "&".join(f"{quote(name, safe='')}={quote(value, safe='')}" for name, value in form.items()).encode()
    # A status callback only updates rows of messages we sent, and the outbox is empty.
    await check_request(
        panel, lambda: panel.post_twilio(STATUS_CALLBACK_PATH, body, panel.sign(STATUS_CALLBACK_PATH, form)), must_not_write=True
    )


# Raw form bodies: repeated keys, bad percent-encoding and odd charsets.
raw_fragments = st.sampled_from(["%", "%z", "%zz", "%E9", "%ED%A0%80", "%C3", "%00", "%FF%FE", "+", "&", "=", "==", ";", "%26"])
raw_tokens = st.lists(st.builds(lambda text: quote(text, safe=""), form_text) | raw_fragments, max_size=3).map("".join)
form_content_types = st.sampled_from([
    FORM_TYPE, FORM_TYPE + "; charset=utf-8", FORM_TYPE + "; charset=latin-1", FORM_TYPE + "; charset=bogus",
    FORM_TYPE + "; charset=utf-16", FORM_TYPE + '; charset="utf-8"', FORM_TYPE + "; charset=rot13",
    FORM_TYPE + "; charset=", "APPLICATION/X-WWW-FORM-URLENCODED",
])


@FUZZ
@given(
    path=st.sampled_from(TWILIO_PATHS),
    start_from_valid=st.booleans(),
    extra_pairs=st.lists(st.tuples(st.sampled_from(TWILIO_FIELD_NAMES) | raw_tokens, raw_tokens), max_size=6),
    content_type=form_content_types,
    mode=st.sampled_from(SIGNATURE_MODES),
    garbage=header_text,
)
async def test_twilio_raw_form_bodies(panel, path, start_from_valid, extra_pairs, content_type, mode, garbage):
    form = base_form(path, f"SM{next(_ids):032x}", f"+316{next(_ids) % 10**8:08d}") if start_from_valid else {}
    pairs = [(quote(name, safe=""), quote(value, safe="")) for name, value in form.items()] + extra_pairs
    body = "&".join(f"{name}={value}" for name, value in pairs)
    # Twilio signs every value of a repeated field; sign what a form parser reads from the body.
    signed_params = MultiDict(parse_qsl(body, keep_blank_values=True))
    signature = signature_for(panel, mode, path, signed_params, garbage)

    response = await check_request(
        panel, lambda: panel.post_twilio(path, body.encode(), signature, content_type), must_not_write=mode != "valid"
    )
    if mode != "valid":
        assert response.status != 200


# Wrong content types, and bytes that aiohttp's client would not send

WRONG_CONTENT_TYPES = {
    TELEGRAM_PATH: [FORM_TYPE, "multipart/form-data; boundary=x", "text/plain", "application/jsonx", "", None, "text/json"],
    SMS_PATH: ["application/json", "multipart/form-data; boundary=x", "text/plain", "", None, "text/xml"],
}
WRONG_CONTENT_TYPES[WHATSAPP_PATH] = WRONG_CONTENT_TYPES[STATUS_CALLBACK_PATH] = WRONG_CONTENT_TYPES[SMS_PATH]


@FUZZ
@given(
    path=st.sampled_from(sorted(WRONG_CONTENT_TYPES)),
    type_index=st.integers(0, len(WRONG_CONTENT_TYPES[SMS_PATH]) - 1),
    random_body=st.none() | st.binary(max_size=500),
)
async def test_wrong_content_types_rejected(panel, path, type_index, random_body):
    content_type = WRONG_CONTENT_TYPES[path][type_index]
    if path == TELEGRAM_PATH:
        body = random_body if random_body is not None else encode_json(telegram_text_update(next(_ids), next(_ids), "hoi"))
        send = lambda: panel.post_telegram(body, SECRET, content_type)  # noqa: E731
    else:
        form = base_form(path, f"SM{next(_ids):032x}", f"+316{next(_ids) % 10**8:08d}")
        body = random_body if random_body is not None else "&".join(f"{k}={quote(v, safe='')}" for k, v in form.items()).encode()
        send = lambda: panel.post_twilio(path, body, panel.sign(path, form), content_type)  # noqa: E731

    response = await check_request(panel, send, must_not_write=True)
    assert response.status == 415


header_bytes = st.binary(min_size=1, max_size=60).map(lambda raw: raw.replace(b"\r", b"").replace(b"\n", b""))
query_bytes = st.binary(max_size=60).map(lambda raw: raw.replace(b"\r", b"").replace(b"\n", b"").replace(b" ", b"%20"))


@FUZZ
@given(path=st.sampled_from(sorted(WRONG_CONTENT_TYPES)), header_value=header_bytes, query=query_bytes)
async def test_raw_header_and_query_bytes(panel, path, header_value, query):
    if path == TELEGRAM_PATH:
        header_name, content_type = b"X-Telegram-Bot-Api-Secret-Token", b"application/json"
        body = encode_json(telegram_text_update(next(_ids), next(_ids), "hoi"))
    else:
        header_name, content_type = b"X-Twilio-Signature", FORM_TYPE.encode()
        form = base_form(path, f"SM{next(_ids):032x}", f"+316{next(_ids) % 10**8:08d}")
        body = "&".join(f"{k}={quote(v, safe='')}" for k, v in form.items()).encode()
    target = path.encode() + (b"?" + query if query else b"")
    request = (
        b"POST " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        + b"Content-Type: " + content_type + b"\r\n"
        + header_name + b": " + header_value + b"\r\n"
        + b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )

    before = await panel.counts()
    status = await panel.raw_request(request)
    assert status < 500
    await panel.assert_serving()
    assert await panel.counts() == before


# Regressions: one plain example of each bug the properties above found. Each of these
# requests made the handler raise, so the server responded with 500 (some on PostgreSQL only),
# or it wrote a resident's rows for a value Telegram or Twilio never sends. A status
# callback with a long or non-alphanumeric MessageSid got 200 and changed
# nothing; it now gets the same 400 as on the message webhooks.


def text_update_with(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    update = telegram_text_update(next(_ids), next(_ids), "hoi")
    set_path(update, path, value)
    return update


def callback_update_with(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    update = telegram_callback_update(next(_ids), next(_ids), "consent:yes")
    set_path(update, path, value)
    return update


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"[" * 30_000 + b"]" * 30_000, id="nested too deep for json"),
        pytest.param(b'{"update_id": ' + b"9" * 5000 + b"}", id="number over the int digit limit"),
        pytest.param(encode_json(telegram_text_update(1, 1, "hoi") | {"message": nested_replies(500)}), id="replies nested too deep"),
    ],
)
async def test_telegram_undecodable_body_gets_400(panel, body):
    response = await check_request(panel, lambda: panel.post_telegram(body, SECRET), must_not_write=True)
    assert response.status == 400


@pytest.mark.parametrize(
    "update",
    [
        pytest.param(text_update_with(("message", "chat"), DELETE), id="message without chat"),
        pytest.param(text_update_with(("message", "date"), 67_768_036_191_676_800), id="date beyond time_t"),
        pytest.param(callback_update_with(("callback_query", "from"), DELETE), id="button press without from"),
        pytest.param(text_update_with(("message", "from", "language_code"), 5), id="language_code a number"),
        pytest.param(text_update_with(("update_id",), 10**70), id="update_id over 64 bits"),
        pytest.param(text_update_with(("update_id",), -1), id="negative update_id"),
        pytest.param(text_update_with(("message", "chat", "id"), 10**70), id="chat id over 64 bits"),
        pytest.param(text_update_with(("message", "chat", "id"), "abc"), id="chat id a string"),
        pytest.param(text_update_with(("message", "from", "id"), [1]), id="user id a list"),
    ],
)
async def test_telegram_malformed_update_gets_400(panel, update):
    response = await check_request(panel, lambda: panel.post_telegram(encode_json(update), SECRET), must_not_write=True)
    assert response.status == 400


async def test_moderator_button_with_list_user_id_gets_400(panel):
    update = telegram_group_callback_update(next(_ids), MODERATOR_CHAT_ID, MODERATOR_ID, "mod:reject:1")
    update["callback_query"]["from"]["id"] = []
    response = await check_request(panel, lambda: panel.post_telegram(encode_json(update), SECRET), must_not_write=True)
    assert response.status == 400


async def test_secret_header_not_utf8_gets_403(panel):
    body = encode_json(telegram_text_update(next(_ids), next(_ids), "hoi"))
    request = (
        b"POST /webhooks/telegram HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        b"Content-Type: application/json\r\nX-Telegram-Bot-Api-Secret-Token: \x80\xff\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )
    assert await panel.raw_request(request) == 403
    await panel.assert_serving()


@pytest.mark.parametrize("charset", ["bogus", "rot13"])
async def test_twilio_unknown_charset_gets_415(panel, charset):
    form = twilio_sms_form(f"SM{next(_ids):032x}", "+31612345678", "hoi")
    body = "&".join(f"{name}={quote(value, safe='')}" for name, value in form.items()).encode()
    content_type = f"{FORM_TYPE}; charset={charset}"
    response = await check_request(
        panel, lambda: panel.post_twilio(SMS_PATH, body, panel.sign(SMS_PATH, form), content_type), must_not_write=True
    )
    assert response.status == 415


@pytest.mark.parametrize("message_sid", ["SM" + "0" * 200, "SM\x00", "IRk\u00d1\x19"], ids=["too long", "NUL", "not alphanumeric"])
@pytest.mark.parametrize("path", [SMS_PATH, WHATSAPP_PATH, STATUS_CALLBACK_PATH])
async def test_twilio_invalid_message_sid_gets_400(panel, path, message_sid):
    form = base_form(path, message_sid, "+31612345678")
    body = "&".join(f"{name}={quote(value, safe='')}" for name, value in form.items()).encode()
    response = await check_request(panel, lambda: panel.post_twilio(path, body, panel.sign(path, form)), must_not_write=True)
    assert response.status == 400
