"""Benchmark: the scheduler enqueues survey invitations for a large panel.

Fills a new database with N residents, each with one address (half Telegram, 40% SMS, 10%
WhatsApp) and an idle conversation (85% Dutch, 15% English), with INSERT ... SELECT
statements that generate the rows in the database. Publishes the five-question survey
bench/vijf-vragen.yaml to everyone with the product's own publish step. That setup is not
measured.

Then runs the real PanelScheduler's tick with a fixed clock until the survey's invitations
are all enqueued: the first tick opens the survey, and each tick writes up to 50 batches
of 5,000 invitations (bot.broadcast.enqueue_invitation_batch). Measures the elapsed time
and the process's peak memory in that phase: max RSS before and after (getrusage), and
in a second, identical pass on a reset outbox the tracemalloc peak.

Run it from the repository root: python bench/broadcast_enqueue.py
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import subprocess
import sys
from datetime import timedelta

from sqlalchemy import bindparam, delete, func, select, text, update

from common import (
    DEFAULT_POSTGRESQL_URL, REPOSITORY_ROOT, PhaseMeasure, database_version, machine_description, measure_phase,
    selected_databases, temporary_database,
)
from bot.flows import survey_flow
from bot.flows.loader import load_survey_file
from bot.publishing import publish
from bot.schedule_policy import SendPolicy
from bot.scheduler import PanelScheduler
from bot.segments import Segment
from bot.settings import Settings
from bot.surveys import save_survey
from store.db import create_engine, create_sessionmaker, upgrade
from store.models import Conversation, OutboxMessage, Survey, UtcDateTime, utcnow

SURVEY_FILE = REPOSITORY_ROOT / "bench" / "vijf-vragen.yaml"
CHANNELS = ["telegram", "sms", "whatsapp"]

# Residents 1..N with a 12-digit pseudonym and, for one in five, no age band given.
RESIDENTS_SQL = """
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :residents)
INSERT INTO residents (id, pseudonym, consented_at, age_band, postcode, created_at)
SELECT i, CAST(100000000000 + i AS VARCHAR(16)), :joined,
       CASE i % 5 WHEN 0 THEN '16-24' WHEN 1 THEN '25-44' WHEN 2 THEN '45-64' WHEN 3 THEN '65+' END,
       CAST(2500 + i % 100 AS VARCHAR(4)), :joined
FROM n
"""
# Address i belongs to resident i: i % 10 of 0-4 is Telegram, 5-8 SMS and 9 WhatsApp.
ADDRESSES_SQL = """
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :residents)
INSERT INTO addresses (id, channel, value, resident_id, last_inbound_at, created_at)
SELECT i,
       CASE WHEN i % 10 < 5 THEN 'telegram' WHEN i % 10 < 9 THEN 'sms' ELSE 'whatsapp' END,
       CASE WHEN i % 10 < 5 THEN CAST(700000000 + i AS VARCHAR(16)) ELSE '+316' || CAST(10000000 + i AS VARCHAR(16)) END,
       i, :joined, :joined
FROM n
"""
CONVERSATIONS_SQL = """
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :residents)
INSERT INTO conversations (address_id, locale, flow, misses, updated_at)
SELECT i, CASE WHEN i % 20 < 3 THEN 'en' ELSE 'nl' END, :idle, 0, :joined
FROM n
"""


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--residents", type=int, default=100_000, help="number of residents to invite (default 100000)")
    parser.add_argument(
        "--database", choices=["sqlite", "postgresql", "both"], default="both", help="database to run on (default both)"
    )
    parser.add_argument(
        "--no-trace",
        action="store_true",
        help="skip the second pass, under tracemalloc, which runs several times as long as the first",
    )
    parser.add_argument(
        "--postgresql-url",
        default=DEFAULT_POSTGRESQL_URL,
        help=f"PostgreSQL server on which a temporary database is created and dropped (default {DEFAULT_POSTGRESQL_URL})",
    )
    arguments = parser.parse_args()
    if arguments.residents < 1:
        parser.error("--residents must be at least 1")
    return arguments


async def populate(sessionmaker, residents: int, now) -> int:
    """Insert the residents, their addresses and conversations, and publish the survey to all.

    Returns the survey's primary key. The survey opens a minute before ``now``, so the
    first scheduler tick opens it.
    """
    joined = bindparam("joined", now - timedelta(days=30), type_=UtcDateTime())
    async with sessionmaker() as session, session.begin():
        for statement in (RESIDENTS_SQL, ADDRESSES_SQL, CONVERSATIONS_SQL):
            # Each statement uses the parameters it names, and SQLAlchemy ignores the others.
            await session.execute(text(statement).bindparams(joined), {"residents": residents, "idle": survey_flow.IDLE})
        saved = await save_survey(session, load_survey_file(SURVEY_FILE))
        await publish(session, saved.row.slug, now - timedelta(minutes=1), now + timedelta(days=7), Segment(), CHANNELS, now)
        survey_pk = saved.row.id
    async with sessionmaker() as session, session.begin():
        connection = await session.connection()
        if connection.dialect.name == "postgresql":
            # Autovacuum would analyze these tables after a bulk load. Doing it now gives the
            # planner the real row counts from the first query on.
            await session.execute(text("ANALYZE"))
    return survey_pk


async def reset_invitations(sessionmaker, survey_pk: int) -> None:
    """Undo the enqueue: delete the outbox and return the survey and conversations to before it."""
    async with sessionmaker() as session, session.begin():
        await session.execute(delete(OutboxMessage))
        await session.execute(
            update(Conversation).values(flow=survey_flow.IDLE, step=None, survey_id=None, misses=0)
        )
        await session.execute(
            update(Survey).where(Survey.id == survey_pk).values(invite_cursor=0, invitations_done_at=None)
        )


async def enqueue_with_scheduler(sessionmaker, survey_pk: int, now) -> tuple[int, int]:
    """Tick the scheduler at ``now`` until the survey's invitations are done.

    Returns the number of invitations written and the number of ticks.
    """
    settings = Settings()
    scheduler = PanelScheduler(sessionmaker, SendPolicy.from_settings(settings, CHANNELS), clock=lambda: now)
    invitations, ticks = 0, 0
    while True:
        report = await scheduler.tick()
        invitations += report.invitations
        ticks += 1
        async with sessionmaker() as session:
            if await session.scalar(select(Survey.invitations_done_at).where(Survey.id == survey_pk)) is not None:
                return invitations, ticks


async def count_invitations(sessionmaker) -> int:
    async with sessionmaker() as session:
        statement = select(func.count()).select_from(OutboxMessage).where(OutboxMessage.kind == "invitation")
        return await session.scalar(statement)


async def run_on(database_url: str, arguments: argparse.Namespace) -> None:
    engine = create_engine(database_url)
    try:
        await upgrade(engine)
        sessionmaker = create_sessionmaker(engine)
        now = utcnow()
        print(f"\ndatabase: {await database_version(database_url)}")
        print(f"setting up {arguments.residents} residents ...", flush=True)
        survey_pk = await populate(sessionmaker, arguments.residents, now)

        with measure_phase(trace=False) as untraced:
            invitations, ticks = await enqueue_with_scheduler(sessionmaker, survey_pk, now)
        stored = await count_invitations(sessionmaker)
        report("enqueue", untraced, invitations, ticks)
        if stored != arguments.residents:
            raise RuntimeError(f"the outbox contains {stored} invitations; expected {arguments.residents}")

        if not arguments.no_trace:
            await reset_invitations(sessionmaker, survey_pk)
            with measure_phase(trace=True) as traced:
                invitations, ticks = await enqueue_with_scheduler(sessionmaker, survey_pk, now)
            report("enqueue under tracemalloc", traced, invitations, ticks)
    finally:
        await engine.dispose()


def report(label: str, measure: PhaseMeasure, invitations: int, ticks: int) -> None:
    line = (
        f"{label}: {invitations} invitations in {ticks} ticks, {measure.seconds:.1f} s "
        f"({invitations / measure.seconds:,.0f} a second); max RSS {measure.max_rss_before_mib:.0f} MiB before, "
        f"{measure.max_rss_after_mib:.0f} MiB after"
    )
    if measure.traced_peak_mib is not None:
        line += f"; tracemalloc peak {measure.traced_peak_mib:.1f} MiB"
    print(line, flush=True)


async def run_benchmark(arguments: argparse.Namespace) -> None:
    print(f"machine: {machine_description()}; load average before the run {os.getloadavg()[0]:.2f}")
    print(f"residents: {arguments.residents}")
    async with temporary_database(arguments.database, arguments.postgresql_url) as database_url:
        await run_on(database_url, arguments)


def main() -> None:
    arguments = parse_arguments()
    if arguments.database == "both":
        # One process per database, so the max RSS of one run does not carry into the next.
        for kind in selected_databases("both"):
            subprocess.run([sys.executable, __file__, *rerun_arguments(arguments, kind)], check=True)
        return
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    asyncio.run(run_benchmark(arguments))


def rerun_arguments(arguments: argparse.Namespace, database: str) -> list[str]:
    """Return the command-line arguments that repeat this run on ``database`` alone."""
    repeated = ["--database", database, "--residents", str(arguments.residents), "--postgresql-url", arguments.postgresql_url]
    return repeated + (["--no-trace"] if arguments.no_trace else [])


if __name__ == "__main__":
    main()
