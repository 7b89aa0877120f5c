"""Twilio WhatsApp channel: a Messages API sender that keeps to WhatsApp's 24-hour window.

WhatsApp accepts free-form messages from a business only within 24 hours of the
resident's last message to it (the customer service window). Outside the window only an
approved template can go, which Twilio sends as a Content template (ContentSid HX...)
filled with ContentVariables. Addresses are stored as E.164 numbers, and this sender
adds the ``whatsapp:`` prefix to To and From. Inbound webhooks use the same form as SMS,
so bot.channels.twilio_sms.parse_form parses them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone

from bot.channels.errors import UndeliverableMessageError
from bot.channels.render import render_numbered
from bot.channels.sender import PROVIDER_TIMEOUT_SECONDS
from bot.channels.twilio_sms import MAX_BODY_LENGTH, WHATSAPP_PREFIX, TwilioMessagesClient
from bot.channels.types import Outbound

log = logging.getLogger(__name__)

CUSTOMER_SERVICE_WINDOW = timedelta(hours=24)
# Twilio's error for a free-form WhatsApp message outside the customer service window.
OUTSIDE_WINDOW_ERROR_CODE = "63016"


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class TwilioWhatsAppSender(TwilioMessagesClient):
    """Sender for WhatsApp through the Twilio Messages API at ``api_url``.

    ``from_number`` is the WhatsApp sender's number in E.164, without ``whatsapp:``.
    ``templates`` maps a locale to the Content SID of its approved template, and
    ``default_locale`` names the template used for a locale without one. ``clock``
    returns the current time as an aware datetime. ``timeout`` and ``status_callback``
    work as for TwilioSmsSender.
    """

    message_kind = "WhatsApp message"

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        from_number: str,
        api_url: str = "https://api.twilio.com",
        *,
        templates: Mapping[str, str],
        default_locale: str = "nl",
        status_callback: str | None = None,
        clock: Callable[[], datetime] = _utcnow,
        timeout: float = PROVIDER_TIMEOUT_SECONDS,
    ) -> None:
        super().__init__(
            account_sid,
            auth_token,
            api_url,
            timeout=timeout,
            status_callback=status_callback,
        )
        self._from_address = WHATSAPP_PREFIX + from_number
        self._templates = dict(templates)
        self._default_locale = default_locale
        self._clock = clock
        if default_locale not in self._templates:
            log.warning(
                "no WhatsApp template for the default locale %s: outside the 24-hour "
                "window only locales with their own template can be sent; set "
                "CHATPANEL_WHATSAPP_TEMPLATE_%s",
                default_locale,
                default_locale.upper(),
            )

    async def send(self, message: Outbound) -> str:
        """Send ``message`` and return the MessageSid.

        Within 24 hours after ``message.last_inbound_at`` the text goes free-form, with
        its choices as numbered lines. Otherwise, and when Twilio rejects the free-form
        message with error 63016, the template for ``message.locale`` goes with
        ``message.template_variables``.

        Raises UndeliverableMessageError when the message has to go as a template but
        has no template variables (code "outside_window", or "63016" after the
        rejection) or no template fits its locale (code "no_template"). It is also
        raised when Twilio rejects the template or its variables (21655, 21656). Raises
        ValueError for a naive ``last_inbound_at``, an empty body or one over 1600
        characters, or invalid template variables. Raises PermanentDeliveryError or
        TransientDeliveryError when sending fails.
        """
        if not self._within_window(message.last_inbound_at):
            if message.template_variables is None:
                raise UndeliverableMessageError(
                    "WhatsApp message is outside the 24-hour window and has no template "
                    "variables, so it can only go after the resident writes again",
                    code="outside_window",
                )
            return await self._send_template(message)

        try:
            return await self._send_free_form(message)
        except UndeliverableMessageError as error:
            if error.code != OUTSIDE_WINDOW_ERROR_CODE or message.template_variables is None:
                raise
            # NOTE: Twilio usually accepts a free-form message and reports 63016 later
            # in the status callback, so this fallback covers only a synchronous 63016.
            log.info("free-form WhatsApp message rejected with 63016; sending the template instead")
        return await self._send_template(message)

    def _within_window(self, last_inbound_at: datetime | None) -> bool:
        if last_inbound_at is None:
            return False
        if last_inbound_at.tzinfo is None:
            raise ValueError(
                f"naive last_inbound_at {last_inbound_at!r}: use an aware datetime in UTC"
            )
        return self._clock() - last_inbound_at < CUSTOMER_SERVICE_WINDOW

    async def _send_free_form(self, message: Outbound) -> str:
        body = render_numbered(message)
        if not body.strip():
            raise ValueError("WhatsApp body is empty: give the message a text or choices")
        if len(body) > MAX_BODY_LENGTH:
            raise ValueError(
                f"WhatsApp body is {len(body)} characters, "
                f"over the Twilio limit of {MAX_BODY_LENGTH}"
            )
        return await self._create_message(
            WHATSAPP_PREFIX + message.address, from_=self._from_address, body=body
        )

    async def _send_template(self, message: Outbound) -> str:
        variables = _checked_variables(message.template_variables or {})
        content_sid = self._template_for(message.locale)
        return await self._create_message(
            WHATSAPP_PREFIX + message.address,
            from_=self._from_address,
            content_sid=content_sid,
            content_variables=json.dumps(variables),
        )

    def _template_for(self, locale: str | None) -> str:
        """Return the Content SID for ``locale``, else the one for the default locale."""
        if locale is not None and locale in self._templates:
            return self._templates[locale]
        if self._default_locale in self._templates:
            return self._templates[self._default_locale]
        raise UndeliverableMessageError(
            f"no WhatsApp template for locale {locale!r} or the default locale "
            f"{self._default_locale!r}: set CHATPANEL_WHATSAPP_TEMPLATE_"
            f"{self._default_locale.upper()}",
            code="no_template",
        )


def _checked_variables(variables: Mapping[str, str]) -> dict[str, str]:
    """Return ``variables`` as a dict, or raise ValueError for a value Twilio rejects.

    Twilio rejects a ContentVariables value that is empty or not a string (error 21656).
    """
    checked: dict[str, str] = {}
    for name, value in variables.items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise ValueError(
                f"invalid WhatsApp template variable {name!r} = {value!r}: "
                "names and values must be strings"
            )
        if not value:
            raise ValueError(f"empty WhatsApp template variable {name!r}: give it a value")
        checked[name] = value
    return checked
