"""The delivery worker against the fake Telegram and Twilio APIs."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from bot.channels.types import Channel
from bot.delivery import LEASE, DeliveryWorker
from store.models import Address, OutboxMessage

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
