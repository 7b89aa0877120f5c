"""The moderator commands survey publish, survey close and broadcast status."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.cli import main
from store.db import create_engine, create_sessionmaker, sqlite_url
from store.models import OutboxMessage, Survey, utcnow
from tests.panel_week import ALL_TYPES
from tests.test_cli import run_cli

TELEGRAM_TOKEN = "123456789:AAFakeTokenForTestsOnly0123456789ab"


@pytest.fixture
def panel_db(tmp_path, monkeypatch):
    """A demo database with one resident who answered, and Telegram configured."""
    for key in list(os.environ):
        if key.startswith("CHATPANEL_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CHATPANEL_TELEGRAM_TOKEN", TELEGRAM_TOKEN)
    database = tmp_path / "panel.db"
    for name in ("anna", "bram"):
        demo = run_cli("demo", "--db", str(database), "--resident", name, stdin="hoi\nja\n1\n2\n2511\n")
        assert demo.returncode == 0, demo.stderr
    return str(database)


async def unstarted_survey(database: str) -> str:
    """Load a second survey, which no resident has started, and return its id."""
    assert await _run_main(["survey", "load", str(ALL_TYPES), "--db", database]) == 0
    return "alle-typen"


async def stored(database: str):
    engine = create_engine(sqlite_url(database))
    try:
        async with create_sessionmaker(engine)() as session:
            survey = (await session.execute(select(Survey))).scalar_one()
            rows = list((await session.execute(select(OutboxMessage).where(OutboxMessage.kind == "invitation"))).scalars())
    finally:
        await engine.dispose()
    return survey, rows


async def test_publish_future_schedules(panel_db, capsys):
    survey_id = await unstarted_survey(panel_db)
    opens = (utcnow() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M+00:00")
    closes = (utcnow() + timedelta(days=8)).strftime("%Y-%m-%dT%H:%M+00:00")
    assert await _run_main(["survey", "publish", survey_id, "--opens", opens, "--closes", closes, "--db", panel_db, "--channels", "telegram"]) == 0
    assert "the scheduler in 'chatpanel serve' opens it" in capsys.readouterr().out


async def test_publish_later_keeps_started_survey_open(panel_db, capsys):
    # Both demo residents started the sample survey; a later opening would stop their answers.
    opens = (utcnow() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M+00:00")
    closes = (utcnow() + timedelta(days=8)).strftime("%Y-%m-%dT%H:%M+00:00")
    arguments = ["survey", "publish", "groen-in-de-wijk", "--opens", opens, "--closes", closes, "--channels", "telegram", "--db", panel_db]
    for extra in ([], ["--dry-run"]):
        assert await _run_main([*arguments, *extra]) == 1
        error = capsys.readouterr().err
        assert "survey 'groen-in-de-wijk' is open and 2 residents are answering it" in error
        assert "give an --opens time that has passed" in error
    survey, _ = await stored(panel_db)
    assert survey.status == "open"
    assert survey.opens_at is None


async def test_publish_dry_run_changes_nothing(panel_db, capsys):
    survey_id = await unstarted_survey(panel_db)
    capsys.readouterr()
    assert await _run_main(
        ["survey", "publish", survey_id, "--opens", "2030-01-07T10:00", "--closes", "2030-01-14T10:00",
         "--channels", "telegram,sms", "--dry-run", "--db", panel_db]
    ) == 0
    output = capsys.readouterr().out
    assert "dry run for 'alle-typen': nothing was changed" in output
    assert "SMS invitation in nl:" in output
    assert "no resident matches" in output


def test_publish_rejects_bad_input(panel_db, capsys):
    cases = [
        (["--opens", "morgen", "--closes", "2030-01-14T10:00"], "invalid time 'morgen'"),
        (["--opens", "2030-01-14T10:00", "--closes", "2030-01-07T10:00"], "--closes must be later than --opens"),
        (["--opens", "2027-03-28T02:30", "--closes", "2030-01-07T10:00"], "does not exist in Europe/Amsterdam"),
        (["--opens", "2030-01-07T10:00", "--closes", "2030-01-14T10:00", "--segment", "wijk=centrum"], "invalid segment 'wijk=centrum'"),
        (["--opens", "2030-01-07T10:00", "--closes", "2030-01-14T10:00", "--segment", "age=30-40"], "invalid age value '30-40'"),
        (["--opens", "2030-01-07T10:00", "--closes", "2030-01-14T10:00", "--channels", "fax"], "invalid --channels 'fax'"),
        (
            ["--opens", "2030-01-07T10:00", "--closes", "2030-01-14T10:00", "--channels", "telegram,whatsapp"],
            "--channels names whatsapp, which these settings do not configure",
        ),
    ]
    for options, message in cases:
        assert main(["survey", "publish", "groen-in-de-wijk", *options, "--db", panel_db]) == 1
        assert message in capsys.readouterr().err


def test_publish_unknown_survey(panel_db, capsys):
    assert main(["survey", "publish", "nope", "--opens", "2030-01-07T10:00", "--closes", "2030-01-14T10:00", "--db", panel_db]) == 1
    assert "no survey with id 'nope'" in capsys.readouterr().err


async def test_publish_now_enqueues_invitations(panel_db, capsys):
    closes = (utcnow() + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M+00:00")
    opens = (utcnow() - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M+00:00")
    # The demo residents live on the console channel; invite them there.
    code = await _run_main(["survey", "publish", "groen-in-de-wijk", "--opens", opens, "--closes", closes, "--channels", "telegram", "--db", panel_db])
    assert code == 0
    assert "opened now; 0 invitations queued" in capsys.readouterr().out
    survey, rows = await stored(panel_db)
    assert survey.status == "open"
    assert rows == []


def test_close_and_status(panel_db, capsys):
    assert main(["survey", "close", "groen-in-de-wijk", "--db", panel_db]) == 0
    assert "survey 'groen-in-de-wijk' closed" in capsys.readouterr().out
    assert main(["survey", "close", "groen-in-de-wijk", "--db", panel_db]) == 1
    assert "is not open (status: closed)" in capsys.readouterr().err
    assert main(["broadcast", "status", "--db", panel_db]) == 0
    assert "no published surveys" in capsys.readouterr().out
    assert main(["broadcast", "status", "nope", "--db", panel_db]) == 1


async def _run_main(argv):
    import asyncio

    return await asyncio.to_thread(main, argv)




async def test_status_counts_by_reason(panel_db, capsys):
    survey_id = await unstarted_survey(panel_db)
    opens = (utcnow() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M+00:00")
    closes = (utcnow() + timedelta(days=8)).strftime("%Y-%m-%dT%H:%M+00:00")
    assert await _run_main(["survey", "publish", survey_id, "--opens", opens, "--closes", closes, "--channels", "telegram", "--db", panel_db]) == 0
    engine = create_engine(sqlite_url(panel_db))
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            survey = (await session.execute(select(Survey).where(Survey.slug == survey_id))).scalar_one()
            cases = [("queued", None, None), ("sent", None, None), ("sent", "delivered", None), ("failed", None, "403"), ("failed", None, "403"), ("skipped", None, "unreachable")]
            for number, (status, delivery_status, code) in enumerate(cases):
                session.add(OutboxMessage(key=f"invitation:{survey.id}:x{number}", kind="invitation", survey_id=survey.id, channel="telegram",
                                          address_id=1, text="x", status=status, delivery_status=delivery_status, error_code=code))
    finally:
        await engine.dispose()
    capsys.readouterr()
    assert await _run_main(["broadcast", "status", survey_id, "--db", panel_db]) == 0
    output = capsys.readouterr().out
    assert "alle-typen (scheduled)" in output
    assert "  telegram         1        1          1        3" in output
    assert "failed: 2 x 403" in output
    assert "failed: 1 x unreachable" in output
