"""``chatpanel config check``: print the effective settings with their sources and with
secrets masked, then check what can be checked without contacting any host other than
the database server and the mail server. Nothing is sent to either.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
from collections.abc import Callable

import aiosqlite
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from bot.digest.mail import MailError, check_server
from bot.reference_population import ReferenceFileError
from bot.representativeness import ReferenceSetupError, load_reference_setup
from bot.settings import ENV_PREFIX, Settings, SettingsError, load_settings_with_sources, mask_setting, settings_file
from store.db import create_engine, describe_database, sqlite_file, sqlite_url

# How long the database check waits for the server to accept a connection and respond.
DATABASE_TIMEOUT_SECONDS = 10.0
# How long the mail server check waits for each step: connecting, TLS, login.
MAIL_TIMEOUT_SECONDS = 10.0
SOURCE_DB_OPTION = "--db"

Output = Callable[[str], None]


def add_parsers(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add ``config check`` to the ``chatpanel`` commands; ``common`` has --config and --db."""
    config = commands.add_parser("config", help="inspect the settings")
    config_commands = config.add_subparsers(dest="config_command", required=True, metavar="COMMAND")
    config_commands.add_parser(
        "check",
        parents=[common],
        help="print every setting with its source (secrets masked) and check the settings and the database",
    )


def run(args: argparse.Namespace, output: Output = print) -> int:
    """Run ``config check`` and return the exit code: 0 when every check passes, else 1.

    Every line goes to ``output``. A problem is one line that names the setting and the fix.
    """
    try:
        settings, sources = load_settings_with_sources(args.config)
    except SettingsError as error:
        for problem in error.all:
            output(f"problem: {problem}")
        if len(error.all) > 1:
            output(f"{len(error.all)} problem(s) found")
        return 1
    if args.db:
        settings = dataclasses.replace(settings, database_url=sqlite_url(args.db))
        sources["database_url"] = SOURCE_DB_OPTION

    print_settings(settings, sources, args.config, output)
    problems = check_settings(settings)
    for line in problems:
        output(f"problem: {line}")
    if problems:
        output(f"{len(problems)} problem(s) found")
        return 1
    output("all checks passed")
    return 0


def print_settings(settings: Settings, sources: dict[str, str], config_path: str | None, output: Output) -> None:
    """Print one line per setting: the key, where its value comes from, and the value."""
    config_file = settings_file(config_path)
    output(f"settings file: {config_file if config_file is not None else 'none'}; environment: {ENV_PREFIX}<KEY>")
    masked = settings.masked()
    width = max(len(key) for key in masked)
    output(f"{'key':<{width}}  {'source':<11}  value")
    for key, value in masked.items():
        output(f"{key:<{width}}  {sources[key]:<11}  {value if value else '(not set)'}")


def check_settings(settings: Settings) -> list[str]:
    """Run every check and return one line per problem, each naming the setting and the fix."""
    problems = [str(error) for error in settings.serving_problems()]
    database_problem = asyncio.run(check_database(settings.database_url))
    if database_problem is not None:
        problems.append(database_problem)
    reference_problem = check_reference_population(settings)
    if reference_problem is not None:
        problems.append(reference_problem)
    if settings.smtp_url or settings.smtp_from:
        mail_problems = [str(error) for error in settings.mail_problems()]
        problems.extend(mail_problems)
        if settings.smtp_url and not mail_problems:
            mail_problem = asyncio.run(check_mail_server(settings.smtp_url))
            if mail_problem is not None:
                problems.append(mail_problem)
    return problems


async def check_mail_server(smtp_url: str) -> str | None:
    """Connect to the mail server, log in when the URL has a user, and quit; return a
    problem line, or None. Nothing is sent."""
    try:
        await check_server(smtp_url, timeout=MAIL_TIMEOUT_SECONDS)
    except MailError as error:
        return f"setting {ENV_PREFIX}SMTP_URL: {error}"
    return None


async def check_database(url: str) -> str | None:
    """Open the database at ``url`` and run a query; return a problem line, or None.

    A SQLite file is opened read-only, so the check creates no file. A file that does not
    exist yet is fine when its folder exists, because ``serve`` creates it. The line names
    the database without its password.
    """
    try:
        path = sqlite_file(url)
    except (ArgumentError, ValueError) as error:
        fix = "give sqlite+aiosqlite:///FILE or postgresql+asyncpg://USER:PASSWORD@HOST:PORT/DB"
        return _database_problem(url, f"invalid URL ({_first_line(error, url)})", fix)
    try:
        if path is not None:
            if not path.exists():
                if path.parent.is_dir():
                    return None
                return _database_problem(url, f"folder {path.parent} does not exist", "create the folder or change the path")
            await asyncio.wait_for(_query_sqlite(path), DATABASE_TIMEOUT_SECONDS)
        else:
            await asyncio.wait_for(_query_server(url), DATABASE_TIMEOUT_SECONDS)
    except TimeoutError:
        return _database_problem(url, f"no answer within {DATABASE_TIMEOUT_SECONDS:.0f} s", "check the host, port and firewall")
    except (SQLAlchemyError, OSError, aiosqlite.Error, ValueError, OverflowError) as error:
        if path is not None:
            fix = "check that the file is a SQLite database and readable"
        else:
            fix = "check the URL, that the server runs and that the user may log in"
        return _database_problem(url, _first_line(error, url), fix)
    return None


def check_reference_population(settings: Settings) -> str | None:
    """Load the reference population settings as ``serve`` does; return a problem line, or None."""
    try:
        load_reference_setup(settings)
    except ReferenceSetupError as error:
        return str(error)
    except ReferenceFileError as error:
        key = "postcode_areas" if error.path == settings.postcode_areas else "reference_population"
        # Some of these messages already end with their fix after a semicolon.
        fix = "" if "; " in str(error) else "; fix the file or the path"
        return f"setting {ENV_PREFIX}{key.upper()}: {error}{fix}"
    except OSError as error:
        # Another read error, such as a device failure, that the readers do not name.
        key = "postcode_areas" if error.filename == settings.postcode_areas else "reference_population"
        return f"setting {ENV_PREFIX}{key.upper()}: cannot read {error.filename}: {error.strerror}; fix the path"
    return None


async def _query_sqlite(path) -> None:
    # mode=ro opens an existing file without creating or changing it. Reading
    # sqlite_master makes SQLite read the header, so a file that is no database fails.
    async with aiosqlite.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True) as connection:
        await connection.execute("SELECT count(*) FROM sqlite_master")


async def _query_server(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    finally:
        await engine.dispose()


def _database_problem(url: str, problem: str, fix: str) -> str:
    try:
        name = describe_database(url)
    except (ArgumentError, ValueError):
        name = mask_setting("database_url", url)
    return f"setting {ENV_PREFIX}DATABASE_URL: cannot use the database {name}: {problem}; {fix}"


def _first_line(error: BaseException, url: str) -> str:
    """Return the first line of ``error``'s text, with the URL's password masked."""
    lines = str(error).strip().splitlines()
    line = lines[0] if lines else type(error).__name__
    try:
        password = make_url(url).password
    except (ArgumentError, ValueError):
        password = None
    if password:
        line = line.replace(str(password), "***")
    return line
