"""A fake Telegram Bot API with getMe, sendMessage and answerCallbackQuery.

Responses follow the Bot API shapes: {"ok": true, "result": ...} on success and
{"ok": false, "error_code": ..., "description": ..., "parameters": {...}} on errors.

For load tests the fake can respond slowly, fail with server errors, record when each
sendMessage request arrived, and act as Telegram's flood control (enable_flood_control).
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections import defaultdict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tests.fakes import LoopbackServer

DEFAULT_TOKEN = "123456789:AAFakeTokenForTestsOnly0123456789ab"
MAX_MESSAGE_LENGTH = 4096
MAX_CALLBACK_DATA_BYTES = 64


@dataclass(frozen=True)
class RecordedCall:
    """One request that reached a Bot API method, failed or not."""

    method: str
    params: dict[str, Any]


@dataclass(frozen=True)
class SentMessage:
    """A message that sendMessage accepted. ``reply_markup`` is the parsed JSON."""

    message_id: int
    chat_id: str
    text: str
    reply_markup: dict[str, Any] | None


@dataclass
class _InjectedFailure:
    status: int
    description: str
    parameters: dict[str, Any] | None
    remaining: int


@dataclass(frozen=True)
class _FloodControl:
    max_per_second: int
    max_per_chat_per_second: int


def max_in_window(times: Sequence[float], seconds: float = 1.0) -> int:
    """Return the maximum number of ``times`` that fall in one half-open window
    [t, t + seconds), over every start time t."""
    ordered = sorted(times)
    maximum = 0
    start = 0
    for end, time_point in enumerate(ordered):
        while ordered[start] + seconds <= time_point:
            start += 1
        maximum = max(maximum, end - start + 1)
    return maximum


class FakeTelegramApi(LoopbackServer):
    """Fake Bot API for the bot with ``token``. Point a Bot at ``url + "/bot"``.

    ``calls`` records every request to a known method. ``sent`` and
    ``answered_callback_queries`` record only the successful ones. The fail_* methods
    make the next sendMessage requests for one chat, or for any chat, fail.

    ``clock`` gives the times in seconds that ``send_request_times`` and ``sent_times``
    record and that flood control counts with. ``response_delay`` is the time in seconds
    that the fake waits before it responds to each request. ``max_concurrent_sends`` is the
    maximum number of sendMessage requests that were in progress at once.
    """

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        bot_username: str = "chatpanel_test_bot",
        *,
        clock: Callable[[], float] = time.monotonic,
    ):
        super().__init__()
        self.token = token
        self.bot_username = bot_username
        self.clock = clock
        self.calls: list[RecordedCall] = []
        self.sent: list[SentMessage] = []
        self.answered_callback_queries: list[str] = []
        # The arrival time of every sendMessage request, and of each one that was accepted.
        self.send_request_times: list[float] = []
        self.sent_times: list[float] = []
        self.too_many_requests_count = 0
        self.response_delay = 0.0
        self.concurrent_sends = 0
        self.max_concurrent_sends = 0
        self._failures: dict[str, deque[_InjectedFailure]] = defaultdict(deque)
        self._any_chat_failures: deque[_InjectedFailure] = deque()
        self._flood_control: _FloodControl | None = None
        self._recent_sends: deque[float] = deque()
        self._recent_sends_by_chat: dict[str, deque[float]] = defaultdict(deque)
        self._next_message_id = 1

    def fail_send(
        self,
        chat_id: int | str,
        status: int,
        description: str,
        parameters: dict[str, Any] | None = None,
        times: int = 1,
    ) -> None:
        """Fail the next ``times`` sendMessage requests to ``chat_id`` with an error."""
        failure = _InjectedFailure(status, description, parameters, times)
        self._failures[str(chat_id)].append(failure)

    def fail_with_retry_after(self, chat_id: int | str, seconds: int, times: int = 1) -> None:
        """Fail with 429 and ``parameters.retry_after`` as Telegram's flood control does."""
        description = f"Too Many Requests: retry after {seconds}"
        self.fail_send(chat_id, 429, description, {"retry_after": seconds}, times)

    def fail_blocked(self, chat_id: int | str, times: int = 1) -> None:
        """Fail as Telegram does for a user who blocked the bot."""
        self.fail_send(chat_id, 403, "Forbidden: bot was blocked by the user", times=times)

    def fail_chat_not_found(self, chat_id: int | str, times: int = 1) -> None:
        """Fail as Telegram does for an unknown chat id."""
        self.fail_send(chat_id, 400, "Bad Request: chat not found", times=times)

    def fail_server_error(self, chat_id: int | str | None = None, *, status: int = 502, times: int = 1) -> None:
        """Fail the next ``times`` sendMessage requests with a 5xx ``status``, for
        ``chat_id`` or, when it is None, for whichever chats come next."""
        if not 500 <= status <= 599:
            raise ValueError(f"invalid status {status}: expected a server error from 500 to 599")
        description = "Bad Gateway" if status == 502 else "Internal Server Error"
        if chat_id is None:
            self._any_chat_failures.append(_InjectedFailure(status, description, None, times))
        else:
            self.fail_send(chat_id, status, description, times=times)

    def enable_flood_control(self, max_per_second: int = 30, max_per_chat_per_second: int = 1) -> None:
        """Respond with 429 and ``retry_after``, as Telegram's flood control does, to a
        sendMessage request that would make more than ``max_per_second`` accepted
        messages in one second overall, or more than ``max_per_chat_per_second`` in one
        chat. The second is the one before the request, so a message accepted exactly one
        second earlier no longer counts. Rejected requests do not count either.
        """
        self._flood_control = _FloodControl(max_per_second, max_per_chat_per_second)

    def max_sent_per_second(self) -> int:
        """Return the maximum number of accepted messages in any one-second window."""
        return max_in_window(self.sent_times, 1.0)

    def build_app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{path:.*}", self._handle)
        return app

    async def _handle(self, request: web.Request) -> web.Response:
        prefix, _, rest = request.path.partition("/bot")
        token, _, method = rest.partition("/")
        if prefix or not token or not method:
            return _error(404, "Not Found")
        if token != self.token:
            return _error(401, "Unauthorized")

        # The Bot API treats method names case-insensitively.
        handler = {
            "getme": self._get_me,
            "sendmessage": self._send_message,
            "answercallbackquery": self._answer_callback_query,
        }.get(method.lower())
        if handler is None:
            return _error(404, "Not Found")

        try:
            params = await _read_params(request)
        except ValueError as error:
            return _error(400, f"Bad Request: {error}")
        self.calls.append(RecordedCall(method, params))
        if method.lower() != "sendmessage":
            await self._delay()
            return handler(params)

        # The message is accepted or rejected on arrival, and the response comes after the delay.
        self.concurrent_sends += 1
        self.max_concurrent_sends = max(self.max_concurrent_sends, self.concurrent_sends)
        try:
            response = handler(params)
            await self._delay()
        finally:
            self.concurrent_sends -= 1
        return response

    async def _delay(self) -> None:
        if self.response_delay > 0:
            await asyncio.sleep(self.response_delay)

    def _bot_user(self) -> dict[str, Any]:
        return {
            "id": int(self.token.split(":")[0]),
            "is_bot": True,
            "first_name": "Chatpanel Test",
            "username": self.bot_username,
        }

    def _get_me(self, params: dict[str, Any]) -> web.Response:
        user = self._bot_user() | {
            "can_join_groups": False,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }
        return _ok(user)

    def _send_message(self, params: dict[str, Any]) -> web.Response:
        now = self.clock()
        self.send_request_times.append(now)
        chat_id = str(params.get("chat_id", ""))
        text = params.get("text", "")
        if not chat_id:
            return _error(400, "Bad Request: chat_id is empty")

        for failures in (self._failures.get(chat_id), self._any_chat_failures):
            if failures:
                failure = failures[0]
                failure.remaining -= 1
                if failure.remaining <= 0:
                    failures.popleft()
                if failure.status == 429:
                    self.too_many_requests_count += 1
                return _error(failure.status, failure.description, failure.parameters)

        retry_after = self._flood_wait(chat_id, now)
        if retry_after is not None:
            self.too_many_requests_count += 1
            description = f"Too Many Requests: retry after {retry_after}"
            return _error(429, description, {"retry_after": retry_after})

        if not isinstance(text, str) or not text.strip():
            return _error(400, "Bad Request: message text is empty")
        if len(text) > MAX_MESSAGE_LENGTH:
            return _error(400, "Bad Request: message is too long")

        try:
            reply_markup = _parse_reply_markup(params.get("reply_markup"))
        except ValueError as error:
            return _error(400, f"Bad Request: {error}")

        message_id = self._next_message_id
        self._next_message_id += 1
        self.sent.append(SentMessage(message_id, chat_id, text, reply_markup))
        self.sent_times.append(now)
        if self._flood_control is not None:
            self._recent_sends.append(now)
            self._recent_sends_by_chat[chat_id].append(now)

        result: dict[str, Any] = {
            "message_id": message_id,
            "from": self._bot_user(),
            "chat": {"id": _chat_id_value(chat_id), "first_name": "Resident", "type": "private"},
            "date": int(time.time()),
            "text": text,
        }
        if reply_markup is not None:
            result["reply_markup"] = reply_markup
        return _ok(result)

    def _flood_wait(self, chat_id: str, now: float) -> int | None:
        """Return the retry_after in whole seconds for a request at ``now`` that flood
        control rejects, or None when it may go."""
        if self._flood_control is None:
            return None
        limits = (
            (self._recent_sends, self._flood_control.max_per_second),
            (self._recent_sends_by_chat[chat_id], self._flood_control.max_per_chat_per_second),
        )
        for recent, limit in limits:
            while recent and recent[0] <= now - 1.0:
                recent.popleft()
            if len(recent) >= limit:
                # The Bot API names whole seconds: the time until the oldest send in the
                # window leaves it, rounded up.
                return max(1, math.ceil(recent[0] + 1.0 - now))
        return None

    def _answer_callback_query(self, params: dict[str, Any]) -> web.Response:
        query_id = params.get("callback_query_id")
        if not query_id:
            return _error(400, "Bad Request: query_id is empty")
        self.answered_callback_queries.append(str(query_id))
        return _ok(True)


async def _read_params(request: web.Request) -> dict[str, Any]:
    """Collect the parameters from the query string and a form or JSON body."""
    params: dict[str, Any] = dict(request.query)
    if request.content_type == "application/json":
        body = await request.json()
        if not isinstance(body, dict):
            raise ValueError("request body must be a JSON object")
        params.update(body)
    elif request.can_read_body:
        form = await request.post()
        params.update({name: value for name, value in form.items() if isinstance(value, str)})
    return params


def _parse_reply_markup(value: Any) -> dict[str, Any] | None:
    """Parse reply_markup, which a form body carries as a JSON string."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise ValueError("can't parse reply keyboard markup JSON object") from None
    if not isinstance(value, dict):
        raise ValueError("can't parse reply keyboard markup JSON object")

    for row in value.get("inline_keyboard", []):
        for button in row:
            data = button.get("callback_data")
            if data is not None and len(data.encode("utf-8")) > MAX_CALLBACK_DATA_BYTES:
                raise ValueError("BUTTON_DATA_INVALID")
    return value


def _chat_id_value(chat_id: str) -> int | str:
    try:
        return int(chat_id)
    except ValueError:
        return chat_id


def _ok(result: Any) -> web.Response:
    return web.json_response({"ok": True, "result": result})


def _error(
    status: int, description: str, parameters: dict[str, Any] | None = None
) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return web.json_response(body, status=status)
