"""The rate limiter on a virtual clock: no test waits for real time to pass."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from datetime import datetime, timedelta, timezone

import pytest

from bot.channels.types import Channel
from bot.ratelimit import RateLimiter, build_rate_limiters
from bot.settings import Settings
from tests.fakes.telegram_api import max_in_window

START = datetime(2026, 12, 7, 10, 0, tzinfo=timezone.utc)
# Event loop turns that a sleeper lets pass before it checks whether it is the next to wake.
SETTLE_TURNS = 10


class VirtualClock:
    """A monotonic clock in seconds that only ``sleep`` moves forward.

    Sleepers wake in the order of the times their sleeps end, and each one moves the
    clock to that time. Before waking, a sleeper lets the event loop run SETTLE_TURNS
    turns, so that tasks which are ready to run can start their own sleeps first. The
    order is exact for tasks that only wait for each other. A task that waits for real
    I/O may start its sleep after the clock has moved past that point. ``utcnow`` is the
    same time as an aware datetime from START, for the delivery worker.
    """

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []
        self._pending: list[tuple[float, int]] = []
        self._sequence = itertools.count()

    def monotonic(self) -> float:
        return self.now

    def utcnow(self) -> datetime:
        return START + timedelta(seconds=self.now)

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        entry = (self.now + seconds, next(self._sequence))
        heapq.heappush(self._pending, entry)
        try:
            while True:
                for _ in range(SETTLE_TURNS):
                    await asyncio.sleep(0)
                if self._pending[0] == entry:
                    break
        finally:
            self._pending.remove(entry)
            heapq.heapify(self._pending)
        self.now = max(self.now, entry[0])


def limiter_on(clock: VirtualClock, rate: float, key_rate: float | None = None) -> RateLimiter:
    return RateLimiter(rate, key_rate_per_second=key_rate, clock=clock.monotonic, sleep=clock.sleep)


async def grant_times(limiter: RateLimiter, keys: list[str | None]) -> list[float]:
    """Acquire once for each key, all at once, and return the grant times in key order."""
    return list(await asyncio.gather(*(limiter.acquire(key) for key in keys)))


async def test_overall_rate_never_exceeded():
    clock = VirtualClock()
    limiter = limiter_on(clock, 30, key_rate=1)
    granted = await grant_times(limiter, [f"chat{number}" for number in range(200)])
    assert max_in_window(granted, 1.0) == 30


async def test_overall_sends_evenly_spaced():
    clock = VirtualClock()
    limiter = limiter_on(clock, 30)
    granted = sorted(await grant_times(limiter, [None] * 91))
    gaps = [later - earlier for earlier, later in zip(granted, granted[1:])]
    assert min(gaps) == pytest.approx(1 / 30)
    assert max(gaps) == pytest.approx(1 / 30)
    assert granted[-1] == pytest.approx(3.0)


async def test_overall_window_exact_at_boundary():
    clock = VirtualClock()
    limiter = limiter_on(clock, 30)
    granted = sorted(await grant_times(limiter, [None] * 31))
    # Thirty steps of 1/30 can add up to just under one second, but the 31st grant must not.
    assert granted[30] >= granted[0] + 1.0


async def test_chat_rate_one_per_second():
    clock = VirtualClock()
    limiter = limiter_on(clock, 30, key_rate=1)
    granted = await grant_times(limiter, ["chat"] * 5)
    assert granted == [0.0, 1.0, 2.0, 3.0, 4.0]


async def test_waiting_chat_does_not_block_others():
    clock = VirtualClock()
    limiter = limiter_on(clock, 30, key_rate=1)
    granted = await grant_times(limiter, ["busy", "busy", "other"])
    assert granted[0] == 0.0
    assert granted[1] == 1.0
    assert granted[2] == pytest.approx(1 / 30)


async def test_pause_delays_next_grant():
    clock = VirtualClock()
    limiter = limiter_on(clock, 30, key_rate=1)
    await limiter.acquire("first")
    limiter.pause(7)
    assert await limiter.acquire("second") == 7.0
    assert clock.sleeps == [7.0]


async def test_shorter_pause_keeps_longer():
    clock = VirtualClock()
    limiter = limiter_on(clock, 30)
    limiter.pause(7)
    limiter.pause(2)
    assert limiter.paused_until == 7.0


async def test_pause_during_wait_extends_it():
    clock = VirtualClock()
    limiter = limiter_on(clock, 1)
    await limiter.acquire()
    waiting = asyncio.create_task(limiter.acquire())
    await asyncio.sleep(0)
    limiter.pause(5)
    assert await waiting == 5.0


async def test_cancelled_wait_takes_no_grant():
    clock = VirtualClock()
    never = asyncio.Event()

    async def sleep_forever(seconds: float) -> None:
        await never.wait()

    limiter = RateLimiter(1, clock=clock.monotonic, sleep=sleep_forever)
    await limiter.acquire()
    waiting = asyncio.create_task(limiter.acquire())
    await asyncio.sleep(0)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    clock.now = 1.0
    assert await limiter.acquire() == 1.0


async def test_slow_rate_spaces_by_interval():
    clock = VirtualClock()
    limiter = limiter_on(clock, 0.5)
    assert await grant_times(limiter, [None] * 3) == [0.0, 2.0, 4.0]


@pytest.mark.parametrize("rate", [0, -1.0])
def test_invalid_rate_rejected(rate):
    with pytest.raises(ValueError, match="invalid rate"):
        RateLimiter(rate)


def test_invalid_key_rate_rejected():
    with pytest.raises(ValueError, match="invalid rate"):
        RateLimiter(30, key_rate_per_second=0)


async def test_idle_chats_forgotten():
    clock = VirtualClock()
    limiter = limiter_on(clock, 10_000, key_rate=1)
    await grant_times(limiter, [f"old{number}" for number in range(1500)])
    clock.now += 2
    await grant_times(limiter, [f"new{number}" for number in range(600)])
    assert limiter.tracked_keys == 600


def twilio_settings(**values) -> Settings:
    return Settings(twilio_account_sid="AC" + "0" * 32, twilio_auth_token="token", **values)


async def test_twilio_one_per_second_per_sender():
    clock = VirtualClock()
    settings = twilio_settings(twilio_sms_from="+3197010000001")
    limiter = build_rate_limiters(settings, clock=clock.monotonic, sleep=clock.sleep)[Channel.SMS]
    granted = await grant_times(limiter, ["+31612345671", "+31612345672", "+31612345673"])
    assert granted == [0.0, 1.0, 2.0]


async def test_twilio_shared_sender_shares_limiter():
    settings = twilio_settings(twilio_sms_from="+3197010000001", twilio_whatsapp_from="+3197010000001")
    limiters = build_rate_limiters(settings)
    assert limiters[Channel.SMS] is limiters[Channel.WHATSAPP]


async def test_twilio_separate_senders_separate_limiters():
    settings = twilio_settings(twilio_sms_from="+3197010000001", twilio_whatsapp_from="+3197010000002")
    limiters = build_rate_limiters(settings)
    assert limiters[Channel.SMS] is not limiters[Channel.WHATSAPP]


async def test_configured_rates_used():
    clock = VirtualClock()
    settings = Settings(telegram_token="1:" + "a" * 30, telegram_rate_per_second=10, telegram_chat_rate_per_second=0.5)
    limiter = build_rate_limiters(settings, clock=clock.monotonic, sleep=clock.sleep)[Channel.TELEGRAM]
    granted = await grant_times(limiter, ["chat", "other", "chat"])
    assert granted == [0.0, pytest.approx(0.1), 2.0]


def test_unconfigured_channels_have_no_limiter():
    assert build_rate_limiters(Settings()) == {}


def test_max_in_window_half_open():
    assert max_in_window([0.0, 0.5, 1.0, 1.5]) == 2
    assert max_in_window([0.0, 0.2, 0.4, 0.99]) == 4
    assert max_in_window([]) == 0
