"""The chatpanel command line: surveys, results, the database and the piped demo."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "examples" / "surveys" / "groen-in-de-wijk.yaml"
DEMO_SCRIPT = "hoi\nja\n1\n2\n2511\n2\n4\n1,5\n10\nja\nEen geveltuin\nMeer bankjes\n"


def run_cli(*args: str, stdin: str = "", cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env = {key: value for key, value in env.items() if not key.startswith("CHATPANEL_")}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd or ROOT,
        env=env,
        timeout=120,
    )


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    for key in list(os.environ):
        if key.startswith("CHATPANEL_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)


def test_validate_sample_survey(clean_env, capsys):
    assert main(["survey", "validate", str(SAMPLE)]) == 0
    assert "survey 'groen-in-de-wijk' is valid (7 questions)" in capsys.readouterr().out


def test_validate_lists_every_error(clean_env, tmp_path, capsys):
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        "id: kapot\ntitle: Kapot\nrequested_by: Wijkraad\nintro: Hoi\noutro: Dag\nquestions:\n"
        "  - id: q1\n    type: single_choice\n    text: Vraag\n    options: []\n"
        "  - id: q1\n    type: scael\n    text: Vraag\n",
        encoding="utf-8",
    )
    assert main(["survey", "validate", str(broken)]) == 1
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) >= 3
    assert all(line.startswith(f"{broken}:") for line in errors)
    assert any("scael" in line for line in errors)


def test_invalid_survey_is_not_loaded(clean_env, tmp_path, capsys):
    broken = tmp_path / "broken.yaml"
    broken.write_text("id: x\n", encoding="utf-8")
    database = tmp_path / "panel.db"
    assert main(["survey", "load", str(broken), "--db", str(database)]) == 1
    assert "nothing was loaded" in capsys.readouterr().err
    assert not database.exists()


def test_list_on_empty_database(clean_env, tmp_path, capsys):
    database = str(tmp_path / "panel.db")
    assert main(["db", "upgrade", "--db", database]) == 0
    capsys.readouterr()
    assert main(["survey", "list", "--db", database]) == 0
    assert "no surveys loaded" in capsys.readouterr().out


def test_read_command_needs_existing_database(clean_env, tmp_path, capsys):
    database = tmp_path / "missing.db"
    assert main(["survey", "results", "x", "--db", str(database)]) == 1
    assert f"no database at {database}" in capsys.readouterr().err
    assert not database.exists()


@pytest.mark.parametrize(
    "command",
    [
        ["org", "list"],
        ["org", "edit", "gemeente", "--name", "Gemeente"],
        ["audit"],
        ["topics", "list"],
        ["topics", "approve", "1"],
        ["db", "purge", "--dry-run"],
        ["resident", "forget", "0612345678", "--yes"],
    ],
)
def test_commands_need_existing_database(clean_env, tmp_path, capsys, command):
    database = tmp_path / "typo.db"
    assert main([*command, "--db", str(database)]) == 1
    assert f"no database at {database}" in capsys.readouterr().err
    assert not database.exists()


@pytest.mark.parametrize("limit", ["0", "-1", "tien"])
def test_audit_rejects_invalid_limit(clean_env, tmp_path, capsys, limit):
    with pytest.raises(SystemExit) as exit_info:
        main(["audit", "--limit", limit, "--db", str(tmp_path / "panel.db")])
    assert exit_info.value.code == 2
    assert f"invalid --limit '{limit}': give a whole number of 1 or more" in capsys.readouterr().err


def test_org_add_creates_database(clean_env, tmp_path, capsys):
    database = tmp_path / "new.db"
    assert main(["org", "add", "gemeente", "--name", "Gemeente", "--kind", "municipality", "--db", str(database)]) == 0
    assert database.is_file()


def test_missing_database_folder_named(clean_env, tmp_path, capsys):
    database = tmp_path / "absent" / "panel.db"
    assert main(["survey", "load", str(SAMPLE), "--db", str(database)]) == 1
    error = capsys.readouterr().err
    assert str(database) in error
    assert "--db" in error


def test_results_pipe_closed_early(tmp_path):
    database = tmp_path / "demo.db"
    run_cli("demo", "--db", str(database), stdin=DEMO_SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = f"{sys.executable} -m bot survey results groen-in-de-wijk --db {database} | head -1"
    result = subprocess.run(command, shell=True, capture_output=True, text=True, env=env, timeout=60)
    assert "database" not in result.stderr


def test_text_answers_in_results(tmp_path):
    database = tmp_path / "demo.db"
    run_cli("demo", "--db", str(database), stdin=DEMO_SCRIPT)
    results = run_cli("survey", "results", "groen-in-de-wijk", "--db", str(database), "--format", "json")
    by_id = {question["id"]: question for question in json.loads(results.stdout)["questions"]}
    assert by_id["help_idea"]["texts"] == ["Een geveltuin"]
    assert by_id["remarks"]["texts"] == ["Meer bankjes"]


def test_load_then_list(clean_env, tmp_path, capsys):
    database = str(tmp_path / "panel.db")
    assert main(["survey", "load", str(SAMPLE), "--db", database]) == 0
    assert "survey 'groen-in-de-wijk' created" in capsys.readouterr().out
    assert main(["survey", "load", str(SAMPLE), "--db", database]) == 0
    assert "unchanged" in capsys.readouterr().out
    assert main(["survey", "list", "--db", database]) == 0
    listing = capsys.readouterr().out
    assert "groen-in-de-wijk" in listing
    assert "Groen in de wijk" in listing


def test_load_closed_survey_says_closed(clean_env, tmp_path, capsys):
    database = str(tmp_path / "panel.db")
    assert main(["survey", "load", str(SAMPLE), "--db", database]) == 0
    assert "it is open for residents" in capsys.readouterr().out
    assert main(["survey", "close", "groen-in-de-wijk", "--db", database]) == 0
    capsys.readouterr()
    assert main(["survey", "load", str(SAMPLE), "--db", database]) == 0
    output = capsys.readouterr().out
    assert "survey 'groen-in-de-wijk' unchanged; it is closed, so residents cannot answer it" in output
    assert "open for residents" not in output


def test_results_unknown_survey(clean_env, tmp_path, capsys):
    database = str(tmp_path / "panel.db")
    assert main(["db", "upgrade", "--db", database]) == 0
    assert main(["survey", "results", "nope", "--db", database]) == 1
    assert "no survey with id 'nope'" in capsys.readouterr().err


def test_db_upgrade(clean_env, tmp_path, capsys):
    assert main(["db", "upgrade", "--db", str(tmp_path / "panel.db")]) == 0
    assert "latest schema" in capsys.readouterr().out


def test_invalid_setting_stops_with_one_line(clean_env, monkeypatch, capsys):
    monkeypatch.setenv("CHATPANEL_DATABASE_URL", "mysql://panel")
    assert main(["survey", "list"]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1
    assert "CHATPANEL_DATABASE_URL" in error


def test_serve_without_channel_names_fix(clean_env, capsys):
    assert main(["serve"]) == 2
    assert "CHATPANEL_TELEGRAM_TOKEN or CHATPANEL_TWILIO_ACCOUNT_SID" in capsys.readouterr().err


def test_piped_demo_completes_survey(tmp_path):
    database = tmp_path / "demo.db"
    demo = run_cli("demo", "--db", str(database), stdin=DEMO_SCRIPT)
    assert demo.returncode == 0, demo.stderr
    assert "Doe je mee?" in demo.stdout
    assert "Deze vragen komen van Gemeente Den Haag." in demo.stdout
    assert "Leuk! Wat zou je willen doen?" in demo.stdout
    assert "Bedankt voor je antwoorden! De gemeente gebruikt ze" in demo.stdout
    assert "Traceback" not in demo.stderr

    results = run_cli("survey", "results", "groen-in-de-wijk", "--db", str(database), "--format", "json")
    assert results.returncode == 0, results.stderr
    data = json.loads(results.stdout)
    by_id = {question["id"]: question for question in data["questions"]}
    assert data["respondents"] == 1
    assert data["completed"] == 1
    assert by_id["park_visits"]["n"] == 1
    assert {option["id"]: option["count"] for option in by_id["park_visits"]["options"]}["weekly"] == 1
    assert {option["id"]: option["count"] for option in by_id["activities"]["options"]}["walk"] == 1
    assert {option["id"]: option["count"] for option in by_id["activities"]["options"]}["relax"] == 1
    assert by_id["walk_minutes"]["mean"] == 10
    assert by_id["help_idea"]["n"] == 1


def test_demo_in_english(tmp_path):
    demo = run_cli("demo", "--db", str(tmp_path / "demo.db"), "--lang", "en", stdin="hello\nyes\n")
    assert demo.returncode == 0, demo.stderr
    assert "Do you want to join?" in demo.stdout
    assert "Which language do you want to use?" in demo.stdout


def test_demo_default_database_in_current_folder(tmp_path):
    demo = run_cli("demo", stdin="hoi\n", cwd=tmp_path)
    assert demo.returncode == 0, demo.stderr
    assert (tmp_path / "chatpanel.db").is_file()


def test_results_text_shows_percentages(tmp_path):
    database = tmp_path / "demo.db"
    run_cli("demo", "--db", str(database), stdin=DEMO_SCRIPT)
    results = run_cli("survey", "results", "groen-in-de-wijk", "--db", str(database))
    assert results.returncode == 0, results.stderr
    assert "respondents: 1, completed: 1" in results.stdout
    assert "park_visits (single_choice): n=1" in results.stdout
    assert "Hoe vaak ga je naar een park" in results.stdout
    assert "100,0%" in results.stdout


def test_results_in_english(tmp_path):
    database = tmp_path / "demo.db"
    run_cli("demo", "--db", str(database), stdin=DEMO_SCRIPT)
    results = run_cli("survey", "results", "groen-in-de-wijk", "--db", str(database), "--lang", "en")
    assert results.returncode == 0, results.stderr
    assert "How often do you go to a park" in results.stdout
    assert "100.0%" in results.stdout
