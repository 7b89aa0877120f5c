"""Send pacing per channel, so that the delivery worker stays within the providers' limits.

Telegram's Bots FAQ advises bots to send no more than about 30 messages a second overall
and no more than one a second within one chat, and the Bot API responds with 429 and a
``retry_after`` to a bot that exceeds its limits. Twilio channels get a rate per sender
number. The rates come from bot.settings.Settings.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bot.channels.types import Channel
from bot.settings import Settings

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

# Per-key states are swept once the table reaches this size, and again each time it doubles.
_MIN_KEY_SWEEP_SIZE = 1024


class _Spacing:
    """Grant times of one stream of sends at ``rate_per_second``.

    Consecutive grants are at least 1/rate apart. In addition, any ``count`` consecutive
    grants span at least ``count / rate`` seconds, where ``count`` is the whole part of the
    rate (at least 1). For a whole rate such as 30 that span is exactly one second, so no
    half-open window [t, t + 1) ever contains more than 30 grants, even where adding 1/30
    thirty times rounds to just under one second.
    """

    def __init__(self, rate_per_second: float) -> None:
        if not rate_per_second > 0:
            raise ValueError(f"invalid rate {rate_per_second!r}: expected a number of sends per second greater than 0")
        self.interval = 1.0 / rate_per_second
        count = max(1, math.floor(rate_per_second))
        self.span = count / rate_per_second
        self._grants: deque[float] = deque(maxlen=count)

    def earliest(self) -> float:
        """Return the earliest time at which the next grant is allowed."""
        if not self._grants:
            return -math.inf
        earliest = self._grants[-1] + self.interval
        if len(self._grants) == self._grants.maxlen:
            earliest = max(earliest, self._grants[0] + self.span)
        return earliest

    def record(self, granted_at: float) -> None:
        self._grants.append(granted_at)


@dataclass
class _KeyState:
    spacing: _Spacing
    # Serializes the sends of one key, so that each one is spaced from the grant before it.
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    waiters: int = 0


class RateLimiter:
    """Paces the sends of one channel: ``rate_per_second`` overall and, when
    ``key_rate_per_second`` is set, that rate for each key (a Telegram chat).

    Sends are spread evenly instead of in bursts: ``acquire`` waits for the next free slot
    on ``clock`` (seconds, monotonic) using ``sleep``. Callers are granted in arrival
    order, except that a key waiting for its own slot does not hold up other keys.
    Spacing is measured between the times ``acquire`` returns. How long the request
    then takes to reach the provider is outside the limiter's control.
    """

    def __init__(
        self,
        rate_per_second: float,
        *,
        key_rate_per_second: float | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._overall = _Spacing(rate_per_second)
        if key_rate_per_second is not None:
            # Validate the per-key rate now rather than at the first send.
            _Spacing(key_rate_per_second)
        self._key_rate = key_rate_per_second
        self._keys: dict[str, _KeyState] = {}
        self._next_sweep_size = _MIN_KEY_SWEEP_SIZE
        self._lock = asyncio.Lock()
        self._paused_until = -math.inf
        self._clock = clock
        self._sleep = sleep

    @property
    def paused_until(self) -> float:
        """The clock time before which no send is granted; -inf when never paused."""
        return self._paused_until

    @property
    def tracked_keys(self) -> int:
        """The number of keys whose recent grants the limiter still stores."""
        return len(self._keys)

    def pause(self, seconds: float) -> None:
        """Grant nothing for ``seconds`` from now, as a provider's ``retry_after`` requests.

        A shorter pause never ends a longer one that is already running.
        """
        self._paused_until = max(self._paused_until, self._clock() + seconds)

    async def acquire(self, key: str | None = None) -> float:
        """Wait until a send to ``key`` is allowed and return the clock time of the grant.

        The per-key rate applies only when both ``key`` and ``key_rate_per_second`` are set.
        """
        if key is None or self._key_rate is None:
            return await self._acquire_overall()

        state = self._keys.get(key)
        if state is None:
            self._sweep_keys()
            state = self._keys[key] = _KeyState(_Spacing(self._key_rate))
        state.waiters += 1
        try:
            async with state.lock:
                await self._sleep_until(state.spacing.earliest)
                granted_at = await self._acquire_overall()
                state.spacing.record(granted_at)
                return granted_at
        finally:
            state.waiters -= 1

    async def _acquire_overall(self) -> float:
        async with self._lock:
            granted_at = await self._sleep_until(lambda: max(self._overall.earliest(), self._paused_until))
            self._overall.record(granted_at)
            return granted_at

    async def _sleep_until(self, earliest: Callable[[], float]) -> float:
        """Sleep until the clock reaches ``earliest()`` and return the clock time then.

        ``earliest`` is read again after each sleep, because a pause may have moved it.
        """
        while True:
            now = self._clock()
            wait = earliest() - now
            if wait <= 0:
                return now
            await self._sleep(wait)

    def _sweep_keys(self) -> None:
        """Remove the keys without waiters whose next slot has passed."""
        if len(self._keys) < self._next_sweep_size:
            return
        now = self._clock()
        for key, state in list(self._keys.items()):
            if state.waiters == 0 and state.spacing.earliest() <= now:
                del self._keys[key]
        self._next_sweep_size = max(_MIN_KEY_SWEEP_SIZE, 2 * len(self._keys))


def build_rate_limiters(settings: Settings, *, clock: Clock = time.monotonic, sleep: Sleep = asyncio.sleep) -> dict[str, RateLimiter]:
    """Build the rate limiter of each configured channel from ``settings``.

    Telegram gets ``telegram_rate_per_second`` overall and ``telegram_chat_rate_per_second``
    per chat. SMS and WhatsApp get ``twilio_rate_per_second`` per sender number, so the
    two channels share one limiter when they send from the same number.
    """
    limiters: dict[str, RateLimiter] = {}
    if settings.telegram_enabled:
        limiters[Channel.TELEGRAM] = RateLimiter(
            settings.telegram_rate_per_second,
            key_rate_per_second=settings.telegram_chat_rate_per_second,
            clock=clock,
            sleep=sleep,
        )

    by_sender: dict[str, RateLimiter] = {}
    twilio_senders = {Channel.SMS: settings.twilio_sms_from, Channel.WHATSAPP: settings.twilio_whatsapp_from}
    for channel, sender_number in twilio_senders.items():
        if not settings.twilio_enabled or sender_number is None:
            continue
        if sender_number not in by_sender:
            by_sender[sender_number] = RateLimiter(settings.twilio_rate_per_second, clock=clock, sleep=sleep)
        limiters[channel] = by_sender[sender_number]
    return limiters
