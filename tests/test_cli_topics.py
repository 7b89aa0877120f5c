"""The topics, org and audit commands."""

from __future__ import annotations

import json
import os

import pytest

from bot.cli import main
from tests.panel_week import ALL_TYPES
from tests.test_cli import run_cli

SUGGEST = "hoi\nja\n1\n2\n2511\nIDEE\nMeer bankjes in het park\nCentrum\nja\n"


@pytest.fixture
def panel_db(tmp_path, monkeypatch):
    for key in list(os.environ):
        if key.startswith("CHATPANEL_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    database = tmp_path / "panel.db"
    for name, script in (("anna", SUGGEST), ("bram", SUGGEST.replace("Meer bankjes in het park", "Bankjes bij de vijver"))):
        demo = run_cli("demo", "--db", str(database), "--resident", name, stdin=script)
        assert demo.returncode == 0, demo.stderr
    return str(database)


def topics_json(database, capsys, *options) -> list[dict]:
    capsys.readouterr()
    assert main(["topics", "list", "--format", "json", "--db", database, *options]) == 0
    return json.loads(capsys.readouterr().out)


def test_list_pending_suggestions(panel_db, capsys):
    rows = topics_json(panel_db, capsys, "--status", "pending")
    assert [row["text"] for row in rows] == ["Meer bankjes in het park", "Bankjes bij de vijver"]
    assert rows[0]["neighbourhood"] == "Centrum"


def test_approve_merge_and_audit(panel_db, capsys):
    assert main(["topics", "approve", "1", "--by", "ans", "--title", "Bankjes in het park", "--db", panel_db]) == 0
    assert main(["topics", "merge", "2", "--into", "1", "--by", "ans", "--db", panel_db]) == 0
    rows = topics_json(panel_db, capsys)
    assert rows[0]["id"] == 1
    assert rows[0]["supporters"] == 2
    assert rows[0]["title"] == "Bankjes in het park"
    assert rows[1]["status"] == "merged"
    assert main(["audit", "--db", panel_db]) == 0
    log = capsys.readouterr().out
    assert "ans" in log
    assert "merge    suggestion:2" in log
    assert "approve  suggestion:1" in log


def test_reject_requires_reason(panel_db, capsys):
    with pytest.raises(SystemExit):
        main(["topics", "reject", "1", "--db", panel_db])
    assert main(["topics", "reject", "1", "--reason", "Past niet bij het panel", "--by", "ans", "--db", panel_db]) == 0
    assert topics_json(panel_db, capsys)[0]["reason"] == "Past niet bij het panel"


def test_errors_name_the_fix(panel_db, capsys):
    assert main(["topics", "approve", "99", "--db", panel_db]) == 1
    assert "no suggestion with id 99" in capsys.readouterr().err
    assert main(["topics", "merge", "2", "--into", "1", "--db", panel_db]) == 1
    assert "is not an approved topic" in capsys.readouterr().err


def test_org_add_list_edit(panel_db, capsys):
    assert main(["org", "add", "gemeente-den-haag", "--name", "Gemeente Den Haag", "--kind", "municipality", "--email", "panel@denhaag.nl", "--db", panel_db]) == 0
    assert main(["org", "add", "stichting", "--name", "Stichting Buurtkracht", "--kind", "owner", "--db", panel_db]) == 0
    assert main(["org", "add", "tweede", "--name", "Nog een eigenaar", "--kind", "owner", "--db", panel_db]) == 1
    assert "the panel already has an owner, 'stichting' (Stichting Buurtkracht)" in capsys.readouterr().err
    assert main(["org", "edit", "gemeente-den-haag", "--lang", "en", "--db", panel_db]) == 0
    assert main(["org", "add", "x", "--name", "X", "--kind", "other", "--db", panel_db]) == 1
    assert "invalid id 'x'" in capsys.readouterr().err
    assert main(["org", "add", "bad-mail", "--name", "X", "--kind", "other", "--email", "nope", "--db", panel_db]) == 1
    assert main(["org", "list", "--db", panel_db]) == 0
    listing = capsys.readouterr().out
    assert "gemeente-den-haag" in listing
    assert "en   mon 09:00  panel@denhaag.nl" in listing
    # An organisation without an address gets no digest, whatever its schedule.
    assert "an organisation without an e-mail address gets no digest" in listing


def test_moderator_commands_audited(panel_db, capsys, monkeypatch):
    # Publishing on Telegram needs Telegram settings.
    monkeypatch.setenv("CHATPANEL_TELEGRAM_TOKEN", "123456789:AAFakeTokenForTestsOnly0123456789ab")
    assert main(["org", "add", "gemeente", "--name", "Gemeente", "--kind", "municipality", "--db", panel_db]) == 0
    assert main(["org", "edit", "gemeente", "--lang", "en", "--db", panel_db]) == 0
    assert "organisation 'gemeente' changed: locale" in capsys.readouterr().out
    assert main(["org", "edit", "gemeente", "--lang", "en", "--db", panel_db]) == 0
    assert "organisation 'gemeente' unchanged" in capsys.readouterr().out
    assert main(["survey", "load", str(ALL_TYPES), "--db", panel_db]) == 0
    assert main(["survey", "load", str(ALL_TYPES), "--org", "gemeente", "--db", panel_db]) == 0
    assert main(["survey", "publish", "alle-typen", "--opens", "2030-01-07T10:00", "--closes", "2030-01-14T10:00", "--channels", "telegram", "--db", panel_db]) == 0
    assert main(["survey", "close", "groen-in-de-wijk", "--db", panel_db]) == 0
    capsys.readouterr()

    assert main(["audit", "--db", panel_db]) == 0
    log = capsys.readouterr().out
    assert log.count("org edit") == 1
    assert '"outcome": "unchanged", "organisation": "gemeente"' in log
    for line in ("org add  organisation:gemeente", "load     survey:alle-typen", "publish  survey:alle-typen", "close    survey:groen-in-de-wijk"):
        assert line in log


def test_org_digest_schedule(panel_db, capsys):
    assert main(["org", "add", "wijkraad", "--name", "Wijkraad", "--kind", "neighbourhood_council", "--email", "w@example.nl", "--digest", "FRI 16:30", "--db", panel_db]) == 0
    assert main(["org", "edit", "wijkraad", "--digest", "mon 9", "--db", panel_db]) == 1
    assert "invalid digest schedule 'mon 9': give a weekday and a time such as 'mon 09:00', or 'off'" in capsys.readouterr().err
    assert main(["org", "list", "--db", panel_db]) == 0
    assert "fri 16:30" in capsys.readouterr().out
    assert main(["org", "edit", "wijkraad", "--digest", "off", "--db", panel_db]) == 0
    assert main(["org", "list", "--db", panel_db]) == 0
    assert "off" in capsys.readouterr().out.split("wijkraad", 1)[1]


def test_survey_load_with_org_and_topic(panel_db, capsys, tmp_path):
    assert main(["org", "add", "gemeente-den-haag", "--name", "Gemeente Den Haag", "--kind", "municipality", "--db", panel_db]) == 0
    assert main(["topics", "approve", "1", "--db", panel_db]) == 0
    sample = os.path.join(os.path.dirname(os.path.dirname(__file__)), "examples", "surveys", "groen-in-de-wijk.yaml")
    copy = tmp_path / "bankjes.yaml"
    with open(sample, encoding="utf-8") as source:
        copy.write_text(source.read().replace("id: groen-in-de-wijk", "id: bankjes"), encoding="utf-8")
    assert main(["survey", "load", str(copy), "--org", "gemeente-den-haag", "--from-topic", "1", "--db", panel_db]) == 0
    other = tmp_path / "ander.yaml"
    other.write_text(copy.read_text(encoding="utf-8").replace("id: bankjes", "id: ander"), encoding="utf-8")
    capsys.readouterr()
    assert main(["survey", "load", str(other), "--org", "nope", "--db", panel_db]) == 1
    assert "no organisation 'nope'" in capsys.readouterr().err
    assert main(["audit", "--db", panel_db]) == 0
    assert "survey   suggestion:1" in capsys.readouterr().out
