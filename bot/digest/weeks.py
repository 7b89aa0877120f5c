"""Digest weeks and schedules.

A digest covers one ISO week, Monday 00:00 to the next Monday 00:00 in the panel's time
zone, and goes out in the week after, at the organisation's schedule ("mon 09:00").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_SCHEDULE = "mon 09:00"
OFF = "off"
_WEEK = re.compile(r"(\d{4})-W(\d{2})")
_SCHEDULE = re.compile(r"(mon|tue|wed|thu|fri|sat|sun) ([01]\d|2[0-3]):([0-5]\d)")


class ScheduleError(ValueError):
    """An invalid week or digest schedule; the message names the value and the form expected."""


@dataclass(frozen=True)
class Week:
    year: int
    number: int

    @classmethod
    def parse(cls, text: str) -> Week:
        """Parse "2026-W49". Raise ScheduleError for another form or a week the year lacks."""
        match = _WEEK.fullmatch(text.strip())
        if match is None:
            raise ScheduleError(f"invalid week {text!r}: give an ISO week such as 2026-W49")
        year, number = int(match[1]), int(match[2])
        try:
            date.fromisocalendar(year, number, 1)
        except ValueError:
            last = date(year, 12, 28).isocalendar()[1]
            raise ScheduleError(f"invalid week {text!r}: {year} has no week {number}; give a week from 01 to {last}") from None
        return cls(year, number)

    @classmethod
    def containing(cls, day: date) -> Week:
        year, number, _ = day.isocalendar()
        return cls(year, number)

    @classmethod
    def last_complete(cls, moment: datetime, zone: ZoneInfo) -> Week:
        """Return the last week that ended at or before ``moment``."""
        return cls.containing(moment.astimezone(zone).date() - timedelta(days=7))

    def __str__(self) -> str:
        return f"{self.year}-W{self.number:02d}"

    @property
    def first_day(self) -> date:
        return date.fromisocalendar(self.year, self.number, 1)

    @property
    def last_day(self) -> date:
        return self.first_day + timedelta(days=6)

    def bounds(self, zone: ZoneInfo) -> tuple[datetime, datetime]:
        """Return the week's start and end (exclusive) as aware datetimes in ``zone``."""
        start = datetime.combine(self.first_day, time(0), zone)
        end = datetime.combine(self.first_day + timedelta(days=7), time(0), zone)
        return start, end


def parse_schedule(text: str) -> tuple[int, time] | None:
    """Parse "mon 09:00" into (weekday 0-6, local time), or "off" into None.

    Raise ScheduleError for any other text.
    """
    value = text.strip().lower()
    if value == OFF:
        return None
    match = _SCHEDULE.fullmatch(value)
    if match is None:
        raise ScheduleError(
            f"invalid digest schedule {text!r}: give a weekday and a time such as 'mon 09:00', or 'off'"
        )
    return WEEKDAYS.index(match[1]), time(int(match[2]), int(match[3]))


def cron_trigger(schedule: str, zone: ZoneInfo) -> CronTrigger | None:
    """Return the APScheduler trigger for a digest schedule, or None for "off"."""
    parsed = parse_schedule(schedule)
    if parsed is None:
        return None
    weekday, at = parsed
    return CronTrigger(day_of_week=WEEKDAYS[weekday], hour=at.hour, minute=at.minute, timezone=zone)


def latest_fire_time(schedule: str, zone: ZoneInfo, now: datetime) -> datetime | None:
    """Return the last time at or before ``now`` at which ``schedule`` fired, or None for "off"."""
    parsed = parse_schedule(schedule)
    if parsed is None:
        return None
    weekday, at = parsed
    local = now.astimezone(zone)
    day = local.date() - timedelta(days=(local.weekday() - weekday) % 7)
    fire = datetime.combine(day, at, zone)
    if fire > local:
        fire = datetime.combine(day - timedelta(days=7), at, zone)
    return fire
