"""The sending policy for messages that the scheduler starts."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.settings import Settings, parse_quiet_hours
from bot.timing import after_invitation_cap, after_quiet_hours


@dataclass(frozen=True)
class SendPolicy:
    zone: ZoneInfo
    quiet_hours: tuple[time, time] | None
    invitations_per_week: int
    reminder_after: timedelta
    # The channels this installation can send on; a survey without --channels uses them all.
    channels: frozenset[str]
    # The privacy statement residents must have agreed to before they are invited.
    privacy_version: str = "1"

    @classmethod
    def from_settings(cls, settings: Settings, channels: Iterable[str]) -> SendPolicy:
        return cls(
            zone=ZoneInfo(settings.timezone),
            quiet_hours=parse_quiet_hours(settings.quiet_hours),
            invitations_per_week=settings.invitations_per_week,
            reminder_after=timedelta(hours=settings.reminder_after_hours),
            channels=frozenset(channels),
            privacy_version=settings.privacy_version,
        )

    def send_time(self, now: datetime) -> datetime:
        """Return when a scheduler-started message may go: now, or after the quiet hours."""
        return after_quiet_hours(now, self.quiet_hours, self.zone)

    def invitation_time(self, now: datetime, recent: Sequence[datetime]) -> datetime:
        """Return when an invitation may go, given the resident's recent invitation times."""
        capped = after_invitation_cap(now, recent, self.invitations_per_week)
        return after_quiet_hours(capped, self.quiet_hours, self.zone)
