"""Survey outcomes: recording one per closed survey, telling everyone who answered, the
``survey outcome`` command and its text file, and outcomes in RESULTATEN/RESULTS."""

from __future__ import annotations

import asyncio
import os

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from bot.cli import main
from bot.cli_outcome import OutcomeFileError, read_outcome_file
from bot.outcomes import OUTCOME_MAX_LENGTH, OutcomeError, record_outcome
from bot.turn import PanelInfo
from store.models import AuditEntry, Organisation, OutboxMessage, Survey, SurveyOutcome, utcnow
from tests.test_summaries import add_respondents, answer_all, close, joined_panel, outbox, resident_id

DUTCH = "We planten 40 nieuwe bomen in het park."
ENGLISH = "We will plant 40 new trees in the park."
TEXT_FILE = f"nl: |\n  {DUTCH}\nen: |\n  {ENGLISH}\n"


async def closed_survey(db, *names: str, answered: tuple[str, ...] | None = None):
    """The all-types survey, closed, with ``names`` joined and ``answered`` (default: all
    of them) having answered it."""
    panel, row = await joined_panel(db, *names, panel_info=PanelInfo("P", "O", "https://example.org/p", min_group_size=1))
    for name in names if answered is None else answered:
        await answer_all(panel, name)
    await close(db, row)
    await panel.worker.drain()
    return panel, row


async def record(db, texts=None, slug="alle-typen", actor="moderator-ans") -> int:
    now = utcnow()
    async with db[1]() as session, session.begin():
        return await record_outcome(session, slug, texts or {"nl": DUTCH, "en": ENGLISH}, actor, now, now)


async def record_error(db, **kwargs) -> str:
    with pytest.raises(OutcomeError) as caught:
        await record(db, **kwargs)
    return str(caught.value)


@pytest.fixture
def cli_env(monkeypatch, tmp_path):
    """Run commands in an empty folder without any CHATPANEL_ setting from the caller."""
    for key in list(os.environ):
        if key.startswith("CHATPANEL_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    return monkeypatch


def database_args(database_url: str, monkeypatch) -> list[str]:
    """Point the command at the test database: --db for SQLite, the setting for PostgreSQL."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        return ["--db", url.database]
    monkeypatch.setenv("CHATPANEL_DATABASE_URL", database_url)
    return []


async def run_main(argv: list[str]) -> int:
    # main() runs its own event loop, so it cannot run in the test's loop.
    return await asyncio.to_thread(main, argv)


def write_file(tmp_path, content: str, name: str = "outcome.yaml") -> str:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return str(path)


# --- record_outcome ----------------------------------------------------------------------


async def test_outcome_reaches_respondents(db):
    panel, _ = await closed_survey(db, "alice", "bob", "carol", answered=("alice", "bob"))
    await panel.say("STOP", resident="bob")
    count = await record(db)
    await panel.worker.drain()
    delivered = [message for message in panel.sender.sent if DUTCH in message.text]
    assert count == 1
    assert [message.address for message in delivered] == ["alice"]


async def test_outcome_key_and_kind(db):
    _, row = await closed_survey(db, "alice")
    await record(db)
    [message] = await outbox(db, "outcome")
    assert message.key == f"outcome:{row.id}:{await resident_id(db, 'alice')}"
    assert message.survey_id == row.id


async def test_outcome_names_requester(db):
    await closed_survey(db, "alice")
    await record(db)
    [message] = await outbox(db, "outcome")
    assert message.text == f'Wat Wijkraad Centrum met de uitkomsten van "Alle typen" heeft gedaan:\n{DUTCH}'


async def test_outcome_names_organisation(db):
    _, row = await closed_survey(db, "alice")
    async with db[1]() as session, session.begin():
        organisation = Organisation(slug="gemeente", name="Gemeente Den Haag", kind="municipality")
        session.add(organisation)
        await session.flush()
        (await session.get(Survey, row.id)).organisation_id = organisation.id
    await record(db)
    [message] = await outbox(db, "outcome")
    assert message.text.startswith('Wat Gemeente Den Haag met de uitkomsten van "Alle typen" heeft gedaan:')


async def test_outcome_in_english(db):
    _, row = await closed_survey(db)
    await add_respondents(db, row, 1, {"visits": "daily"}, prefix="en", locale="en")
    await record(db)
    [message] = await outbox(db, "outcome")
    assert message.text == f'What Centre neighbourhood council did with the results of "All types":\n{ENGLISH}'


async def test_english_falls_back_to_dutch(db):
    _, row = await closed_survey(db)
    await add_respondents(db, row, 1, {"visits": "daily"}, prefix="en", locale="en")
    await record(db, texts={"nl": DUTCH})
    [message] = await outbox(db, "outcome")
    assert message.text.endswith(f"\n{DUTCH}")


async def test_outcome_stored_and_audited(db):
    _, row = await closed_survey(db, "alice")
    await record(db, actor="moderator-ans")
    async with db[1]() as session:
        outcome = await session.get(SurveyOutcome, row.id)
        entry = (await session.execute(select(AuditEntry))).scalar_one()
    assert outcome.texts == {"nl": DUTCH, "en": ENGLISH}
    assert outcome.recorded_by == "moderator-ans"
    assert entry.action == "outcome"
    assert entry.subject == "survey:alle-typen"
    assert entry.actor == "moderator-ans"
    assert entry.details == {"survey": "alle-typen", "locales": ["en", "nl"], "residents": 1}


async def test_second_outcome_rejected(db):
    await closed_survey(db, "alice")
    await record(db)
    error = await record_error(db, texts={"nl": "Nog een keer."})
    assert "already has an outcome" in error
    assert "moderator-ans" in error
    assert len(await outbox(db, "outcome")) == 1


async def test_open_survey_rejected(db):
    await joined_panel(db, "alice")
    error = await record_error(db)
    assert "survey 'alle-typen' is open, not closed" in error
    assert "chatpanel survey close alle-typen" in error


async def test_unknown_survey_rejected(db):
    assert "no survey with id 'nope'" in await record_error(db, slug="nope")


@pytest.mark.parametrize(
    ("texts", "expected"),
    [
        ({"en": ENGLISH}, "the text for 'nl' is missing"),
        ({"nl": DUTCH, "de": "Wir pflanzen Baeume."}, "unknown language 'de'"),
        ({"nl": "   "}, "the text for 'nl' is empty"),
        ({"nl": "x" * (OUTCOME_MAX_LENGTH + 1)}, f"shorten it to at most {OUTCOME_MAX_LENGTH}"),
    ],
)
async def test_invalid_texts_rejected(db, texts, expected):
    await closed_survey(db, "alice")
    assert expected in await record_error(db, texts=texts)


async def test_outcome_shown_in_results(db):
    panel, _ = await closed_survey(db, "alice")
    await record(db)
    await panel.worker.drain()
    reply = await panel.say("RESULTATEN", resident="alice")
    assert reply.index('Resultaten van "Alle typen"') < reply.index(DUTCH)


# --- the command line --------------------------------------------------------------------


async def test_cli_records_outcome(db, database_url, cli_env, tmp_path, capsys):
    await closed_survey(db, "alice", "bob")
    text_file = write_file(tmp_path, TEXT_FILE)
    code = await run_main(["survey", "outcome", "alle-typen", "--text-file", text_file, "--by", "ans", *database_args(database_url, cli_env)])
    assert code == 0
    assert "queued for 2 residents who answered" in capsys.readouterr().out
    messages = await outbox(db, "outcome")
    assert len(messages) == 2
    assert all("Wijkraad Centrum" in message.text for message in messages)


async def test_cli_by_defaults_to_user(db, database_url, cli_env, tmp_path):
    await closed_survey(db, "alice")
    cli_env.setattr("getpass.getuser", lambda: "os-user")
    text_file = write_file(tmp_path, TEXT_FILE)
    assert await run_main(["survey", "outcome", "alle-typen", "--text-file", text_file, *database_args(database_url, cli_env)]) == 0
    async with db[1]() as session:
        entry = (await session.execute(select(AuditEntry))).scalar_one()
    assert entry.actor == "os-user"


async def test_cli_rejects_second_outcome(db, database_url, cli_env, tmp_path, capsys):
    await closed_survey(db, "alice")
    text_file = write_file(tmp_path, TEXT_FILE)
    argv = ["survey", "outcome", "alle-typen", "--text-file", text_file, *database_args(database_url, cli_env)]
    assert await run_main(argv) == 0
    capsys.readouterr()
    assert await run_main(argv) == 1
    error = capsys.readouterr().err
    assert "already has an outcome" in error
    assert error.count("\n") == 1


async def test_cli_rejects_open_survey(db, database_url, cli_env, tmp_path, capsys):
    await joined_panel(db, "alice")
    text_file = write_file(tmp_path, TEXT_FILE)
    assert await run_main(["survey", "outcome", "alle-typen", "--text-file", text_file, *database_args(database_url, cli_env)]) == 1
    assert "is open, not closed" in capsys.readouterr().err
    assert await outbox(db, "outcome") == []


async def test_cli_rejects_broken_yaml(db, database_url, cli_env, tmp_path, capsys):
    await closed_survey(db, "alice")
    text_file = write_file(tmp_path, "nl: [De gemeente\nen: x\n")
    assert await run_main(["survey", "outcome", "alle-typen", "--text-file", text_file, *database_args(database_url, cli_env)]) == 1
    error = capsys.readouterr().err
    assert error.startswith(f"chatpanel: error: {text_file}: invalid YAML")
    assert error.count("\n") == 1
    assert await outbox(db, "outcome") == []


async def test_cli_close_uses_min_group_size(db, database_url, cli_env, capsys):
    panel, row = await joined_panel(db, "alice")
    await answer_all(panel, "alice")
    cli_env.setenv("CHATPANEL_MIN_GROUP_SIZE", "1")
    assert await run_main(["survey", "close", "alle-typen", *database_args(database_url, cli_env)]) == 0
    [message] = await outbox(db, "results")
    assert "- Elke dag: 100,0%" in message.text


# --- the text file -----------------------------------------------------------------------


def test_file_read(tmp_path):
    assert read_outcome_file(write_file(tmp_path, TEXT_FILE)) == {"nl": DUTCH, "en": ENGLISH}


def test_file_dutch_only(tmp_path):
    assert read_outcome_file(write_file(tmp_path, f"nl: {DUTCH}\n")) == {"nl": DUTCH}


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("nl: [De gemeente\n", "invalid YAML at line 2"),
        ("", "expected texts per language"),
        ("- nl\n- en\n", "expected texts per language"),
        (f"en: {ENGLISH}\n", "the text for 'nl' is missing"),
        (f"nl: {DUTCH}\nfr: Nous plantons.\n", "unknown language 'fr'; give texts only for nl and en"),
        (f"nl: {DUTCH}\nnl: Nog een keer.\n", "line 2: the text for 'nl' is given twice"),
        ("nl:\n", "the text for 'nl' is empty"),
        ("nl:\n  - een\n  - twee\n", "the text for 'nl' must be plain text"),
    ],
)
def test_file_errors(tmp_path, content, expected):
    path = write_file(tmp_path, content)
    with pytest.raises(OutcomeFileError) as caught:
        read_outcome_file(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert expected in str(caught.value)


def test_file_missing(tmp_path):
    with pytest.raises(OutcomeFileError) as caught:
        read_outcome_file(str(tmp_path / "missing.yaml"))
    assert "missing.yaml: file not found" in str(caught.value)


def test_file_not_utf8(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("nl: De b\u00e9te\n".encode("latin-1"))
    with pytest.raises(OutcomeFileError) as caught:
        read_outcome_file(str(path))
    assert "not UTF-8" in str(caught.value)


def test_cli_missing_file(cli_env, tmp_path, capsys):
    assert main(["survey", "outcome", "alle-typen", "--text-file", "nope.yaml", "--db", str(tmp_path / "panel.db")]) == 1
    assert capsys.readouterr().err == "chatpanel: error: nope.yaml: file not found; give the path of a YAML file with the outcome texts\n"
