"""Topics through the engine and the moderator commands: suggesting, the weekly limit,
moderation with the audit log, support, merging, ABOUT and surveys from topics."""

from __future__ import annotations



from sqlalchemy import select

from bot import topics
from bot.flows.keywords import Keyword, match_keyword
from bot.scheduler import PanelScheduler
from store.models import AuditEntry, Organisation, OutboxMessage, Suggestion, Support, utcnow
from tests.harness import PANEL, ConsolePanel
from tests.test_scheduler import policy


async def joined(db, *names: str) -> ConsolePanel:
    panel = ConsolePanel(db[1])
    for name in names:
        for text in ("hoi", "ja", "1", "overslaan", "overslaan"):
            await panel.say(text, resident=name)
    return panel


async def suggest(panel: ConsolePanel, resident: str, text: str, neighbourhood: str = "OVERSLAAN") -> str:
    await panel.say("IDEE", resident=resident)
    await panel.say(text, resident=resident)
    await panel.say(neighbourhood, resident=resident)
    return await panel.say("ja", resident=resident)


async def suggestions(db) -> list[Suggestion]:
    async with db[1]() as session:
        return list((await session.execute(select(Suggestion).order_by(Suggestion.id))).scalars())


async def moderate(db, action, *args, **kwargs):
    async with db[1]() as session, session.begin():
        return await action(session, *args, **kwargs)


def test_new_keywords_match():
    assert match_keyword("OVER") is Keyword.ABOUT
    assert match_keyword("topics") is Keyword.TOPICS
    assert match_keyword("Resultaten!") is Keyword.RESULTS


async def test_idea_flow_asks_neighbourhood(db):
    panel = await joined(db, "alice")
    await panel.say("IDEE", resident="alice")
    reply = await panel.say("Meer groen op het Plein graag", resident="alice")
    assert "buurt" in reply
    reply = await panel.say("Centrum", resident="alice")
    assert "Meer groen op het Plein graag" in reply
    assert "Buurt: Centrum" in reply
    await panel.say("ja", resident="alice")
    [suggestion] = await suggestions(db)
    assert suggestion.neighbourhood == "Centrum"
    assert suggestion.status == "pending"


async def test_idea_declined_at_confirmation(db):
    panel = await joined(db, "alice")
    reply = await suggest(panel, "alice", "Een nieuwe speeltuin bij de school", neighbourhood="skip")
    del reply
    await panel.say("IDEE", resident="alice")
    await panel.say("Nog een idee over de markt hier", resident="alice")
    await panel.say("overslaan", resident="alice")
    reply = await panel.say("nee", resident="alice")
    assert "geen onderwerp" in reply
    assert len(await suggestions(db)) == 1


async def test_free_message_is_asked_first(db):
    panel = await joined(db, "alice")
    reply = await panel.say("Er moeten meer prullenbakken komen in het park", resident="alice")
    assert "Wil je dit als onderwerp" in reply
    assert await suggestions(db) == []
    await panel.say("ja", resident="alice")
    await panel.say("overslaan", resident="alice")
    await panel.say("ja", resident="alice")
    [suggestion] = await suggestions(db)
    assert suggestion.text == "Er moeten meer prullenbakken komen in het park"


async def test_too_long_free_message_names_limit(db):
    panel = await joined(db, "alice")
    text = "Meer groen in de straat " * 30
    reply = await panel.say(text, resident="alice")
    assert f"Je bericht is {len(text.strip())} tekens lang." in reply
    assert "Stuur het dan opnieuw, in maximaal 500 tekens." in reply
    assert await suggestions(db) == []


async def test_short_free_message_not_offered(db):
    panel = await joined(db, "alice")
    reply = await panel.say("hoi daar", resident="alice")
    assert "onderwerp voor het panel" not in reply.split("\n")[0]
    assert await suggestions(db) == []


async def test_weekly_limit_is_explained(db):
    panel = await joined(db, "alice")
    for number in range(3):
        await suggest(panel, "alice", f"Onderwerp nummer {number} over de wijk")
    reply = await panel.say("IDEE", resident="alice")
    assert "3 onderwerpen per week" in reply
    assert len(await suggestions(db)) == 3


async def test_audit_keeps_long_subject_in_details(db):
    # An organisation id may have 63 characters, and the subject column has room for 64.
    subject = "organisation:" + "o" * 63
    actor = "a" * 120
    async with db[1]() as session, session.begin():
        topics.audit(session, actor, "org add", subject, {"kind": "other"}, utcnow())
    async with db[1]() as session:
        entry = (await session.execute(select(AuditEntry))).scalar_one()
    assert entry.subject == subject[:64]
    assert entry.actor == actor[:100]
    assert entry.details == {"kind": "other", "subject": subject, "actor": actor}


async def test_approve_tells_suggester_and_audits(db):
    panel = await joined(db, "alice")
    await suggest(panel, "alice", "Meer bankjes in het park")
    [suggestion] = await suggestions(db)
    await moderate(db, topics.approve, suggestion.id, "moderator-ans", utcnow())
    reply = "\n".join(message.text for message in await panel.send("", resident="alice", kind="non_text"))
    del reply
    async with db[1]() as session:
        notice = (await session.execute(select(OutboxMessage).where(OutboxMessage.kind == "topic"))).scalar_one()
        entry = (await session.execute(select(AuditEntry))).scalar_one()
    assert "Meer bankjes in het park" in notice.text
    assert "op de lijst" in notice.text
    assert entry.actor == "moderator-ans"
    assert entry.action == "approve"
    assert entry.subject == f"suggestion:{suggestion.id}"


async def test_reject_needs_reason_and_tells_it(db):
    panel = await joined(db, "alice")
    await suggest(panel, "alice", "Alle auto's de stad uit vandaag")
    [suggestion] = await suggestions(db)
    try:
        await moderate(db, topics.reject, suggestion.id, "ans", "  ", utcnow())
    except topics.TopicError as error:
        assert "give a reason" in str(error)
    else:
        raise AssertionError("a rejection without a reason was accepted")
    await moderate(db, topics.reject, suggestion.id, "ans", "Dit gaat over de hele regio.", utcnow())
    async with db[1]() as session:
        notice = (await session.execute(select(OutboxMessage).where(OutboxMessage.kind == "topic"))).scalar_one()
    assert "Dit gaat over de hele regio." in notice.text


async def test_decided_suggestion_cannot_change(db):
    panel = await joined(db, "alice")
    await suggest(panel, "alice", "Meer bankjes in het park")
    [suggestion] = await suggestions(db)
    await moderate(db, topics.approve, suggestion.id, "ans", utcnow())
    try:
        await moderate(db, topics.reject, suggestion.id, "ans", "toch niet", utcnow())
    except topics.TopicError as error:
        assert "already approved" in str(error)
    else:
        raise AssertionError("an approved suggestion was rejected")


async def test_support_once_per_resident(db):
    panel = await joined(db, "alice", "bob")
    await suggest(panel, "alice", "Meer bankjes in het park")
    [suggestion] = await suggestions(db)
    await moderate(db, topics.approve, suggestion.id, "ans", utcnow())
    reply = await panel.say("ONDERWERPEN", resident="bob")
    assert "1. Meer bankjes in het park" in reply
    reply = await panel.say("1", resident="bob")
    assert "Je steunt nu" in reply
    assert "2 inwoners" in reply
    await panel.say("TOPICS", resident="bob")
    reply = await panel.say("1", resident="bob")
    assert "Je steunt" in reply
    assert "al" in reply
    async with db[1]() as session:
        assert len(list((await session.execute(select(Support))).scalars())) == 1


async def test_merged_suggestion_counts_toward_topic(db):
    panel = await joined(db, "alice", "bob", "carol")
    await suggest(panel, "alice", "Meer bankjes in het park")
    await suggest(panel, "bob", "Bankjes bij de vijver alsjeblieft")
    first, second = await suggestions(db)
    await moderate(db, topics.approve, first.id, "ans", utcnow())
    await moderate(db, topics.merge, second.id, first.id, "ans", utcnow())
    async with db[1]() as session:
        rows = await topics.list_topics(session)
    by_id = {row.suggestion.id: row for row in rows}
    assert by_id[first.id].supporters == 2
    assert by_id[second.id].suggestion.status == "merged"
    assert rows[0].suggestion.id == first.id


async def test_about_names_owner_and_partners(db):
    panel = await joined(db, "alice")
    async with db[1]() as session, session.begin():
        session.add(Organisation(slug="stichting", name="Stichting Buurtkracht", kind="owner"))
        session.add(Organisation(slug="gemeente", name="Gemeente Den Haag", kind="municipality"))
    reply = await panel.say("OVER", resident="alice")
    assert "is van Stichting Buurtkracht" in reply
    assert "Gemeente Den Haag" in reply
    assert PANEL.privacy_url in reply


async def test_survey_from_topic_tells_followers(db):
    panel = await joined(db, "alice", "bob", "carol")
    await suggest(panel, "alice", "Meer bankjes in het park")
    [suggestion] = await suggestions(db)
    await moderate(db, topics.approve, suggestion.id, "ans", utcnow())
    await panel.say("ONDERWERPEN", resident="bob")
    await panel.say("1", resident="bob")
    row = await panel.load_survey()
    async with db[1]() as session, session.begin():
        survey = await session.get(type(row), row.id)
        await topics.link_survey(session, survey, suggestion.id, "ans", utcnow())
    async with db[1]() as session:
        notices = list((await session.execute(select(OutboxMessage).where(OutboxMessage.key.like("topic_survey:%")))).scalars())
    assert len(notices) == 2
    assert all("Groen in de wijk" in notice.text for notice in notices)


async def test_topics_offered_periodically(db):
    panel = await joined(db, "alice", "bob")
    await suggest(panel, "alice", "Meer bankjes in het park")
    [suggestion] = await suggestions(db)
    await moderate(db, topics.approve, suggestion.id, "ans", utcnow())
    scheduler = PanelScheduler(db[1], policy(quiet_hours=None), topics_every_days=14)
    first = await scheduler.tick()
    second = await scheduler.tick()
    assert first.topic_offers == 2
    assert second.topic_offers == 0
    reply = await panel.say("1", resident="bob")
    assert "Je steunt nu" in reply




async def test_reject_reason_length_capped(db):
    panel = await joined(db, "alice")
    await suggest(panel, "alice", "Meer bankjes in het park")
    [suggestion] = await suggestions(db)
    try:
        await moderate(db, topics.reject, suggestion.id, "ans", "x" * 301, utcnow())
    except topics.TopicError as error:
        assert "keep it to 300" in str(error)
    else:
        raise AssertionError("a 301-character reason was accepted")
