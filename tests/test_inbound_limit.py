"""The per-address inbound limit: the limiter with a clock the tests control, and end to
end through the webhooks with the store on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import logging

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bot.inbound_limit import WINDOW_SECONDS, InboundLimiter
from bot.logs import address_tag
from bot.runtime import build_runtime
from bot.settings import Settings, SettingsError, load_settings
from bot.web import RUNTIME, create_app
from store.models import InboundMessage
from tests.fakes.payloads import sign_twilio, telegram_text_update, twilio_sms_form
from tests.panel_app import PUBLIC_URL, fake_api_settings, start_panel

SECRET = "webhook-secret-0123456789"
SMS_PATH = "/webhooks/twilio/sms"
FLOODER_CHAT_ID = 5550001
FLOODER_NUMBER = "+31612345678"


class FakeClock:
    """A monotonic clock that moves only when the test advances it."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def drop_lines(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == "bot.inbound_limit"]


# The limiter on its own


def test_allows_per_minute_then_drops():
    limiter = InboundLimiter(3, clock=FakeClock())
    decisions = [limiter.allow("sms", FLOODER_NUMBER) for _ in range(5)]
    assert decisions == [True, True, True, False, False]
    assert limiter.dropped["sms"] == 2


def test_bucket_refills_one_message_per_interval():
    clock = FakeClock()
    limiter = InboundLimiter(20, clock=clock)
    for _ in range(20):
        assert limiter.allow("telegram", "42")
    assert not limiter.allow("telegram", "42")
    clock.advance(2.9)
    assert not limiter.allow("telegram", "42")
    # 20 a minute refills one message every 3 seconds.
    clock.advance(0.2)
    assert limiter.allow("telegram", "42")
    assert not limiter.allow("telegram", "42")


def test_bucket_never_holds_more_than_per_minute():
    clock = FakeClock()
    limiter = InboundLimiter(5, clock=clock)
    limiter.allow("sms", FLOODER_NUMBER)
    clock.advance(3600)
    decisions = [limiter.allow("sms", FLOODER_NUMBER) for _ in range(6)]
    assert decisions == [True] * 5 + [False]


def test_clock_going_back_adds_nothing():
    clock = FakeClock()
    limiter = InboundLimiter(2, clock=clock)
    assert limiter.allow("sms", FLOODER_NUMBER)
    assert limiter.allow("sms", FLOODER_NUMBER)
    clock.advance(-30)
    assert not limiter.allow("sms", FLOODER_NUMBER)


def test_addresses_have_their_own_buckets():
    limiter = InboundLimiter(2, clock=FakeClock())
    for _ in range(10):
        limiter.allow("sms", FLOODER_NUMBER)
    assert limiter.allow("sms", "+31687654321")
    assert limiter.allow("sms", "+31687654321")


def test_channel_is_part_of_the_key():
    limiter = InboundLimiter(1, clock=FakeClock())
    assert limiter.allow("sms", FLOODER_NUMBER)
    assert not limiter.allow("sms", FLOODER_NUMBER)
    assert limiter.allow("whatsapp", FLOODER_NUMBER)


def test_zero_turns_limit_off():
    limiter = InboundLimiter(0, clock=FakeClock())
    assert not limiter.enabled
    assert all(limiter.allow("sms", FLOODER_NUMBER) for _ in range(1000))
    assert limiter.tracked_addresses == 0
    assert sum(limiter.dropped.values()) == 0


def test_idle_addresses_forgotten():
    clock = FakeClock()
    limiter = InboundLimiter(5, clock=clock)
    for number in range(100):
        limiter.allow("sms", f"+316{number:08d}")
    assert limiter.tracked_addresses == 100
    clock.advance(WINDOW_SECONDS)
    limiter.allow("sms", FLOODER_NUMBER)
    assert limiter.tracked_addresses == 1


def test_recently_used_address_kept():
    clock = FakeClock()
    limiter = InboundLimiter(5, clock=clock)
    limiter.allow("sms", "+31600000001")
    clock.advance(WINDOW_SECONDS - 1)
    limiter.allow("sms", FLOODER_NUMBER)
    assert limiter.tracked_addresses == 2


def test_tracked_addresses_capped():
    limiter = InboundLimiter(1, clock=FakeClock(), max_addresses=3)
    for number in range(10):
        limiter.allow("sms", f"+316{number:08d}")
    assert limiter.tracked_addresses == 3


def test_cap_forgets_least_recently_used():
    limiter = InboundLimiter(1, clock=FakeClock(), max_addresses=2)
    limiter.allow("sms", "+31600000001")
    limiter.allow("sms", "+31600000002")
    # Using 01 again makes 02 the one used longest ago, so 03 pushes 02 out.
    assert not limiter.allow("sms", "+31600000001")
    limiter.allow("sms", "+31600000003")
    assert not limiter.allow("sms", "+31600000001")
    assert limiter.allow("sms", "+31600000002")


@pytest.mark.parametrize(("per_minute", "max_addresses"), [(-1, 10), (5, 0)])
def test_invalid_arguments_rejected(per_minute, max_addresses):
    with pytest.raises(ValueError, match="invalid"):
        InboundLimiter(per_minute, max_addresses=max_addresses)


def test_drops_logged_once_per_minute(caplog):
    caplog.set_level(logging.WARNING, logger="bot.inbound_limit")
    clock = FakeClock()
    limiter = InboundLimiter(2, clock=clock)
    for _ in range(52):
        limiter.allow("sms", FLOODER_NUMBER)
        clock.advance(0.5)
    assert drop_lines(caplog) == []

    clock.advance(WINDOW_SECONDS)
    limiter.report_due()
    lines = drop_lines(caplog)
    assert len(lines) == 1
    # 2 a minute refills one message every 30 s, so of 52 messages in 26 s only the 2 in
    # the full bucket get through.
    assert "dropped 50 sms message(s)" in lines[0]
    assert address_tag("sms", FLOODER_NUMBER) in lines[0]
    assert "limit 2 a minute" in lines[0]


def test_drop_line_per_address_and_window(caplog):
    caplog.set_level(logging.WARNING, logger="bot.inbound_limit")
    clock = FakeClock()
    limiter = InboundLimiter(1, clock=clock)
    for address in ("+31600000001", "+31600000002"):
        for _ in range(4):
            limiter.allow("sms", address)
    clock.advance(WINDOW_SECONDS)
    for _ in range(2):
        limiter.allow("sms", "+31600000001")
    lines = drop_lines(caplog)
    assert len(lines) == 2
    assert all("dropped 3 sms message(s)" in line for line in lines)

    # The flood goes on: its second minute gets a line of its own.
    clock.advance(WINDOW_SECONDS)
    limiter.report_due()
    lines = drop_lines(caplog)
    assert len(lines) == 3
    assert "dropped 1 sms message(s)" in lines[2]


def test_drop_lines_never_name_address(caplog):
    caplog.set_level(logging.DEBUG)
    clock = FakeClock()
    limiter = InboundLimiter(1, clock=clock)
    for address in (FLOODER_NUMBER, str(FLOODER_CHAT_ID)):
        for _ in range(3):
            limiter.allow("telegram", address)
    limiter.report_all()
    assert len(drop_lines(caplog)) == 2
    assert FLOODER_NUMBER not in caplog.text
    assert FLOODER_NUMBER[1:] not in caplog.text
    assert str(FLOODER_CHAT_ID) not in caplog.text


def test_report_all_logs_pending_drops(caplog):
    caplog.set_level(logging.WARNING, logger="bot.inbound_limit")
    limiter = InboundLimiter(1, clock=FakeClock())
    for _ in range(3):
        limiter.allow("whatsapp", FLOODER_NUMBER)
    limiter.report_all()
    lines = drop_lines(caplog)
    assert len(lines) == 1
    assert "dropped 2 whatsapp message(s)" in lines[0]


# The setting


def test_setting_default_and_off(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert load_settings(environ={}).inbound_per_minute == 20
    assert load_settings(environ={"CHATPANEL_INBOUND_PER_MINUTE": "0"}).inbound_per_minute == 0


@pytest.mark.parametrize("value", ["-1", "many", "2.5"])
def test_setting_invalid_value(tmp_path, monkeypatch, value):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SettingsError, match="CHATPANEL_INBOUND_PER_MINUTE: invalid value"):
        load_settings(environ={"CHATPANEL_INBOUND_PER_MINUTE": value})


# End to end through the webhooks


async def start_limited_panel(settings: Settings, limiter: InboundLimiter) -> TestClient:
    settings.require_for_serving()
    runtime = build_runtime(settings)
    runtime.run_worker = False
    client = TestClient(TestServer(create_app(runtime, limiter), host="127.0.0.1"))
    await client.start_server()
    return client


async def processed_ids(client: TestClient, channel: str) -> set[str]:
    """Return the message ids of ``channel`` that the processor claimed in the store."""
    runtime = client.server.app[RUNTIME]
    async with runtime.sessionmaker() as session:
        statement = select(InboundMessage.message_id).where(InboundMessage.channel == channel)
        return set((await session.scalars(statement)).all())


async def post_telegram(client: TestClient, update_id: int, chat_id: int):
    update = telegram_text_update(update_id, chat_id, "hoi")
    return await client.post("/webhooks/telegram", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})


async def post_sms(client: TestClient, auth_token: str, message_sid: str, number: str):
    form = twilio_sms_form(message_sid, number, "hoi")
    signature = sign_twilio(auth_token, PUBLIC_URL + SMS_PATH, form)
    return await client.post(SMS_PATH, data=form, headers={"X-Twilio-Signature": signature})


@pytest.fixture
async def limited_panel(database_url, telegram_api, twilio_api):
    """A panel whose limiter allows 3 messages per address, on a clock that does not move."""
    limiter = InboundLimiter(3, clock=FakeClock())
    client = await start_limited_panel(fake_api_settings(database_url, telegram_api, twilio_api, secret=SECRET), limiter)
    try:
        yield client, limiter
    finally:
        await client.close()


async def test_telegram_drops_get_200(limited_panel):
    client, limiter = limited_panel
    statuses = [(await post_telegram(client, 100 + index, FLOODER_CHAT_ID)).status for index in range(5)]
    assert statuses == [200] * 5
    assert await processed_ids(client, "telegram") == {"100", "101", "102"}
    assert limiter.dropped["telegram"] == 2


async def test_sms_drops_get_empty_twiml(limited_panel, twilio_api):
    client, limiter = limited_panel
    for index in range(5):
        response = await post_sms(client, twilio_api.auth_token, f"SM{index:032x}", FLOODER_NUMBER)
        assert response.status == 200
        assert response.content_type == "text/xml"
        assert "<Response" in await response.text()
    assert await processed_ids(client, "sms") == {f"SM{index:032x}" for index in range(3)}
    assert limiter.dropped["sms"] == 2


async def test_rejected_requests_not_counted(limited_panel):
    client, limiter = limited_panel
    for index in range(5):
        update = telegram_text_update(200 + index, FLOODER_CHAT_ID, "hoi")
        response = await client.post("/webhooks/telegram", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "wrong-secret-000000"})
        assert response.status == 403
    assert limiter.tracked_addresses == 0
    assert (await post_telegram(client, 300, FLOODER_CHAT_ID)).status == 200
    assert await processed_ids(client, "telegram") == {"300"}


async def test_flooder_does_not_starve_others(database_url, telegram_api, twilio_api):
    # The default limit, 20 a minute, on a clock that does not move.
    limiter = InboundLimiter(Settings().inbound_per_minute, clock=FakeClock())
    settings = fake_api_settings(database_url, telegram_api, twilio_api, secret=SECRET)
    client = await start_limited_panel(settings, limiter)
    residents = [FLOODER_CHAT_ID + 1 + index for index in range(20)]
    resident_updates = {chat_id: [10_000 + 10 * index + step for step in range(3)] for index, chat_id in enumerate(residents)}
    try:
        async def flood() -> list[int]:
            return [(await post_telegram(client, 1 + index, FLOODER_CHAT_ID)).status for index in range(200)]

        async def resident(chat_id: int) -> list[int]:
            return [(await post_telegram(client, update_id, chat_id)).status for update_id in resident_updates[chat_id]]

        results = await asyncio.gather(flood(), *(resident(chat_id) for chat_id in residents))
        processed = await processed_ids(client, "telegram")
    finally:
        await client.close()

    assert all(status == 200 for statuses in results for status in statuses)
    expected = {str(update_id) for updates in resident_updates.values() for update_id in updates}
    assert expected <= processed
    assert len(processed - expected) == 20
    assert limiter.dropped["telegram"] == 180


async def test_limit_from_settings(database_url, telegram_api, twilio_api):
    settings = fake_api_settings(database_url, telegram_api, twilio_api, secret=SECRET, inbound_per_minute=2)
    client, _ = await start_panel(settings)
    try:
        statuses = [(await post_telegram(client, 400 + index, FLOODER_CHAT_ID)).status for index in range(3)]
        processed = await processed_ids(client, "telegram")
    finally:
        await client.close()
    assert statuses == [200] * 3
    # NOTE: the real monotonic clock refills one message every 30 s at 2 a minute, so this
    # holds while the three requests take less than that.
    assert processed == {"400", "401"}


async def test_drops_logged_at_shutdown(database_url, telegram_api, twilio_api, caplog):
    caplog.set_level(logging.WARNING, logger="bot.inbound_limit")
    limiter = InboundLimiter(1, clock=FakeClock())
    client = await start_limited_panel(fake_api_settings(database_url, telegram_api, twilio_api, secret=SECRET), limiter)
    try:
        for index in range(4):
            await post_telegram(client, 500 + index, FLOODER_CHAT_ID)
        assert drop_lines(caplog) == []
    finally:
        await client.close()
    lines = drop_lines(caplog)
    assert len(lines) == 1
    assert "dropped 3 telegram message(s)" in lines[0]
    assert str(FLOODER_CHAT_ID) not in caplog.text
