"""A fake Telegram Bot API with getMe, sendMessage and answerCallbackQuery.

Responses follow the Bot API shapes: {"ok": true, "result": ...} on success and
{"ok": false, "error_code": ..., "description": ..., "parameters": {...}} on errors.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict, deque
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


class FakeTelegramApi(LoopbackServer):
    """Fake Bot API for the bot with ``token``. Point a Bot at ``url + "/bot"``.

    ``calls`` records every request to a known method. ``sent`` and
    ``answered_callback_queries`` record only the successful ones. The fail_* methods
    make the next sendMessage requests for one chat fail.
    """

    def __init__(self, token: str = DEFAULT_TOKEN, bot_username: str = "chatpanel_test_bot"):
        super().__init__()
        self.token = token
        self.bot_username = bot_username
        self.calls: list[RecordedCall] = []
        self.sent: list[SentMessage] = []
        self.answered_callback_queries: list[str] = []
        self._failures: dict[str, deque[_InjectedFailure]] = defaultdict(deque)
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
        return handler(params)

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
        chat_id = str(params.get("chat_id", ""))
        text = params.get("text", "")
        if not chat_id:
            return _error(400, "Bad Request: chat_id is empty")

        failures = self._failures.get(chat_id)
        if failures:
            failure = failures[0]
            failure.remaining -= 1
            if failure.remaining <= 0:
                failures.popleft()
            return _error(failure.status, failure.description, failure.parameters)

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
