"""``chatpanel resident forget``: erase a resident on request, such as one sent by e-mail.

The command finds the resident by a phone number in any common notation (read with the
phonenumbers library, Dutch numbers by default) or by a Telegram chat id, shows what the
erasure removes, asks for confirmation unless ``--yes`` is given, and erases as
bot.erasure describes. The audit log records who did it and how many rows went, never
the address.
"""

from __future__ import annotations

import argparse
import getpass
import re
import sys
from zoneinfo import ZoneInfo

import phonenumbers
from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from bot import erasure, topics
from bot.cli_survey import database_exists
from bot.channels.types import Channel
from bot.flows.my_data import CHANNEL_NAMES, mask_address
from bot.settings import Settings
from store.db import create_sessionmaker, migrated_engine
from store.models import Address, utcnow

DEFAULT_REGION = "NL"
FORGET_CHANNELS = (Channel.TELEGRAM.value, Channel.SMS.value, Channel.WHATSAPP.value)
_PHONE_CHANNELS = (Channel.SMS.value, Channel.WHATSAPP.value)
# A Telegram chat id: an integer, negative for groups, that never starts with 0.
_CHAT_ID = re.compile(r"-?[1-9][0-9]{0,19}")
# The characters a phone number may be written with. phonenumbers also accepts letters
# (read as keypad digits) and extensions, which could name another resident's number.
_PHONE_TEXT = re.compile(r"\+?[0-9][0-9 ().-]*")
_CONFIRM_WORDS = frozenset({"y", "yes", "j", "ja"})
AUDIT_ACTION = "forget"
AUDIT_SUBJECT = "resident"


class AddressError(ValueError):
    """An address on the command line that is neither a phone number nor a chat id."""


def add_parsers(commands, common: argparse.ArgumentParser) -> None:
    """Add the ``resident`` command to the command line."""
    resident = commands.add_parser("resident", help="residents' rights: erase a resident on request")
    resident_commands = resident.add_subparsers(dest="resident_command", required=True, metavar="COMMAND")
    forget = resident_commands.add_parser(
        "forget", parents=[common], help="erase everything the panel stores about the resident at an address"
    )
    forget.add_argument("address", metavar="ADDRESS", help="a phone number (06 12345678, +31 6 12345678) or a Telegram chat id")
    forget.add_argument("--channel", choices=FORGET_CHANNELS, help="look only on this channel (default: every channel the address fits)")
    forget.add_argument("--yes", action="store_true", help="erase without asking for confirmation")
    forget.add_argument("--by", metavar="NAME", help="who handles the request, for the audit log (default: your user name)")


async def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run ``resident forget``. Returns 0 when erased, 1 when nothing was erased."""
    try:
        candidates = address_candidates(args.address, args.channel)
    except AddressError as error:
        print(f"chatpanel: error: {error}", file=sys.stderr)
        return 1
    if not database_exists(settings):
        return 1
    async with migrated_engine(settings.database_url) as engine:
        sessionmaker = create_sessionmaker(engine)
        options = dict(zone=ZoneInfo(settings.timezone), keeps_answers=settings.erasure_keeps_answers)
        async with sessionmaker() as session:
            targets = await find_targets(session, candidates)
            if not targets:
                print(_not_found(args.address, candidates), file=sys.stderr)
                return 1
            for line in await _describe(session, targets, options):
                print(line)
        if not args.yes and not _confirmed():
            print("chatpanel: nothing erased: not confirmed (give --yes to erase without the question)", file=sys.stderr)
            return 1
        async with sessionmaker() as session, session.begin():
            # Looked up again: a message may have arrived since the summary was printed.
            targets = await find_targets(session, candidates)
            total = erasure.ErasureCounts()
            actor = args.by or getpass.getuser()
            now = utcnow()
            for target, channels in targets:
                counts = await erasure.erase(session, target, now=now, **options)
                details = {"rows_removed": counts.rows_removed, "responses_anonymised": counts.responses_anonymised, "channels": channels}
                topics.audit(session, actor, AUDIT_ACTION, AUDIT_SUBJECT, details, now)
                total = total + counts
        print(
            f"resident forgotten: {total.rows_removed} rows removed, "
            f"{total.responses_anonymised} responses kept as anonymous answers"
        )
        return 0


def address_candidates(text: str, channel: str | None) -> list[tuple[str, str]]:
    """Return the (channel, stored value) pairs that ``text`` can name.

    Phone numbers become E.164 for SMS and WhatsApp; a chat id stays as it is for
    Telegram. Raises AddressError when ``text`` fits none of the channels asked for.
    """
    text = text.strip()
    channels = (channel,) if channel else FORGET_CHANNELS
    candidates: list[tuple[str, str]] = []
    number = _e164(text) if any(name in _PHONE_CHANNELS for name in channels) else None
    if number is not None:
        candidates += [(name, number) for name in channels if name in _PHONE_CHANNELS]
    if Channel.TELEGRAM.value in channels and _CHAT_ID.fullmatch(text):
        candidates.append((Channel.TELEGRAM.value, text))
    if not candidates:
        raise AddressError(f"invalid address {text!r}: give {_expected_address(channel)}")
    return candidates


async def find_targets(session: AsyncSession, candidates: list[tuple[str, str]]) -> list[tuple[erasure.ErasureTarget, list[str]]]:
    """Return one erasure target per resident (or lone address) found at ``candidates``,
    each with the channels of its addresses."""
    statement = select(Address).where(tuple_(Address.channel, Address.value).in_(candidates)).order_by(Address.id)
    targets: list[tuple[erasure.ErasureTarget, list[str]]] = []
    seen: set[tuple[int, ...]] = set()
    for address in (await session.execute(statement)).scalars():
        target = await erasure.target_of(session, address)
        if target.address_ids in seen:
            continue
        seen.add(target.address_ids)
        channels = list((await session.execute(select(Address.channel).where(Address.id.in_(target.address_ids)))).scalars())
        targets.append((target, sorted(set(channels))))
    return targets


async def _describe(session: AsyncSession, targets, options: dict) -> list[str]:
    """Return the lines that describe what erasing ``targets`` removes."""
    lines = ["This erases:"]
    for target, _ in targets:
        addresses = (await session.execute(select(Address).where(Address.id.in_(target.address_ids)).order_by(Address.id))).scalars()
        address_list = ", ".join(f"{CHANNEL_NAMES.get(address.channel, address.channel)} {mask_address(address.value)}" for address in addresses)
        kind = "a resident" if target.resident_id is not None else "an address that never joined"
        counts = await erasure.erase(session, target, now=utcnow(), dry_run=True, **options)
        lines.append(f"- {kind}, at {address_list}")
        lines.extend(f"    {line}" for line in _count_lines(counts))
    return lines


def _count_lines(counts: erasure.ErasureCounts) -> list[str]:
    if counts.responses_anonymised:
        responses = f"{counts.responses_anonymised} survey responses kept as anonymous answers ({counts.answers_deleted} free-text answers deleted)"
    else:
        responses = f"{counts.responses_deleted} survey responses deleted, with {counts.answers_deleted} answers"
    return [
        responses,
        f"{counts.suggestions_deleted} suggestions deleted, {counts.topics_unlinked} approved topics kept without the resident",
        f"{counts.supports} supports and {counts.moderator_prompts} moderator prompts deleted",
        f"{counts.outbox_messages} outbox messages, {counts.inbound_messages} inbound message ids and {counts.conversations} conversations deleted",
        f"{counts.addresses} addresses and {counts.residents} resident rows deleted",
    ]


def _confirmed() -> bool:
    try:
        reply = input("Erase this data? It cannot be undone. Type yes to confirm: ")
    except EOFError:
        return False
    return reply.strip().lower() in _CONFIRM_WORDS


def _not_found(text: str, candidates: list[tuple[str, str]]) -> str:
    tried = ", ".join(f"{channel} {value}" for channel, value in candidates)
    numbers = {value for channel, value in candidates if channel in _PHONE_CHANNELS}
    invalid = sorted(number for number in numbers if not phonenumbers.is_valid_number(phonenumbers.parse(number)))
    note = f"; {', '.join(invalid)} is not a valid phone number" if invalid else ""
    return (
        f"chatpanel: error: no address {text!r} in the panel (looked for {tried}{note}); "
        "check the number or chat id, or give --channel"
    )


def _expected_address(channel: str | None) -> str:
    if channel == Channel.TELEGRAM.value:
        return "a Telegram chat id such as 123456789"
    if channel is not None:
        return "a phone number such as 0612345678 or +31612345678"
    return "a phone number such as 0612345678 or +31612345678, or a Telegram chat id"


def _e164(text: str) -> str | None:
    """Return ``text`` as an E.164 phone number, or None when it is not a possible number."""
    text = text.removeprefix("whatsapp:")
    if not _PHONE_TEXT.fullmatch(text):
        return None
    try:
        number = phonenumbers.parse(text, DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
