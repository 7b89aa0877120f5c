"""The weekly digest end to end: a simulated week gathered from the store, rendered and sent
over SMTP to aiosmtpd on 127.0.0.1, once per organisation and week, with retries."""

from __future__ import annotations

import asyncio
import csv
import io
import logging
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from bot.digest.dispatch import DigestConfig, DigestDispatcher
from bot.digest.mail import send_message
from bot.digest.weeks import Week
from bot.representativeness import load_reference_setup
from bot.scheduler import PanelScheduler
from bot.settings import load_settings
from store.db import create_engine, create_sessionmaker
from store.models import Address, Answer, DigestRun, Organisation, Resident, Response, Survey
from tests.panel_week import AMSTERDAM, COUNCIL_EMAIL, MUNICIPALITY_EMAIL, OUTCOME_NL, policy, simulate_week

DATA = Path(__file__).parent / "data"


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def reference_setup():
    return load_reference_setup(
        load_settings(
            environ={
                "CHATPANEL_REFERENCE_POPULATION": str(DATA / "reference-testdorp.csv"),
                "CHATPANEL_POSTCODE_AREAS": str(DATA / "postcodes-testdorp.csv"),
                "CHATPANEL_WEIGHTING": "age",
            }
        )
    )


def dispatcher(sessionmaker, server_url: str, clock=None, *, send=None, min_group_size: int = 10) -> DigestDispatcher:
    config = DigestConfig("Testdorp praat mee", AMSTERDAM, min_group_size, reference_setup(), server_url, "panel@testdorp.example.nl")
    return DigestDispatcher(
        sessionmaker, config, clock=clock or Clock(datetime.now(AMSTERDAM)),
        send=send or partial(send_message, retry_delays=(0.0, 0.0), local_hostname="localhost"),
    )


def monday_after(week: Week, hour: int = 9, minute: int = 5) -> datetime:
    return datetime.combine(week.last_day + timedelta(days=1), datetime.min.time(), AMSTERDAM).replace(hour=hour, minute=minute)


def html_of(message) -> str:
    return next(part for part in message.walk() if part.get_content_type() == "text/html").get_content()


def text_of(message) -> str:
    return next(part for part in message.walk() if part.get_content_type() == "text/plain").get_content()


def csv_of(message) -> tuple[str, bytes]:
    part = next(part for part in message.walk() if part.get_content_type() == "text/csv")
    return part.get_filename(), part.get_payload(decode=True)


async def test_simulated_week_digest_matches_store(db, smtp_server):
    simulated = await simulate_week(db)
    server = smtp_server()
    recipient = await dispatcher(db[1], server.url()).send_now("gemeente-testdorp", simulated.week)

    assert recipient == MUNICIPALITY_EMAIL
    [received] = server.messages
    assert received.rcpt_tos == [MUNICIPALITY_EMAIL]
    message = received.message
    html, text = html_of(message), text_of(message)
    async with db[1]() as session:
        closed_pk = await session.scalar(select(Survey.id).where(Survey.slug == simulated.closed_slug))
        respondents = await session.scalar(select(func.count()).select_from(Response).where(Response.survey_id == closed_pk))
        visits = (
            await session.execute(
                select(Answer.value).join(Response).where(Response.survey_id == closed_pk, Answer.question_id == "visits")
            )
        ).scalars()
        daily = sum(value == "daily" for value in visits)
        # The attachment contains the answers to the municipality's own survey, except those
        # in residents' own words (why_not, remarks); the other survey is the council's.
        answers = await session.scalar(
            select(func.count()).select_from(Answer).join(Response).where(
                Response.survey_id == closed_pk, Answer.skipped.is_(False), Answer.question_id.not_in(["why_not", "remarks"])
            )
        )
    assert respondents == 18
    # The figures of the closed survey, as Dutch percentages.
    assert "Alle typen" in html
    assert "Alle typen" in text
    share = f"{daily / respondents * 100:.1f}".replace(".", ",") + "%"
    assert share in html
    assert share in text
    assert OUTCOME_NL in html
    assert OUTCOME_NL in text
    assert "Meer bankjes langs de Stationsweg" in html
    assert "Groen in de wijk" in html
    assert "Gewogen" in html or "gewogen" in html

    # One inline PNG per chart, each referenced from the HTML by its Content-ID.
    images = [part for part in message.walk() if part.get_content_type() == "image/png"]
    assert len(images) >= 4
    for image in images:
        assert f"cid:{image['Content-ID'].strip('<>')}" in html
        assert image.get_payload(decode=True).startswith(b"\x89PNG")

    # The attachment holds this week's answers under pseudonyms, and nothing that names anyone.
    filename, data = csv_of(message)
    assert filename == f"antwoorden-{simulated.week}.csv"
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert len(rows) - 1 == answers
    assert {row[0] for row in rows[1:]} == {simulated.closed_slug}
    assert b"Meer bankjes" not in data
    async with db[1]() as session:
        addresses = (await session.execute(select(Address.value))).scalars().all()
        pseudonyms = (await session.execute(select(Resident.pseudonym))).scalars().all()
    for value in [*addresses, *pseudonyms]:
        assert value.encode() not in data


async def test_english_digest_for_english_organisation(db, smtp_server):
    simulated = await simulate_week(db, residents=8, answering=6, min_group_size=3)
    server = smtp_server()
    await dispatcher(db[1], server.url(), min_group_size=3).send_now("wijkraad-noord", simulated.week)
    [received] = server.messages
    assert received.rcpt_tos == [COUNCIL_EMAIL]
    html = html_of(received.message)
    assert "All types" in html
    assert "We will plant 40 new trees" in html
    assert csv_of(received.message)[0] == f"answers-{simulated.week}.csv"


async def test_two_processes_send_each_digest_once(db, database_url, smtp_server):
    simulated = await simulate_week(db, residents=8, answering=6, min_group_size=3)
    server = smtp_server()
    clock = Clock(monday_after(simulated.week))
    second_engine = create_engine(database_url)
    try:
        first = dispatcher(db[1], server.url(), clock, min_group_size=3)
        second = dispatcher(create_sessionmaker(second_engine), server.url(), clock, min_group_size=3)
        sent = await asyncio.gather(first.run_due(), second.run_due())
        # A restarted process finds both weeks done.
        again = await dispatcher(db[1], server.url(), clock, min_group_size=3).run_due()
    finally:
        await second_engine.dispose()

    assert sorted(sent[0] + sent[1]) == ["gemeente-testdorp", "wijkraad-noord"]
    assert again == []
    assert sorted(message.rcpt_tos[0] for message in server.messages) == sorted([MUNICIPALITY_EMAIL, COUNCIL_EMAIL])
    async with db[1]() as session:
        runs = (await session.execute(select(DigestRun.week, DigestRun.status))).all()
    assert sorted(runs) == [(str(simulated.week), "sent")] * 2


async def test_failed_send_retried_later(db, smtp_server, closed_port, caplog):
    simulated = await simulate_week(db, residents=8, answering=6, min_group_size=3)
    server = smtp_server()
    broken = f"smtp://127.0.0.1:{closed_port}"

    async def route(message, url, *, context):
        target = broken if context == "wijkraad-noord" else url
        await send_message(message, target, context=context, retry_delays=(0.0, 0.0), local_hostname="localhost")

    clock = Clock(monday_after(simulated.week))
    with caplog.at_level(logging.ERROR, logger="bot.digest.dispatch"):
        sent = await dispatcher(db[1], server.url(), clock, send=route, min_group_size=3).run_due()
    assert sent == ["gemeente-testdorp"]
    assert [message.rcpt_tos for message in server.messages] == [[MUNICIPALITY_EMAIL]]
    errors = [record.getMessage() for record in caplog.records if record.levelno == logging.ERROR]
    assert any(message.startswith("digest for wijkraad-noord, week") for message in errors)
    async with db[1]() as session:
        council = await session.scalar(select(Organisation.id).where(Organisation.slug == "wijkraad-noord"))
        run = await session.scalar(select(DigestRun).where(DigestRun.organisation_id == council))
    assert run.status == "failed"
    assert f"127.0.0.1:{closed_port}" in run.error

    # Within the hour nothing is tried again; after it, the digest goes out.
    clock.now += timedelta(minutes=30)
    assert await dispatcher(db[1], server.url(), clock, min_group_size=3).run_due() == []
    clock.now += timedelta(minutes=31)
    assert await dispatcher(db[1], server.url(), clock, min_group_size=3).run_due() == ["wijkraad-noord"]
    assert [message.rcpt_tos for message in server.messages][-1] == [COUNCIL_EMAIL]


async def test_restart_sends_missed_digest_within_a_day(db, smtp_server):
    simulated = await simulate_week(db, residents=8, answering=6, min_group_size=3)
    server = smtp_server()
    late = Clock(monday_after(simulated.week, hour=20))
    assert sorted(await dispatcher(db[1], server.url(), late, min_group_size=3).run_due()) == ["gemeente-testdorp", "wijkraad-noord"]


async def test_digest_older_than_a_day_is_skipped(db, smtp_server):
    simulated = await simulate_week(db, residents=8, answering=6, min_group_size=3)
    server = smtp_server()
    tuesday = Clock(monday_after(simulated.week) + timedelta(days=1, hours=1))
    assert await dispatcher(db[1], server.url(), tuesday, min_group_size=3).run_due() == []
    assert server.messages == []


async def test_schedule_off_and_missing_address_send_nothing(db, smtp_server):
    simulated = await simulate_week(db, residents=8, answering=6, min_group_size=3)
    async with db[1]() as session, session.begin():
        await session.execute(update(Organisation).where(Organisation.slug == "wijkraad-noord").values(digest_schedule="off"))
        await session.execute(update(Organisation).where(Organisation.slug == "gemeente-testdorp").values(digest_schedule="fri 16:00"))
    server = smtp_server()
    monday = Clock(monday_after(simulated.week))
    assert await dispatcher(db[1], server.url(), monday, min_group_size=3).run_due() == []
    friday = Clock(monday_after(simulated.week).replace(hour=16, minute=1) + timedelta(days=4))
    assert await dispatcher(db[1], server.url(), friday, min_group_size=3).run_due() == ["gemeente-testdorp"]
    assert len(server.messages) == 1


async def test_abandoned_claim_is_taken_over(db, smtp_server):
    simulated = await simulate_week(db, residents=8, answering=6, min_group_size=3)
    server = smtp_server()
    clock = Clock(monday_after(simulated.week, minute=40))
    async with db[1]() as session, session.begin():
        council = await session.scalar(select(Organisation.id).where(Organisation.slug == "wijkraad-noord"))
        session.add(DigestRun(organisation_id=council, week=str(simulated.week), status="sending", attempts=1, claimed_at=clock.now - timedelta(minutes=35)))
    sent = await dispatcher(db[1], server.url(), clock, min_group_size=3).run_due()
    assert sorted(sent) == ["gemeente-testdorp", "wijkraad-noord"]


async def test_send_now_unknown_and_addressless_organisations(db, smtp_server):
    server = smtp_server()
    async with db[1]() as session, session.begin():
        session.add(Organisation(slug="bibliotheek", name="Bibliotheek", kind="other"))
    sender = dispatcher(db[1], server.url())
    with pytest.raises(LookupError, match="no organisation 'nope'; see: chatpanel org list"):
        await sender.send_now("nope", Week.parse("2026-W49"))
    with pytest.raises(LookupError, match="chatpanel org edit bibliotheek --email ADDRESS"):
        await sender.send_now("bibliotheek", Week.parse("2026-W49"))


async def test_panel_scheduler_keeps_a_cron_job_per_organisation(db, smtp_server):
    server = smtp_server()
    async with db[1]() as session, session.begin():
        session.add(Organisation(slug="gemeente", name="Gemeente", kind="municipality", contact_email="a@example.nl"))
        session.add(Organisation(slug="stil", name="Stil", kind="other", contact_email="b@example.nl", digest_schedule="off"))
    scheduler = PanelScheduler(db[1], policy(), interval_seconds=3600, digests=dispatcher(db[1], server.url()))
    scheduler.start()
    try:
        await scheduler.tick()
        job = scheduler._scheduler.get_job("digest:gemeente")
        assert job is not None
        assert scheduler._scheduler.get_job("digest:stil") is None
        fire = job.next_run_time.astimezone(AMSTERDAM)
        assert (fire.weekday(), fire.hour, fire.minute) == (0, 9, 0)

        async with db[1]() as session, session.begin():
            await session.execute(update(Organisation).where(Organisation.slug == "gemeente").values(digest_schedule="wed 14:30"))
        await scheduler.tick()
        fire = scheduler._scheduler.get_job("digest:gemeente").next_run_time.astimezone(AMSTERDAM)
        assert (fire.weekday(), fire.hour, fire.minute) == (2, 14, 30)

        async with db[1]() as session, session.begin():
            await session.execute(update(Organisation).where(Organisation.slug == "gemeente").values(digest_schedule="off"))
        await scheduler.tick()
        assert scheduler._scheduler.get_job("digest:gemeente") is None
    finally:
        await scheduler.stop()
