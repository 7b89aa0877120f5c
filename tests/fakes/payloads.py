"""Builders for inbound webhook payloads, shaped as Telegram and Twilio send them.

Telegram updates follow the Bot API Update object. Twilio forms carry the fields of
an incoming-message webhook for Programmable Messaging (SMS and WhatsApp) and of a
message status callback.
"""

from __future__ import annotations

import copy
from typing import Any

import phonenumbers
from twilio.request_validator import RequestValidator

from bot.channels.sms_segments import segment_count
from tests.fakes.twilio_api import API_VERSION, DEFAULT_ACCOUNT_SID, WHATSAPP_PREFIX

# A fixed Unix time (2024-12-04 19:09 UTC), so that payloads compare equal across runs.
MESSAGE_DATE = 1733339340
BOT_USER = {
    "id": 123456789,
    "is_bot": True,
    "first_name": "Chatpanel Test",
    "username": "chatpanel_test_bot",
}
PANEL_NUMBER = "+3197010000001"
RESIDENT_NUMBER = "+31612345678"

# One sample of each kind of non-text content, keyed by the Message field it goes in.
SAMPLE_ATTACHMENTS: dict[str, Any] = {
    "sticker": {
        "file_id": "CAACAgIAAxkBAAIBR2Zz",
        "file_unique_id": "AgADxQ8AAm4yWUk",
        "type": "regular",
        "width": 512,
        "height": 512,
        "is_animated": False,
        "is_video": False,
        "emoji": "\N{THUMBS UP SIGN}",
        "set_name": "HotCherry",
        "file_size": 24102,
    },
    "photo": [
        {"file_id": "AgACAgQAAxkBAAIBS1", "file_unique_id": "AQADr7kxG1", "file_size": 1456,
         "width": 90, "height": 67},
        {"file_id": "AgACAgQAAxkBAAIBS2", "file_unique_id": "AQADr7kxG2", "file_size": 91245,
         "width": 1280, "height": 960},
    ],
    "voice": {
        "file_id": "AwACAgQAAxkBAAIBTGZz",
        "file_unique_id": "AgADjRQAAqH",
        "duration": 3,
        "mime_type": "audio/ogg",
        "file_size": 11870,
    },
    "video": {
        "file_id": "BAACAgQAAxkBAAIBTWZz",
        "file_unique_id": "AgADXBUAAqH",
        "width": 720,
        "height": 1280,
        "duration": 5,
        "mime_type": "video/mp4",
        "file_size": 904211,
    },
    "document": {
        "file_id": "BQACAgQAAxkBAAIBTmZz",
        "file_unique_id": "AgADXhUAAqH",
        "file_name": "antwoorden.pdf",
        "mime_type": "application/pdf",
        "file_size": 40211,
    },
    "location": {"latitude": 52.370216, "longitude": 4.895168},
    "contact": {
        "phone_number": "+31612345678",
        "first_name": "Jan",
        "last_name": "Jansen",
        "user_id": 1000002,
    },
}


def _resident(chat_id: int, language_code: str | None) -> dict[str, Any]:
    user: dict[str, Any] = {"id": chat_id, "is_bot": False, "first_name": "Anna"}
    if language_code is not None:
        user["language_code"] = language_code
    return user


def _private_chat(chat_id: int) -> dict[str, Any]:
    return {"id": chat_id, "first_name": "Anna", "type": "private"}


def _private_message(
    message_id: int, chat_id: int, language_code: str | None, **content: Any
) -> dict[str, Any]:
    return {
        "message_id": message_id,
        "from": _resident(chat_id, language_code),
        "chat": _private_chat(chat_id),
        "date": MESSAGE_DATE,
        **content,
    }


def telegram_text_update(
    update_id: int, chat_id: int, text: str, language_code: str | None = "nl"
) -> dict[str, Any]:
    """Build an update with a text message in a private chat."""
    message = _private_message(update_id, chat_id, language_code, text=text)
    return {"update_id": update_id, "message": message}


def telegram_callback_update(
    update_id: int,
    chat_id: int,
    data: str,
    callback_query_id: str = "4382bfdwdsb323b2d9",
    language_code: str | None = "nl",
) -> dict[str, Any]:
    """Build an update for a pressed inline button below a bot message in a private chat."""
    bot_message = {
        "message_id": update_id,
        "from": BOT_USER,
        "chat": _private_chat(chat_id),
        "date": MESSAGE_DATE,
        "text": "Hoe tevreden bent u over uw buurt?",
        "reply_markup": {
            "inline_keyboard": [[{"text": "Tevreden", "callback_data": data}]],
        },
    }
    callback_query = {
        "id": callback_query_id,
        "from": _resident(chat_id, language_code),
        "message": bot_message,
        "chat_instance": "-8425771240735121003",
        "data": data,
    }
    return {"update_id": update_id, "callback_query": callback_query}


def telegram_attachment_update(
    update_id: int, chat_id: int, kind: str, caption: str | None = None
) -> dict[str, Any]:
    """Build an update with a message that carries ``SAMPLE_ATTACHMENTS[kind]``."""
    # A copy, so a test that changes the update does not change the next test's.
    content: dict[str, Any] = {kind: copy.deepcopy(SAMPLE_ATTACHMENTS[kind])}
    if caption is not None:
        content["caption"] = caption
    message = _private_message(update_id, chat_id, "nl", **content)
    return {"update_id": update_id, "message": message}


def telegram_sticker_update(update_id: int, chat_id: int) -> dict[str, Any]:
    """Build an update with a sticker in a private chat."""
    return telegram_attachment_update(update_id, chat_id, "sticker")


def telegram_edited_update(update_id: int, chat_id: int, text: str) -> dict[str, Any]:
    """Build an update for a text message that the resident edited."""
    message = _private_message(update_id, chat_id, "nl", text=text, edit_date=MESSAGE_DATE + 60)
    return {"update_id": update_id, "edited_message": message}


def telegram_group_update(
    update_id: int, chat_id: int, text: str, chat_type: str = "group"
) -> dict[str, Any]:
    """Build an update with a text message in a group, supergroup or channel chat."""
    chat = {"id": chat_id, "title": "Buurtpanel", "type": chat_type}
    message = {
        "message_id": update_id,
        "from": _resident(1000001, "nl"),
        "chat": chat,
        "date": MESSAGE_DATE,
        "text": text,
    }
    return {"update_id": update_id, "message": message}


def telegram_channel_post_update(update_id: int, chat_id: int, text: str) -> dict[str, Any]:
    """Build an update for a post in a channel where the bot is an administrator."""
    chat = {"id": chat_id, "title": "Buurtnieuws", "type": "channel"}
    post = {
        "message_id": update_id,
        "sender_chat": chat,
        "chat": chat,
        "date": MESSAGE_DATE,
        "text": text,
    }
    return {"update_id": update_id, "channel_post": post}


def telegram_my_chat_member_update(
    update_id: int, chat_id: int, new_status: str = "kicked"
) -> dict[str, Any]:
    """Build an update for a change of the bot's status in a chat, by default a block."""
    member_update = {
        "chat": _private_chat(chat_id),
        "from": _resident(chat_id, "nl"),
        "date": MESSAGE_DATE,
        "old_chat_member": {"user": BOT_USER, "status": "member"},
        "new_chat_member": {"user": BOT_USER, "status": new_status, "until_date": 0},
    }
    return {"update_id": update_id, "my_chat_member": member_update}


def _group_member(user_id: int, first_name: str) -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": "nl"}


def _group_chat(chat_id: int, chat_type: str) -> dict[str, Any]:
    return {"id": chat_id, "title": "Moderatoren", "type": chat_type}


def telegram_group_callback_update(
    update_id: int,
    chat_id: int,
    user_id: int,
    data: str,
    first_name: str = "Mila",
    chat_type: str = "supergroup",
    callback_query_id: str | None = None,
) -> dict[str, Any]:
    """Build an update for a user pressing an inline button below a bot message in a group.

    The callback query id defaults to one derived from ``update_id``, so a redelivered
    update carries the same id, as Telegram's does.
    """
    bot_message = {
        "message_id": update_id,
        "from": BOT_USER,
        "chat": _group_chat(chat_id, chat_type),
        "date": MESSAGE_DATE,
        "text": "Nieuw onderwerp #1:\nMeer bankjes in het park",
        "reply_markup": {
            "inline_keyboard": [[{"text": "Goedkeuren", "callback_data": data}]],
        },
    }
    callback_query = {
        "id": callback_query_id if callback_query_id is not None else f"cq{update_id}",
        "from": _group_member(user_id, first_name),
        "message": bot_message,
        "chat_instance": "-5120377421300848517",
        "data": data,
    }
    return {"update_id": update_id, "callback_query": callback_query}


def telegram_group_text_update(
    update_id: int,
    chat_id: int,
    user_id: int,
    text: str,
    first_name: str = "Mila",
    chat_type: str = "supergroup",
    reply_to_text: str | None = None,
) -> dict[str, Any]:
    """Build an update with a user's text message in a group.

    With ``reply_to_text`` the message replies to a bot message with that text, as a
    moderator's reason replies to the bot's request for it.
    """
    chat = _group_chat(chat_id, chat_type)
    message: dict[str, Any] = {
        "message_id": update_id,
        "from": _group_member(user_id, first_name),
        "chat": chat,
        "date": MESSAGE_DATE,
        "text": text,
    }
    if reply_to_text is not None:
        message["reply_to_message"] = {
            "message_id": update_id - 1,
            "from": BOT_USER,
            "chat": chat,
            "date": MESSAGE_DATE,
            "text": reply_to_text,
        }
    return {"update_id": update_id, "message": message}


def twilio_sms_form(
    message_sid: str,
    from_: str,
    body: str,
    num_media: int = 0,
    to: str = PANEL_NUMBER,
    account_sid: str = DEFAULT_ACCOUNT_SID,
    messaging_service_sid: str | None = None,
) -> dict[str, str]:
    """Build the form of a Twilio incoming-message webhook, with media if ``num_media``."""
    form = {
        "ToCountry": _country_of(to),
        "ToState": "",
        "SmsMessageSid": message_sid,
        "NumMedia": str(num_media),
        "ToCity": "",
        "FromZip": "",
        "SmsSid": message_sid,
        "FromState": "",
        "SmsStatus": "received",
        "FromCity": "",
        "Body": body,
        "FromCountry": _country_of(from_),
        "To": to,
        "ToZip": "",
        "NumSegments": str(max(segment_count(body), 1)),
        "MessageSid": message_sid,
        "AccountSid": account_sid,
        "From": from_,
        "ApiVersion": API_VERSION,
    }
    if messaging_service_sid is not None:
        form["MessagingServiceSid"] = messaging_service_sid

    for index in range(num_media):
        media_sid = f"ME{index:032x}"
        form[f"MediaContentType{index}"] = "image/jpeg"
        form[f"MediaUrl{index}"] = (
            f"https://api.twilio.com/{API_VERSION}/Accounts/{account_sid}"
            f"/Messages/{message_sid}/Media/{media_sid}"
        )
    return form


def twilio_whatsapp_form(
    message_sid: str,
    from_: str,
    body: str,
    num_media: int = 0,
    button_payload: str | None = None,
    button_text: str | None = None,
    latitude: float | None = None,
    longitude: float | None = None,
    profile_name: str = "Anna",
    to: str = PANEL_NUMBER,
    account_sid: str = DEFAULT_ACCOUNT_SID,
) -> dict[str, str]:
    """Build the form of a Twilio incoming WhatsApp message webhook.

    ``from_`` and ``to`` are E.164 numbers and get the ``whatsapp:`` prefix unless they
    have it. ``button_payload`` makes a quick-reply button press whose Body is
    ``button_text`` (``body`` when not given). ``latitude`` and ``longitude`` make a
    shared location, and ``num_media`` adds image attachments.
    """
    sender = _whatsapp_address(from_)
    if button_payload is not None:
        message_type = "button"
        body = button_text if button_text is not None else body
    elif latitude is not None or longitude is not None:
        message_type = "location"
    elif num_media:
        message_type = "image"
    else:
        message_type = "text"

    form = {
        "SmsMessageSid": message_sid,
        "NumMedia": str(num_media),
        "ProfileName": profile_name,
        "MessageType": message_type,
        "SmsSid": message_sid,
        # The WhatsApp id is the sender's number without the plus sign.
        "WaId": sender.removeprefix(WHATSAPP_PREFIX).removeprefix("+"),
        "SmsStatus": "received",
        "Body": body,
        "To": _whatsapp_address(to),
        "NumSegments": "1",
        "ReferralNumMedia": "0",
        "MessageSid": message_sid,
        "AccountSid": account_sid,
        "From": sender,
        "ApiVersion": API_VERSION,
    }
    if button_payload is not None:
        form["ButtonText"] = body
        form["ButtonPayload"] = button_payload
    if latitude is not None:
        form["Latitude"] = str(latitude)
    if longitude is not None:
        form["Longitude"] = str(longitude)

    for index in range(num_media):
        media_sid = f"ME{index:032x}"
        form[f"MediaContentType{index}"] = "image/jpeg"
        form[f"MediaUrl{index}"] = (
            f"https://api.twilio.com/{API_VERSION}/Accounts/{account_sid}"
            f"/Messages/{message_sid}/Media/{media_sid}"
        )
    return form


def twilio_status_form(
    message_sid: str,
    status: str,
    error_code: int | str | None = None,
    to: str = RESIDENT_NUMBER,
    from_: str = PANEL_NUMBER,
    whatsapp: bool = False,
    account_sid: str = DEFAULT_ACCOUNT_SID,
) -> dict[str, str]:
    """Build the form of a Twilio message status callback for an outbound message.

    ``status`` is the MessageStatus, such as "sent", "delivered" or "failed". With
    ``whatsapp`` the numbers get the ``whatsapp:`` prefix and the form has ChannelPrefix.
    ErrorCode is present only when ``error_code`` is given.
    """
    if whatsapp:
        to, from_ = _whatsapp_address(to), _whatsapp_address(from_)
    form = {
        "MessageSid": message_sid,
        "MessageStatus": status,
        "SmsSid": message_sid,
        "SmsStatus": status,
        "AccountSid": account_sid,
        "From": from_,
        "To": to,
        "ApiVersion": API_VERSION,
    }
    if error_code is not None:
        form["ErrorCode"] = str(error_code)
    if whatsapp:
        form["ChannelPrefix"] = "whatsapp"
    return form


def _whatsapp_address(number: str) -> str:
    if number.startswith(WHATSAPP_PREFIX):
        return number
    return WHATSAPP_PREFIX + number


def sign_twilio(auth_token: str, url: str, params: dict[str, str]) -> str:
    """Compute the X-Twilio-Signature that Twilio sends for a POST of ``params`` to ``url``."""
    return RequestValidator(auth_token).compute_signature(url, params)


def _country_of(number: str) -> str:
    """Return the ISO country code of a phone number, or "" when it cannot be parsed."""
    try:
        parsed = phonenumbers.parse(number.removeprefix("whatsapp:"), None)
    except phonenumbers.NumberParseException:
        return ""
    return phonenumbers.region_code_for_number(parsed) or ""
