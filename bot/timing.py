"""When scheduled messages may go out: quiet hours and the weekly invitation cap, in the
panel's IANA time zone so daylight-saving changes neither skip nor repeat anything."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

CAP_WINDOW = timedelta(days=7)


def after_quiet_hours(moment: datetime, quiet: tuple[time, time] | None, zone: ZoneInfo) -> datetime:
    """Return ``moment`` if it falls outside the quiet hours, else the end of the quiet
    period it falls in (as an aware UTC datetime)."""
    if quiet is None:
        return moment
    start, end = quiet
    local = moment.astimezone(zone)
    clock = local.time().replace(tzinfo=None)
    if start > end:
        # The quiet period runs over midnight, such as 21:00 to 09:00.
        if clock >= start:
            return _local(local.date() + timedelta(days=1), end, zone)
        if clock < end:
            return _local(local.date(), end, zone)
        return moment
    if start <= clock < end:
        return _local(local.date(), end, zone)
    return moment


def after_invitation_cap(moment: datetime, recent: Sequence[datetime], cap: int) -> datetime:
    """Return the earliest time at or after ``moment`` at which fewer than ``cap`` of the
    ``recent`` invitation send times fall within the 7 days before it."""
    in_window = sorted(sent for sent in recent if sent > moment - CAP_WINDOW)
    if len(in_window) < cap:
        return moment
    # The invitation that must leave the window first is the cap-th most recent one.
    return max(moment, in_window[-cap] + CAP_WINDOW)


def _local(day, at: time, zone: ZoneInfo) -> datetime:
    # A wall-clock time that does not exist on a spring-forward day resolves forward,
    # because zoneinfo maps it with the offset from before the change.
    return datetime.combine(day, at, tzinfo=zone).astimezone(timezone.utc)
