"""``chatpanel db purge``: run the retention purge (bot.retention) now."""

from __future__ import annotations

import argparse

from bot import retention
from bot.cli_survey import database_exists
from bot.settings import Settings
from store.db import create_sessionmaker, migrated_engine
from store.models import utcnow


def add_parsers(database_commands, common: argparse.ArgumentParser) -> None:
    """Add ``purge`` to the ``db`` command."""
    purge = database_commands.add_parser(
        "purge", parents=[common], help="delete message records older than RETENTION_DAYS now (serve does it daily)"
    )
    purge.add_argument("--dry-run", action="store_true", help="print how many rows would be deleted; delete nothing")


async def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run ``db purge`` and print one line with what it deleted (or would delete)."""
    if not database_exists(settings):
        return 1
    async with migrated_engine(settings.database_url) as engine:
        report = await retention.purge(create_sessionmaker(engine), utcnow(), settings.retention_days, dry_run=args.dry_run)
    verb = "would delete" if args.dry_run else "deleted"
    print(
        f"{verb} {report.inbound_messages} inbound message ids, {report.outbox_messages} finished outbox messages "
        f"and {report.erased_addresses} erased addresses older than {settings.retention_days} days"
    )
    return 0
