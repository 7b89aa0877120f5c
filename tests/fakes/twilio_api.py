"""A fake Twilio REST API with the Messages create endpoint, for SMS and WhatsApp.

Errors use Twilio's JSON shape: {"code": ..., "message": ..., "more_info": ...,
"status": ...}. Every other path returns 404 in the same shape.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import format_datetime
from typing import Any

from aiohttp import BasicAuth, hdrs, web

from bot.channels.sms_segments import segment_count
from tests.fakes import LoopbackServer

DEFAULT_ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
DEFAULT_AUTH_TOKEN = "fake-auth-token-for-tests"
API_VERSION = "2010-04-01"
MAX_BODY_LENGTH = 1600
WHATSAPP_PREFIX = "whatsapp:"
_CONTENT_SID = re.compile(r"HX[0-9a-fA-F]{32}")

# Messages that Twilio returns with these error codes, used when a test names none.
_DEFAULT_ERROR_MESSAGES = {
    20003: "Authenticate",
    20404: "The requested resource was not found",
    20429: "Too Many Requests",
    20500: "An internal server error has occurred",
    21211: "The 'To' number is not a valid phone number.",
    21408: (
        "Permission to send an SMS has not been enabled for the region indicated by the "
        "'To' number"
    ),
    21602: "Message body is required.",
    21603: "A 'From' phone number is required.",
    21604: "A 'To' phone number is required.",
    21610: "Attempt to send to unsubscribed recipient",
    21612: "The 'To' phone number is not currently reachable via SMS.",
    21614: "'To' number is not a valid mobile number",
    21617: "The concatenated message body exceeds the 1600 character limit.",
    21654: "ContentVariables were given without a ContentSid.",
    21655: "The ContentSid is invalid.",
    21656: "The ContentVariables parameter is invalid.",
    63016: (
        "Failed to send a free-form message outside the allowed window. "
        "For WhatsApp, send a Message Template."
    ),
}


@dataclass(frozen=True)
class RecordedRequest:
    """One request to the fake. ``auth`` is the decoded basic auth, if any."""

    method: str
    path: str
    auth: tuple[str, str] | None
    form: dict[str, str]


@dataclass(frozen=True)
class CreatedMessage:
    """A message that the create endpoint accepted.

    ``to`` and ``from_`` are as sent, with ``whatsapp:`` for WhatsApp. A template
    message has a ``content_sid`` and its ``content_variables`` parsed from JSON.
    """

    sid: str
    account_sid: str
    to: str
    from_: str
    body: str
    content_sid: str | None = None
    content_variables: dict[str, str] | None = None
    status_callback: str | None = None


@dataclass
class _InjectedFailure:
    status: int
    code: int
    message: str
    remaining: int


class FakeTwilioApi(LoopbackServer):
    """Fake Twilio API for one account. Point the Client's Api domain at ``url``.

    ``requests`` lists every request and ``messages`` the created messages.
    ``fail_next_send`` makes the next sends to one number fail, and
    ``close_whatsapp_window`` makes free-form WhatsApp sends to a number fail with
    63016. Every response waits ``response_delay`` seconds first. ``create_times``
    holds the time.monotonic() arrival time of each create request, failed ones
    included, and ``creates_per_second`` and ``peak_creates_per_second`` count them.
    """

    def __init__(
        self,
        account_sid: str = DEFAULT_ACCOUNT_SID,
        auth_token: str = DEFAULT_AUTH_TOKEN,
        *,
        response_delay: float = 0.0,
    ):
        super().__init__()
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.response_delay = response_delay
        self.requests: list[RecordedRequest] = []
        self.messages: list[CreatedMessage] = []
        self.create_times: list[float] = []
        self._failures: dict[str, deque[_InjectedFailure]] = defaultdict(deque)
        self._closed_windows: set[str] = set()

    def fail_next_send(
        self, to: str, status: int, code: int, message: str | None = None, times: int = 1
    ) -> None:
        """Fail the next ``times`` sends to ``to`` with ``status`` and Twilio ``code``.

        ``to`` must match the To parameter exactly, so a WhatsApp number needs its
        ``whatsapp:`` prefix.
        """
        text = message or _DEFAULT_ERROR_MESSAGES.get(code, f"Error {code}")
        self._failures[to].append(_InjectedFailure(status, code, text, times))

    def close_whatsapp_window(self, number: str) -> None:
        """Reject free-form WhatsApp sends to ``number`` with HTTP 400 and error 63016.

        Template sends (with a ContentSid) still succeed. ``number`` is E.164, with
        or without the ``whatsapp:`` prefix.
        """
        self._closed_windows.add(number.removeprefix(WHATSAPP_PREFIX))

    def open_whatsapp_window(self, number: str) -> None:
        """Accept free-form WhatsApp sends to ``number`` again."""
        self._closed_windows.discard(number.removeprefix(WHATSAPP_PREFIX))

    def creates_per_second(self) -> list[int]:
        """Count the create requests in each whole second since the first one."""
        if not self.create_times:
            return []
        first = self.create_times[0]
        counts = [0] * (int(self.create_times[-1] - first) + 1)
        for arrival in self.create_times:
            counts[int(arrival - first)] += 1
        return counts

    def peak_creates_per_second(self) -> int:
        """Return the largest number of create requests within any one-second span."""
        peak = 0
        start = 0
        for end, arrival in enumerate(self.create_times):
            while arrival - self.create_times[start] >= 1.0:
                start += 1
            peak = max(peak, end - start + 1)
        return peak

    def build_app(self) -> web.Application:
        app = web.Application()
        app.router.add_post(
            f"/{API_VERSION}/Accounts/{{account_sid}}/Messages.json", self._create_message
        )
        app.router.add_route("*", "/{path:.*}", self._not_found)
        return app

    async def _not_found(self, request: web.Request) -> web.Response:
        self.requests.append(await _record(request))
        await self._wait()
        return _error(404, 20404, f"The requested resource {request.path} was not found")

    async def _wait(self) -> None:
        if self.response_delay > 0:
            await asyncio.sleep(self.response_delay)

    async def _create_message(self, request: web.Request) -> web.Response:
        self.create_times.append(time.monotonic())
        recorded = await _record(request)
        self.requests.append(recorded)
        await self._wait()

        if recorded.auth != (self.account_sid, self.auth_token):
            response = _error(401, 20003)
            response.headers[hdrs.WWW_AUTHENTICATE] = 'Basic realm="Twilio API"'
            return response
        if request.match_info["account_sid"] != self.account_sid:
            return _error(404, 20404, f"The requested resource {request.path} was not found")

        form = recorded.form
        to = form.get("To", "")
        from_ = form.get("From", "")
        body = form.get("Body", "")
        content_sid = form.get("ContentSid")
        if not to:
            return _error(400, 21604)
        if not from_ and not form.get("MessagingServiceSid"):
            return _error(400, 21603)
        if "ContentVariables" in form and not content_sid:
            return _error(400, 21654)
        if content_sid is not None and not _CONTENT_SID.fullmatch(content_sid):
            return _error(400, 21655)
        content_variables = _content_variables(form)
        if "ContentVariables" in form and content_variables is None:
            return _error(400, 21656)
        if not body and not form.get("MediaUrl") and not content_sid:
            return _error(400, 21602)
        if len(body) > MAX_BODY_LENGTH:
            return _error(400, 21617)

        failures = self._failures.get(to)
        if failures:
            failure = failures[0]
            failure.remaining -= 1
            if failure.remaining <= 0:
                failures.popleft()
            return _error(failure.status, failure.code, failure.message)

        window_closed = (
            to.startswith(WHATSAPP_PREFIX)
            and to.removeprefix(WHATSAPP_PREFIX) in self._closed_windows
        )
        if window_closed and not content_sid:
            return _error(400, 63016)

        sid = "SM" + secrets.token_hex(16)
        created = CreatedMessage(
            sid,
            self.account_sid,
            to,
            from_,
            body,
            content_sid=content_sid,
            content_variables=content_variables,
            status_callback=form.get("StatusCallback"),
        )
        self.messages.append(created)
        return web.json_response(self._message_resource(sid, form), status=201)

    def _message_resource(self, sid: str, form: dict[str, str]) -> dict[str, Any]:
        """Build the message resource JSON that Twilio returns for a queued message."""
        now = format_datetime(datetime.now(timezone.utc))
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{sid}"
        body = form.get("Body", "")
        return {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": body,
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": form.get("From"),
            "messaging_service_sid": form.get("MessagingServiceSid"),
            "num_media": "0",
            "num_segments": str(max(segment_count(body), 1)),
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "queued",
            "subresource_uris": {"media": f"{uri}/Media.json"},
            "to": form.get("To"),
            "uri": f"{uri}.json",
        }


def _content_variables(form: dict[str, str]) -> dict[str, str] | None:
    """Parse ContentVariables as Twilio accepts them: a JSON object of non-empty strings.

    Returns None when the field is missing or invalid.
    """
    raw = form.get("ContentVariables")
    if raw is None:
        return None
    try:
        variables = json.loads(raw)
    except json.JSONDecodeError:
        return None
    if not isinstance(variables, dict):
        return None
    if not all(isinstance(value, str) and value for value in variables.values()):
        return None
    return variables


async def _record(request: web.Request) -> RecordedRequest:
    auth = None
    header = request.headers.get(hdrs.AUTHORIZATION)
    if header:
        try:
            decoded = BasicAuth.decode(header)
            auth = (decoded.login, decoded.password)
        except ValueError:
            auth = None

    form = await request.post()
    fields = {name: value for name, value in form.items() if isinstance(value, str)}
    return RecordedRequest(request.method, request.path, auth, fields)


def _error(status: int, code: int, message: str | None = None) -> web.Response:
    body = {
        "code": code,
        "message": message or _DEFAULT_ERROR_MESSAGES.get(code, f"Error {code}"),
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return web.json_response(body, status=status)
