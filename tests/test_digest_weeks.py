"""Digest weeks and schedules: ISO weeks, their bounds in local time, and schedule times
across the clock changes."""

from __future__ import annotations

from datetime import date, datetime, time, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.digest.weeks import ScheduleError, Week, cron_trigger, latest_fire_time, parse_schedule

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def test_week_parses_and_prints():
    week = Week.parse("2026-W49")
    assert (week.year, week.number, str(week)) == (2026, 49, "2026-W49")
    assert week.first_day == date(2026, 11, 30)
    assert week.last_day == date(2026, 12, 6)


@pytest.mark.parametrize("text", ["2026-49", "2026-W4", "W49", "2026-W49-1", ""])
def test_week_rejects_other_forms(text):
    with pytest.raises(ScheduleError, match="give an ISO week such as 2026-W49"):
        Week.parse(text)


def test_week_53_only_in_long_years():
    with pytest.raises(ScheduleError, match="2025 has no week 53"):
        Week.parse("2025-W53")
    assert Week.parse("2026-W53").first_day == date(2026, 12, 28)


def test_week_bounds_are_local_midnights():
    start, end = Week.parse("2026-W49").bounds(AMSTERDAM)
    assert start.astimezone(timezone.utc) == datetime(2026, 11, 29, 23, 0, tzinfo=timezone.utc)
    assert end.astimezone(timezone.utc) == datetime(2026, 12, 6, 23, 0, tzinfo=timezone.utc)


def test_week_with_clock_change_is_167_hours():
    start, end = Week.parse("2026-W13").bounds(AMSTERDAM)
    # Aware datetimes in one zone subtract as wall times, so compare in UTC.
    assert (end.astimezone(timezone.utc) - start.astimezone(timezone.utc)).total_seconds() == 167 * 3600


def test_last_complete_week_on_monday():
    monday = datetime(2026, 12, 7, 9, 0, tzinfo=AMSTERDAM)
    assert str(Week.last_complete(monday, AMSTERDAM)) == "2026-W49"


def test_last_complete_week_on_sunday():
    sunday = datetime(2026, 12, 6, 23, 30, tzinfo=AMSTERDAM)
    assert str(Week.last_complete(sunday, AMSTERDAM)) == "2026-W48"


def test_last_complete_week_across_new_year():
    assert str(Week.last_complete(datetime(2027, 1, 4, 9, 0, tzinfo=AMSTERDAM), AMSTERDAM)) == "2026-W53"


def test_schedule_parses_weekday_and_time():
    assert parse_schedule("mon 09:00") == (0, time(9, 0))
    assert parse_schedule(" FRI 16:30 ") == (4, time(16, 30))
    assert parse_schedule("off") is None


@pytest.mark.parametrize("text", ["monday 09:00", "mon 9:00", "mon 24:00", "09:00", "mon", "daily"])
def test_schedule_rejects_other_forms(text):
    with pytest.raises(ScheduleError, match="such as 'mon 09:00', or 'off'"):
        parse_schedule(text)


def test_latest_fire_time_is_this_weeks_when_passed():
    now = datetime(2026, 12, 7, 9, 30, tzinfo=AMSTERDAM)
    assert latest_fire_time("mon 09:00", AMSTERDAM, now) == datetime(2026, 12, 7, 9, 0, tzinfo=AMSTERDAM)


def test_latest_fire_time_before_the_time():
    now = datetime(2026, 12, 7, 8, 59, tzinfo=AMSTERDAM)
    assert latest_fire_time("mon 09:00", AMSTERDAM, now) == datetime(2026, 11, 30, 9, 0, tzinfo=AMSTERDAM)


def test_latest_fire_time_across_clock_change():
    now = datetime(2026, 10, 26, 10, 0, tzinfo=AMSTERDAM)
    fire = latest_fire_time("mon 09:00", AMSTERDAM, now)
    assert fire.astimezone(timezone.utc) == datetime(2026, 10, 26, 8, 0, tzinfo=timezone.utc)


def test_latest_fire_time_off_is_none():
    assert latest_fire_time("off", AMSTERDAM, datetime(2026, 12, 7, tzinfo=AMSTERDAM)) is None


def test_cron_trigger_local_time():
    trigger = cron_trigger("mon 09:00", AMSTERDAM)
    after = datetime(2026, 10, 20, 12, 0, tzinfo=AMSTERDAM)
    fire = trigger.get_next_fire_time(None, after)
    assert fire == datetime(2026, 10, 26, 9, 0, tzinfo=AMSTERDAM)
    assert fire.utcoffset().total_seconds() == 3600
    assert cron_trigger("off", AMSTERDAM) is None
