import pytest
from telegram.error import InvalidToken

from bot.channels.errors import PermanentDeliveryError, TransientDeliveryError
from bot.channels.telegram import (
    MalformedUpdate,
    TelegramSender,
    callback_answer,
    parse_update,
    secret_matches,
)
from bot.channels.types import Channel, Choice, InboundKind, Outbound
from tests.fakes.fixtures import (  # noqa: F401 (pytest fixtures)
    closed_port,
    loopback_only,
    telegram_api,
    telegram_bot,
    telegram_sender,
)
from tests.fakes.payloads import (
    SAMPLE_ATTACHMENTS,
    telegram_attachment_update,
    telegram_callback_update,
    telegram_channel_post_update,
    telegram_edited_update,
    telegram_group_update,
    telegram_my_chat_member_update,
    telegram_sticker_update,
    telegram_text_update,
)
from tests.fakes.telegram_api import DEFAULT_TOKEN

CHAT_ID = 1000001
ADDRESS = str(CHAT_ID)
CHOICES = (
    Choice(number=1, label="Ja", payload="q1:yes"),
    Choice(number=2, label="Nee", payload="q1:no"),
)


# parse_update


def test_parse_text_message(telegram_bot):
    inbound = parse_update(telegram_text_update(501, CHAT_ID, "Hallo"), telegram_bot)

    assert inbound is not None
    assert inbound.channel == Channel.TELEGRAM
    assert inbound.kind == InboundKind.TEXT
    assert inbound.address == ADDRESS
    assert inbound.message_id == "501"
    assert inbound.text == "Hallo"
    assert inbound.locale_hint == "nl"


def test_parse_text_without_language(telegram_bot):
    update = telegram_text_update(502, CHAT_ID, "Hallo", language_code=None)

    inbound = parse_update(update, telegram_bot)

    assert inbound is not None
    assert inbound.locale_hint is None


def test_parse_callback_query(telegram_bot):
    update = telegram_callback_update(503, CHAT_ID, "q1:yes", language_code="en")

    inbound = parse_update(update, telegram_bot)

    assert inbound is not None
    assert inbound.kind == InboundKind.CHOICE
    assert inbound.address == ADDRESS
    assert inbound.message_id == "503"
    assert inbound.payload == "q1:yes"
    assert inbound.locale_hint == "en"


def test_parse_callback_in_group_ignored(telegram_bot):
    update = telegram_callback_update(504, CHAT_ID, "q1:yes")
    update["callback_query"]["message"]["chat"] = {"id": -100, "title": "G", "type": "group"}

    assert parse_update(update, telegram_bot) is None


def test_parse_inline_mode_callback_ignored(telegram_bot):
    update = telegram_callback_update(505, CHAT_ID, "q1:yes")
    del update["callback_query"]["message"]
    update["callback_query"]["inline_message_id"] = "AAAAAGx1"

    assert parse_update(update, telegram_bot) is None


def test_parse_sticker(telegram_bot):
    inbound = parse_update(telegram_sticker_update(506, CHAT_ID), telegram_bot)

    assert inbound is not None
    assert inbound.kind == InboundKind.NON_TEXT
    assert inbound.address == ADDRESS
    assert inbound.message_id == "506"


@pytest.mark.parametrize("kind", sorted(SAMPLE_ATTACHMENTS))
def test_parse_attachment_non_text(telegram_bot, kind):
    inbound = parse_update(telegram_attachment_update(507, CHAT_ID, kind), telegram_bot)

    assert inbound is not None
    assert inbound.kind == InboundKind.NON_TEXT


def test_parse_photo_with_caption(telegram_bot):
    update = telegram_attachment_update(508, CHAT_ID, "photo", caption="Mijn straat")

    inbound = parse_update(update, telegram_bot)

    assert inbound is not None
    assert inbound.kind == InboundKind.NON_TEXT
    assert inbound.text == ""


def test_parse_edited_message_ignored(telegram_bot):
    assert parse_update(telegram_edited_update(509, CHAT_ID, "Hallo!"), telegram_bot) is None


@pytest.mark.parametrize("chat_type", ["group", "supergroup", "channel"])
def test_parse_non_private_ignored(telegram_bot, chat_type):
    update = telegram_group_update(510, -1001234567890, "Hallo", chat_type=chat_type)

    assert parse_update(update, telegram_bot) is None


def test_parse_channel_post_ignored(telegram_bot):
    update = telegram_channel_post_update(511, -1001234567890, "Nieuws")

    assert parse_update(update, telegram_bot) is None


def test_parse_my_chat_member_ignored(telegram_bot):
    assert parse_update(telegram_my_chat_member_update(512, CHAT_ID), telegram_bot) is None


def test_parse_service_message_ignored(telegram_bot):
    update = telegram_text_update(513, CHAT_ID, "")
    del update["message"]["text"]
    update["message"]["pinned_message"] = {
        "message_id": 1,
        "chat": update["message"]["chat"],
        "date": 0,
    }

    assert parse_update(update, telegram_bot) is None


def test_parse_inline_query_ignored(telegram_bot):
    inline_query = {
        "id": "1",
        "from": {"id": CHAT_ID, "is_bot": False, "first_name": "Anna"},
        "query": "buurt",
        "offset": "",
    }
    update = {"update_id": 514, "inline_query": inline_query}

    assert parse_update(update, telegram_bot) is None


def test_parse_unknown_update_kind_ignored(telegram_bot):
    # A kind added to the Bot API after this python-telegram-bot release.
    update = {"update_id": 514, "future_update_kind": {"id": 1}}

    assert parse_update(update, telegram_bot) is None


@pytest.mark.parametrize(
    "data",
    [
        {},
        [],
        {"update_id": "514"},
        {"update_id": 515, "message": "Hallo"},
        {"update_id": 516, "message": {"message_id": 1, "chat": {"id": 1, "type": "private"}}},
        {"update_id": 517, "message": {"message_id": 1, "date": 0, "chat": {}}},
        {"update_id": 518, "callback_query": {"id": "1"}},
    ],
    ids=[
        "empty",
        "list",
        "string-id",
        "message-string",
        "missing-date",
        "chat-without-id",
        "callback-incomplete",
    ],
)
def test_parse_malformed_raises(telegram_bot, data):
    with pytest.raises(MalformedUpdate, match="update"):
        parse_update(data, telegram_bot)


def test_parse_text_not_string_raises(telegram_bot):
    update = telegram_text_update(519, CHAT_ID, "Hallo")
    update["message"]["text"] = 5

    with pytest.raises(MalformedUpdate, match="text"):
        parse_update(update, telegram_bot)


def test_malformed_update_is_value_error():
    assert issubclass(MalformedUpdate, ValueError)


# callback_answer and secret_matches


def test_callback_answer_body():
    update = telegram_callback_update(520, CHAT_ID, "q1:yes", callback_query_id="77")

    assert callback_answer(update) == {
        "method": "answerCallbackQuery",
        "callback_query_id": "77",
    }


def test_callback_answer_none_for_text():
    assert callback_answer(telegram_text_update(521, CHAT_ID, "Hallo")) is None


def test_callback_answer_none_without_id():
    update = telegram_callback_update(522, CHAT_ID, "q1:yes")
    del update["callback_query"]["id"]

    assert callback_answer(update) is None


def test_secret_matches_equal():
    assert secret_matches("s3cret-Token_1", "s3cret-Token_1")


def test_secret_matches_different():
    assert not secret_matches("s3cret-Token_2", "s3cret-Token_1")


def test_secret_matches_missing_header():
    assert not secret_matches(None, "s3cret-Token_1")


def test_secret_matches_empty_secret():
    assert not secret_matches("", "")


def test_secret_matches_non_ascii_header():
    assert not secret_matches("s3crét", "s3cret-Token_1")


# TelegramSender against the fake Bot API


async def test_send_plain_text(telegram_sender, telegram_api):
    message_id = await telegram_sender.send(Outbound(Channel.TELEGRAM, ADDRESS, "Welkom!"))

    assert len(telegram_api.sent) == 1
    sent = telegram_api.sent[0]
    assert sent.chat_id == ADDRESS
    assert sent.text == "Welkom!"
    assert sent.reply_markup is None
    assert message_id == str(sent.message_id)


async def test_send_no_parse_mode(telegram_sender, telegram_api):
    await telegram_sender.send(Outbound(Channel.TELEGRAM, ADDRESS, "*niet vet*"))

    send_calls = [call for call in telegram_api.calls if call.method == "sendMessage"]
    assert "parse_mode" not in send_calls[0].params


async def test_send_buttons_one_per_row(telegram_sender, telegram_api):
    await telegram_sender.send(Outbound(Channel.TELEGRAM, ADDRESS, "Woont u hier?", CHOICES))

    assert telegram_api.sent[0].reply_markup == {
        "inline_keyboard": [
            [{"text": "Ja", "callback_data": "q1:yes"}],
            [{"text": "Nee", "callback_data": "q1:no"}],
        ]
    }


async def test_send_splits_long_text(telegram_sender, telegram_api):
    # 100 lines of 49 characters and a final "." make 5000 characters. The first
    # part takes 81 lines (4049 characters), as 82 lines would be 4099.
    lines = [f"Regel {number:03d} " + "x" * 39 for number in range(100)]
    lines[-1] += "."
    text = "\n".join(lines)
    assert len(text) == 5000

    message_id = await telegram_sender.send(Outbound(Channel.TELEGRAM, ADDRESS, text, CHOICES))

    sent = telegram_api.sent
    assert len(sent) == 2
    assert all(len(part.text) <= 4096 for part in sent)
    assert sent[0].text.endswith(lines[80])
    assert sent[1].text.startswith(lines[81])
    assert "\n".join(part.text for part in sent) == text
    assert sent[0].reply_markup is None
    assert sent[1].reply_markup is not None
    assert message_id == str(sent[1].message_id)


async def test_send_rejects_long_payload(telegram_sender, telegram_api):
    choices = (Choice(number=1, label="Ja", payload="é" * 33),)

    with pytest.raises(ValueError, match="64-byte"):
        await telegram_sender.send(Outbound(Channel.TELEGRAM, ADDRESS, "Vraag", choices))
    assert telegram_api.sent == []


async def test_send_accepts_64_byte_payload(telegram_sender, telegram_api):
    choices = (Choice(number=1, label="Ja", payload="é" * 32),)

    await telegram_sender.send(Outbound(Channel.TELEGRAM, ADDRESS, "Vraag", choices))

    assert len(telegram_api.sent) == 1


async def test_send_rejects_empty_text(telegram_sender):
    with pytest.raises(ValueError, match="empty"):
        await telegram_sender.send(Outbound(Channel.TELEGRAM, ADDRESS, "  "))


async def test_send_retry_after_transient(telegram_sender, telegram_api):
    telegram_api.fail_with_retry_after(CHAT_ID, 17)

    with pytest.raises(TransientDeliveryError) as caught:
        await telegram_sender.send(Outbound(Channel.TELEGRAM, ADDRESS, "Hallo"))

    assert caught.value.code == "429"
    assert caught.value.retry_after == 17.0
    assert isinstance(caught.value.retry_after, float)


async def test_send_after_retry_succeeds(telegram_sender, telegram_api):
    telegram_api.fail_with_retry_after(CHAT_ID, 1)
    with pytest.raises(TransientDeliveryError):
        await telegram_sender.send(Outbound(Channel.TELEGRAM, ADDRESS, "Hallo"))

    await telegram_sender.send(Outbound(Channel.TELEGRAM, ADDRESS, "Hallo"))

    assert len(telegram_api.sent) == 1


async def test_send_blocked_permanent(telegram_sender, telegram_api):
    telegram_api.fail_blocked(CHAT_ID)

    with pytest.raises(PermanentDeliveryError) as caught:
        await telegram_sender.send(Outbound(Channel.TELEGRAM, ADDRESS, "Hallo"))

    assert caught.value.code == "403"
    assert "blocked" in str(caught.value)


async def test_send_chat_not_found_permanent(telegram_sender, telegram_api):
    telegram_api.fail_chat_not_found(CHAT_ID)

    with pytest.raises(PermanentDeliveryError) as caught:
        await telegram_sender.send(Outbound(Channel.TELEGRAM, ADDRESS, "Hallo"))

    assert caught.value.code == "400"
    assert "not found" in str(caught.value).lower()


async def test_send_other_bad_request_permanent(telegram_sender, telegram_api):
    telegram_api.fail_send(CHAT_ID, 400, "Bad Request: can't parse entities")

    with pytest.raises(PermanentDeliveryError) as caught:
        await telegram_sender.send(Outbound(Channel.TELEGRAM, ADDRESS, "Hallo"))

    assert caught.value.code == "400"


async def test_send_server_error_transient(telegram_sender, telegram_api):
    telegram_api.fail_send(CHAT_ID, 502, "Bad Gateway")

    with pytest.raises(TransientDeliveryError) as caught:
        await telegram_sender.send(Outbound(Channel.TELEGRAM, ADDRESS, "Hallo"))

    assert caught.value.code == "network"
    assert caught.value.retry_after is None


async def test_send_connection_refused_transient(closed_port):
    sender = TelegramSender(DEFAULT_TOKEN, api_url=f"http://127.0.0.1:{closed_port}")

    try:
        with pytest.raises(TransientDeliveryError) as caught:
            await sender.send(Outbound(Channel.TELEGRAM, ADDRESS, "Hallo"))
    finally:
        await sender.close()

    assert caught.value.code == "network"


async def test_start_checks_token(telegram_api):
    sender = TelegramSender("42:wrong-token", api_url=telegram_api.url)

    with pytest.raises(InvalidToken):
        await sender.start()

    await sender.close()
    assert telegram_api.sent == []


async def test_send_wrong_token_not_mapped(telegram_api):
    sender = TelegramSender("42:wrong-token", api_url=telegram_api.url)

    try:
        with pytest.raises(InvalidToken):
            await sender.send(Outbound(Channel.TELEGRAM, ADDRESS, "Hallo"))
    finally:
        await sender.close()


async def test_guard_blocks_real_telegram(loopback_only):
    sender = TelegramSender(DEFAULT_TOKEN)

    try:
        with pytest.raises(TransientDeliveryError):
            await sender.send(Outbound(Channel.TELEGRAM, ADDRESS, "Hallo"))
    finally:
        await sender.close()

    assert loopback_only == ["api.telegram.org"]
    # The attempt was expected, so clear it before the guard checks at teardown.
    loopback_only.clear()
