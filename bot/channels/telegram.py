"""Telegram channel: webhook update parsing and a sender over the Bot API.

Only private chats take part in the panel. Updates from groups, supergroups and
channels, edited messages and service messages are ignored, so the webhook still
responds to them with 200 and Telegram does not send them again.
"""

from __future__ import annotations

import hmac
import warnings
from datetime import timedelta
from typing import Any

import telegram
from telegram.constants import ChatType
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.request import HTTPXRequest
from telegram.warnings import PTBDeprecationWarning

from bot.channels.errors import DeliveryError, PermanentDeliveryError, TransientDeliveryError
from bot.channels.render import split_text
from bot.channels.types import Channel, Inbound, InboundKind, Outbound

# Bot API limits for sendMessage text and for the callback data of an inline button.
MAX_MESSAGE_LENGTH = 4096
MAX_CALLBACK_DATA_BYTES = 64
# Telegram documents chat and user ids of at most 52 significant bits, so real ids fit a
# signed 64-bit integer. The bound also keeps a forged id within the store's 64-character columns.
MAX_ID = 2**63 - 1


class MalformedUpdate(ValueError):
    """A webhook body that is not a valid Telegram update."""


def parse_update(data: dict[str, Any], bot: telegram.Bot) -> Inbound | None:
    """Parse a webhook update into an ``Inbound``, or return None for an ignored update.

    In a private chat, a text message becomes TEXT, a pressed inline button becomes
    CHOICE, and a message with other content (sticker, photo even with a caption,
    voice, video, document, location, contact and the like) becomes NON_TEXT. All
    other updates return None. ``message_id`` is the update_id, which Telegram keeps
    when it delivers the same update again.

    Raises MalformedUpdate when ``data`` is not a valid update.
    """
    update = deserialize_update(data, bot)

    if update.callback_query is not None:
        return _parse_callback_query(update)

    message = update.message
    if message is None or message.chat.type != ChatType.PRIVATE:
        return None

    locale_hint = message.from_user.language_code if message.from_user else None
    if message.text is not None:
        if not isinstance(message.text, str):
            raise MalformedUpdate(f"update {update.update_id}: message.text is not a string")
        kind, text = InboundKind.TEXT, message.text
    elif message.effective_attachment is not None:
        kind, text = InboundKind.NON_TEXT, ""
    else:
        # A service message, such as a pinned message, carries nothing to reply to.
        return None

    return Inbound(
        channel=Channel.TELEGRAM,
        address=str(message.chat.id),
        message_id=str(update.update_id),
        kind=kind,
        text=text,
        locale_hint=locale_hint,
    )


def callback_answer(data: dict[str, Any]) -> dict[str, str] | None:
    """Build the webhook response body that answers the update's callback query.

    Telegram runs a method returned in the webhook response, so the button stops
    showing its progress indicator without a separate answerCallbackQuery request.
    Returns None when the update has no callback query with a string id.
    """
    callback_query = data.get("callback_query") if isinstance(data, dict) else None
    if not isinstance(callback_query, dict):
        return None

    query_id = callback_query.get("id")
    if not isinstance(query_id, str):
        return None
    return {"method": "answerCallbackQuery", "callback_query_id": query_id}


def secret_matches(header_value: str | None, secret: str) -> bool:
    """Check the X-Telegram-Bot-Api-Secret-Token header against ``secret``.

    The comparison takes constant time. A missing header or an empty configured secret
    never matches, so a deployment without a secret rejects every update.
    """
    if header_value is None or not secret:
        return False
    # aiohttp decodes header bytes that are not UTF-8 to lone surrogates, which only
    # "surrogatepass" can encode. Such a header never matches, because the secret is ASCII.
    return hmac.compare_digest(header_value.encode("utf-8", "surrogatepass"), secret.encode("utf-8"))


def deserialize_update(data: dict[str, Any], bot: telegram.Bot) -> telegram.Update:
    """Build a PTB Update from webhook JSON. Raises MalformedUpdate for invalid data."""
    if not isinstance(data, dict):
        raise MalformedUpdate(f"update must be a JSON object, got {type(data).__name__}")

    # python-telegram-bot does not validate input and fails with whatever error the
    # missing or mistyped field causes. A date beyond the platform's time_t raises
    # OSError (EOVERFLOW) from datetime.fromtimestamp, and messages nested in replies
    # hundreds of levels deep exhaust the recursion limit.
    try:
        update = telegram.Update.de_json(data, bot)
    except (TypeError, KeyError, AttributeError, ValueError, OverflowError, OSError, RecursionError) as error:
        reason = f"{type(error).__name__}: {error}"
        raise MalformedUpdate(f"invalid Telegram update: {reason}") from error

    if not _is_id(update.update_id) or update.update_id < 0:
        raise MalformedUpdate(f"update_id must be an integer from 0 to {MAX_ID}, got {_kind_of(update.update_id)}")
    _check_read_fields(update)
    return update


def _check_read_fields(update: telegram.Update) -> None:
    """Raise MalformedUpdate for a missing or mistyped field that the panel reads.

    python-telegram-bot leaves a missing required field None and keeps a value of any
    type, so a chat id could arrive as a string or a list.
    """
    prefix = f"update {update.update_id}"
    query = update.callback_query
    if query is not None and query.from_user is None:
        raise MalformedUpdate(f"{prefix}: callback_query has no from")

    for message in (update.message, query.message if query is not None else None):
        if message is None:
            continue
        if message.chat is None:
            raise MalformedUpdate(f"{prefix}: message has no chat")
        if not _is_id(message.chat.id):
            raise MalformedUpdate(f"{prefix}: chat id must be a 64-bit integer, got {_kind_of(message.chat.id)}")

    for user in (update.message.from_user if update.message is not None else None, query.from_user if query else None):
        if user is None:
            continue
        if not _is_id(user.id):
            raise MalformedUpdate(f"{prefix}: user id must be a 64-bit integer, got {_kind_of(user.id)}")
        if user.language_code is not None and not isinstance(user.language_code, str):
            raise MalformedUpdate(f"{prefix}: language_code must be a string, got {_kind_of(user.language_code)}")


def _parse_callback_query(update: telegram.Update) -> Inbound | None:
    query = update.callback_query
    # A button on a message sent in inline mode has no message and so no chat, and a
    # game button has no callback data.
    if query.message is None or query.data is None:
        return None
    if query.message.chat.type != ChatType.PRIVATE:
        return None
    if not isinstance(query.data, str):
        raise MalformedUpdate(f"update {update.update_id}: callback_query.data is not a string")

    return Inbound(
        channel=Channel.TELEGRAM,
        address=str(query.message.chat.id),
        message_id=str(update.update_id),
        kind=InboundKind.CHOICE,
        payload=query.data,
        locale_hint=query.from_user.language_code,
    )


def _is_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and -MAX_ID - 1 <= value <= MAX_ID


def _kind_of(value: object) -> str:
    """Describe a rejected value by its type only: it may be huge or hold personal data."""
    if isinstance(value, int) and not isinstance(value, bool):
        return "an integer out of range"
    return type(value).__name__


class TelegramSender:
    """Sender for Telegram over the Bot API at ``api_url``.

    ``start`` checks the token before the first ``send``. Call ``close`` when done.
    """

    def __init__(self, token: str, api_url: str = "https://api.telegram.org") -> None:
        self._request = HTTPXRequest()
        self._bot = telegram.Bot(
            token, base_url=api_url.rstrip("/") + "/bot", request=self._request
        )

    @property
    def bot(self) -> telegram.Bot:
        """The PTB bot, also used to deserialize incoming updates."""
        return self._bot

    async def start(self) -> None:
        """Initialize the bot, which requests getMe and so checks the token."""
        await self._bot.initialize()

    async def send(self, message: Outbound) -> str:
        """Send ``message`` as plain text and return the message_id of the last part.

        A text longer than 4096 characters goes out in several messages, and the
        buttons, one per row, come with the last one. If a later part fails, the
        parts already sent stay sent, so a retry sends them again.

        Raises ValueError for an empty text or a choice payload over 64 bytes, and
        PermanentDeliveryError or TransientDeliveryError when the Bot API rejects the
        message.
        """
        if not message.text.strip():
            raise ValueError("message has an empty text")
        reply_markup = _inline_keyboard(message)

        # NOTE: the parts are measured in code points. Telegram documents the limit in
        # characters without saying whether it counts UTF-16 code units instead.
        parts = split_text(message.text, MAX_MESSAGE_LENGTH)
        sent: telegram.Message | None = None
        for index, part in enumerate(parts):
            is_last = index == len(parts) - 1
            try:
                sent = await self._bot.send_message(
                    chat_id=message.address,
                    text=part,
                    reply_markup=reply_markup if is_last else None,
                )
            except TelegramError as error:
                delivery_error = _delivery_error(error, message.address)
                if delivery_error is None:
                    raise
                raise delivery_error from error

        assert sent is not None
        return str(sent.message_id)

    async def close(self) -> None:
        """Shut the bot down and close its HTTP connections."""
        await self._bot.shutdown()
        # Bot.shutdown skips the HTTP client when start was never called, but send
        # works without start and may have opened connections.
        await self._request.shutdown()


def _inline_keyboard(message: Outbound) -> telegram.InlineKeyboardMarkup | None:
    if not message.choices:
        return None

    rows = []
    for choice in message.choices:
        size = len(choice.payload.encode("utf-8"))
        if size > MAX_CALLBACK_DATA_BYTES:
            raise ValueError(
                f"choice {choice.number} payload {choice.payload!r} is {size} bytes in UTF-8, "
                f"over the {MAX_CALLBACK_DATA_BYTES}-byte Telegram callback data limit"
            )
        rows.append([telegram.InlineKeyboardButton(choice.label, callback_data=choice.payload)])
    return telegram.InlineKeyboardMarkup(rows)


def _delivery_error(error: TelegramError, chat_id: str) -> DeliveryError | None:
    """Map a Bot API error to a delivery error, or return None to re-raise it unchanged.

    Errors that are not about the chat, such as InvalidToken for a wrong token,
    return None, so that a configuration error does not mark chats as unreachable.
    """
    error_message = f"sending to Telegram chat {chat_id} failed: {error.message}"

    if isinstance(error, RetryAfter):
        return TransientDeliveryError(
            error_message, code="429", retry_after=_retry_after_seconds(error)
        )
    if isinstance(error, Forbidden):
        # The user blocked the bot or deleted the account.
        return PermanentDeliveryError(error_message, code="403")
    if isinstance(error, BadRequest):
        # "Chat not found" means the chat is gone. Any other 400 means the request was
        # wrong, and retrying the same request fails the same way.
        return PermanentDeliveryError(error_message, code="400")
    # NetworkError covers TimedOut and 5xx responses. BadRequest subclasses it too,
    # so it must be tested first.
    if isinstance(error, NetworkError):
        return TransientDeliveryError(error_message, code="network")
    return None


def _retry_after_seconds(error: RetryAfter) -> float:
    # retry_after is an int or a timedelta depending on PTB_TIMEDELTA, and reading it
    # warns about the coming switch to timedelta (python-telegram-bot 22.2 and later).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = error.retry_after
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(value)
