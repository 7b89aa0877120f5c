"""Moderator commands for the weekly digest and the panel's representativeness:
``chatpanel digest preview|send`` and ``chatpanel panel report``."""

from __future__ import annotations

import argparse
import sys
from functools import partial
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.cli_survey import database_exists
from bot.digest.weeks import ScheduleError, Week
from bot.reference_population import ReferenceFileError
from bot.representativeness import ReferenceSetupError, load_reference_setup, representativeness
from bot.settings import Settings
from store.db import create_sessionmaker, migrated_engine
from store.models import utcnow


# Seconds between the attempts of ``digest send``.
CLI_RETRY_DELAYS = (1.0, 3.0)
# The file in the charts folder that lists the charts the last preview wrote there.
CHART_LIST = ".chatpanel-charts"


def add_parsers(commands, common: argparse.ArgumentParser) -> None:
    """Add the ``digest`` and ``panel`` commands to the command line."""
    digest = commands.add_parser("digest", help="the weekly digest for partner organisations")
    digest_commands = digest.add_subparsers(dest="digest_command", required=True, metavar="COMMAND")
    preview = digest_commands.add_parser("preview", parents=[common], help="write an organisation's digest to an HTML file")
    preview.add_argument("organisation", metavar="ORG", help="the organisation's id (see: chatpanel org list)")
    preview.add_argument("--week", metavar="WEEK", help="ISO week such as 2026-W49 (default: the last full week)")
    preview.add_argument("--out", default="digest.html", metavar="FILE", help="HTML file; the charts go beside it (default: digest.html)")
    send = digest_commands.add_parser("send", parents=[common], help="send an organisation's digest by e-mail now")
    send.add_argument("organisation", metavar="ORG", help="the organisation's id (see: chatpanel org list)")
    send.add_argument("--week", metavar="WEEK", help="ISO week such as 2026-W49 (default: the last full week)")

    panel = commands.add_parser("panel", help="the panel as a whole")
    panel_commands = panel.add_subparsers(dest="panel_command", required=True, metavar="COMMAND")
    report = panel_commands.add_parser(
        "report", parents=[common], help="compare the panel with the reference population (representativeness)"
    )
    report.add_argument("--out", metavar="FILE", help="also write the report as an HTML page")


async def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run a ``digest`` or ``panel`` command; print one-line errors and return 1 on failure."""
    try:
        setup = load_reference_setup(settings)
        if args.command == "panel":
            return await _report(settings, setup, args.out)
        zone = ZoneInfo(settings.timezone)
        week = Week.parse(args.week) if args.week is not None else Week.last_complete(utcnow(), zone)
        if args.digest_command == "preview":
            return await _preview(settings, setup, args.organisation, week, Path(args.out))
        if week.bounds(zone)[1] > utcnow():
            print(
                f"chatpanel: error: week {week} ends on {week.last_day:%A %d %B %Y} and is not over yet, so its digest "
                "would be incomplete; see it now with: chatpanel digest preview", file=sys.stderr,
            )
            return 1
        return await _send(settings, setup, args.organisation, week)
    except (ReferenceFileError, ReferenceSetupError, ScheduleError, LookupError) as error:
        print(f"chatpanel: error: {error}", file=sys.stderr)
        return 1


async def _preview(settings: Settings, setup, slug: str, week: Week, out: Path) -> int:
    if out.suffix.lower() not in (".html", ".htm"):
        print(f"chatpanel: error: --out {out} must end in .html; the text version and the answers go beside it", file=sys.stderr)
        return 1
    # Rendering loads matplotlib, which other commands need not wait for.
    from bot.digest.content import find_organisation, gather_digest
    from bot.digest.render import render_digest

    if out.is_dir():
        print(f"chatpanel: error: --out {out} is a folder; give a file name such as {out / 'digest.html'}", file=sys.stderr)
        return 1
    if not out.parent.is_dir():
        print(f"chatpanel: error: the folder {out.parent} does not exist; create it or choose another --out", file=sys.stderr)
        return 1
    if not database_exists(settings):
        return 1
    async with migrated_engine(settings.database_url) as engine:
        async with create_sessionmaker(engine)() as session, session.begin():
            organisation = await find_organisation(session, slug)
            digest = await gather_digest(
                session, organisation, week, panel_name=settings.panel_name, zone=ZoneInfo(settings.timezone),
                min_group_size=settings.min_group_size, setup=setup,
            )
    # The charts go in a folder of their own. The charts an earlier preview wrote there,
    # as its list names them, are deleted first; other files in the folder stay.
    charts = out.parent / f"{out.stem}-charts"
    charts.mkdir(exist_ok=True)
    chart_list = charts / CHART_LIST
    if chart_list.is_file():
        for name in chart_list.read_text(encoding="utf-8").splitlines():
            if name and Path(name).name == name:
                (charts / name).unlink(missing_ok=True)
    rendered = render_digest(digest, image_src=lambda image: f"{charts.name}/{image.filename}")
    for image in rendered.images:
        (charts / image.filename).write_bytes(image.data)
    chart_list.write_text("".join(f"{image.filename}\n" for image in rendered.images), encoding="utf-8")
    out.write_text(rendered.html, encoding="utf-8")
    out.with_suffix(".txt").write_text(rendered.text, encoding="utf-8")
    out.with_suffix(".csv").write_text(digest.answers_csv, encoding="utf-8")
    print(f"digest for {slug}, week {week}: {out} with {len(rendered.images)} charts in {charts}, "
          f"the text version {out.with_suffix('.txt')} and the answers {out.with_suffix('.csv')}")
    return 0


async def _send(settings: Settings, setup, slug: str, week: Week) -> int:
    from bot.digest.dispatch import DigestConfig, DigestDispatcher
    from bot.digest.mail import MailError, send_message

    settings.require_for_mail()
    if not database_exists(settings):
        return 1
    try:
        async with migrated_engine(settings.database_url) as engine:
            config = DigestConfig(
                settings.panel_name, ZoneInfo(settings.timezone), settings.min_group_size, setup, settings.smtp_url, settings.smtp_from
            )
            # A moderator waits for the answer, so retry sooner than the scheduled sending does.
            send = partial(send_message, retry_delays=CLI_RETRY_DELAYS)
            recipient = await DigestDispatcher(create_sessionmaker(engine), config, send=send).send_now(slug, week)
    except MailError as error:
        print(f"chatpanel: error: the digest for {slug} was not sent: {error}", file=sys.stderr)
        return 1
    print(f"digest for {slug}, week {week}, sent to {recipient}")
    return 0


async def _report(settings: Settings, setup, out: str | None) -> int:
    from bot.digest.render import render_report_html, render_report_text

    if setup is None:
        print(
            "chatpanel: error: no reference population; set CHATPANEL_REFERENCE_POPULATION to a CSV file "
            "such as examples/reference/den-haag-2019.csv",
            file=sys.stderr,
        )
        return 1
    if out is not None and not Path(out).parent.is_dir():
        print(f"chatpanel: error: the folder {Path(out).parent} does not exist; create it or choose another --out", file=sys.stderr)
        return 1
    if not database_exists(settings):
        return 1
    async with migrated_engine(settings.database_url) as engine:
        async with create_sessionmaker(engine)() as session:
            report = await representativeness(session, setup, settings.min_group_size)
    print(render_report_text(report, locale=settings.default_locale))
    if out is not None:
        Path(out).write_text(render_report_html(report, locale=settings.default_locale, panel_name=settings.panel_name), encoding="utf-8")
        print(f"report written to {out}")
    return 0
