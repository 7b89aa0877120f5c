"""Segments: which residents a published survey invites.

A segment selects by language, channel, postcode range and age band. An empty segment
selects everyone. It is stored on the survey as JSON, in the form ``to_json`` returns.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, or_

from bot.channels.types import Channel
from bot.profile import AGE_BANDS
from bot.settings import SUPPORTED_LOCALES
from store.models import Address, Conversation, Resident

_POSTCODE_RANGE = re.compile(r"([1-9][0-9]{3})(?:-([1-9][0-9]{3}))?")
KEYS = ("lang", "channel", "postcode", "age")


class SegmentError(ValueError):
    """An invalid ``--segment`` value; the message names the value and the accepted form."""


@dataclass(frozen=True)
class Segment:
    languages: frozenset[str] = frozenset()
    channels: frozenset[str] = frozenset()
    # Inclusive four-digit postcode ranges, such as (2500, 2599).
    postcodes: tuple[tuple[int, int], ...] = ()
    age_bands: frozenset[str] = frozenset()

    @property
    def is_everyone(self) -> bool:
        return not (self.languages or self.channels or self.postcodes or self.age_bands)

    def to_json(self) -> dict[str, Any]:
        return {
            "lang": sorted(self.languages),
            "channel": sorted(self.channels),
            "postcode": [list(bounds) for bounds in self.postcodes],
            "age": sorted(self.age_bands),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Segment:
        data = data or {}
        return cls(
            languages=frozenset(data.get("lang", ())),
            channels=frozenset(data.get("channel", ())),
            postcodes=tuple((int(low), int(high)) for low, high in data.get("postcode", ())),
            age_bands=frozenset(data.get("age", ())),
        )

    def conditions(self) -> list[ColumnElement[bool]]:
        """Return SQL conditions on Resident, Address and Conversation for this segment.

        A resident who skipped a profile question is outside any segment on that question.
        """
        conditions: list[ColumnElement[bool]] = []
        if self.languages:
            conditions.append(Conversation.locale.in_(sorted(self.languages)))
        if self.channels:
            conditions.append(Address.channel.in_(sorted(self.channels)))
        if self.age_bands:
            conditions.append(Resident.age_band.in_(sorted(self.age_bands)))
        if self.postcodes:
            # Postcodes are stored as four digits, so comparing them as text keeps their order.
            ranges = [and_(Resident.postcode >= f"{low:04d}", Resident.postcode <= f"{high:04d}") for low, high in self.postcodes]
            conditions.append(or_(*ranges))
        return conditions

    def matches(self, resident: Resident, address: Address, locale: str) -> bool:
        """Return whether one resident, reached at ``address`` in ``locale``, is in the segment."""
        if self.languages and locale not in self.languages:
            return False
        if self.channels and address.channel not in self.channels:
            return False
        if self.age_bands and resident.age_band not in self.age_bands:
            return False
        if self.postcodes:
            if resident.postcode is None:
                return False
            code = int(resident.postcode)
            return any(low <= code <= high for low, high in self.postcodes)
        return True


def parse_segment(options: Sequence[str]) -> Segment:
    """Parse ``--segment`` options such as ``lang=nl``, ``channel=sms,telegram``,
    ``postcode=2500-2599,2611`` and ``age=16-24,65+``. Raises SegmentError."""
    values: dict[str, set[str]] = {key: set() for key in KEYS}
    for option in options:
        key, separator, raw = option.partition("=")
        key = key.strip().lower()
        if not separator or key not in values:
            raise SegmentError(f"invalid segment {option!r}: use KEY=VALUES with KEY one of {', '.join(KEYS)}")
        items = [item.strip() for item in raw.split(",") if item.strip()]
        if not items:
            raise SegmentError(f"invalid segment {option!r}: give at least one value after '='")
        values[key].update(items)

    _check(values["lang"], SUPPORTED_LOCALES, "lang")
    _check(values["channel"], [channel.value for channel in Channel if channel is not Channel.CONSOLE], "channel")
    _check(values["age"], AGE_BANDS, "age")
    return Segment(
        languages=frozenset(values["lang"]),
        channels=frozenset(values["channel"]),
        postcodes=tuple(sorted(_postcode_range(item) for item in values["postcode"])),
        age_bands=frozenset(values["age"]),
    )


def parse_channels(text: str | None, configured: Iterable[str]) -> list[str]:
    """Parse ``--channels telegram,sms,whatsapp``; None means every configured channel."""
    configured = sorted(configured)
    if text is None:
        return configured
    channels = sorted({item.strip().lower() for item in text.split(",") if item.strip()})
    unknown = [channel for channel in channels if channel not in {c.value for c in Channel} - {Channel.CONSOLE.value}]
    if unknown or not channels:
        raise SegmentError(f"invalid --channels {text!r}: use a comma-separated list of telegram, sms, whatsapp")
    return channels


def _check(items: set[str], allowed: Iterable[str], key: str) -> None:
    allowed = list(allowed)
    unknown = sorted(items - set(allowed))
    if unknown:
        raise SegmentError(f"invalid {key} value {unknown[0]!r}: use one of {', '.join(allowed)}")


def _postcode_range(item: str) -> tuple[int, int]:
    match = _POSTCODE_RANGE.fullmatch(item)
    if match is None:
        raise SegmentError(f"invalid postcode value {item!r}: use four digits or a range such as 2500-2599")
    low = int(match.group(1))
    high = int(match.group(2) or low)
    if high < low:
        raise SegmentError(f"invalid postcode range {item!r}: the first number must not be larger than the second")
    return low, high
