"""Publishing a survey: when it opens and closes, who is invited, and a dry run."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.broadcast import build_invitation, count_recipients
from bot.channels.render import render_numbered
from bot.channels.sms_segments import segment_count
from bot.channels.types import Channel, Outbound
from bot.schedule_policy import SendPolicy
from bot.segments import Segment
from bot.settings import SUPPORTED_LOCALES, Settings
from bot.surveys import find_survey
from store.models import Response, Survey


class PublishError(ValueError):
    """The publish request cannot be carried out; the message names the value and the fix."""


@dataclass(frozen=True)
class DryRun:
    recipients: dict[str, int]
    # SMS segments of the invitation per locale, as it would be sent.
    sms_segments: dict[str, int]
    # Estimated seconds to send all invitations per channel at the configured pace.
    seconds: dict[str, float]


def parse_time(text: str, zone: ZoneInfo) -> datetime:
    """Parse an ISO 8601 time; one without an offset is local time in ``zone``.

    Raises PublishError for an invalid time, a local time that does not exist (skipped at
    the start of summer time) or one that occurs twice (at the end of summer time).
    """
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise PublishError(f"invalid time {text!r}: use the form 2026-12-07T10:00, optionally with an offset such as +01:00") from None
    if parsed.tzinfo is not None:
        return parsed.astimezone(timezone.utc)
    first = parsed.replace(tzinfo=zone, fold=0)
    second = parsed.replace(tzinfo=zone, fold=1)
    if first.utcoffset() != second.utcoffset():
        # Only ambiguous and non-existent wall-clock times have two different offsets.
        round_trip = first.astimezone(timezone.utc).astimezone(zone).replace(tzinfo=None)
        if round_trip != parsed:
            raise PublishError(f"time {text} does not exist in {zone.key} (the clocks skip it); choose another time")
        raise PublishError(
            f"time {text} occurs twice in {zone.key} (the clocks go back); add the offset, "
            f"such as {text}{_offset(first)} or {text}{_offset(second)}"
        )
    return first.astimezone(timezone.utc)


def configured_channels(settings: Settings) -> list[str]:
    channels = []
    if settings.telegram_enabled:
        channels.append(Channel.TELEGRAM.value)
    if settings.sms_enabled:
        channels.append(Channel.SMS.value)
    if settings.whatsapp_enabled:
        channels.append(Channel.WHATSAPP.value)
    return channels


async def publish(
    session: AsyncSession,
    slug: str,
    opens_at: datetime,
    closes_at: datetime,
    segment: Segment,
    channels: list[str],
    now: datetime,
) -> Survey:
    """Schedule the survey ``slug`` to open and close, inviting ``segment`` on ``channels``.

    Raises PublishError for an unknown or closed survey, times in the wrong order, or a
    later opening of an open survey that residents are answering: they could not go on
    until it opens again.
    """
    row = await find_survey(session, slug)
    if row is None:
        raise PublishError(f"no survey with id {slug!r}; load it first with: chatpanel survey load FILE")
    if row.status == "closed":
        raise PublishError(f"survey {slug!r} is closed; load it under a new id to ask again")
    if row.invite_cursor or row.invitations_done_at is not None:
        raise PublishError(f"survey {slug!r} has already sent invitations; load it under a new id to publish again")
    if closes_at <= opens_at:
        raise PublishError("--closes must be later than --opens")
    if closes_at <= now:
        raise PublishError("--closes is in the past; give a closing time in the future")
    if not channels:
        raise PublishError("no channel to invite on: configure a channel or give --channels")
    if row.status == "open" and opens_at > now:
        answering = await session.scalar(
            select(func.count()).select_from(Response).where(Response.survey_id == row.id, Response.completed_at.is_(None))
        )
        if answering:
            raise PublishError(
                f"survey {slug!r} is open and {answering} resident{'s are' if answering != 1 else ' is'} answering it; "
                "give an --opens time that has passed, so they can go on answering"
            )
    row.status = "scheduled"
    row.opens_at = opens_at
    row.closes_at = closes_at
    row.segment = segment.to_json()
    row.channels = channels
    await session.flush()
    return row


async def dry_run(session: AsyncSession, row: Survey, policy: SendPolicy, settings: Settings) -> DryRun:
    """Count who would be invited per channel, without writing anything."""
    recipients = await count_recipients(session, row, policy)
    sms_segments = {}
    for locale in SUPPORTED_LOCALES:
        invitation = build_invitation(row, locale, with_first_question=True)
        message = Outbound(Channel.SMS, "", invitation.text, invitation.choices, invitation.list_choices)
        sms_segments[locale] = segment_count(render_numbered(message))
    rates = {
        Channel.TELEGRAM.value: settings.telegram_rate_per_second,
        Channel.SMS.value: settings.twilio_rate_per_second,
        Channel.WHATSAPP.value: settings.twilio_rate_per_second,
    }
    seconds = {channel: count / rates[channel] for channel, count in recipients.items()}
    return DryRun(recipients, sms_segments, seconds)


def _offset(moment: datetime) -> str:
    total = int(moment.utcoffset().total_seconds() // 60)
    sign = "+" if total >= 0 else "-"
    return f"{sign}{abs(total) // 60:02d}:{abs(total) % 60:02d}"
