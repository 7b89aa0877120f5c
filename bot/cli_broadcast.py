"""Moderator commands for publishing, closing and following broadcasts."""

from __future__ import annotations

import getpass
import sys
from collections import defaultdict
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from tqdm import tqdm

from bot import broadcast, topics
from bot.cli_survey import database_exists
from bot.publishing import PublishError, configured_channels, dry_run, parse_time, publish
from bot.schedule_policy import SendPolicy
from bot.segments import SegmentError, parse_channels, parse_segment
from bot.settings import Settings
from bot.surveys import find_survey
from store.db import create_sessionmaker, migrated_engine
from store.models import OutboxMessage, Resident, Survey, utcnow

FINAL_FAILURES = ("failed", "skipped")


async def publish_command(
    settings: Settings,
    survey_id: str,
    opens: str,
    closes: str,
    segments: list[str],
    channels_text: str | None,
    is_dry_run: bool,
) -> int:
    zone = ZoneInfo(settings.timezone)
    try:
        opens_at = parse_time(opens, zone)
        closes_at = parse_time(closes, zone)
        segment = parse_segment(segments)
        channels = parse_channels(channels_text, configured_channels(settings))
    except (PublishError, SegmentError) as error:
        print(f"chatpanel: error: {error}", file=sys.stderr)
        return 1
    # A dry run may preview a channel that is not set up yet. Once a survey's invitations
    # are queued it cannot be published again, so a channel without settings would never
    # get them.
    unconfigured = [channel for channel in channels if channel not in configured_channels(settings)]
    if unconfigured and not is_dry_run:
        print(
            f"chatpanel: error: --channels names {', '.join(unconfigured)}, which these settings do not configure; "
            "set it up (chatpanel config check lists the settings) or leave it out of --channels",
            file=sys.stderr,
        )
        return 1
    policy = SendPolicy.from_settings(settings, channels)
    now = utcnow()
    async with migrated_engine(settings.database_url) as engine:
        sessionmaker = create_sessionmaker(engine)
        async with sessionmaker() as session:
            async with session.begin():
                try:
                    row = await publish(session, survey_id, opens_at, closes_at, segment, channels, now)
                except PublishError as error:
                    print(f"chatpanel: error: {error}", file=sys.stderr)
                    return 1
                if is_dry_run:
                    report = await dry_run(session, row, policy, settings)
                    await session.rollback()
                    _print_dry_run(survey_id, report)
                    return 0
                details = {"opens": opens_at.isoformat(), "closes": closes_at.isoformat(), "segment": row.segment, "channels": channels}
                topics.audit(session, getpass.getuser(), "publish", f"survey:{survey_id}", details, now)
            survey_pk = row.id
        print(f"survey {survey_id!r} opens {opens_at.astimezone(zone):%Y-%m-%d %H:%M} and closes {closes_at.astimezone(zone):%Y-%m-%d %H:%M} ({zone.key})")
        if opens_at <= now:
            await _open_now(sessionmaker, survey_pk, policy, now)
        else:
            print("the scheduler in 'chatpanel serve' opens it and sends the invitations")
    return 0


async def close_command(settings: Settings, survey_id: str) -> int:
    if not database_exists(settings):
        return 1
    policy = SendPolicy.from_settings(settings, configured_channels(settings))
    async with migrated_engine(settings.database_url) as engine:
        async with create_sessionmaker(engine)() as session, session.begin():
            row = await find_survey(session, survey_id)
            if row is None:
                print(f"chatpanel: error: no survey with id {survey_id!r}; see: chatpanel survey list", file=sys.stderr)
                return 1
            now = utcnow()
            notes = await broadcast.close_survey(session, row.id, policy, now, min_group_size=settings.min_group_size)
            if notes is not None:
                topics.audit(session, getpass.getuser(), "close", f"survey:{survey_id}", {"closing_notes": notes}, now)
    if notes is None:
        print(f"chatpanel: error: survey {survey_id!r} is not open (status: {row.status})", file=sys.stderr)
        return 1
    residents = "resident who was answering gets" if notes == 1 else "residents who were answering get"
    print(f"survey {survey_id!r} closed; {notes} {residents} a closing note")
    return 0


async def status_command(settings: Settings, survey_id: str | None) -> int:
    if not database_exists(settings):
        return 1
    async with migrated_engine(settings.database_url) as engine:
        async with create_sessionmaker(engine)() as session:
            surveys = select(Survey).where(Survey.opens_at.is_not(None)).order_by(Survey.opens_at.desc())
            if survey_id is not None:
                surveys = select(Survey).where(Survey.slug == survey_id)
            rows = list((await session.execute(surveys)).scalars())
            if survey_id is not None and not rows:
                print(f"chatpanel: error: no survey with id {survey_id!r}; see: chatpanel survey list", file=sys.stderr)
                return 1
            if not rows:
                print("no published surveys; publish one with: chatpanel survey publish SURVEY_ID --opens ... --closes ...")
                return 0
            for row in rows:
                print(await _status_text(session, row))
    return 0


async def _open_now(sessionmaker, survey_pk: int, policy: SendPolicy, now) -> None:
    async with sessionmaker() as session, session.begin():
        opened = await broadcast.open_due(session, survey_pk, now)
        residents = await session.scalar(select(func.count()).select_from(Resident))
    if not opened:
        return
    with tqdm(total=residents, unit="resident", desc="enqueueing invitations", file=sys.stderr, disable=None) as progress:
        written = await broadcast.enqueue_all_invitations(
            sessionmaker, survey_pk, policy, now, on_batch=lambda _: progress.update(broadcast.DEFAULT_BATCH_SIZE)
        )
    print(f"opened now; {written} invitations queued for 'chatpanel serve' to send")


def _print_dry_run(survey_id: str, report) -> None:
    print(f"dry run for {survey_id!r}: nothing was changed")
    if not report.recipients:
        print("no resident matches the segment and channels")
    for channel, count in sorted(report.recipients.items()):
        print(f"  {channel:<9} {count:>8} residents, about {_duration(report.seconds[channel])} to send")
    for locale, segments in sorted(report.sms_segments.items()):
        print(f"  SMS invitation in {locale}: {segments} segment{'s' if segments != 1 else ''}")


async def _status_text(session, row: Survey) -> str:
    statement = (
        select(OutboxMessage.channel, OutboxMessage.status, OutboxMessage.delivery_status, OutboxMessage.error_code, func.count())
        .where(OutboxMessage.survey_id == row.id)
        .group_by(OutboxMessage.channel, OutboxMessage.status, OutboxMessage.delivery_status, OutboxMessage.error_code)
    )
    table: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    reasons: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for channel, status, delivery_status, error_code, count in (await session.execute(statement)).all():
        column = _column(status, delivery_status)
        table[channel][column] += count
        if column == "failed":
            reasons[channel][error_code or delivery_status or "unknown"] += count
    lines = [f"{row.slug} ({row.status})", f"  {'CHANNEL':<9} {'QUEUED':>8} {'SENT':>8} {'DELIVERED':>10} {'FAILED':>8}"]
    for channel in sorted(table):
        counts = table[channel]
        lines.append(
            f"  {channel:<9} {counts['queued']:>8} {counts['sent']:>8} {counts['delivered']:>10} {counts['failed']:>8}"
        )
        for reason, count in sorted(reasons[channel].items()):
            lines.append(f"  {'':<9} failed: {count} x {reason}")
    if not table:
        lines.append("  nothing queued yet")
    return "\n".join(lines)


def _column(status: str, delivery_status: str | None) -> str:
    if status in FINAL_FAILURES or delivery_status in ("failed", "undelivered"):
        return "failed"
    if delivery_status in ("delivered", "read"):
        return "delivered"
    if status == "sent":
        return "sent"
    return "queued"


def _duration(seconds: float) -> str:
    minutes, rest = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {rest} s"
    return f"{rest} s"
