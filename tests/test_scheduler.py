"""The scheduler with a clock the test controls: opening, invitations, quiet hours, the
weekly cap, reminders, closing, restarts and two schedulers on one database."""

from __future__ import annotations

import asyncio
from datetime import datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update

from bot.channels.types import Channel, InboundKind
from bot.publishing import publish
from bot.schedule_policy import SendPolicy
from bot.scheduler import PanelScheduler
from bot.segments import Segment
from store.db import create_engine, create_sessionmaker
from store.models import Address, Answer, OutboxMessage, Resident, Survey
from tests.harness import ConsolePanel

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
ALL_TYPES = Path(__file__).parent / "data" / "all-types.yaml"
# Monday 7 December 2026, 10:00 in Amsterdam.
MONDAY_10 = datetime(2026, 12, 7, 10, 0, tzinfo=AMSTERDAM).astimezone(timezone.utc)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> None:
        self.now += timedelta(**delta)


def policy(**overrides) -> SendPolicy:
    values = dict(
        zone=AMSTERDAM,
        quiet_hours=(time(21, 0), time(9, 0)),
        invitations_per_week=2,
        reminder_after=timedelta(hours=48),
        channels=frozenset({Channel.CONSOLE.value}),
    )
    values.update(overrides)
    return SendPolicy(**values)


async def panel_with_residents(db, names=("alice", "bob"), locale=None) -> ConsolePanel:
    panel = ConsolePanel(db[1])
    for name in names:
        for text in ("hoi", "ja", "1" if locale != "en" else "2", "overslaan", "overslaan"):
            await panel.say(text, resident=name)
    return panel


async def publish_survey(db, panel, clock, *, opens, closes, path=ALL_TYPES, segment=Segment(), slug=None):
    row = await panel.load_survey(path)
    async with db[1]() as session, session.begin():
        await publish(session, slug or row.slug, opens, closes, segment, [Channel.CONSOLE.value], clock())
    return row


async def outbox(db, kind: str) -> list[OutboxMessage]:
    async with db[1]() as session:
        statement = select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id)
        return list((await session.execute(statement)).scalars())


async def survey_status(db, slug="alle-typen") -> str:
    async with db[1]() as session:
        return (await session.execute(select(Survey.status).where(Survey.slug == slug))).scalar_one()


async def test_survey_opens_at_its_time(db):
    clock = Clock(MONDAY_10)
    panel = await panel_with_residents(db)
    await publish_survey(db, panel, clock, opens=MONDAY_10 + timedelta(hours=1), closes=MONDAY_10 + timedelta(days=7))
    scheduler = PanelScheduler(db[1], policy(), clock=clock)

    report = await scheduler.tick()
    assert report.opened == []
    assert await survey_status(db) == "scheduled"

    clock.advance(hours=1)
    report = await scheduler.tick()
    assert report.opened == ["alle-typen"]
    assert report.invitations == 2
    assert await survey_status(db) == "open"


async def test_invitation_names_requester(db):
    clock = Clock(MONDAY_10)
    panel = await panel_with_residents(db)
    await publish_survey(db, panel, clock, opens=MONDAY_10, closes=MONDAY_10 + timedelta(days=7))
    await PanelScheduler(db[1], policy(), clock=clock).tick()
    [invitation, _] = await outbox(db, "invitation")
    assert "Nieuwe vragenlijst: Alle typen" in invitation.text
    assert "Deze vragen komen van Wijkraad Centrum." in invitation.text
    assert invitation.template_variables == {"1": "Alle typen", "2": "Wijkraad Centrum"}
    assert invitation.next_attempt_at == MONDAY_10


async def test_invitation_is_first_question(db):
    clock = Clock(MONDAY_10)
    panel = await panel_with_residents(db)
    await publish_survey(db, panel, clock, opens=MONDAY_10, closes=MONDAY_10 + timedelta(days=7))
    await PanelScheduler(db[1], policy(), clock=clock).tick()
    panel.worker.clock = clock
    await panel.worker.drain()
    invitation = panel.sender.sent[-1]
    assert "Vraag 1 van 7: Hoe vaak ga je naar het park?" in invitation.text
    assert [choice.label for choice in invitation.choices] == ["Elke dag", "Elke week", "Nooit"]
    reply = await panel.say("", kind=InboundKind.CHOICE, payload=invitation.choices[1].payload, resident=invitation.address)
    assert "Vraag 3 van 7" in reply


async def test_busy_resident_gets_short_invitation(db):
    clock = Clock(MONDAY_10)
    panel = await panel_with_residents(db, names=("alice",))
    await panel.say("IDEE", resident="alice")
    await publish_survey(db, panel, clock, opens=MONDAY_10, closes=MONDAY_10 + timedelta(days=7))
    await PanelScheduler(db[1], policy(), clock=clock).tick()
    [invitation] = await outbox(db, "invitation")
    assert invitation.text.endswith("Doe je mee?")
    assert [choice["label"] for choice in invitation.choices] == ["Ja", "Nee"]
    reply = await panel.say("", kind=InboundKind.CHOICE, payload=invitation.choices[0]["payload"], resident="alice")
    assert "Vraag 1 van 7" in reply


async def test_resident_still_joining_not_invited(db):
    clock = Clock(MONDAY_10)
    panel = await panel_with_residents(db, names=("alice",))
    # Bob agreed and is at the language question.
    for text in ("hoi", "ja"):
        await panel.say(text, resident="bob")
    await publish_survey(db, panel, clock, opens=MONDAY_10, closes=MONDAY_10 + timedelta(days=7))

    report = await PanelScheduler(db[1], policy(), clock=clock).tick()

    assert report.invitations == 1
    async with db[1]() as session:
        alice = await session.scalar(select(Address.id).where(Address.value == "alice"))
    assert [invitation.address_id for invitation in await outbox(db, "invitation")] == [alice]
    for text in ("1", "overslaan"):
        await panel.say(text, resident="bob")
    assert "Vraag 1 van 7: Hoe vaak ga je naar het park?" in await panel.say("overslaan", resident="bob")


async def test_quiet_hours_hold_invitations(db):
    evening = datetime(2026, 12, 7, 22, 30, tzinfo=AMSTERDAM).astimezone(timezone.utc)
    clock = Clock(evening)
    panel = await panel_with_residents(db)
    await publish_survey(db, panel, clock, opens=evening, closes=evening + timedelta(days=7))
    await PanelScheduler(db[1], policy(), clock=clock).tick()
    invitations = await outbox(db, "invitation")
    morning = datetime(2026, 12, 8, 9, 0, tzinfo=AMSTERDAM).astimezone(timezone.utc)
    assert [row.next_attempt_at for row in invitations] == [morning, morning]

    panel.worker.clock = clock
    before = len(panel.sender.sent)
    await panel.worker.drain()
    assert len(panel.sender.sent) == before
    clock.now = morning
    await panel.worker.drain()
    assert len(panel.sender.sent) == before + 2


async def test_night_reply_goes_at_once(db):
    night = datetime(2026, 12, 7, 23, 30, tzinfo=AMSTERDAM).astimezone(timezone.utc)
    panel = ConsolePanel(db[1])
    panel.worker.clock = Clock(night)
    replies = await panel.send("hoi")
    assert len(replies) == 1


async def test_weekly_cap_delays_third_invitation(db, tmp_path):
    clock = Clock(MONDAY_10)
    panel = await panel_with_residents(db, names=("alice",))
    source = ALL_TYPES.read_text(encoding="utf-8")
    for number in range(3):
        path = tmp_path / f"survey{number}.yaml"
        path.write_text(source.replace("id: alle-typen", f"id: typen-{number}"), encoding="utf-8")
        await publish_survey(db, panel, clock, opens=clock(), closes=clock() + timedelta(days=30), path=path)
        await PanelScheduler(db[1], policy(), clock=clock).tick()
        clock.advance(hours=1)
    times = [row.next_attempt_at for row in await outbox(db, "invitation")]
    assert times[0] == MONDAY_10
    assert times[1] == MONDAY_10 + timedelta(hours=1)
    assert times[2] == MONDAY_10 + timedelta(days=7)


async def test_reminders_go_once(db):
    clock = Clock(MONDAY_10)
    panel = await panel_with_residents(db, names=("alice", "bob", "carol"))
    await publish_survey(db, panel, clock, opens=MONDAY_10, closes=MONDAY_10 + timedelta(days=7))
    scheduler = PanelScheduler(db[1], policy(), clock=clock)
    await scheduler.tick()
    panel.worker.clock = clock
    await panel.worker.drain()
    await panel.say("ja", resident="bob")
    await panel.say("1", resident="bob")
    for text in ("ja", "1", "1", "3", "ja", "2", "overslaan"):
        await panel.say(text, resident="carol")

    clock.advance(hours=47)
    assert (await scheduler.tick()).reminders == 0
    clock.advance(hours=1)
    assert (await scheduler.tick()).reminders == 2
    assert (await scheduler.tick()).reminders == 0

    reminders = {row.address_id: row.text for row in await outbox(db, "reminder")}
    assert len(reminders) == 2
    texts = sorted(reminders.values())
    assert texts[0].startswith("Herinnering: Alle typen staat nog open.")
    assert texts[1].startswith("Je bent nog niet klaar met Alle typen.")


async def test_closing_ends_conversations_politely(db):
    clock = Clock(MONDAY_10)
    panel = await panel_with_residents(db)
    await publish_survey(db, panel, clock, opens=MONDAY_10, closes=MONDAY_10 + timedelta(days=2))
    scheduler = PanelScheduler(db[1], policy(), clock=clock)
    await scheduler.tick()
    await panel.say("1", resident="alice")

    clock.advance(days=2)
    report = await scheduler.tick()
    assert report.closed == ["alle-typen"]
    assert await survey_status(db) == "closed"
    [note] = await outbox(db, "closing")
    assert "Alle typen is nu gesloten" in note.text

    reply = await panel.say("1,2", resident="alice")
    assert "Vraag" not in reply
    async with db[1]() as session:
        assert await session.scalar(select(func.count()).select_from(Answer)) == 1


async def test_restart_opens_missed_survey_once(db):
    clock = Clock(MONDAY_10)
    panel = await panel_with_residents(db)
    await publish_survey(db, panel, clock, opens=MONDAY_10 + timedelta(minutes=5), closes=MONDAY_10 + timedelta(days=7))
    clock.advance(hours=1)
    restarted = PanelScheduler(db[1], policy(), clock=clock)
    first = await restarted.tick()
    second = await restarted.tick()
    assert first.opened == ["alle-typen"]
    assert second.opened == []
    assert len(await outbox(db, "invitation")) == 2


async def test_two_schedulers_invite_once(db, database_url):
    clock = Clock(MONDAY_10)
    panel = await panel_with_residents(db, names=[f"resident{number}" for number in range(12)])
    await publish_survey(db, panel, clock, opens=MONDAY_10, closes=MONDAY_10 + timedelta(days=7))
    engines = [create_engine(database_url) for _ in range(2)]
    try:
        schedulers = [PanelScheduler(create_sessionmaker(engine), policy(), clock=clock, batch_size=5) for engine in engines]
        reports = await asyncio.gather(*(scheduler.tick() for scheduler in schedulers))
    finally:
        for engine in engines:
            await engine.dispose()
    assert sum(len(report.opened) for report in reports) == 1
    assert sum(report.invitations for report in reports) == 12
    assert len(await outbox(db, "invitation")) == 12


async def test_segment_selects_language(db):
    clock = Clock(MONDAY_10)
    panel = await panel_with_residents(db, names=("alice",))
    for text in ("hoi", "ja", "2", "skip", "skip"):
        await panel.say(text, resident="emma")
    await publish_survey(
        db, panel, clock, opens=MONDAY_10, closes=MONDAY_10 + timedelta(days=7), segment=Segment(languages=frozenset({"en"}))
    )
    await PanelScheduler(db[1], policy(), clock=clock).tick()
    [invitation] = await outbox(db, "invitation")
    assert invitation.locale == "en"
    assert invitation.text.startswith("New survey: All types")


async def test_opted_out_resident_not_invited(db):
    clock = Clock(MONDAY_10)
    panel = await panel_with_residents(db)
    await panel.say("STOP", resident="bob")
    await publish_survey(db, panel, clock, opens=MONDAY_10, closes=MONDAY_10 + timedelta(days=7))
    await PanelScheduler(db[1], policy(), clock=clock).tick()
    assert len(await outbox(db, "invitation")) == 1


async def test_resident_without_current_consent_not_invited(db):
    clock = Clock(MONDAY_10)
    panel = await panel_with_residents(db)
    async with db[1]() as session, session.begin():
        bob = (await session.execute(select(Address).where(Address.value == "bob"))).scalar_one()
        await session.execute(update(Resident).where(Resident.id == bob.resident_id).values(consent_version="2"))
    await publish_survey(db, panel, clock, opens=MONDAY_10, closes=MONDAY_10 + timedelta(days=7))
    await PanelScheduler(db[1], policy(privacy_version="2"), clock=clock).tick()
    [invitation] = await outbox(db, "invitation")
    assert invitation.address_id == bob.id


async def test_opening_across_autumn_clock_change(db):
    # Clocks go back from 03:00 to 02:00 on Sunday 25 October 2026.
    start = datetime(2026, 10, 25, 0, 0, tzinfo=AMSTERDAM).astimezone(timezone.utc)
    opens = datetime(2026, 10, 25, 2, 30, tzinfo=AMSTERDAM, fold=1).astimezone(timezone.utc)
    clock = Clock(start)
    panel = await panel_with_residents(db, names=("alice",))
    await publish_survey(db, panel, clock, opens=opens, closes=opens + timedelta(days=3))
    scheduler = PanelScheduler(db[1], policy(quiet_hours=None), clock=clock)
    openings = []
    for _ in range(16):
        report = await scheduler.tick()
        openings.extend(report.opened)
        clock.advance(minutes=15)
    assert openings == ["alle-typen"]
    assert len(await outbox(db, "invitation")) == 1


async def test_apscheduler_triggers_tick(db):
    panel = await panel_with_residents(db, names=("alice",))
    now = datetime.now(timezone.utc)
    await publish_survey(db, panel, Clock(now), opens=now - timedelta(minutes=1), closes=now + timedelta(days=1))
    scheduler = PanelScheduler(db[1], policy(quiet_hours=None), interval_seconds=0.05)
    scheduler.start()
    try:
        async with asyncio.timeout(10):
            while await survey_status(db) != "open":
                await asyncio.sleep(0.05)
    finally:
        await scheduler.stop()
    assert len(await outbox(db, "invitation")) == 1
