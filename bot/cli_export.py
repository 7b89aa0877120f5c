"""The command ``chatpanel export``: a survey's responses as a CSV or xlsx file for partner
organisations, with pseudonymous respondents and no personal data."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

from bot.cli_survey import database_exists
from bot.export import Cell, ExportPlan, plan_export, response_rows, write_csv, write_xlsx
from bot.i18n import texts
from bot.pseudonyms import survey_export_key
from bot.reference_population import ReferenceFileError
from bot.representativeness import ReferenceSetup, ReferenceSetupError, load_reference_setup
from bot.settings import Settings
from bot.surveys import find_survey
from store.db import create_sessionmaker, migrated_engine

__all__ = ["ExportError", "add_parsers", "output_target", "run", "write_export"]

SUFFIX_FORMATS = {".csv": "csv", ".xlsx": "xlsx"}


class ExportError(Exception):
    """An export that cannot be made; the message names the value and the fix on one line."""


def add_parsers(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add the ``export`` command to ``commands``, with the options of ``common`` (--config, --db)."""
    export = commands.add_parser(
        "export", parents=[common], help="write a survey's responses to a CSV or xlsx file with pseudonymous respondents"
    )
    export.add_argument("survey_id", metavar="SURVEY_ID", help="the survey to export, by the id that chatpanel survey list shows")
    export.add_argument("--out", required=True, metavar="FILE", help="the file to write; replaced only when the export succeeds")
    export.add_argument(
        "--format", choices=["csv", "xlsx"], help="file format (default: from the .csv or .xlsx suffix of --out)"
    )
    export.add_argument("--lang", choices=["nl", "en"], help="language of option labels and of the xlsx file's sheet names and About sheet (default: DEFAULT_LOCALE)")


async def run(args: argparse.Namespace, settings: Settings) -> int:
    """Export survey ``args.survey_id`` to ``args.out``.

    Prints warnings and one line on success and returns 0, or prints a one-line error and
    returns 1. After an error, ``args.out`` is as it was before: the export is written to a
    temporary file in the same folder and renamed into place.
    """
    try:
        out, file_format = output_target(args.out, args.format)
        if not database_exists(settings):
            return 1
        setup = _reference_setup(settings)
        plan, count = await _export(settings, args.survey_id, out, file_format, args.lang or settings.default_locale, setup)
    except ExportError as error:
        print(f"chatpanel: error: {error}", file=sys.stderr)
        return 1
    _print_outcome(plan, count, out)
    return 0


def output_target(out: str, requested_format: str | None) -> tuple[Path, str]:
    """Return the path to write and its format ("csv" or "xlsx").

    Raises ExportError when ``out`` is a folder, its folder does not exist, or its suffix
    contradicts ``requested_format``, or is neither .csv nor .xlsx while no format is
    requested: a file such as a survey's .yaml is then not overwritten by mistake.
    """
    path = Path(out).expanduser()
    if path.is_dir():
        raise ExportError(f"--out {out} is a folder; give a file name in it, such as {path / 'responses.csv'}")
    if not path.parent.is_dir():
        raise ExportError(f"--out {out}: the folder {path.parent.absolute()} does not exist; create it or give another path")
    suffix_format = SUFFIX_FORMATS.get(path.suffix.lower())
    if requested_format and suffix_format and requested_format != suffix_format:
        raise ExportError(
            f"--out {out} ends in {path.suffix} but --format is {requested_format}; "
            f"use --format {suffix_format} or a file name ending in .{requested_format}"
        )
    if not requested_format and not suffix_format:
        raise ExportError(
            f"--out {out} does not end in .csv or .xlsx; use one of those or give --format csv or --format xlsx"
        )
    return path, requested_format or suffix_format


def _reference_setup(settings: Settings) -> ReferenceSetup | None:
    try:
        return load_reference_setup(settings)
    except (ReferenceFileError, ReferenceSetupError) as error:
        raise ExportError(str(error)) from None


async def _export(
    settings: Settings, survey_id: str, out: Path, file_format: str, locale: str, setup: ReferenceSetup | None
) -> tuple[ExportPlan, int]:
    async with migrated_engine(settings.database_url) as engine:
        sessionmaker = create_sessionmaker(engine)
        # The export key is committed on its own first, so the write lock is held briefly.
        async with sessionmaker() as session, session.begin():
            row = await find_survey(session, survey_id)
            if row is None:
                raise ExportError(f"no survey with id {survey_id!r}; see: chatpanel survey list")
            await survey_export_key(session, row)
        # NOTE: on SQLite every transaction starts with BEGIN IMMEDIATE (store.db), so the
        # bot's writes wait while a large export streams, and fail after the busy timeout.
        async with sessionmaker() as session:
            if engine.dialect.name == "postgresql":
                # One snapshot for the counts, the weights and the rows. SQLite's BEGIN
                # IMMEDIATE keeps other writers out, which gives the same.
                await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            row = await find_survey(session, survey_id)
            plan = await plan_export(session, row, settings, locale, setup)
            count = await write_export(plan, response_rows(session, plan), out, file_format)
    return plan, count


async def write_export(plan: ExportPlan, rows: AsyncIterator[list[Cell]], out: Path, file_format: str) -> int:
    """Write ``rows`` as ``file_format`` to a temporary file next to ``out``, rename it into
    place, and return the number of rows.

    On any error the temporary file is removed and ``out`` is left as it was. File errors
    are raised as ExportError. The file keeps the temporary file's mode, readable by its
    owner only.
    """
    try:
        descriptor, name = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".part")
    except OSError as error:
        raise ExportError(f"cannot write to the folder {out.parent} ({error.strerror}); check its permissions") from None
    os.close(descriptor)
    temporary = Path(name)
    writer = write_csv if file_format == "csv" else write_xlsx
    try:
        count = await writer(plan, rows, temporary)
        os.replace(temporary, out)
    except (ConnectionError, TimeoutError):
        # Database failures; bot.cli reports them.
        temporary.unlink(missing_ok=True)
        raise
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise ExportError(f"cannot write {out} ({error.strerror}); check the free space and permissions") from None
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return count


def _print_outcome(plan: ExportPlan, count: int, out: Path) -> None:
    for item in plan.left_out:
        print(
            f"chatpanel: warning: left out the {item.column} column because {item.reason} "
            f"(the minimum group size, CHATPANEL_MIN_GROUP_SIZE)",
            file=sys.stderr,
        )
    note = plan.weighting_note(texts("en"))
    if note:
        print(f"chatpanel: warning: no weight column. {note}", file=sys.stderr)
    if count == 0:
        print(f"chatpanel: warning: survey {plan.survey_row.slug!r} has no responses yet; {out} has only the header row", file=sys.stderr)
    weights = "with weights" if plan.weights is not None else "without weights"
    print(f"wrote {out}: {count} response{'s' if count != 1 else ''}, {weights}")
