"""A simulated week of panel activity, driven through the real engine, scheduler and store.

Residents join over the console channel with a profile, a survey asked by the municipality
is published, answered and closed with an outcome, a second survey is still running, topics
are suggested, approved and supported, and one resident sends STOP. Everything happens at
the real current time, so the digest to read is ``Week.containing`` today.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from bot import broadcast, topics
from bot.channels.types import Channel
from bot.digest.weeks import Week
from bot.outcomes import record_outcome
from bot.publishing import publish
from bot.schedule_policy import SendPolicy
from bot.scheduler import PanelScheduler
from bot.segments import Segment
from bot.turn import PanelInfo
from store.models import Address, Organisation, Survey, utcnow
from tests.harness import EXAMPLE_SURVEY, ConsolePanel

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
ALL_TYPES = Path(__file__).parent / "data" / "all-types.yaml"
MUNICIPALITY_EMAIL = "beleid@testdorp.example.nl"
COUNCIL_EMAIL = "council@noord.example.org"
# Postcodes of the test reference population in tests/data/reference-testdorp.csv.
POSTCODES = ("1011 AB", "1012 CD", "1013 EF")
# Age band choices at onboarding: 1 = 16-24 ... 4 = 65+.
AGE_CHOICES = ("1", "2", "2", "3", "3", "4")
OUTCOME_NL = "We planten dit voorjaar 40 nieuwe bomen in het park."
OUTCOME_EN = "We will plant 40 new trees in the park this spring."


@dataclass(frozen=True)
class SimulatedWeek:
    week: Week
    panel: ConsolePanel
    residents: list[str]
    respondents: list[str]
    closed_slug: str
    running_slug: str
    topic_id: int


def policy() -> SendPolicy:
    return SendPolicy(
        zone=AMSTERDAM,
        quiet_hours=None,
        invitations_per_week=5,
        reminder_after=timedelta(hours=48),
        channels=frozenset({Channel.CONSOLE.value}),
    )


async def simulate_week(db, *, residents: int = 24, answering: int = 18, min_group_size: int = 10) -> SimulatedWeek:
    """Run a week of panel activity; ``answering`` residents answer the closed survey."""
    sessionmaker = db[1]
    async with sessionmaker() as session, session.begin():
        session.add_all(
            [
                Organisation(slug="gemeente-testdorp", name="Gemeente Testdorp", kind="municipality", contact_email=MUNICIPALITY_EMAIL),
                Organisation(slug="wijkraad-noord", name="Wijkraad Noord", kind="neighbourhood_council", contact_email=COUNCIL_EMAIL, locale="en"),
                Organisation(slug="bibliotheek", name="Bibliotheek Testdorp", kind="other"),
            ]
        )
    panel = ConsolePanel(sessionmaker, PanelInfo("Testdorp praat mee", "Stichting Testdorp", "https://example.org/p", min_group_size=min_group_size))
    names = [f"resident-{number:02d}" for number in range(residents)]
    for number, name in enumerate(names):
        for text in ("hoi", "ja", "1", AGE_CHOICES[number % len(AGE_CHOICES)], POSTCODES[number % len(POSTCODES)]):
            await panel.say(text, resident=name)

    scheduler = PanelScheduler(sessionmaker, policy(), min_group_size=min_group_size)
    closed = await _published(db, panel, ALL_TYPES, "gemeente-testdorp")
    await scheduler.tick()
    await panel.worker.drain()
    respondents = names[:answering]
    for number, name in enumerate(respondents):
        visits = "1" if number % 3 else "3"
        answers = [visits] + (["overslaan"] if visits == "3" else []) + ["1,3", str(2 + number % 4), "ja" if number % 4 else "nee", "2,5", "Meer bankjes"]
        for text in answers:
            await panel.say(text, resident=name)
    async with sessionmaker() as session, session.begin():
        await broadcast.close_survey(session, closed.id, policy(), utcnow(), min_group_size=min_group_size)
    async with sessionmaker() as session, session.begin():
        await record_outcome(session, closed.slug, {"nl": OUTCOME_NL, "en": OUTCOME_EN}, "moderator", utcnow(), utcnow())
    await panel.worker.drain()

    running = await _published(db, panel, EXAMPLE_SURVEY, "wijkraad-noord")
    await scheduler.tick()
    await panel.worker.drain()
    for name in names[:5]:
        await panel.say("1", resident=name)

    topic_id = await _topics(sessionmaker, panel, names)
    await panel.say("STOP", resident=names[-1])
    return SimulatedWeek(Week.containing(utcnow().astimezone(AMSTERDAM).date()), panel, names, respondents, closed.slug, running.slug, topic_id)


async def _published(db, panel: ConsolePanel, path: Path, organisation: str) -> Survey:
    row = await panel.load_survey(path)
    now = utcnow()
    async with db[1]() as session, session.begin():
        organisation_id = await session.scalar(select(Organisation.id).where(Organisation.slug == organisation))
        await session.execute(update(Survey).where(Survey.id == row.id).values(organisation_id=organisation_id))
        await publish(session, row.slug, now - timedelta(minutes=1), now + timedelta(days=6), Segment(), [Channel.CONSOLE.value], now)
    return row


async def _topics(sessionmaker, panel: ConsolePanel, names: list[str]) -> int:
    """Two approved topics, one pending; the first approved one gets six supporters."""
    now = utcnow()
    async with sessionmaker() as session, session.begin():
        ids = {}
        for name in names[:8]:
            ids[name] = await session.scalar(select(Address.resident_id).where(Address.value == name))
        benches = await topics.submit(session, ids[names[0]], "Meer bankjes langs de Stationsweg", "Noord", now)
        lights = await topics.submit(session, ids[names[1]], "Betere verlichting in het fietstunneltje", None, now)
        await topics.submit(session, ids[names[2]], "Een hondenuitlaatplek bij de school", None, now)
        await session.flush()
        await topics.approve(session, benches.id, "moderator", now)
        await topics.approve(session, lights.id, "moderator", now, title="Verlichting fietstunnel")
        for name in names[2:8]:
            await topics.support(session, benches.id, ids[name], now)
        await topics.support(session, lights.id, ids[names[3]], now)
    await panel.worker.drain()
    return benches.id
