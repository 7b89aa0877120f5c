"""A per-address limit on inbound messages, so that one flooding sender cannot take the
webhooks' and the store's time from every other resident.

Each (channel, address) pair has a token bucket with room for ``per_minute`` messages,
which refills at ``per_minute`` messages a minute. So an address may send a burst of
``per_minute`` messages and then one every ``60 / per_minute`` seconds; in any 60 seconds
at most ``2 * per_minute`` get through. A message that finds its bucket empty is dropped:
the webhook answers it as handled, so the provider does not send it again, and the engine
never sees it.

NOTE: the buckets live in the memory of one process. Each ``chatpanel serve`` process
behind a load balancer allows ``per_minute`` on its own, and a restart forgets them.
"""

from __future__ import annotations

import logging
import time
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from bot.logs import address_tag

log = logging.getLogger(__name__)

__all__ = ["DEFAULT_MAX_ADDRESSES", "WINDOW_SECONDS", "InboundLimiter"]

Clock = Callable[[], float]
Key = tuple[str, str]

WINDOW_SECONDS = 60.0
# About 200 bytes of state per address, so 100,000 addresses take about 20 MB.
DEFAULT_MAX_ADDRESSES = 100_000


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated_at: float


@dataclass(slots=True)
class _DropWindow:
    """Messages of one address dropped since ``started_at``, not yet logged."""

    started_at: float
    count: int = 0


class InboundLimiter:
    """Decide per (channel, address) whether an inbound message is processed or dropped.

    ``per_minute`` 0 turns the limit off. ``clock`` returns seconds on a clock that never
    goes back (tests pass one they control). At most ``max_addresses`` addresses are
    tracked: the one used longest ago is forgotten first, and an address unused for a
    minute is forgotten anyway, because its bucket is full again by then.

    Drops are logged as one WARNING per address per minute, with the number dropped in
    that minute. The address appears only by its tag (bot.logs.address_tag), the same as
    in the engine's log lines of that process. ``dropped`` counts the drops per channel
    since the start.
    """

    def __init__(self, per_minute: int, *, clock: Clock = time.monotonic, max_addresses: int = DEFAULT_MAX_ADDRESSES) -> None:
        if per_minute < 0:
            raise ValueError(f"invalid per_minute {per_minute!r}: give 0 (off) or more messages a minute")
        if max_addresses < 1:
            raise ValueError(f"invalid max_addresses {max_addresses!r}: give 1 or more")
        self.per_minute = per_minute
        self.dropped: Counter[str] = Counter()
        self._clock = clock
        self._max_addresses = max_addresses
        self._refill_per_second = per_minute / WINDOW_SECONDS
        # Both are in order of last use (buckets) and of first drop (windows).
        self._buckets: OrderedDict[Key, _Bucket] = OrderedDict()
        self._drop_windows: OrderedDict[Key, _DropWindow] = OrderedDict()

    @property
    def enabled(self) -> bool:
        return self.per_minute > 0

    @property
    def tracked_addresses(self) -> int:
        """The number of addresses whose bucket is kept in memory."""
        return len(self._buckets)

    def allow(self, channel: str, address: str) -> bool:
        """Take one message of ``address`` on ``channel`` from its bucket.

        Returns True when the message may be processed, and False when it is dropped
        (counted, and logged with the others of its minute). Always True when the limit
        is off.
        """
        if not self.enabled:
            return True
        now = self._clock()
        self.report_due(now)
        self._forget_idle(now)

        key = (channel, address)
        bucket = self._take_bucket(key, now)
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return True

        self.dropped[channel] += 1
        window = self._drop_windows.get(key)
        if window is None:
            window = self._drop_windows[key] = _DropWindow(started_at=now)
        window.count += 1
        return False

    def report_due(self, now: float | None = None) -> None:
        """Log the drop count of every address whose minute of drops has ended."""
        now = self._clock() if now is None else now
        while self._drop_windows:
            key, window = next(iter(self._drop_windows.items()))
            if now - window.started_at < WINDOW_SECONDS and len(self._drop_windows) <= self._max_addresses:
                break
            del self._drop_windows[key]
            self._log_drops(key, window)

    def report_all(self) -> None:
        """Log the drop counts of every address now, as at shutdown."""
        while self._drop_windows:
            key, window = self._drop_windows.popitem(last=False)
            self._log_drops(key, window)

    def _take_bucket(self, key: Key, now: float) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(tokens=float(self.per_minute), updated_at=now)
            while len(self._buckets) > self._max_addresses:
                self._buckets.popitem(last=False)
            return bucket

        self._buckets.move_to_end(key)
        elapsed = max(0.0, now - bucket.updated_at)
        bucket.tokens = min(float(self.per_minute), bucket.tokens + elapsed * self._refill_per_second)
        bucket.updated_at = now
        return bucket

    def _forget_idle(self, now: float) -> None:
        # A bucket unused for a whole window is full again, the same as a new one.
        while self._buckets:
            key, bucket = next(iter(self._buckets.items()))
            if now - bucket.updated_at < WINDOW_SECONDS:
                break
            del self._buckets[key]

    def _log_drops(self, key: Key, window: _DropWindow) -> None:
        channel, address = key
        log.warning(
            "inbound limit: dropped %d %s message(s) from address %s in the last minute (limit %d a minute)",
            window.count,
            channel,
            address_tag(channel, address),
            self.per_minute,
        )
