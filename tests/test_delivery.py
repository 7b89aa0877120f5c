"""The delivery worker against the fake Telegram and Twilio APIs."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from bot.channels.errors import TransientDeliveryError, UndeliverableMessageError
from bot.channels.types import Channel, Outbound
from bot.channels.sender import PROVIDER_TIMEOUT_SECONDS
from bot.delivery import LEASE, MAX_BACKOFF_SECONDS, SEND_TIME_RESERVE, DeliveryWorker
from bot.runtime import build_runtime
from bot.settings import Settings
from store.db import sqlite_url
from bot.ratelimit import RateLimiter
from store.models import Address, OutboxMessage
from tests.test_ratelimit import VirtualClock

START = datetime(2026, 12, 7, 10, 0, tzinfo=timezone.utc)
CHAT = "5550001"


class Clock:
    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


async def queue(sessionmaker, channel: str, value: str, *texts: str, opted_out: bool = False, ignores_opt_out: bool = False):
    async with sessionmaker() as session, session.begin():
        address = (
            await session.execute(select(Address).where(Address.channel == channel, Address.value == value))
        ).scalar_one_or_none()
        if address is None:
            address = Address(channel=channel, value=value, opted_out_at=START if opted_out else None)
            session.add(address)
            await session.flush()
        for number, text in enumerate(texts):
            session.add(
                OutboxMessage(
                    key=f"test:{value}:{text}:{number}",
                    channel=channel,
                    address_id=address.id,
                    text=text,
                    choices=[{"number": 1, "label": "Ja", "payload": "consent|1"}],
                    ignores_opt_out=ignores_opt_out,
                    next_attempt_at=START,
                )
            )


async def rows(sessionmaker) -> list[OutboxMessage]:
    async with sessionmaker() as session:
        return list((await session.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars())


async def test_telegram_message_sent_with_buttons(db, telegram_api, telegram_sender):
    await queue(db[1], Channel.TELEGRAM, CHAT, "Doe je mee?")
    worker = DeliveryWorker(db[1], {Channel.TELEGRAM: telegram_sender}, clock=Clock())
    assert await worker.drain() == 1
    assert telegram_api.sent[0].text == "Doe je mee?"
    assert telegram_api.sent[0].reply_markup["inline_keyboard"][0][0]["callback_data"] == "consent|1"
    [row] = await rows(db[1])
    assert row.status == "sent"
    assert row.provider_message_id == str(telegram_api.sent[0].message_id)


async def test_telegram_429_waits_retry_after(db, telegram_api, telegram_sender):
    await queue(db[1], Channel.TELEGRAM, CHAT, "eerste")
    telegram_api.fail_with_retry_after(CHAT, seconds=7)
    clock = Clock()
    worker = DeliveryWorker(db[1], {Channel.TELEGRAM: telegram_sender}, clock=clock)
    assert await worker.drain() == 0
    [row] = await rows(db[1])
    assert row.status == "queued"
    assert row.error_code == "429"
    assert row.next_attempt_at == START + timedelta(seconds=7)

    clock.advance(6.9)
    assert await worker.drain() == 0
    clock.advance(0.1)
    assert await worker.drain() == 1
    assert [message.text for message in telegram_api.sent] == ["eerste"]


async def test_telegram_blocked_is_permanent(db, telegram_api, telegram_sender):
    await queue(db[1], Channel.TELEGRAM, CHAT, "hallo")
    telegram_api.fail_blocked(CHAT)
    worker = DeliveryWorker(db[1], {Channel.TELEGRAM: telegram_sender}, clock=Clock())
    await worker.drain()
    [row] = await rows(db[1])
    assert row.status == "failed"
    assert row.error_code == "403"


async def test_retry_keeps_address_order(db, telegram_api, telegram_sender):
    await queue(db[1], Channel.TELEGRAM, CHAT, "een", "twee")
    telegram_api.fail_with_retry_after(CHAT, seconds=3)
    clock = Clock()
    worker = DeliveryWorker(db[1], {Channel.TELEGRAM: telegram_sender}, clock=clock)
    await worker.drain()
    assert telegram_api.sent == []
    clock.advance(3)
    await worker.drain()
    assert [message.text for message in telegram_api.sent] == ["een", "twee"]


async def test_opted_out_address_skipped(db, telegram_api, telegram_sender):
    await queue(db[1], Channel.TELEGRAM, CHAT, "uitnodiging", opted_out=True)
    worker = DeliveryWorker(db[1], {Channel.TELEGRAM: telegram_sender}, clock=Clock())
    await worker.drain()
    [row] = await rows(db[1])
    assert telegram_api.sent == []
    assert row.status == "skipped"


async def test_stop_confirmation_reaches_opted_out(db, telegram_api, telegram_sender):
    await queue(db[1], Channel.TELEGRAM, CHAT, "Je bent afgemeld", opted_out=True, ignores_opt_out=True)
    worker = DeliveryWorker(db[1], {Channel.TELEGRAM: telegram_sender}, clock=Clock())
    await worker.drain()
    assert [message.text for message in telegram_api.sent] == ["Je bent afgemeld"]


async def test_expired_lease_is_sent_again(db, telegram_api, telegram_sender):
    await queue(db[1], Channel.TELEGRAM, CHAT, "hallo")
    clock = Clock()
    async with db[1]() as session, session.begin():
        row = (await session.execute(select(OutboxMessage))).scalar_one()
        row.status = "sending"
        row.next_attempt_at = START + LEASE
    worker = DeliveryWorker(db[1], {Channel.TELEGRAM: telegram_sender}, clock=clock)
    assert await worker.drain() == 0
    clock.advance(LEASE.total_seconds())
    assert await worker.drain() == 1


async def test_sms_sent_as_numbered_lines(db, twilio_api, twilio_sender):
    await queue(db[1], Channel.SMS, "+31612345678", "Doe je mee?")
    worker = DeliveryWorker(db[1], {Channel.SMS: twilio_sender}, clock=Clock())
    assert await worker.drain() == 1
    assert twilio_api.messages[0].body == "Doe je mee?\n1. Ja"
    [row] = await rows(db[1])
    assert row.provider_message_id == twilio_api.messages[0].sid


async def test_sms_unsubscribed_is_permanent(db, twilio_api, twilio_sender):
    await queue(db[1], Channel.SMS, "+31612345678", "hallo")
    twilio_api.fail_next_send("+31612345678", 400, 21610)
    worker = DeliveryWorker(db[1], {Channel.SMS: twilio_sender}, clock=Clock())
    await worker.drain()
    [row] = await rows(db[1])
    assert row.status == "failed"
    assert row.error_code == "21610"


async def test_sms_server_error_is_retried(db, twilio_api, twilio_sender):
    await queue(db[1], Channel.SMS, "+31612345678", "hallo")
    twilio_api.fail_next_send("+31612345678", 500, 20500)
    clock = Clock()
    worker = DeliveryWorker(db[1], {Channel.SMS: twilio_sender}, clock=clock)
    await worker.drain()
    [row] = await rows(db[1])
    assert row.status == "queued"
    assert row.attempts == 1
    clock.advance(600)
    assert await worker.drain() == 1


async def test_other_channels_left_alone(db, telegram_api, telegram_sender):
    await queue(db[1], Channel.SMS, "+31612345678", "hallo")
    worker = DeliveryWorker(db[1], {Channel.TELEGRAM: telegram_sender}, clock=Clock())
    assert await worker.drain() == 0
    [row] = await rows(db[1])
    assert row.status == "queued"


async def test_wrong_credentials_keep_message(db, twilio_api):
    from bot.channels.twilio_sms import TwilioSmsSender

    sender = TwilioSmsSender(twilio_api.account_sid, "wrong-token", "+3197010000001", api_url=twilio_api.url)
    await queue(db[1], Channel.SMS, "+31612345678", "hallo")
    clock = Clock()
    try:
        worker = DeliveryWorker(db[1], {Channel.SMS: sender}, clock=clock)
        assert await worker.drain() == 0
    finally:
        await sender.close()
    [row] = await rows(db[1])
    assert row.status == "queued"
    assert row.error_code == "unexpected"
    assert twilio_api.messages == []


async def test_invalid_message_given_up(db, telegram_api, telegram_sender):
    await queue(db[1], Channel.TELEGRAM, CHAT, "   ")
    worker = DeliveryWorker(db[1], {Channel.TELEGRAM: telegram_sender}, clock=Clock())
    await worker.drain()
    [row] = await rows(db[1])
    assert row.status == "failed"
    assert row.error_code == "invalid_message"


# Pacing, concurrency and unreachable addresses.


def telegram_limiter(clock: VirtualClock) -> RateLimiter:
    return RateLimiter(30, key_rate_per_second=1, clock=clock.monotonic, sleep=clock.sleep)


def paced_worker(db, senders, clock: VirtualClock, limiter: RateLimiter, **options) -> DeliveryWorker:
    channel = next(iter(senders))
    return DeliveryWorker(db[1], senders, clock=clock.utcnow, rate_limiters={channel: limiter}, **options)


async def address_of(sessionmaker, value: str) -> Address:
    async with sessionmaker() as session:
        return (await session.execute(select(Address).where(Address.value == value))).scalar_one()


class RecordingSender:
    """A sender that records each message and raises the next error in ``errors``, if any."""

    def __init__(self, *errors: Exception) -> None:
        self.messages: list[Outbound] = []
        self.errors = list(errors)

    async def send(self, message: Outbound) -> str:
        self.messages.append(message)
        if self.errors:
            raise self.errors.pop(0)
        return f"provider-{len(self.messages)}"

    async def close(self) -> None:
        pass


async def test_in_flight_sends_keep_address_order(db, telegram_api, telegram_sender):
    chats = ["5550011", "5550012", "5550013", "5550014"]
    for chat in chats:
        await queue(db[1], Channel.TELEGRAM, chat, f"{chat}-een", f"{chat}-twee", f"{chat}-drie")
    telegram_api.response_delay = 0.05
    clock = VirtualClock()
    worker = paced_worker(db, {Channel.TELEGRAM: telegram_sender}, clock, telegram_limiter(clock), max_in_flight=8)

    assert await worker.drain() == 12
    assert telegram_api.max_concurrent_sends == 4
    for chat in chats:
        texts = [message.text for message in telegram_api.sent if message.chat_id == chat]
        assert texts == [f"{chat}-een", f"{chat}-twee", f"{chat}-drie"], chat


async def test_chat_messages_one_second_apart(db, telegram_api, telegram_sender):
    await queue(db[1], Channel.TELEGRAM, CHAT, "een", "twee", "drie")
    clock = VirtualClock()
    telegram_api.clock = clock.monotonic
    worker = paced_worker(db, {Channel.TELEGRAM: telegram_sender}, clock, telegram_limiter(clock))
    assert await worker.drain() == 3
    assert telegram_api.sent_times == [0.0, 1.0, 2.0]


async def test_single_slot_sends_serially(db, telegram_api, telegram_sender):
    for chat in ("5550021", "5550022", "5550023"):
        await queue(db[1], Channel.TELEGRAM, chat, "hallo")
    telegram_api.response_delay = 0.02
    worker = DeliveryWorker(db[1], {Channel.TELEGRAM: telegram_sender}, clock=Clock(), max_in_flight=1)
    assert await worker.drain() == 3
    assert telegram_api.max_concurrent_sends == 1


def test_max_in_flight_must_be_positive():
    with pytest.raises(ValueError, match="max_in_flight"):
        DeliveryWorker(None, {}, max_in_flight=0)


async def test_telegram_429_pauses_whole_channel(db, telegram_api, telegram_sender):
    await queue(db[1], Channel.TELEGRAM, CHAT, "eerste")
    telegram_api.fail_with_retry_after(CHAT, seconds=7)
    clock = VirtualClock()
    telegram_api.clock = clock.monotonic
    limiter = telegram_limiter(clock)
    worker = paced_worker(db, {Channel.TELEGRAM: telegram_sender}, clock, limiter)
    assert await worker.drain() == 0
    assert limiter.paused_until == 7.0
    assert worker.counts[(Channel.TELEGRAM, "rate_limited")] == 1

    await queue(db[1], Channel.TELEGRAM, "5550031", "andere chat")
    assert await worker.drain() == 2
    assert clock.sleeps[0] == 7.0
    assert [message.text for message in telegram_api.sent] == ["andere chat", "eerste"]
    assert telegram_api.sent_times[0] == 7.0
    assert telegram_api.too_many_requests_count == 1


async def test_telegram_server_error_retried_without_pause(db, telegram_api, telegram_sender):
    await queue(db[1], Channel.TELEGRAM, CHAT, "hallo")
    telegram_api.fail_server_error(status=502)
    clock = VirtualClock()
    limiter = telegram_limiter(clock)
    worker = paced_worker(db, {Channel.TELEGRAM: telegram_sender}, clock, limiter)
    assert await worker.drain() == 0
    [row] = await rows(db[1])
    assert row.status == "queued"
    assert row.error_code == "network"
    assert limiter.paused_until == float("-inf")

    clock.now += MAX_BACKOFF_SECONDS
    assert await worker.drain() == 1


async def test_sms_429_backs_off_without_pause(db, twilio_api, twilio_sender):
    await queue(db[1], Channel.SMS, "+31612345678", "hallo")
    twilio_api.fail_next_send("+31612345678", 429, 20429)
    clock = VirtualClock()
    limiter = RateLimiter(1, clock=clock.monotonic, sleep=clock.sleep)
    worker = paced_worker(db, {Channel.SMS: twilio_sender}, clock, limiter)
    assert await worker.drain() == 0
    [row] = await rows(db[1])
    assert row.status == "queued"
    assert row.error_code == "20429"
    assert START <= row.next_attempt_at <= START + timedelta(seconds=2)
    assert limiter.paused_until == float("-inf")


async def test_lease_nearly_expired_defers_send(db, telegram_api, telegram_sender):
    await queue(db[1], Channel.TELEGRAM, CHAT, "hallo")
    clock = VirtualClock()
    limiter = telegram_limiter(clock)
    limiter.pause((LEASE - SEND_TIME_RESERVE).total_seconds() + 1)
    worker = paced_worker(db, {Channel.TELEGRAM: telegram_sender}, clock, limiter)
    assert await worker.drain() == 0
    assert telegram_api.sent == []
    assert worker.counts[(Channel.TELEGRAM, "deferred")] == 1
    [row] = await rows(db[1])
    assert row.status == "sending"

    clock.now = LEASE.total_seconds()
    assert await worker.drain() == 1


def test_default_lease_outlasts_slowest_send():
    """A send that starts with the least lease left may take the providers' whole timeout
    and still have at least 10 s to store its result before the lease ends."""
    worker = DeliveryWorker(None, {}, lease=timedelta(seconds=Settings().delivery_lease_seconds))
    time_to_store = worker.send_time_reserve - timedelta(seconds=PROVIDER_TIMEOUT_SECONDS)
    assert time_to_store >= timedelta(seconds=10)
    assert worker.lease == LEASE


@pytest.mark.parametrize(("seconds", "warned"), [(60, True), (90, False)])
def test_short_lease_setting_warns(tmp_path, caplog, seconds, warned):
    settings = Settings(database_url=sqlite_url(tmp_path / "panel.db"), delivery_lease_seconds=seconds)
    build_runtime(settings)
    warnings = [record.getMessage() for record in caplog.records if "DELIVERY_LEASE_SECONDS" in record.getMessage()]
    if warned:
        assert warnings == [
            f"DELIVERY_LEASE_SECONDS={seconds} is shorter than 90: a send that takes the providers' whole timeout of 30 s "
            "may leave too little of the lease to store its result, and the message can go twice; use 90 or more"
        ]
    else:
        assert warnings == []


async def test_stop_abandons_rate_limit_wait(db, telegram_api, telegram_sender):
    await queue(db[1], Channel.TELEGRAM, CHAT, "hallo")
    clock = VirtualClock()
    sleeping = asyncio.Event()

    async def sleep_until_cancelled(seconds: float) -> None:
        sleeping.set()
        await asyncio.Event().wait()

    limiter = RateLimiter(30, key_rate_per_second=1, clock=clock.monotonic, sleep=sleep_until_cancelled)
    limiter.pause(10)
    worker = paced_worker(db, {Channel.TELEGRAM: telegram_sender}, clock, limiter)
    stop = asyncio.Event()
    drain = asyncio.create_task(worker.drain(stop))
    await sleeping.wait()
    stop.set()
    assert await drain == 0
    assert telegram_api.sent == []
    assert worker.counts[(Channel.TELEGRAM, "deferred")] == 1


async def test_blocked_chat_skips_later_rows(db, telegram_api, telegram_sender):
    await queue(db[1], Channel.TELEGRAM, CHAT, "een", "twee", "drie")
    await queue(db[1], Channel.TELEGRAM, "5550041", "andere chat")
    telegram_api.fail_blocked(CHAT)
    clock = VirtualClock()
    worker = paced_worker(db, {Channel.TELEGRAM: telegram_sender}, clock, telegram_limiter(clock))
    assert await worker.drain() == 1

    assert [message.text for message in telegram_api.sent] == ["andere chat"]
    first, second, third, _ = await rows(db[1])
    assert first.status == "failed"
    assert first.error_code == "403"
    assert second.status == "skipped"
    assert second.error_code == "unreachable"
    assert third.status == "skipped"
    assert third.error_code == "unreachable"
    address = await address_of(db[1], CHAT)
    assert address.unreachable_at == START
    assert address.unreachable_code == "403"
    assert worker.counts[(Channel.TELEGRAM, "unreachable")] == 1
    assert worker.counts[(Channel.TELEGRAM, "skipped")] == 2


async def test_chat_not_found_marks_unreachable(db, telegram_api, telegram_sender):
    await queue(db[1], Channel.TELEGRAM, CHAT, "hallo")
    telegram_api.fail_chat_not_found(CHAT)
    worker = DeliveryWorker(db[1], {Channel.TELEGRAM: telegram_sender}, clock=Clock())
    await worker.drain()
    address = await address_of(db[1], CHAT)
    assert address.unreachable_code == "400"


async def test_sms_unsubscribed_skips_later_rows(db, twilio_api, twilio_sender):
    await queue(db[1], Channel.SMS, "+31612345678", "een", "twee")
    twilio_api.fail_next_send("+31612345678", 400, 21610)
    worker = DeliveryWorker(db[1], {Channel.SMS: twilio_sender}, clock=Clock())
    assert await worker.drain() == 0
    assert twilio_api.messages == []
    _, second = await rows(db[1])
    assert second.status == "skipped"
    assert second.error_code == "unreachable"
    address = await address_of(db[1], "+31612345678")
    assert address.unreachable_code == "21610"


async def test_unknown_twilio_code_kept(db, twilio_api, twilio_sender):
    await queue(db[1], Channel.SMS, "+31612345678", "hallo")
    twilio_api.fail_next_send("+31612345678", 400, 21999, "A code this project does not know")
    worker = DeliveryWorker(db[1], {Channel.SMS: twilio_sender}, clock=Clock())
    await worker.drain()
    [row] = await rows(db[1])
    assert row.error_code == "21999"
    address = await address_of(db[1], "+31612345678")
    assert address.unreachable_code == "21999"


async def test_stop_confirmation_skipped_when_unreachable(db, telegram_api, telegram_sender):
    await queue(db[1], Channel.TELEGRAM, CHAT, "Je bent afgemeld", opted_out=True, ignores_opt_out=True)
    async with db[1]() as session, session.begin():
        address = (await session.execute(select(Address))).scalar_one()
        address.unreachable_at = START
        address.unreachable_code = "403"
    worker = DeliveryWorker(db[1], {Channel.TELEGRAM: telegram_sender}, clock=Clock())
    await worker.drain()
    [row] = await rows(db[1])
    assert telegram_api.sent == []
    assert row.status == "skipped"
    assert row.error_code == "unreachable"


async def test_undeliverable_fails_only_that_row(db):
    await queue(db[1], Channel.WHATSAPP, "+31612345678", "buiten venster", "binnen venster")
    sender = RecordingSender(UndeliverableMessageError("no template for this locale", code="63016"))
    worker = DeliveryWorker(db[1], {Channel.WHATSAPP: sender}, clock=Clock())
    assert await worker.drain() == 1
    first, second = await rows(db[1])
    assert first.status == "failed"
    assert first.error_code == "63016"
    assert second.status == "sent"
    address = await address_of(db[1], "+31612345678")
    assert address.unreachable_at is None


async def test_invalid_message_leaves_address_reachable(db, telegram_api, telegram_sender):
    await queue(db[1], Channel.TELEGRAM, CHAT, "   ", "daarna")
    worker = DeliveryWorker(db[1], {Channel.TELEGRAM: telegram_sender}, clock=Clock())
    assert await worker.drain() == 1
    address = await address_of(db[1], CHAT)
    assert address.unreachable_at is None
    assert [message.text for message in telegram_api.sent] == ["daarna"]


async def test_outbound_carries_locale_and_template(db):
    last_inbound_at = START - timedelta(hours=30)
    async with db[1]() as session, session.begin():
        address = Address(channel=Channel.WHATSAPP, value="+31612345678", last_inbound_at=last_inbound_at)
        session.add(address)
        await session.flush()
        session.add(
            OutboxMessage(
                key="invitation:1",
                kind="invitation",
                channel=Channel.WHATSAPP,
                address_id=address.id,
                text="Doe je mee?",
                locale="en",
                template_variables={"1": "Groen in de wijk", "2": "Gemeente Den Haag"},
                next_attempt_at=START,
            )
        )
    sender = RecordingSender()
    worker = DeliveryWorker(db[1], {Channel.WHATSAPP: sender}, clock=Clock())
    assert await worker.drain() == 1
    [message] = sender.messages
    assert message.locale == "en"
    assert message.template_variables == {"1": "Groen in de wijk", "2": "Gemeente Den Haag"}
    assert message.last_inbound_at == last_inbound_at


async def test_one_retry_leaves_other_sends(db):
    await queue(db[1], Channel.WHATSAPP, "+31612345671", "een")
    await queue(db[1], Channel.WHATSAPP, "+31612345672", "twee")
    sender = RecordingSender(TransientDeliveryError("timed out", code="network"))
    worker = DeliveryWorker(db[1], {Channel.WHATSAPP: sender}, clock=Clock())
    assert await worker.drain() == 1
    assert len(sender.messages) == 2


# The fake Bot API's flood control, which the delivery benchmark relies on.


async def test_fake_flood_control_overall_limit(telegram_api, telegram_sender):
    now = [0.0]
    telegram_api.clock = lambda: now[0]
    telegram_api.enable_flood_control(max_per_second=3, max_per_chat_per_second=1)
    for chat in ("1", "2", "3"):
        await telegram_sender.send(Outbound(Channel.TELEGRAM, chat, "hallo"))
    with pytest.raises(TransientDeliveryError) as raised:
        await telegram_sender.send(Outbound(Channel.TELEGRAM, "4", "hallo"))
    assert raised.value.code == "429"
    assert raised.value.retry_after == 1
    now[0] = 1.0
    await telegram_sender.send(Outbound(Channel.TELEGRAM, "4", "hallo"))
    assert telegram_api.too_many_requests_count == 1


async def test_fake_flood_control_chat_limit(telegram_api, telegram_sender):
    now = [0.0]
    telegram_api.clock = lambda: now[0]
    telegram_api.enable_flood_control()
    await telegram_sender.send(Outbound(Channel.TELEGRAM, CHAT, "een"))
    now[0] = 0.5
    with pytest.raises(TransientDeliveryError):
        await telegram_sender.send(Outbound(Channel.TELEGRAM, CHAT, "twee"))
    await telegram_sender.send(Outbound(Channel.TELEGRAM, "5550051", "andere chat"))
    now[0] = 1.0
    await telegram_sender.send(Outbound(Channel.TELEGRAM, CHAT, "twee"))
    assert [message.text for message in telegram_api.sent] == ["een", "andere chat", "twee"]
    assert telegram_api.send_request_times == [0.0, 0.5, 0.5, 1.0]
    assert telegram_api.max_sent_per_second() == 2


async def test_held_invitation_does_not_block_reply(db, telegram_api, telegram_sender):
    await queue(db[1], Channel.TELEGRAM, CHAT, "uitnodiging")
    async with db[1]() as session, session.begin():
        invitation = (await session.execute(select(OutboxMessage))).scalar_one()
        invitation.next_attempt_at = START + timedelta(hours=10)
    await queue(db[1], Channel.TELEGRAM, CHAT, "antwoord")
    worker = DeliveryWorker(db[1], {Channel.TELEGRAM: telegram_sender}, clock=Clock())
    await worker.drain()
    assert [message.text for message in telegram_api.sent] == ["antwoord"]
