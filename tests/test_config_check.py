"""``chatpanel config check``: the settings table with masked secrets and sources, each
check's problem line, and the exit codes. The command runs through a parser built with
bot.cli_config.add_parsers, as bot.cli builds it."""

from __future__ import annotations

import argparse
import asyncio
import os

import pytest

from bot import cli_config
from bot.settings import Settings, mask_setting
from store.db import create_engine, sqlite_url, upgrade

TOKEN = "123456789:AAFakeTokenForTestsOnly0123456789ab"
SECRET = "webhook-secret-0123456789"
AUTH_TOKEN = "f1e2d3c4b5a69788f1e2d3c4b5a69788"
DB_PASSWORD = "db-password-4242"
SMTP_PASSWORD = "mail-password-1717"
ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "examples", "reference")

# Enough for `serve` with Telegram; each test adds or removes what it checks.
SERVING = {
    "CHATPANEL_TELEGRAM_TOKEN": TOKEN,
    "CHATPANEL_TELEGRAM_SECRET": SECRET,
    "CHATPANEL_PANEL_OWNER": "Stichting Test",
    "CHATPANEL_PRIVACY_URL": "https://example.org/privacy",
}


def build_parser() -> argparse.ArgumentParser:
    # The same common options as bot.cli.build_parser gives every command.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", metavar="FILE")
    common.add_argument("--db", metavar="PATH")
    parser = argparse.ArgumentParser(prog="chatpanel")
    commands = parser.add_subparsers(dest="command", required=True)
    cli_config.add_parsers(commands, common)
    return parser


def run_check(*options: str) -> tuple[int, list[str]]:
    lines: list[str] = []
    args = build_parser().parse_args(["config", "check", *options])
    return cli_config.run(args, output=lines.append), lines


def problems(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith("problem: ")]


def setting_line(lines: list[str], key: str) -> list[str]:
    """Split the table line of ``key`` into key, source and value."""
    line = next(line for line in lines if line.split()[:1] == [key])
    return line.split(None, 2)


@pytest.fixture
def environment(monkeypatch, tmp_path):
    """A folder without chatpanel.toml and an environment without CHATPANEL_ settings."""
    for key in list(os.environ):
        if key.startswith("CHATPANEL_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CHATPANEL_DATABASE_URL", sqlite_url(tmp_path / "panel.db"))

    def set_values(values: dict[str, str]) -> None:
        for key, value in values.items():
            monkeypatch.setenv(key, value)

    return set_values


# The table


def test_prints_every_setting(environment):
    environment(SERVING)
    code, lines = run_check()
    keys = [line.split()[0] for line in lines[2:] if not line.startswith(("problem:", "all checks"))]
    assert keys == list(Settings().masked())
    assert code == 0


@pytest.mark.parametrize(
    ("variable", "value", "shown"),
    [
        ("CHATPANEL_TELEGRAM_TOKEN", TOKEN, "1234****"),
        ("CHATPANEL_TELEGRAM_SECRET", SECRET, "****"),
        ("CHATPANEL_TWILIO_AUTH_TOKEN", AUTH_TOKEN, "f1e2****"),
    ],
)
def test_secret_masked(environment, variable, value, shown):
    environment({**SERVING, variable: value, "CHATPANEL_TWILIO_ACCOUNT_SID": ACCOUNT_SID})
    _, lines = run_check()
    output = "\n".join(lines)
    assert value not in output
    assert value[4:12] not in output
    assert setting_line(lines, variable.removeprefix("CHATPANEL_").lower())[2] == shown


def test_short_secret_shows_nothing():
    assert mask_setting("twilio_auth_token", "abcdefgh") == "****"


def test_smtp_password_masked(environment):
    environment({**SERVING, "CHATPANEL_SMTP_URL": f"smtp://panel:{SMTP_PASSWORD}@127.0.0.1:2525"})
    _, lines = run_check()
    assert SMTP_PASSWORD not in "\n".join(lines)
    assert setting_line(lines, "smtp_url")[2] == "smtp://panel:***@127.0.0.1:2525"


def test_database_password_masked(environment, closed_port):
    url = f"postgresql+asyncpg://panel:{DB_PASSWORD}@127.0.0.1:{closed_port}/panel"
    environment({**SERVING, "CHATPANEL_DATABASE_URL": url})
    code, lines = run_check()
    assert DB_PASSWORD not in "\n".join(lines)
    assert setting_line(lines, "database_url")[2] == f"postgresql+asyncpg://panel:***@127.0.0.1:{closed_port}/panel"
    assert code == 1


def test_password_query_parameter_masked():
    masked = mask_setting("database_url", f"postgresql+asyncpg://panel@db/panel?password={DB_PASSWORD}&ssl=require")
    assert masked == "postgresql+asyncpg://panel@db/panel?password=***&ssl=require"


def test_masked_view_of_settings():
    settings = Settings(telegram_token=TOKEN, telegram_secret=SECRET, twilio_auth_token=AUTH_TOKEN)
    masked = settings.masked()
    assert masked["telegram_token"] == "1234****"
    assert masked["telegram_secret"] == "****"
    assert masked["twilio_auth_token"] == "f1e2****"
    assert masked["panel_owner"] == ""
    assert masked["port"] == "8080"


def test_source_column(environment, tmp_path):
    config = tmp_path / "panel.toml"
    config.write_text('panel_name = "Buurtpanel"\nport = 9000\n', encoding="utf-8")
    environment({**SERVING, "CHATPANEL_PORT": "9100"})
    code, lines = run_check("--config", str(config))
    assert lines[0].startswith(f"settings file: {config}")
    assert setting_line(lines, "panel_name") == ["panel_name", "file", "Buurtpanel"]
    assert setting_line(lines, "port") == ["port", "environment", "9100"]
    assert setting_line(lines, "timezone") == ["timezone", "default", "Europe/Amsterdam"]
    assert setting_line(lines, "public_url") == ["public_url", "default", "(not set)"]
    assert code == 0


def test_db_option_is_a_source(environment, tmp_path):
    environment(SERVING)
    code, lines = run_check("--db", str(tmp_path / "other.db"))
    assert setting_line(lines, "database_url") == ["database_url", "--db", sqlite_url(tmp_path / "other.db")]
    assert code == 0


def test_default_file_in_current_folder(environment, tmp_path):
    (tmp_path / "chatpanel.toml").write_text('panel_owner = "Stichting Bestand"\n', encoding="utf-8")
    environment({key: value for key, value in SERVING.items() if key != "CHATPANEL_PANEL_OWNER"})
    _, lines = run_check()
    assert lines[0].startswith("settings file: chatpanel.toml")
    assert setting_line(lines, "panel_owner") == ["panel_owner", "file", "Stichting Bestand"]


# The checks and their problem lines


def test_all_checks_pass(environment):
    environment(SERVING)
    code, lines = run_check()
    assert problems(lines) == []
    assert lines[-1] == "all checks passed"
    assert code == 0


def test_prints_to_stdout(environment, capsys):
    environment(SERVING)
    args = build_parser().parse_args(["config", "check"])
    assert cli_config.run(args) == 0
    assert "all checks passed" in capsys.readouterr().out


def test_no_channel(environment):
    code, lines = run_check()
    assert problems(lines) == [
        "problem: setting CHATPANEL_TELEGRAM_TOKEN: no channel is configured; "
        "set CHATPANEL_TELEGRAM_TOKEN or CHATPANEL_TWILIO_ACCOUNT_SID",
        "problem: setting CHATPANEL_PANEL_OWNER: missing; give the name of the organisation that runs the panel",
        "problem: setting CHATPANEL_PRIVACY_URL: missing; give the https address of the panel's privacy statement",
    ]
    assert lines[-1] == "3 problem(s) found"
    assert code == 1


def test_every_missing_serving_setting_listed(environment):
    environment({"CHATPANEL_TELEGRAM_TOKEN": TOKEN, "CHATPANEL_TWILIO_ACCOUNT_SID": ACCOUNT_SID})
    code, lines = run_check()
    keys = [line.split(":", 2)[1].strip() for line in problems(lines)]
    assert keys == [
        "setting CHATPANEL_PANEL_OWNER",
        "setting CHATPANEL_PRIVACY_URL",
        "setting CHATPANEL_TELEGRAM_SECRET",
        "setting CHATPANEL_TWILIO_AUTH_TOKEN",
        "setting CHATPANEL_TWILIO_SMS_FROM",
        "setting CHATPANEL_PUBLIC_URL",
    ]
    assert "problem: setting CHATPANEL_PANEL_OWNER: missing; give the name of the organisation that runs the panel" in lines
    assert code == 1


def test_invalid_value_stops_before_table(environment):
    environment({**SERVING, "CHATPANEL_PORT": "abc"})
    code, lines = run_check()
    assert lines == ["problem: setting CHATPANEL_PORT: invalid value 'abc'; give a whole number from 1 to 65535"]
    assert code == 1


def test_every_invalid_value_listed(environment):
    environment({**SERVING, "CHATPANEL_PORT": "abc", "CHATPANEL_TIMEZONE": "Mars/Olympus"})
    code, lines = run_check()
    assert lines[0] == "problem: setting CHATPANEL_PORT: invalid value 'abc'; give a whole number from 1 to 65535"
    assert lines[1].startswith("problem: setting CHATPANEL_TIMEZONE: ")
    assert lines[-1] == "2 problem(s) found"
    assert code == 1


def test_invalid_file_value_names_file_key(environment, tmp_path):
    config = tmp_path / "chatpanel.toml"
    config.write_text('min_group_size = "veel"\n', encoding="utf-8")
    environment(SERVING)
    code, lines = run_check("--config", str(config))
    assert len(lines) == 1
    assert lines[0].startswith(f"problem: settings file {config}: min_group_size: invalid value 'veel'; ")
    assert "CHATPANEL_MIN_GROUP_SIZE" not in lines[0]
    assert code == 1


def test_missing_config_file(environment, tmp_path):
    code, lines = run_check("--config", str(tmp_path / "missing.toml"))
    assert lines == [f"problem: settings file {tmp_path / 'missing.toml'}: not found; create it or leave out --config"]
    assert code == 1


def test_database_unreachable(environment, closed_port):
    environment({**SERVING, "CHATPANEL_DATABASE_URL": f"postgresql+asyncpg://panel:{DB_PASSWORD}@127.0.0.1:{closed_port}/panel"})
    code, lines = run_check()
    [problem] = problems(lines)
    assert problem.startswith(
        f"problem: setting CHATPANEL_DATABASE_URL: cannot use the database postgresql+asyncpg://panel:***@127.0.0.1:{closed_port}/panel: "
    )
    assert problem.endswith("; check the URL, that the server runs and that the user may log in")
    assert DB_PASSWORD not in problem
    assert code == 1


def test_sqlite_folder_missing(environment, tmp_path):
    missing = tmp_path / "no-such-folder" / "panel.db"
    environment({**SERVING, "CHATPANEL_DATABASE_URL": sqlite_url(missing)})
    code, lines = run_check()
    assert problems(lines) == [
        f"problem: setting CHATPANEL_DATABASE_URL: cannot use the database {missing}: "
        f"folder {missing.parent} does not exist; create the folder or change the path"
    ]
    assert code == 1


def test_sqlite_file_not_a_database(environment, tmp_path):
    path = tmp_path / "notes.db"
    path.write_text("not a database\n" * 100, encoding="utf-8")
    environment({**SERVING, "CHATPANEL_DATABASE_URL": sqlite_url(path)})
    code, lines = run_check()
    assert problems(lines) == [
        f"problem: setting CHATPANEL_DATABASE_URL: cannot use the database {path}: "
        "file is not a database; check that the file is a SQLite database and readable"
    ]
    assert code == 1


def test_sqlite_check_creates_no_file(environment, tmp_path):
    environment(SERVING)
    code, _ = run_check()
    assert code == 0
    assert not (tmp_path / "panel.db").exists()


async def test_existing_database_reachable(database_url, environment, monkeypatch):
    engine = create_engine(database_url)
    await upgrade(engine)
    await engine.dispose()
    environment(SERVING)
    monkeypatch.setenv("CHATPANEL_DATABASE_URL", database_url)
    code, lines = await asyncio.to_thread(run_check)
    assert problems(lines) == []
    assert code == 0


def test_reference_file_missing(environment, tmp_path):
    missing = tmp_path / "population.csv"
    environment({**SERVING, "CHATPANEL_REFERENCE_POPULATION": str(missing)})
    code, lines = run_check()
    assert problems(lines) == [
        f"problem: setting CHATPANEL_REFERENCE_POPULATION: {missing}: not found; check CHATPANEL_REFERENCE_POPULATION"
    ]
    assert code == 1


def test_reference_file_invalid(environment, tmp_path):
    path = tmp_path / "population.csv"
    path.write_text("area_code,name\nGM0518,Den Haag\n", encoding="utf-8")
    environment({**SERVING, "CHATPANEL_REFERENCE_POPULATION": str(path)})
    code, lines = run_check()
    [problem] = problems(lines)
    assert problem.startswith(f"problem: setting CHATPANEL_REFERENCE_POPULATION: {path}, line 1")
    assert problem.endswith("; fix the file or the path")
    assert code == 1


def test_postcode_file_missing(environment, tmp_path):
    missing = tmp_path / "postcodes.csv"
    environment({
        **SERVING,
        "CHATPANEL_REFERENCE_POPULATION": os.path.join(EXAMPLES, "den-haag-2019.csv"),
        "CHATPANEL_POSTCODE_AREAS": str(missing),
    })
    code, lines = run_check()
    assert problems(lines) == [f"problem: setting CHATPANEL_POSTCODE_AREAS: {missing}: not found; check CHATPANEL_POSTCODE_AREAS"]
    assert code == 1


def test_weighting_without_reference(environment):
    environment({**SERVING, "CHATPANEL_WEIGHTING": "age"})
    code, lines = run_check()
    [problem] = problems(lines)
    assert problem.startswith("problem: setting CHATPANEL_WEIGHTING needs a reference population")
    assert code == 1


def test_reference_population_loads(environment):
    environment({**SERVING, "CHATPANEL_REFERENCE_POPULATION": os.path.join(EXAMPLES, "den-haag-2019.csv")})
    code, lines = run_check()
    assert problems(lines) == []
    assert code == 0


def test_mail_incomplete(environment):
    environment({**SERVING, "CHATPANEL_SMTP_URL": f"smtp://panel:{SMTP_PASSWORD}@127.0.0.1:2525"})
    code, lines = run_check()
    assert problems(lines) == [
        "problem: setting CHATPANEL_SMTP_FROM: missing; give the sender address of the digest, such as panel@example.nl"
    ]
    assert code == 1


def test_mail_sender_without_server(environment):
    environment({**SERVING, "CHATPANEL_SMTP_FROM": "panel@example.nl"})
    code, lines = run_check()
    [problem] = problems(lines)
    assert problem.startswith("problem: setting CHATPANEL_SMTP_URL: missing; give the mail server")
    assert code == 1


def test_mail_complete(environment, smtp_server):
    server = smtp_server(credentials=("panel", SMTP_PASSWORD))
    environment({
        **SERVING,
        "CHATPANEL_SMTP_URL": server.url(user="panel", password=SMTP_PASSWORD),
        "CHATPANEL_SMTP_FROM": "panel@example.nl",
    })
    code, lines = run_check()
    assert problems(lines) == []
    assert code == 0
    assert server.messages == []


def test_mail_login_rejected(environment, smtp_server):
    server = smtp_server(credentials=("panel", SMTP_PASSWORD))
    environment({
        **SERVING,
        "CHATPANEL_SMTP_URL": server.url(user="panel", password="wrong-password"),
        "CHATPANEL_SMTP_FROM": "panel@example.nl",
    })
    code, lines = run_check()
    [problem] = problems(lines)
    assert problem.startswith(f"problem: setting CHATPANEL_SMTP_URL: connecting to the mail server 127.0.0.1:{server.port} failed: login rejected")
    assert "wrong-password" not in "\n".join(lines)
    assert code == 1


def test_mail_server_unreachable(environment, closed_port):
    environment({
        **SERVING,
        "CHATPANEL_SMTP_URL": f"smtp://127.0.0.1:{closed_port}",
        "CHATPANEL_SMTP_FROM": "panel@example.nl",
    })
    code, lines = run_check()
    [problem] = problems(lines)
    assert problem.startswith(f"problem: setting CHATPANEL_SMTP_URL: connecting to the mail server 127.0.0.1:{closed_port} failed: ")
    assert code == 1


def test_problems_from_several_checks(environment, tmp_path):
    environment({
        "CHATPANEL_DATABASE_URL": sqlite_url(tmp_path / "missing" / "panel.db"),
        "CHATPANEL_WEIGHTING": "age",
        "CHATPANEL_SMTP_FROM": "panel@example.nl",
    })
    code, lines = run_check()
    keys = [line.split(":", 2)[1].strip().split()[1] for line in problems(lines)]
    assert keys == [
        "CHATPANEL_TELEGRAM_TOKEN", "CHATPANEL_PANEL_OWNER", "CHATPANEL_PRIVACY_URL", "CHATPANEL_DATABASE_URL",
        "CHATPANEL_WEIGHTING", "CHATPANEL_SMTP_URL",
    ]
    assert lines[-1] == "6 problem(s) found"
    assert code == 1
