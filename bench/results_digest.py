"""Benchmark: survey results and the weekly digest over a survey with many answers.

Fills a new database with R residents (default 50,000; 200,000 give 1,000,000 answers)
who each completed the five-question survey bench/vijf-vragen.yaml, so the survey has
5 x R answers, with INSERT ... SELECT statements that generate the rows in the database.
Each resident has an SMS address; one in ten gave no age band. The answers are spread
over the 14 days the survey was open, and the survey closed on the Wednesday of the last
complete week, asked by the organisation whose digest is gathered. That setup is not
measured.

Then measures, one after the other:

1. bot.results.survey_results without weights;
2. bot.panel_weights.survey_weights: raking on age to the reference population
   examples/reference/den-haag-2019.csv, area GM0518;
3. survey_results with those weights;
4. bot.digest.content.gather_digest for that organisation and week (results with
   weights, the representativeness report and the week's answers CSV among it);
5. bot.digest.render.render_digest of that digest (HTML, text and charts).

Each phase runs once untraced for its time and max RSS (getrusage), and then once more
under tracemalloc for its peak of memory allocated through Python.

Run it from the repository root: python bench/results_digest.py
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import subprocess
import sys
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, text

from common import (
    DEFAULT_POSTGRESQL_URL, REPOSITORY_ROOT, database_version, machine_description, measure_phase,
    selected_databases, temporary_database,
)
from bot.digest.content import gather_digest
from bot.digest.render import render_digest
from bot.digest.weeks import Week
from bot.flows.loader import load_survey_file
from bot.panel_weights import survey_weights
from bot.representativeness import load_reference_setup
from bot.results import survey_results
from bot.settings import Settings
from bot.surveys import save_survey
from store.db import create_engine, create_sessionmaker, upgrade
from store.models import Organisation, Survey, UtcDateTime, utcnow

SURVEY_FILE = REPOSITORY_ROOT / "bench" / "vijf-vragen.yaml"
REFERENCE_FILE = REPOSITORY_ROOT / "examples" / "reference" / "den-haag-2019.csv"
REFERENCE_AREA = "GM0518"
ZONE = ZoneInfo("Europe/Amsterdam")
MIN_GROUP_SIZE = 10
OPEN_DAYS = 14

RESIDENTS_SQL = """
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :residents)
INSERT INTO residents (id, pseudonym, consented_at, age_band, postcode, created_at)
SELECT i, CAST(100000000000 + i AS VARCHAR(16)), :joined,
       CASE i % 10 WHEN 0 THEN NULL WHEN 1 THEN '16-24' WHEN 2 THEN '25-44' WHEN 3 THEN '25-44'
                   WHEN 4 THEN '25-44' WHEN 5 THEN '45-64' WHEN 6 THEN '45-64' WHEN 7 THEN '45-64' ELSE '65+' END,
       CAST(2500 + i % 100 AS VARCHAR(4)), :joined
FROM n
"""
ADDRESSES_SQL = """
INSERT INTO addresses (id, channel, value, resident_id, last_inbound_at, created_at)
SELECT id, 'sms', '+316' || CAST(10000000 + id AS VARCHAR(16)), id, :joined, :joined FROM residents
"""
# Day ``day`` of the survey: the residents whose id modulo 14 is ``day`` respond then.
RESPONSES_SQL = """
INSERT INTO responses (id, survey_id, resident_id, channel, started_at, completed_at)
SELECT id, :survey, id, 'sms', :started, :completed FROM residents WHERE id % 14 = :day
"""
# Each answer's value as the JSON text the product stores: an option id, a scale point, a
# list of option ids, a number as a string, and yes or no.
ANSWER_VALUES = {
    "transport": "'\"' || CASE id % 4 WHEN 0 THEN 'walk' WHEN 1 THEN 'bike' WHEN 2 THEN 'public' ELSE 'car' END || '\"'",
    "safety": "CAST(1 + id % 5 AS VARCHAR(8))",
    "wishes": "CASE id % 3 WHEN 0 THEN '[\"trees\"]' WHEN 1 THEN '[\"benches\", \"play\"]' ELSE '[\"trees\", \"parking\", \"light\"]' END",
    "years": "'\"' || CAST(id % 40 AS VARCHAR(8)) || '\"'",
    "recommend": "CASE WHEN id % 3 = 0 THEN '\"no\"' ELSE '\"yes\"' END",
}
ANSWERS_SQL = """
INSERT INTO answers (response_id, question_id, value, skipped, answered_at)
SELECT id, :question, {value}, FALSE, completed_at FROM responses WHERE survey_id = :survey
"""


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--respondents", type=int, default=50_000, help="residents who completed the survey, 5 answers each (default 50000)"
    )
    parser.add_argument(
        "--database", choices=["sqlite", "postgresql", "both"], default="both", help="database to run on (default both)"
    )
    parser.add_argument("--no-trace", action="store_true", help="skip the second pass of each phase under tracemalloc")
    parser.add_argument(
        "--postgresql-url",
        default=DEFAULT_POSTGRESQL_URL,
        help=f"PostgreSQL server on which a temporary database is created and dropped (default {DEFAULT_POSTGRESQL_URL})",
    )
    arguments = parser.parse_args()
    if arguments.respondents < 1:
        parser.error("--respondents must be at least 1")
    return arguments


def digest_week(now: datetime) -> tuple[Week, datetime]:
    """Return the last complete week and a closing time at noon on its Wednesday."""
    week = Week.last_complete(now, ZONE)
    return week, datetime.combine(week.first_day + timedelta(days=2), time(12), ZONE)


async def populate(sessionmaker, respondents: int, closed_at: datetime) -> tuple[int, int]:
    """Insert the organisation, the closed survey, residents, responses and answers.

    Returns the primary keys of the survey and the organisation.
    """
    opened_at = closed_at - timedelta(days=OPEN_DAYS)
    joined = bindparam("joined", opened_at - timedelta(days=30), type_=UtcDateTime())
    async with sessionmaker() as session, session.begin():
        dialect = (await session.connection()).dialect.name
        organisation = Organisation(
            slug="gemeente-den-haag", name="Gemeente Den Haag", kind="municipality", contact_email="panel@example.nl", locale="nl"
        )
        session.add(organisation)
        row = (await save_survey(session, load_survey_file(SURVEY_FILE))).row
        await session.flush()
        row.organisation_id = organisation.id
        row.status, row.opens_at, row.opened_at = "closed", opened_at, opened_at
        row.closes_at, row.closed_at = closed_at, closed_at

        await session.execute(text(RESIDENTS_SQL).bindparams(joined), {"residents": respondents})
        await session.execute(text(ADDRESSES_SQL).bindparams(joined))
        for day in range(OPEN_DAYS):
            started_at = opened_at + timedelta(days=day, hours=1)
            statement = text(RESPONSES_SQL).bindparams(
                bindparam("started", started_at, type_=UtcDateTime()),
                bindparam("completed", started_at + timedelta(minutes=3), type_=UtcDateTime()),
            )
            await session.execute(statement, {"survey": row.id, "day": day})
        for question_id, value in ANSWER_VALUES.items():
            # PostgreSQL stores the answer in a json column, SQLite as text.
            value = f"CAST({value} AS JSON)" if dialect == "postgresql" else value
            await session.execute(text(ANSWERS_SQL.format(value=value)), {"question": question_id, "survey": row.id})
        survey_pk, organisation_pk = row.id, organisation.id
    if dialect == "postgresql":
        async with sessionmaker() as session, session.begin():
            # Autovacuum would analyze these tables after a bulk load, so do it now.
            await session.execute(text("ANALYZE"))
    return survey_pk, organisation_pk


class Phases:
    """The measured steps, each run in its own read-only session that is rolled back."""

    def __init__(self, sessionmaker, survey_pk: int, organisation_pk: int, week: Week) -> None:
        self.sessionmaker = sessionmaker
        self.survey_pk = survey_pk
        self.organisation_pk = organisation_pk
        self.week = week
        settings = Settings(reference_population=str(REFERENCE_FILE), reference_area=REFERENCE_AREA, weighting="age")
        self.setup = load_reference_setup(settings)
        self.survey_weights = None
        self.digest = None

    async def results(self) -> str:
        async with self.sessionmaker() as session:
            computed = await survey_results(session, await session.get(Survey, self.survey_pk), "nl")
        return f"{computed.respondents} respondents, n of the first question {computed.questions[0].n}"

    async def weights(self) -> str:
        async with self.sessionmaker() as session:
            weighting = await survey_weights(session, self.survey_pk, self.setup, MIN_GROUP_SIZE)
        if weighting.weights is None:
            raise RuntimeError(f"weighting failed: {weighting.problem}")
        self.survey_weights = weighting.weights
        return f"{len(weighting.weights)} weights, capped: {weighting.capped}"

    async def weighted_results(self) -> str:
        async with self.sessionmaker() as session:
            row = await session.get(Survey, self.survey_pk)
            computed = await survey_results(session, row, "nl", self.survey_weights)
        first = computed.questions[0].options[0]
        return f"first option {first.share:.4f} unweighted, {first.weighted_share:.4f} weighted"

    async def gather(self) -> str:
        async with self.sessionmaker() as session:
            organisation = await session.get(Organisation, self.organisation_pk)
            # gather_digest creates the survey's export key. Rolling it back keeps each pass the same.
            self.digest = await gather_digest(
                session, organisation, self.week, panel_name="Inwonerspanel", zone=ZONE,
                min_group_size=MIN_GROUP_SIZE, setup=self.setup,
            )
            await session.rollback()
        rows = self.digest.answers_csv.count("\n") - 1
        return f"{len(self.digest.closed)} closed survey, answers CSV of {rows} rows ({len(self.digest.answers_csv) / 1024**2:.1f} MiB)"

    async def render(self) -> str:
        rendered = render_digest(self.digest)
        return f"HTML {len(rendered.html) / 1024:.0f} KiB, {len(rendered.images)} charts"


async def run_phases(phases: Phases, trace: bool) -> None:
    """Run every phase once untraced, then, with ``trace``, every phase again under tracemalloc.

    The traced passes come last because tracemalloc's own memory would raise the max RSS
    of the untraced phases after them.
    """
    steps = [
        ("survey_results", phases.results),
        ("survey_weights", phases.weights),
        ("survey_results, weighted", phases.weighted_results),
        ("gather_digest", phases.gather),
        ("render_digest", phases.render),
    ]
    print(f"{'phase':<26} {'seconds':>8} {'max RSS before':>15} {'after':>6}  outcome")
    for label, step in steps:
        with measure_phase(trace=False) as untraced:
            outcome = await step()
        print(
            f"{label:<26} {untraced.seconds:>8.2f} {untraced.max_rss_before_mib:>11.0f} MiB {untraced.max_rss_after_mib:>6.0f}  {outcome}",
            flush=True,
        )
    if not trace:
        return
    print(f"{'phase, under tracemalloc':<26} {'seconds':>8} {'tracemalloc peak':>17}")
    for label, step in steps:
        with measure_phase(trace=True) as traced:
            await step()
        print(f"{label:<26} {traced.seconds:>8.2f} {traced.traced_peak_mib:>13.1f} MiB", flush=True)


async def run_on(database_url: str, arguments: argparse.Namespace) -> None:
    engine = create_engine(database_url)
    try:
        await upgrade(engine)
        sessionmaker = create_sessionmaker(engine)
        week, closed_at = digest_week(utcnow())
        print(f"\ndatabase: {await database_version(database_url)}")
        print(f"setting up {arguments.respondents} respondents, {5 * arguments.respondents} answers ...", flush=True)
        survey_pk, organisation_pk = await populate(sessionmaker, arguments.respondents, closed_at)
        phases = Phases(sessionmaker, survey_pk, organisation_pk, week)
        print(f"week {week}; survey closed {closed_at:%Y-%m-%d %H:%M %Z}")
        await run_phases(phases, trace=not arguments.no_trace)
    finally:
        await engine.dispose()


async def run_benchmark(arguments: argparse.Namespace) -> None:
    print(f"machine: {machine_description()}; load average before the run {os.getloadavg()[0]:.2f}")
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
    repeated = ["--database", database, "--respondents", str(arguments.respondents), "--postgresql-url", arguments.postgresql_url]
    return repeated + (["--no-trace"] if arguments.no_trace else [])


if __name__ == "__main__":
    main()
