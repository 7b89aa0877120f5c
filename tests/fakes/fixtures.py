"""Pytest fixtures for the channel fakes and senders, and a guard against real hosts.

Import the fixtures into a conftest.py or a test module to use them.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import pytest_asyncio
import telegram

from bot.channels.telegram import TelegramSender
from bot.channels.twilio_sms import TwilioSmsSender
from tests.fakes.payloads import PANEL_NUMBER
from tests.fakes.telegram_api import DEFAULT_TOKEN, FakeTelegramApi
from tests.fakes.twilio_api import FakeTwilioApi

class ExternalConnectionBlocked(RuntimeError):
    """A test tried to resolve or connect to a host outside the loopback interface."""


def _host_text(host: Any) -> str:
    # httpx passes IDNA-encoded host names as bytes.
    if isinstance(host, bytes):
        return host.decode("ascii", "replace")
    return str(host)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        # Drop an IPv6 zone id such as "%lo" before parsing.
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


@pytest.fixture
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Block name lookups and IP connections to any host outside 127.0.0.0/8 and ::1.

    A blocked attempt raises ExternalConnectionBlocked. Libraries may wrap that in
    their own network error, so the fixture also fails the test at teardown when any
    attempt was made. It yields the list of blocked hosts.
    """
    blocked: list[str] = []
    real_getaddrinfo = socket.getaddrinfo
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def check(host: Any) -> None:
        text = _host_text(host)
        if not _is_loopback(text):
            blocked.append(text)
            raise ExternalConnectionBlocked(f"tests may only connect to loopback, not {text!r}")

    def guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        # A None host means a wildcard address for a listening socket, not a connection.
        if host is not None:
            check(host)
        return real_getaddrinfo(host, *args, **kwargs)

    def guarded_connect(sock: socket.socket, address: Any) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            check(address[0])
        return real_connect(sock, address)

    def guarded_connect_ex(sock: socket.socket, address: Any) -> int:
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            check(address[0])
        return real_connect_ex(sock, address)

    monkeypatch.setattr(socket, "getaddrinfo", guarded_getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", guarded_connect_ex)
    yield blocked

    assert not blocked, f"test tried to reach hosts outside loopback: {blocked}"


@pytest_asyncio.fixture
async def telegram_api(loopback_only: list[str]) -> AsyncIterator[FakeTelegramApi]:
    """A running fake Telegram Bot API."""
    api = FakeTelegramApi()
    await api.start()
    yield api
    await api.stop()


@pytest_asyncio.fixture
async def twilio_api(loopback_only: list[str]) -> AsyncIterator[FakeTwilioApi]:
    """A running fake Twilio API."""
    api = FakeTwilioApi()
    await api.start()
    yield api
    await api.stop()


@pytest_asyncio.fixture
async def telegram_sender(telegram_api: FakeTelegramApi) -> AsyncIterator[TelegramSender]:
    """A started TelegramSender that talks to the fake Telegram API."""
    sender = TelegramSender(telegram_api.token, api_url=telegram_api.url)
    await sender.start()
    yield sender
    await sender.close()


@pytest_asyncio.fixture
async def twilio_sender(twilio_api: FakeTwilioApi) -> AsyncIterator[TwilioSmsSender]:
    """A TwilioSmsSender that talks to the fake Twilio API."""
    sender = TwilioSmsSender(
        twilio_api.account_sid,
        twilio_api.auth_token,
        PANEL_NUMBER,
        api_url=twilio_api.url,
    )
    yield sender
    await sender.close()


@pytest.fixture
def closed_port(loopback_only: list[str]) -> Iterator[int]:
    """A loopback TCP port where nothing listens, so connections to it are refused.

    The port stays bound without listening for the test, so no other process can
    take it.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.fixture
def telegram_bot(loopback_only: list[str]) -> telegram.Bot:
    """An uninitialized Bot for parse_update, which needs no requests.

    Its base URL is a loopback port, so a request made by mistake never reaches
    Telegram.
    """
    return telegram.Bot(DEFAULT_TOKEN, base_url="http://127.0.0.1:9/bot")
