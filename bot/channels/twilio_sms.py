"""Twilio SMS channel: webhook signature check, form parsing and a Messages API sender.

The webhook helpers and TwilioMessagesClient also serve the WhatsApp channel
(bot.channels.twilio_whatsapp), because Twilio sends and receives WhatsApp messages
through the same Messages API and webhook format.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from typing import Any

import aiohttp
import phonenumbers
from twilio.base.exceptions import TwilioRestException, TwilioServiceException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response
from twilio.request_validator import RequestValidator
from twilio.rest import Client
from twilio.twiml.messaging_response import MessagingResponse

from bot.channels.errors import (
    DeliveryError,
    PermanentDeliveryError,
    TransientDeliveryError,
    UndeliverableMessageError,
)
from bot.channels.render import render_numbered
from bot.channels.sender import PROVIDER_TIMEOUT_SECONDS
from bot.channels.types import Channel, Inbound, InboundKind, Outbound

# Region for numbers that arrive without a country code.
DEFAULT_REGION = "NL"
WHATSAPP_PREFIX = "whatsapp:"
# Twilio rejects a message Body longer than 1600 characters (error 21617).
MAX_BODY_LENGTH = 1600
# Twilio's MessageSids are two letters and 32 hex digits. Any letters and digits up to the
# store's 64-character column are accepted.
MESSAGE_SID_PATTERN = re.compile(r"[A-Za-z0-9]{1,64}")

# Twilio error codes that mean the number cannot receive our messages. Any other 4xx
# except 401 and UNDELIVERABLE_ERROR_CODES is also permanent, and 429 and 5xx are
# transient (see _delivery_error).
PERMANENT_ERROR_CODES: Mapping[int, str] = {
    21211: "invalid To number",
    21408: "sending to this region is not enabled",
    21610: "recipient unsubscribed with STOP",
    21612: "the To number cannot be reached from the From number",
    21614: "To number is not a mobile number",
}

# Twilio error codes that mean this message can never be sent, while the number can
# still receive other messages.
UNDELIVERABLE_ERROR_CODES: Mapping[int, str] = {
    21655: "the ContentSid is not a valid Content template of this account",
    21656: "the ContentVariables are not a JSON object of non-empty values",
    63016: "free-form WhatsApp message outside the 24-hour window: send an approved template",
}


class MalformedForm(ValueError):
    """A webhook form with a missing required field or an invalid value."""


def public_request_url(public_base_url: str, path_qs: str) -> str:
    """Build the URL that Twilio signed from the public base URL and the request path.

    Behind a TLS-terminating proxy the app receives the request over http on an
    internal host, but Twilio signs the public https URL that it called. ``path_qs``
    is the request path with its query string, as aiohttp's ``Request.path_qs``.
    """
    return public_base_url.rstrip("/") + path_qs


def signature_valid(
    auth_token: str, url: str, params: Mapping[str, str], signature: str | None
) -> bool:
    """Check the X-Twilio-Signature header of a webhook request.

    ``url`` must be the full public URL with its query string, as public_request_url
    builds it, and ``params`` the POST form fields. A missing signature is invalid.
    """
    if not signature:
        return False
    return RequestValidator(auth_token).validate(url, dict(params), signature)


def parse_form(form: Mapping[str, str], channel: Channel = Channel.SMS) -> Inbound:
    """Parse a Twilio incoming-message webhook form into an ``Inbound``.

    ``address`` is the From number in E.164, without a ``whatsapp:`` prefix. A pressed
    WhatsApp quick-reply button (a non-empty ButtonPayload) is CHOICE with that payload.
    A message with media and an empty Body, and a WhatsApp location (Latitude or
    Longitude), are NON_TEXT. Raises MalformedForm naming the field when From or
    MessageSid is missing or From, MessageSid or NumMedia is invalid.
    """
    message_sid = form.get("MessageSid")
    if not message_sid:
        raise MalformedForm("missing MessageSid in Twilio webhook form")
    if not MESSAGE_SID_PATTERN.fullmatch(message_sid):
        raise MalformedForm("invalid MessageSid: expected 1 to 64 letters and digits")

    address = _normalize_number(form.get("From"))
    body = form.get("Body", "")

    num_media_text = form.get("NumMedia") or "0"
    try:
        num_media = int(num_media_text)
    except ValueError:
        raise MalformedForm(f"invalid NumMedia {num_media_text!r}: expected an integer") from None

    button_payload = form.get("ButtonPayload", "")
    is_location = bool(form.get("Latitude") or form.get("Longitude"))
    if button_payload:
        kind = InboundKind.CHOICE
    elif is_location or (num_media >= 1 and not body.strip()):
        kind = InboundKind.NON_TEXT
    else:
        kind = InboundKind.TEXT

    return Inbound(
        channel=channel,
        address=address,
        message_id=message_sid,
        kind=kind,
        text=body if kind is InboundKind.TEXT else "",
        payload=button_payload if kind is InboundKind.CHOICE else "",
    )


def _normalize_number(raw: str | None) -> str:
    if not raw:
        raise MalformedForm("missing From in Twilio webhook form")

    number = raw.removeprefix(WHATSAPP_PREFIX)
    try:
        parsed = phonenumbers.parse(number, DEFAULT_REGION)
    except phonenumbers.NumberParseException as error:
        raise MalformedForm(f"invalid From {raw!r}: {error}") from error

    # is_possible_number checks the length for the country, so short codes and
    # alphanumeric sender ids are rejected while new number ranges still pass.
    if not phonenumbers.is_possible_number(parsed):
        raise MalformedForm(f"invalid From {raw!r}: not a possible phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def empty_twiml() -> str:
    """Return an empty TwiML response, so that Twilio sends no reply."""
    return str(MessagingResponse())


class _PinnedHttpClient(AsyncTwilioHttpClient):
    """Twilio HTTP client that rejects any URL outside ``base_url``.

    The twilio library builds each URL from a domain's base_url, and the Client can
    rewrite the host for the TWILIO_EDGE and TWILIO_REGION settings. This check keeps
    every request on the configured host, such as a test server.
    """

    def __init__(self, base_url: str) -> None:
        # Without pooled connections the parent creates no session here, which would
        # need a running event loop. TwilioMessagesClient.start sets the session instead.
        super().__init__(pool_connections=False)
        self._base_url = base_url.rstrip("/") + "/"

    async def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        if not url.startswith(self._base_url):
            raise ValueError(f"rejected Twilio request to {url}: outside {self._base_url}")
        return await super().request(method, url, *args, **kwargs)


class TwilioMessagesClient:
    """Base of the senders that create messages through the Twilio Messages API.

    ``api_url`` is the API's scheme and host, and ``timeout`` the maximum time in
    seconds for one request, connection included. When ``status_callback`` is set,
    Twilio posts every status change of each message to that URL.
    """

    # The kind of message in error messages, such as "SMS".
    message_kind = "message"

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        api_url: str = "https://api.twilio.com",
        *,
        timeout: float = PROVIDER_TIMEOUT_SECONDS,
        status_callback: str | None = None,
    ) -> None:
        self._timeout = timeout
        self._status_callback = status_callback
        self._http_client = _PinnedHttpClient(api_url)
        self._client = Client(account_sid, auth_token, http_client=self._http_client)
        # The Client reads the edge and region from TWILIO_EDGE and TWILIO_REGION and
        # would then rewrite the host of every request.
        self._client.edge = None
        self._client.region = None
        # The Messages resource belongs to the Api domain, whose base_url is the
        # scheme and host that every URL of this client starts with.
        self._client.api.base_url = api_url.rstrip("/")

    async def start(self) -> None:
        """Open the HTTP session. ``send`` calls this itself when needed."""
        if self._http_client.session is None:
            timeout = aiohttp.ClientTimeout(total=self._timeout)
            self._http_client.session = aiohttp.ClientSession(timeout=timeout)

    async def close(self) -> None:
        """Close the HTTP session."""
        await self._http_client.close()
        self._http_client.session = None

    async def _create_message(self, to: str, **params: str) -> str:
        """Create a message to ``to`` with the Messages API parameters ``params`` (the
        twilio library's names, such as ``from_`` and ``body``) and return its MessageSid.

        Raises PermanentDeliveryError, UndeliverableMessageError or
        TransientDeliveryError when sending fails, and re-raises a 401 unchanged.
        """
        if self._status_callback is not None:
            params["status_callback"] = self._status_callback

        await self.start()
        try:
            created = await self._client.messages.create_async(to=to, **params)
        except (TwilioRestException, TwilioServiceException) as error:
            delivery_error = _delivery_error(error, self.message_kind, to)
            if delivery_error is None:
                raise
            raise delivery_error from error
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:
            raise TransientDeliveryError(
                f"sending {self.message_kind} to {to} failed: {type(error).__name__}: {error}",
                code="network",
            ) from error
        return created.sid


class TwilioSmsSender(TwilioMessagesClient):
    """Sender for SMS through the Twilio Messages API at ``api_url``.

    ``timeout`` is the maximum time in seconds for one request, connection included.
    When ``status_callback`` is set, Twilio posts every status change of each message
    to that URL.
    """

    message_kind = "SMS"

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        from_number: str,
        api_url: str = "https://api.twilio.com",
        *,
        timeout: float = PROVIDER_TIMEOUT_SECONDS,
        status_callback: str | None = None,
    ) -> None:
        super().__init__(
            account_sid,
            auth_token,
            api_url,
            timeout=timeout,
            status_callback=status_callback,
        )
        self._from_number = from_number

    async def send(self, message: Outbound) -> str:
        """Send ``message`` with its choices as numbered lines and return the MessageSid.

        Raises ValueError when the rendered body is over 1600 characters, and
        PermanentDeliveryError or TransientDeliveryError when sending fails.
        """
        body = render_numbered(message)
        if len(body) > MAX_BODY_LENGTH:
            raise ValueError(
                f"SMS body is {len(body)} characters, "
                f"over the Twilio limit of {MAX_BODY_LENGTH}"
            )
        return await self._create_message(message.address, from_=self._from_number, body=body)


def _delivery_error(
    error: TwilioRestException | TwilioServiceException, message_kind: str, to: str
) -> DeliveryError | None:
    """Map a Twilio API error to a delivery error, or return None to re-raise it unchanged.

    401 returns None because a wrong Account SID or Auth Token is not about the number
    and must not mark it as unreachable.
    """
    status = error.status
    code = str(error.code or status)
    detail = error.msg if isinstance(error, TwilioRestException) else error.title
    error_message = (
        f"sending {message_kind} to {to} failed with HTTP {status}, Twilio error {code}: {detail}"
    )

    if status == 429 or status >= 500:
        return TransientDeliveryError(error_message, code=code)
    if error.code in PERMANENT_ERROR_CODES:
        return PermanentDeliveryError(
            f"{error_message} ({PERMANENT_ERROR_CODES[error.code]})", code=code
        )
    if error.code in UNDELIVERABLE_ERROR_CODES:
        return UndeliverableMessageError(
            f"{error_message} ({UNDELIVERABLE_ERROR_CODES[error.code]})", code=code
        )
    if status == 401:
        return None
    if 400 <= status < 500:
        return PermanentDeliveryError(error_message, code=code)
    return None
