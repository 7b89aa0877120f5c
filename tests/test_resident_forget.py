"""``chatpanel resident forget``, on SQLite and PostgreSQL: address formats, the
confirmation, the audit entry and the errors."""

from __future__ import annotations

import asyncio
import io
import os

import pytest
from sqlalchemy import func, select

from bot.channels.types import Channel
from bot.cli import main
from store.models import Address, AuditEntry, Resident, Response
from tests.harness import ConsolePanel
from tests.stored_data import dump_rows, places_containing, references_to_resident

NUMBER = "+31612345678"
CHAT_ID = "987654321"
JOIN = ("hoi", "ja", "1", "2", "9876")
ANSWERS = ("2", "4", "1,5", "10", "ja", "Een geveltuin bij nummer 17", "Meer bankjes")


@pytest.fixture
def cli_env(database_url, monkeypatch, tmp_path):
    for key in list(os.environ):
        if key.startswith("CHATPANEL_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CHATPANEL_DATABASE_URL", database_url)


async def forget(monkeypatch, capsys, *args: str, stdin: str = "") -> tuple[int, str, str]:
    """Run ``chatpanel resident forget ARGS`` with ``stdin``; return the exit code, stdout
    and stderr."""
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    capsys.readouterr()
    code = await asyncio.to_thread(main, ["resident", "forget", *args])
    out, err = capsys.readouterr()
    return code, out, err


async def join(db, address: str, channel: Channel, answers=()) -> ConsolePanel:
    panel = ConsolePanel(db[1])
    await panel.load_survey()
    for text in (*JOIN, *answers):
        await panel.send(text, resident=address, channel=channel)
    return panel


async def count(db, model, *conditions) -> int:
    async with db[1]() as session:
        return await session.scalar(select(func.count()).select_from(model).where(*conditions))


@pytest.mark.parametrize("written", ["0612345678", "06 12 34 56 78", "06-12345678", "+31 6 1234 5678", "0031612345678", NUMBER])
async def test_forget_phone_number_formats(db, cli_env, monkeypatch, capsys, written):
    await join(db, NUMBER, Channel.SMS)
    code, out, err = await forget(monkeypatch, capsys, written, "--yes")
    assert (code, err) == (0, "")
    assert "- a resident, at SMS *********678" in out
    assert out.strip().splitlines()[-1].startswith("resident forgotten: ")
    assert await count(db, Resident) == 0
    assert await count(db, Address) == 0


async def test_forget_telegram_chat_id(db, cli_env, monkeypatch, capsys):
    await join(db, CHAT_ID, Channel.TELEGRAM)
    code, out, _ = await forget(monkeypatch, capsys, CHAT_ID, "--channel", "telegram", "--yes")
    assert code == 0
    assert "Telegram ******321" in out
    assert await count(db, Resident) == 0


async def test_forget_leaves_nothing_identifying(db, cli_env, monkeypatch, capsys):
    await join(db, NUMBER, Channel.SMS, ANSWERS)
    await join(db, "bob", Channel.CONSOLE)
    async with db[1]() as session:
        resident = (
            await session.execute(select(Resident).join(Address, Address.resident_id == Resident.id).where(Address.value == NUMBER))
        ).scalar_one()

    code, out, _ = await forget(monkeypatch, capsys, "06 12345678", "--yes", "--by", "privacy-officer")
    assert code == 0
    assert "1 survey responses kept as anonymous answers (2 free-text answers deleted)" in out

    rows = await dump_rows(db[1])
    for needle in (NUMBER[3:], resident.pseudonym, "Een geveltuin bij nummer 17"):
        assert places_containing(rows, needle) == [], needle
    assert await references_to_resident(db[1], resident.id) == []
    assert await count(db, Response, Response.resident_id.is_(None)) == 1
    assert await count(db, Address, Address.value == "bob") == 1
    async with db[1]() as session:
        entry = (await session.execute(select(AuditEntry))).scalar_one()
    assert (entry.actor, entry.action, entry.subject) == ("privacy-officer", "forget", "resident")
    assert entry.details["rows_removed"] > 0
    assert entry.details["channels"] == ["sms"]


async def test_forget_asks_for_confirmation(db, cli_env, monkeypatch, capsys):
    await join(db, NUMBER, Channel.SMS)
    for refusal in ("nee\n", ""):
        code, out, err = await forget(monkeypatch, capsys, NUMBER, stdin=refusal)
        assert code == 1
        assert "This erases:" in out
        assert "Type yes to confirm" in out
        assert err.strip() == "chatpanel: nothing erased: not confirmed (give --yes to erase without the question)"
        assert await count(db, Resident) == 1

    code, out, _ = await forget(monkeypatch, capsys, NUMBER, stdin="ja\n")
    assert code == 0
    assert "resident forgotten: " in out
    assert await count(db, Resident) == 0
    assert await count(db, AuditEntry) == 1


async def test_forget_sms_and_whatsapp_of_one_number(db, cli_env, monkeypatch, capsys):
    await join(db, NUMBER, Channel.SMS)
    await join(db, NUMBER, Channel.WHATSAPP)
    code, out, _ = await forget(monkeypatch, capsys, NUMBER, "--channel", "whatsapp", "--yes")
    assert code == 0
    assert await count(db, Address, Address.channel == "sms") == 1
    assert await count(db, Address, Address.channel == "whatsapp") == 0

    await join(db, NUMBER, Channel.WHATSAPP)
    code, out, _ = await forget(monkeypatch, capsys, NUMBER, "--yes")
    assert code == 0
    assert out.count("- a resident, at ") == 2
    assert await count(db, Resident) == 0
    assert await count(db, AuditEntry) == 3


async def test_forget_address_that_never_joined(db, cli_env, monkeypatch, capsys):
    panel = ConsolePanel(db[1])
    await panel.send("hoi", resident=NUMBER, channel=Channel.SMS)
    code, out, _ = await forget(monkeypatch, capsys, NUMBER, "--yes")
    assert code == 0
    assert "- an address that never joined, at SMS *********678" in out
    assert await count(db, Address) == 0


async def test_forget_unknown_address(db, cli_env, monkeypatch, capsys):
    await join(db, NUMBER, Channel.SMS)
    code, out, err = await forget(monkeypatch, capsys, "0687654321", "--yes")
    assert code == 1
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("chatpanel: error: no address '0687654321' in the panel (looked for sms +31687654321, whatsapp +31687654321")
    assert "give --channel" in err
    assert await count(db, Resident) == 1
    assert await count(db, AuditEntry) == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("hallo",), "chatpanel: error: invalid address 'hallo': give a phone number such as 0612345678 or +31612345678, or a Telegram chat id"),
        (("+31612345678", "--channel", "telegram"), "chatpanel: error: invalid address '+31612345678': give a Telegram chat id such as 123456789"),
        # phonenumbers would read these as +31612345678 with an extension, or with a
        # letter dropped or read as a keypad digit.
        *(
            ((text,), f"chatpanel: error: invalid address '{text}': give a phone number such as 0612345678 or +31612345678, or a Telegram chat id")
            for text in ("0612345678x", "0612345678 ext. 99", "0612345678;ext=7", "061234567B", "06-123-CALLME")
        ),
        (("123",), "chatpanel: error: no address '123' in the panel (looked for telegram 123); check the number or chat id, or give --channel"),
        (
            ("06-1234",),
            "chatpanel: error: no address '06-1234' in the panel (looked for sms +3161234, whatsapp +3161234; "
            "+3161234 is not a valid phone number); check the number or chat id, or give --channel",
        ),
    ],
)
async def test_forget_invalid_address(db, cli_env, monkeypatch, capsys, args, message):
    code, out, err = await forget(monkeypatch, capsys, *args, "--yes")
    assert code == 1
    assert out == ""
    assert err.strip() == message
