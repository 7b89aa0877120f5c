"""The ``chatpanel`` command line."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from sqlalchemy.exc import DBAPIError, OperationalError

from bot import (
    cli_broadcast, cli_config, cli_digest, cli_export, cli_outcome, cli_resident, cli_retention, cli_survey, cli_topics,
)
from bot.logs import configure_logging
from bot.reference_population import ReferenceFileError
from bot.representativeness import ReferenceSetupError
from bot.settings import Settings, SettingsError, load_settings
from store.db import describe_database, sqlite_url

def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", metavar="FILE", help="settings file (default: chatpanel.toml if it exists)")
    common.add_argument("--db", metavar="PATH", help="SQLite database file; overrides CHATPANEL_DATABASE_URL")

    parser = argparse.ArgumentParser(prog="chatpanel", description="A resident panel that lives in chat apps.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser("demo", parents=[common], help="talk to the panel as a resident in this terminal")
    demo.add_argument("--lang", choices=["nl", "en"], help="the resident's language (default: the panel's default)")
    demo.add_argument(
        "--resident", default="demo", type=_resident_name, metavar="NAME",
        help="which demo resident you are; each name is a separate resident (default: demo)",
    )

    commands.add_parser("serve", parents=[common], help="run the webhook server")

    database = commands.add_parser("db", help="database maintenance")
    database_commands = database.add_subparsers(dest="db_command", required=True, metavar="COMMAND")
    database_commands.add_parser("upgrade", parents=[common], help="migrate the database to the latest schema")
    cli_retention.add_parsers(database_commands, common)

    survey = commands.add_parser("survey", help="load and inspect surveys")
    survey_commands = survey.add_subparsers(dest="survey_command", required=True, metavar="COMMAND")
    validate = survey_commands.add_parser("validate", parents=[common], help="check survey files and list every error")
    validate.add_argument("files", nargs="+", metavar="FILE")
    load = survey_commands.add_parser("load", parents=[common], help="validate a survey file and open it for residents")
    load.add_argument("file", metavar="FILE")
    load.add_argument("--org", metavar="ID", help="the organisation that asks these questions (see: chatpanel org list)")
    load.add_argument(
        "--from-topic", type=int, metavar="ID",
        help="the approved topic this survey grew from; its suggesters and supporters are told when it opens",
    )
    survey_commands.add_parser("list", parents=[common], help="list loaded surveys")
    results = survey_commands.add_parser("results", parents=[common], help="counts and percentages per question")
    results.add_argument("survey_id", metavar="SURVEY_ID")
    results.add_argument("--format", choices=["text", "json"], default="text", help="output format (default: text)")
    results.add_argument("--lang", choices=["nl", "en"], help="language of question and option texts (default: DEFAULT_LOCALE)")

    publish = survey_commands.add_parser("publish", parents=[common], help="schedule a survey and invite residents")
    publish.add_argument("survey_id", metavar="SURVEY_ID")
    publish.add_argument("--opens", required=True, metavar="TIME", help="opening time, such as 2026-12-07T10:00 (TIMEZONE unless an offset is given)")
    publish.add_argument("--closes", required=True, metavar="TIME", help="closing time, in the same form")
    publish.add_argument(
        "--segment", action="append", default=[], metavar="KEY=VALUES",
        help="invite only lang=nl|en, channel=telegram|sms|whatsapp, postcode=2500-2599 or age=16-24,25-44,45-64,65+ (repeatable)",
    )
    publish.add_argument("--channels", metavar="LIST", help="channels to invite on, such as telegram,sms (default: every configured channel)")
    publish.add_argument("--dry-run", action="store_true", help="print who would be invited and how long sending takes; change nothing")
    close = survey_commands.add_parser("close", parents=[common], help="close an open survey now")
    close.add_argument("survey_id", metavar="SURVEY_ID")
    outcome = survey_commands.add_parser(
        "outcome", parents=[common], help="tell everyone who answered a closed survey what was done with its results"
    )
    outcome.add_argument("survey_id", metavar="SURVEY_ID")
    outcome.add_argument(
        "--text-file", required=True, metavar="FILE",
        help="YAML file with the text per language: nl (required) and en, such as 'nl: |' followed by the text",
    )
    outcome.add_argument("--by", metavar="NAME", help="who records the outcome, for the audit log (default: your user name)")

    broadcast = commands.add_parser("broadcast", help="follow invitations and reminders")
    broadcast_commands = broadcast.add_subparsers(dest="broadcast_command", required=True, metavar="COMMAND")
    status = broadcast_commands.add_parser("status", parents=[common], help="queued, sent, delivered and failed per channel")
    status.add_argument("survey_id", nargs="?", metavar="SURVEY_ID")

    cli_topics.add_parsers(commands, common)
    cli_digest.add_parsers(commands, common)
    cli_export.add_parsers(commands, common)
    cli_resident.add_parsers(commands, common)
    cli_config.add_parsers(commands, common)
    return parser


def _resident_name(text: str) -> str:
    if not text.strip() or len(text) > 64:
        raise argparse.ArgumentTypeError(f"invalid resident name {text!r}: give 1 to 64 characters")
    return text.strip()


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(logging.INFO if args.command == "serve" else logging.WARNING)
    try:
        return _dispatch(args)
    except BrokenPipeError:
        # The reader of our output went away (as with "| head"); there is no one to tell.
        # BrokenPipeError is a ConnectionError, so this must come before the database case.
        sys.stderr.close()
        return 1
    except SettingsError as error:
        for problem in error.all:
            print(f"chatpanel: error: {problem}", file=sys.stderr)
        return 2
    except (ReferenceFileError, ReferenceSetupError) as error:
        print(f"chatpanel: error: {error}", file=sys.stderr)
        return 2
    except DatabaseUnavailable as error:
        print(f"chatpanel: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "config":
        # The check loads the settings itself and reports invalid values as problems.
        return cli_config.run(args)
    if args.command == "survey" and args.survey_command == "validate":
        return cli_survey.validate(args.files)
    settings = _settings(args)
    try:
        return _run(args, settings)
    except BrokenPipeError:
        raise
    except (OperationalError, DBAPIError, ConnectionError, TimeoutError) as error:
        raise DatabaseUnavailable(settings.database_url, error) from error


def _run(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "demo":
        from bot.demo import run_demo

        return run_demo(settings, locale=args.lang, resident=args.resident)
    if args.command == "serve":
        from bot.serve import serve

        return serve(settings)
    if args.command == "resident":
        return asyncio.run(cli_resident.run(args, settings))
    if args.command == "db" and args.db_command == "purge":
        return asyncio.run(cli_retention.run(args, settings))
    if args.command == "db":
        return asyncio.run(cli_survey.upgrade_database(settings))
    if args.command in ("topics", "org", "audit"):
        return asyncio.run(cli_topics.run(args, settings))
    if args.command == "export":
        return asyncio.run(cli_export.run(args, settings))
    if args.command in ("digest", "panel"):
        return asyncio.run(cli_digest.run(args, settings))
    if args.command == "broadcast":
        return asyncio.run(cli_broadcast.status_command(settings, args.survey_id))
    if args.survey_command == "publish":
        return asyncio.run(
            cli_broadcast.publish_command(
                settings, args.survey_id, args.opens, args.closes, args.segment, args.channels, args.dry_run
            )
        )
    if args.survey_command == "close":
        return asyncio.run(cli_broadcast.close_command(settings, args.survey_id))
    if args.survey_command == "outcome":
        return asyncio.run(cli_outcome.outcome_command(settings, args.survey_id, args.text_file, args.by))
    if args.survey_command == "load":
        return asyncio.run(cli_survey.load(settings, args.file, organisation=args.org, topic_id=args.from_topic))
    if args.survey_command == "list":
        return asyncio.run(cli_survey.list_surveys(settings))
    return asyncio.run(cli_survey.results(settings, args.survey_id, args.format, args.lang or settings.default_locale))


def _settings(args: argparse.Namespace) -> Settings:
    settings = load_settings(args.config)
    if args.db:
        settings = Settings(**{**settings.__dict__, "database_url": sqlite_url(args.db)})
    return settings


def _first_line(error: BaseException) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


class DatabaseUnavailable(Exception):
    """The database could not be opened or used; the message names it and the fix."""

    def __init__(self, url: str, error: BaseException) -> None:
        super().__init__(
            f"cannot use the database {describe_database(url)}: {_first_line(error)}; "
            "check CHATPANEL_DATABASE_URL or --db, and that the folder or server exists"
        )
