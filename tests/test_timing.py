"""Quiet hours, the weekly cap and publish times across daylight-saving changes."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.publishing import PublishError, parse_time
from bot.timing import after_invitation_cap, after_quiet_hours

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
QUIET = (time(21, 0), time(9, 0))


def local(*args, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=AMSTERDAM, fold=fold).astimezone(timezone.utc)


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (local(2026, 12, 7, 10, 0), local(2026, 12, 7, 10, 0)),
        (local(2026, 12, 7, 20, 59), local(2026, 12, 7, 20, 59)),
        (local(2026, 12, 7, 21, 0), local(2026, 12, 8, 9, 0)),
        (local(2026, 12, 8, 3, 0), local(2026, 12, 8, 9, 0)),
        (local(2026, 12, 8, 9, 0), local(2026, 12, 8, 9, 0)),
        # Saturday 24 October 2026 22:00 summer time; the clocks go back that night.
        (local(2026, 10, 24, 22, 0), datetime(2026, 10, 25, 8, 0, tzinfo=timezone.utc)),
        # Saturday 27 March 2027 22:00 winter time; the clocks go forward that night.
        (local(2027, 3, 27, 22, 0), datetime(2027, 3, 28, 7, 0, tzinfo=timezone.utc)),
    ],
    ids=["day", "before start", "at start", "night", "at end", "autumn change", "spring change"],
)
def test_quiet_hours(moment, expected):
    assert after_quiet_hours(moment, QUIET, AMSTERDAM) == expected


def test_quiet_hours_within_one_day():
    lunch = (time(12, 0), time(13, 0))
    assert after_quiet_hours(local(2026, 12, 7, 12, 30), lunch, AMSTERDAM) == local(2026, 12, 7, 13, 0)


def test_quiet_hours_off():
    assert after_quiet_hours(local(2026, 12, 7, 23, 0), None, AMSTERDAM) == local(2026, 12, 7, 23, 0)


def test_cap_allows_below_limit():
    now = local(2026, 12, 7, 10, 0)
    assert after_invitation_cap(now, [now - timedelta(days=1)], 2) == now


def test_cap_waits_for_oldest_to_leave_window():
    now = local(2026, 12, 7, 10, 0)
    recent = [now - timedelta(days=6), now - timedelta(days=2)]
    assert after_invitation_cap(now, recent, 2) == now + timedelta(days=1)


def test_cap_ignores_old_invitations():
    now = local(2026, 12, 7, 10, 0)
    recent = [now - timedelta(days=8), now - timedelta(days=9)]
    assert after_invitation_cap(now, recent, 2) == now


def test_publish_time_is_amsterdam_local():
    assert parse_time("2026-12-07T10:00", AMSTERDAM) == datetime(2026, 12, 7, 9, 0, tzinfo=timezone.utc)


def test_publish_time_with_offset():
    assert parse_time("2026-12-07T10:00+00:00", AMSTERDAM) == datetime(2026, 12, 7, 10, 0, tzinfo=timezone.utc)


def test_publish_time_skipped_by_clocks():
    with pytest.raises(PublishError, match="does not exist"):
        parse_time("2027-03-28T02:30", AMSTERDAM)


def test_publish_time_repeated_by_clocks():
    with pytest.raises(PublishError, match=r"occurs twice .*\+02:00 or .*\+01:00"):
        parse_time("2026-10-25T02:30", AMSTERDAM)


def test_publish_time_invalid():
    with pytest.raises(PublishError, match="invalid time 'next monday'"):
        parse_time("next monday", AMSTERDAM)
