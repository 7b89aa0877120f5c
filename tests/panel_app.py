"""Settings and a started web application for end-to-end tests against the fake
Telegram and Twilio APIs. The delivery worker and the scheduler do not run in the
background: tests drain the outbox and tick the scheduler themselves."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from aiohttp.test_utils import TestClient, TestServer

from bot.runtime import Runtime, build_runtime
from bot.settings import Settings
from bot.web import create_app
from store.models import utcnow
from tests.fakes.payloads import PANEL_NUMBER

PUBLIC_URL = "https://panel.example.nl"


def fake_api_settings(database_url: str, telegram_api, twilio_api, *, secret: str, **overrides) -> Settings:
    """Return settings for Telegram and Twilio SMS through the fakes, changed by ``overrides``."""
    values = dict(
        database_url=database_url,
        public_url=PUBLIC_URL,
        telegram_token=telegram_api.token,
        telegram_secret=secret,
        telegram_api_url=telegram_api.url,
        twilio_account_sid=twilio_api.account_sid,
        twilio_auth_token=twilio_api.auth_token,
        twilio_sms_from=PANEL_NUMBER,
        twilio_api_url=twilio_api.url,
        panel_owner="Stichting Test",
        privacy_url="https://example.org/privacy",
        # Pacing has its own tests; here it would only make each reply wait a second.
        telegram_chat_rate_per_second=1000,
        twilio_rate_per_second=1000,
    )
    values.update(overrides)
    return Settings(**values)


async def start_panel(settings: Settings, clock: Callable[[], datetime] = utcnow) -> tuple[TestClient, Runtime]:
    """Start the web application for ``settings`` on 127.0.0.1; the caller closes the client."""
    settings.require_for_serving()
    runtime = build_runtime(settings, clock=clock)
    runtime.run_worker = False
    client = TestClient(TestServer(create_app(runtime), host="127.0.0.1"))
    await client.start_server()
    return client, runtime
