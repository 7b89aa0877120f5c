"""Moderator commands for topics, organisations and the audit log."""

from __future__ import annotations

import argparse
import getpass
import json
import re
import sys
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot import topics
from bot.cli_survey import database_exists
from bot.digest.weeks import DEFAULT_SCHEDULE, ScheduleError, parse_schedule
from bot.settings import SUPPORTED_LOCALES, Settings
from store.db import create_sessionmaker, migrated_engine
from store.models import Organisation, utcnow

ORGANISATION_KINDS = ("owner", "municipality", "neighbourhood_council", "business_association", "housing_corporation", "other")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


DIGEST_HELP = "when its weekly digest goes out, such as 'mon 09:00' in the panel's time zone, or 'off' (default: mon 09:00)"


def add_parsers(commands, common: argparse.ArgumentParser) -> None:
    """Add the ``topics``, ``org`` and ``audit`` commands to the command line."""
    by = argparse.ArgumentParser(add_help=False)
    by.add_argument("--by", metavar="NAME", help="who takes this action, for the audit log (default: your user name)")

    topic_parser = commands.add_parser("topics", help="moderate and list residents' topics")
    topic_commands = topic_parser.add_subparsers(dest="topics_command", required=True, metavar="COMMAND")
    listing = topic_commands.add_parser("list", parents=[common], help="suggestions and topics, the most supported first")
    listing.add_argument("--status", choices=topics.STATUSES, help="only suggestions with this status")
    listing.add_argument("--format", choices=["text", "json"], default="text", help="output format (default: text)")
    approve = topic_commands.add_parser("approve", parents=[common, by], help="put a suggestion on the panel's list")
    approve.add_argument("id", type=int, metavar="ID")
    approve.add_argument("--title", metavar="TEXT", help="the wording residents see (default: the resident's own words)")
    reject = topic_commands.add_parser("reject", parents=[common, by], help="turn a suggestion down; the resident is told why")
    reject.add_argument("id", type=int, metavar="ID")
    reject.add_argument("--reason", required=True, metavar="TEXT", help="the reason the resident reads")
    merge = topic_commands.add_parser("merge", parents=[common, by], help="add a suggestion to an approved topic")
    merge.add_argument("id", type=int, metavar="ID")
    merge.add_argument("--into", required=True, type=int, metavar="ID", help="the approved topic it belongs to")

    org_parser = commands.add_parser("org", help="the panel's owner and partner organisations")
    org_commands = org_parser.add_subparsers(dest="org_command", required=True, metavar="COMMAND")
    add = org_commands.add_parser("add", parents=[common], help="add an organisation")
    add.add_argument("slug", metavar="ID", help="a short id such as gemeente-den-haag")
    add.add_argument("--name", required=True, help="the name residents read")
    add.add_argument("--kind", required=True, choices=ORGANISATION_KINDS, help="what kind of organisation it is")
    add.add_argument("--email", help="contact address for the digest")
    add.add_argument("--lang", choices=SUPPORTED_LOCALES, default="nl", help="language of its digest (default: nl)")
    add.add_argument("--digest", metavar="WHEN", help=DIGEST_HELP)
    org_commands.add_parser("list", parents=[common], help="list the organisations")
    edit = org_commands.add_parser("edit", parents=[common], help="change an organisation")
    edit.add_argument("slug", metavar="ID")
    edit.add_argument("--name")
    edit.add_argument("--kind", choices=ORGANISATION_KINDS)
    edit.add_argument("--email")
    edit.add_argument("--lang", choices=SUPPORTED_LOCALES)
    edit.add_argument("--digest", metavar="WHEN", help="when its weekly digest goes out, such as 'mon 09:00', or 'off'")

    audit = commands.add_parser("audit", parents=[common], help="the moderators' actions, newest first")
    audit.add_argument("--limit", type=_entry_count, default=50, help="how many of the newest entries to show (default: 50)")


async def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run a ``topics``, ``org`` or ``audit`` command."""
    # Adding an organisation is a way to set up a new panel; the others need its database.
    if not (args.command == "org" and args.org_command == "add") and not database_exists(settings):
        return 1
    async with migrated_engine(settings.database_url) as engine:
        async with create_sessionmaker(engine)() as session, session.begin():
            if args.command == "topics":
                return await _topics(session, args)
            if args.command == "org":
                return await _org(session, args)
            return await _audit(session, args, settings)


async def _topics(session, args) -> int:
    if args.topics_command == "list":
        return _print_topics(await topics.list_topics(session, args.status), args.format)
    now = utcnow()
    actor = args.by or getpass.getuser()
    try:
        if args.topics_command == "approve":
            await topics.approve(session, args.id, actor, now, title=args.title)
            print(f"suggestion {args.id} approved; the resident is told")
        elif args.topics_command == "reject":
            await topics.reject(session, args.id, actor, args.reason, now)
            print(f"suggestion {args.id} rejected; the resident is told the reason")
        else:
            await topics.merge(session, args.id, args.into, actor, now)
            print(f"suggestion {args.id} merged into topic {args.into}; the resident is told")
    except topics.TopicError as error:
        print(f"chatpanel: error: {error}", file=sys.stderr)
        return 1
    return 0


def _entry_count(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"invalid --limit {text!r}: give a whole number of 1 or more")
    return int(text)


def _print_topics(rows: list[topics.TopicRow], output_format: str) -> int:
    if output_format == "json":
        data = [
            {
                "id": row.suggestion.id,
                "status": row.suggestion.status,
                "supporters": row.supporters,
                "text": row.suggestion.text,
                "title": row.suggestion.title,
                "neighbourhood": row.suggestion.neighbourhood,
                "merged_into": row.suggestion.merged_into_id,
                "reason": row.suggestion.decision_reason,
                "created_at": row.suggestion.created_at.isoformat(),
            }
            for row in rows
        ]
        print(json.dumps(data, ensure_ascii=False, indent=2))
        return 0
    if not rows:
        print("no suggestions")
        return 0
    print(f"{'ID':>5}  {'STATUS':<9} {'SUPPORT':>7}  TOPIC")
    for row in rows:
        suggestion = row.suggestion
        place = f" [{suggestion.neighbourhood}]" if suggestion.neighbourhood else ""
        merged = f" (merged into {suggestion.merged_into_id})" if suggestion.merged_into_id else ""
        print(f"{suggestion.id:>5}  {suggestion.status:<9} {row.supporters:>7}  {topics.public_title(suggestion)}{place}{merged}")
    return 0


async def _org(session, args) -> int:
    if args.org_command == "list":
        organisations = list((await session.execute(select(Organisation).order_by(Organisation.slug))).scalars())
        if not organisations:
            print("no organisations; add one with: chatpanel org add ID --name NAME --kind KIND")
            return 0
        print(f"{'ID':<28} {'KIND':<22} {'LANG':<4} {'DIGEST':<10} {'E-MAIL':<32} NAME")
        for organisation in organisations:
            print(
                f"{organisation.slug:<28} {organisation.kind:<22} {organisation.locale:<4} {organisation.digest_schedule:<10} "
                f"{organisation.contact_email or '-':<32} {organisation.name}"
            )
        if any(not organisation.contact_email for organisation in organisations):
            print("an organisation without an e-mail address gets no digest; add one with: chatpanel org edit ID --email ADDRESS")
        return 0
    problem = _check_organisation(args)
    if problem:
        print(f"chatpanel: error: {problem}", file=sys.stderr)
        return 1
    existing = (await session.execute(select(Organisation).where(Organisation.slug == args.slug))).scalar_one_or_none()
    if args.org_command == "add":
        if existing is not None:
            print(f"chatpanel: error: organisation {args.slug!r} exists; change it with: chatpanel org edit {args.slug}", file=sys.stderr)
            return 1
        owner = await _owner(session) if args.kind == "owner" else None
        if owner is not None:
            print(_owner_exists(owner), file=sys.stderr)
            return 1
        session.add(
            Organisation(
                slug=args.slug, name=args.name, kind=args.kind, contact_email=args.email, locale=args.lang,
                digest_schedule=args.digest or DEFAULT_SCHEDULE,
            )
        )
        topics.audit(session, _actor(args), "org add", f"organisation:{args.slug}", {"name": args.name, "kind": args.kind}, utcnow())
        print(f"organisation {args.slug!r} added")
        return 0
    if existing is None:
        print(f"chatpanel: error: no organisation {args.slug!r}; see: chatpanel org list", file=sys.stderr)
        return 1
    owner = await _owner(session) if args.kind == "owner" and existing.kind != "owner" else None
    if owner is not None:
        print(_owner_exists(owner), file=sys.stderr)
        return 1
    changes = (
        ("name", args.name), ("kind", args.kind), ("contact_email", args.email), ("locale", args.lang),
        ("digest_schedule", args.digest),
    )
    changed = {field: value for field, value in changes if value is not None and value != getattr(existing, field)}
    if not changed:
        print(f"organisation {args.slug!r} unchanged: give --name, --kind, --email, --lang or --digest with a new value")
        return 0
    for field, value in changed.items():
        setattr(existing, field, value)
    topics.audit(session, _actor(args), "org edit", f"organisation:{args.slug}", changed, utcnow())
    print(f"organisation {args.slug!r} changed: {', '.join(changed)}")
    return 0


def _check_organisation(args) -> str | None:
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{1,62}", args.slug):
        return f"invalid id {args.slug!r}: use 2 to 63 lowercase letters, digits or '-'"
    if args.name is not None and not args.name.strip():
        return "--name is empty; give the name residents read"
    if args.email is not None and not _EMAIL.fullmatch(args.email):
        return f"invalid e-mail address {args.email!r}; give one address such as panel@example.nl"
    if args.digest is not None:
        try:
            parse_schedule(args.digest)
        except ScheduleError as error:
            return str(error)
        args.digest = args.digest.strip().lower()
    return None


def _owner_exists(owner: Organisation) -> str:
    return (
        f"chatpanel: error: the panel already has an owner, {owner.slug!r} ({owner.name}); a panel has one owner, "
        f"so give another --kind, or first change that one with: chatpanel org edit {owner.slug} --kind other"
    )


def _actor(args) -> str:
    """Return who runs the command, for the audit log: --by where the command has it."""
    return getattr(args, "by", None) or getpass.getuser()


async def _owner(session) -> Organisation | None:
    return (await session.execute(select(Organisation).where(Organisation.kind == "owner"))).scalar_one_or_none()


async def _audit(session, args, settings: Settings) -> int:
    zone = ZoneInfo(settings.timezone)
    entries = await topics.audit_log(session, args.limit)
    if not entries:
        print("the audit log is empty")
        return 0
    for entry in entries:
        details = f" {json.dumps(entry.details, ensure_ascii=False)}" if entry.details else ""
        print(f"{entry.at.astimezone(zone):%Y-%m-%d %H:%M:%S}  {entry.actor:<24} {entry.action:<8} {entry.subject}{details}")
    return 0

