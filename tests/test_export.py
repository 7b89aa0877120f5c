"""Exports of survey responses: ``chatpanel export`` as CSV and xlsx, pseudonymous
respondent ids, profile columns and the minimum group size, weights, spreadsheet safety,
command errors, and the digest's CSV of a period's answers."""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import re
import shutil
import subprocess
import tracemalloc
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from sqlalchemy import insert, select, text, update

from bot import cli_export
from bot.channels.types import Channel
from bot.export import ExportPlan, plan_export, profile_columns, safe_text
from bot.week_answers import PERIOD_COLUMNS, week_answers_csv
from bot.pseudonyms import RESPONDENT_ID_BITS, respondent_id, survey_export_key
from bot.representativeness import load_reference_setup
from bot.settings import Settings, load_settings
from store.models import Address, Answer, Resident, Response, Survey, utcnow
from tests.harness import ConsolePanel

ROOT = Path(__file__).resolve().parent.parent
ALL_TYPES = Path(__file__).parent / "data" / "all-types.yaml"
REFERENCE = ROOT / "examples" / "reference" / "den-haag-2019.csv"
SLUG = "groen-in-de-wijk"
QUESTIONS = ["park_visits", "satisfaction", "activities", "walk_minutes", "help_out", "help_idea", "remarks"]
HEADER = ["respondent", "channel", "started", "completed", "age_band", *QUESTIONS]
# Answers to the sample survey: weekly, 4, walking and relaxing, 10 minutes, yes, an idea,
# and the optional remark skipped.
ANSWERS = ("2", "4", "1,5", "10", "ja", "Een geveltuin", "overslaan")
AGE_CHOICE = {"16-24": "1", "25-44": "2", "45-64": "3", "65+": "4", None: "overslaan"}
PSEUDONYM = re.compile(r"R-[0-9A-HJKMNP-TV-Z]{12}")
MINUTE = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}")
PHONE = "+31612345678"
CHAT_ID = "734512098"
FORMULA = '=HYPERLINK("https://example.org/x","klik")'
POPULATION_AGE = {"16-24": 66099, "25-44": 162025, "45-64": 139157, "65+": 78020}
DISTRICT_A, DISTRICT_B = "WK051802", "WK051803"


@pytest.fixture(autouse=True)
def _empty_folder(monkeypatch, tmp_path):
    """Keep a chatpanel.toml in the current folder out of the settings."""
    monkeypatch.chdir(tmp_path)


def panel_settings(database_url: str, **values: object) -> Settings:
    environ = {"CHATPANEL_DATABASE_URL": database_url}
    environ.update({f"CHATPANEL_{key.upper()}": str(value) for key, value in values.items()})
    return load_settings(None, environ)


def postcode_file(tmp_path: Path) -> Path:
    path = tmp_path / "postcodes.csv"
    path.write_text(f"postcode,area_code\n2511,{DISTRICT_A}\n2512,{DISTRICT_B}\n", encoding="utf-8")
    return path


async def respond(
    panel: ConsolePanel,
    resident: str,
    answers=ANSWERS,
    *,
    age: str | None = "25-44",
    postcode: str | None = "2511",
    channel: Channel = Channel.CONSOLE,
) -> None:
    """Join the panel as ``resident`` and answer the open survey with ``answers``."""
    for message in ("hoi", "ja", "1", AGE_CHOICE[age], postcode or "overslaan", *answers):
        await panel.send(message, resident=resident, channel=channel)


async def sample_panel(db) -> ConsolePanel:
    panel = ConsolePanel(db[1])
    await panel.load_survey()
    return panel


def export_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config")
    common.add_argument("--db")
    parser = argparse.ArgumentParser(prog="chatpanel")
    cli_export.add_parsers(parser.add_subparsers(dest="command", required=True), common)
    return parser


async def run_export(settings: Settings, *argv: str) -> int:
    args = export_parser().parse_args(["export", *argv])
    return await cli_export.run(args, settings)


def read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with open(path, encoding="utf-8-sig", newline="") as file:
        rows = list(csv.reader(file))
    return rows[0], [dict(zip(rows[0], row)) for row in rows[1:]]


def only_line(output: str) -> str:
    lines = output.strip().splitlines()
    assert len(lines) == 1, output
    return lines[0]


async def export_csv(settings, tmp_path, capsys, name="responses.csv", *extra: str):
    out = tmp_path / name
    assert await run_export(settings, SLUG, "--out", str(out), *extra) == 0
    return (*read_csv(out), capsys.readouterr())


# --- CSV and xlsx ---------------------------------------------------------------------


async def test_csv_rows_and_values(db, database_url, tmp_path, capsys):
    panel = await sample_panel(db)
    await respond(panel, "alice")
    await respond(panel, PHONE, channel=Channel.SMS, age="65+", answers=("1", "5", "3", "7", "nee", "Alles goed"))
    await respond(panel, CHAT_ID, channel=Channel.TELEGRAM, age=None, answers=("4", "2"))
    settings = panel_settings(database_url, min_group_size=1)

    header, rows, output = await export_csv(settings, tmp_path, capsys)

    assert (tmp_path / "responses.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    assert header == HEADER
    assert len(rows) == 3
    assert only_line(output.out) == f"wrote {tmp_path / 'responses.csv'}: 3 responses, without weights"
    alice, sms, telegram = rows
    assert [alice["channel"], sms["channel"], telegram["channel"]] == ["console", "sms", "telegram"]
    assert alice["park_visits"] == "Eén keer of een paar keer per week"
    assert alice["satisfaction"] == "4"
    assert alice["activities"] == "Wandelen; Zitten en rusten"
    assert alice["walk_minutes"] == "10"
    assert alice["help_out"] == "Ja"
    assert alice["help_idea"] == "Een geveltuin"
    assert alice["remarks"] == ""
    assert alice["age_band"] == "25-44"
    assert sms["age_band"] == "65+"
    assert sms["activities"] == "Sporten"
    assert sms["help_out"] == "Nee"
    assert sms["help_idea"] == ""
    assert sms["remarks"] == "Alles goed"
    assert telegram["age_band"] == ""
    assert telegram["park_visits"] == "Bijna nooit"
    assert telegram["satisfaction"] == "2"
    assert telegram["activities"] == ""
    assert telegram["completed"] == ""
    assert MINUTE.fullmatch(alice["completed"])


async def test_csv_times_in_panel_zone(db, database_url, tmp_path, capsys):
    panel = await sample_panel(db)
    await respond(panel, "alice")
    async with db[1]() as session:
        response = (await session.execute(select(Response))).scalar_one()
    zone = ZoneInfo("America/New_York")
    settings = panel_settings(database_url, min_group_size=1, timezone=zone.key)

    _, rows, _ = await export_csv(settings, tmp_path, capsys)

    assert rows[0]["started"] == response.started_at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
    assert rows[0]["completed"] == response.completed_at.astimezone(zone).strftime("%Y-%m-%d %H:%M")


async def test_csv_labels_in_english(db, database_url, tmp_path, capsys):
    panel = await sample_panel(db)
    await respond(panel, "alice")
    settings = panel_settings(database_url, min_group_size=1)

    _, rows, _ = await export_csv(settings, tmp_path, capsys, "responses.csv", "--lang", "en")

    assert rows[0]["park_visits"] == "Once or a few times a week"
    assert rows[0]["activities"] == "Walking; Sitting and relaxing"
    assert rows[0]["help_out"] == "Yes"


async def test_csv_decimal_number_answer(db, database_url, tmp_path, capsys):
    panel = ConsolePanel(db[1])
    await panel.load_survey(ALL_TYPES)
    await respond(panel, "alice", answers=("1", "1, 3", "4", "ja", "7,5", "overslaan"))
    settings = panel_settings(database_url, min_group_size=1)
    out = tmp_path / "all.csv"

    assert await run_export(settings, "alle-typen", "--out", str(out)) == 0

    header, rows = read_csv(out)
    assert header[-7:] == ["visits", "why_not", "activities", "satisfaction", "more_trees", "distance", "remarks"]
    assert rows[0]["distance"] == "7.5"
    assert rows[0]["activities"] == "Wandelen; Picknicken"
    assert rows[0]["why_not"] == ""


async def test_xlsx_sheets_and_cells(db, database_url, tmp_path, capsys):
    panel = await sample_panel(db)
    await respond(panel, "alice")
    await respond(panel, "bob", answers=("4", "2"))
    settings = panel_settings(database_url, min_group_size=1)
    out = tmp_path / "responses.xlsx"

    assert await run_export(settings, SLUG, "--out", str(out), "--lang", "en") == 0

    assert only_line(capsys.readouterr().out) == f"wrote {out}: 2 responses, without weights"
    workbook = openpyxl.load_workbook(out)
    assert workbook.sheetnames == ["Responses", "About"]
    sheet = workbook["Responses"]
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == HEADER
    assert len(rows) == 3
    assert sheet["A1"].font.b
    assert sheet.freeze_panes == "A2"
    alice = dict(zip(HEADER, rows[1]))
    assert PSEUDONYM.fullmatch(alice["respondent"])
    assert alice["satisfaction"] == 4
    assert alice["walk_minutes"] == 10
    assert alice["activities"] == "Walking; Sitting and relaxing"
    assert isinstance(alice["started"], datetime)
    assert alice["started"].second == 0
    assert alice["remarks"] is None
    assert dict(zip(HEADER, rows[2]))["completed"] is None


async def test_xlsx_about_sheet(db, database_url, tmp_path, capsys):
    panel = await sample_panel(db)
    await respond(panel, "alice")
    settings = panel_settings(database_url, min_group_size=2)
    out = tmp_path / "responses.xlsx"

    assert await run_export(settings, SLUG, "--out", str(out)) == 0

    workbook = openpyxl.load_workbook(out)
    assert workbook.sheetnames == ["Antwoorden", "Over dit bestand"]
    about = dict(workbook["Over dit bestand"].iter_rows(values_only=True))
    assert about["Vragenlijst"] == SLUG
    assert about["Titel"] == "Groen in de wijk"
    assert about["Gevraagd door"] == "Gemeente Den Haag"
    assert about["Antwoorden"] == 1
    assert about["Met gewichten"] == "nee, want weging is niet ingesteld"
    assert about["Weggelaten profielkolommen"] == "age_band (een leeftijdsgroep heeft minder dan 2 deelnemers)"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} \(Europe/Amsterdam\)", about["Export gemaakt op"])


async def test_xlsx_about_sheet_in_english(db, database_url, tmp_path, capsys):
    panel = await sample_panel(db)
    await respond(panel, "alice")
    settings = panel_settings(database_url, min_group_size=2)
    out = tmp_path / "responses.xlsx"

    assert await run_export(settings, SLUG, "--out", str(out), "--lang", "en") == 0

    about = dict(openpyxl.load_workbook(out)["About"].iter_rows(values_only=True))
    assert about["Survey"] == SLUG
    assert about["Responses"] == 1
    assert about["Weights included"] == "no, because weighting is not configured"
    assert about["Profile columns left out"] == "age_band (an age band has fewer than 2 respondents)"


async def test_format_from_suffix_and_option(db, database_url, tmp_path, capsys):
    panel = await sample_panel(db)
    await respond(panel, "alice")
    settings = panel_settings(database_url, min_group_size=1)

    assert await run_export(settings, SLUG, "--out", str(tmp_path / "a.xlsx")) == 0
    assert await run_export(settings, SLUG, "--out", str(tmp_path / "b.data"), "--format", "xlsx") == 0
    assert await run_export(settings, SLUG, "--out", str(tmp_path / "c.data"), "--format", "csv") == 0

    assert zipfile.is_zipfile(tmp_path / "a.xlsx")
    assert zipfile.is_zipfile(tmp_path / "b.data")
    assert read_csv(tmp_path / "c.data")[0] == HEADER


@pytest.mark.skipif(
    shutil.which("libreoffice") is None and shutil.which("soffice") is None, reason="LibreOffice is not installed"
)
async def test_xlsx_opens_in_libreoffice(db, database_url, tmp_path, capsys):
    panel = await sample_panel(db)
    await respond(panel, "alice", answers=("2", "4", "1,5", "10", "ja", FORMULA, "overslaan"))
    settings = panel_settings(database_url, min_group_size=1)
    out = tmp_path / "responses.xlsx"
    assert await run_export(settings, SLUG, "--out", str(out)) == 0
    program = shutil.which("libreoffice") or shutil.which("soffice")
    converted = tmp_path / "converted"

    subprocess.run(
        [program, f"-env:UserInstallation=file://{tmp_path / 'profile'}", "--headless",
         # Comma-separated, double quotes, UTF-8 (character set 76).
         "--convert-to", "csv:Text - txt - csv (StarCalc):44,34,76", "--outdir", str(converted), str(out)],
        check=True, capture_output=True, timeout=180,
    )

    header, rows = read_csv(converted / "responses.csv")
    assert header == HEADER
    # LibreOffice shows the formula-like answer as text, not as a computed link.
    assert rows[0]["help_idea"] == FORMULA


# --- Pseudonyms -----------------------------------------------------------------------


def test_respondent_id_format_and_stability():
    first = respondent_id("key-one", 42)

    assert PSEUDONYM.fullmatch(first)
    assert RESPONDENT_ID_BITS == 60
    assert respondent_id("key-one", 42) == first
    assert respondent_id("key-two", 42) != first
    assert respondent_id("key-one", 43) != first


def test_respondent_ids_unique_in_large_panel():
    ids = {respondent_id("a-survey-key", resident) for resident in range(200_000)}

    assert len(ids) == 200_000


async def test_export_key_created_once(db):
    panel = await sample_panel(db)
    await respond(panel, "alice")

    # Each export read the survey before any of them stored a key.
    stale_rows = []
    for _ in range(3):
        async with db[1]() as session:
            stale_rows.append((await session.execute(select(Survey).where(Survey.slug == SLUG))).scalar_one())

    async def take_key(row: Survey) -> str:
        async with db[1]() as session, session.begin():
            return await survey_export_key(session, row)

    keys = await asyncio.gather(*(take_key(row) for row in stale_rows))

    async with db[1]() as session:
        stored = await session.scalar(select(Survey.export_key).where(Survey.slug == SLUG))
    assert keys[0] == keys[1] == keys[2] == stored
    assert len(stored) == 64


async def test_pseudonyms_stable_across_exports(db, database_url, tmp_path, capsys):
    panel = await sample_panel(db)
    await respond(panel, "alice")
    await respond(panel, "bob")
    settings = panel_settings(database_url, min_group_size=1)

    _, first, _ = await export_csv(settings, tmp_path, capsys, "first.csv")
    _, second, _ = await export_csv(settings, tmp_path, capsys, "second.csv")

    first_ids = [row["respondent"] for row in first]
    assert first_ids == [row["respondent"] for row in second]
    assert all(PSEUDONYM.fullmatch(value) for value in first_ids)
    assert len(set(first_ids)) == 2


async def test_pseudonyms_differ_across_surveys(db, database_url, tmp_path, capsys):
    panel = await sample_panel(db)
    await panel.load_survey(ALL_TYPES)
    # The newest survey comes first; HOI then offers the other one.
    await respond(panel, "alice", answers=("1", "1", "4", "ja", "3", "overslaan"))
    for message in ("hoi", "ja", *ANSWERS):
        await panel.send(message, resident="alice")
    settings = panel_settings(database_url, min_group_size=1)

    _, sample_rows, _ = await export_csv(settings, tmp_path, capsys)
    assert await run_export(settings, "alle-typen", "--out", str(tmp_path / "other.csv")) == 0
    _, other_rows = read_csv(tmp_path / "other.csv")

    assert len(sample_rows) == len(other_rows) == 1
    assert sample_rows[0]["respondent"] != other_rows[0]["respondent"]


async def start_resident_ids_at(db, database_url: str, first_id: int) -> None:
    """Make new residents get ids from ``first_id``, so a leaked id is a findable string."""
    async with db[1]() as session, session.begin():
        if database_url.startswith("postgresql"):
            await session.execute(text(f"SELECT setval(pg_get_serial_sequence('residents', 'id'), {first_id - 1})"))
        else:
            await session.execute(insert(Resident).values(id=first_id - 1, pseudonym="placeholder", consented_at=utcnow()))


def identifiers_in(data: bytes, identifiers: list[str]) -> list[str]:
    lowered = data.lower()
    return [value for value in identifiers if value.lower().encode() in lowered]


async def test_exports_hold_no_identifiers(db, database_url, tmp_path, capsys):
    await start_resident_ids_at(db, database_url, 900_001)
    panel = await sample_panel(db)
    await respond(panel, PHONE, channel=Channel.SMS)
    await respond(panel, CHAT_ID, channel=Channel.TELEGRAM)
    async with db[1]() as session:
        residents = (await session.execute(select(Resident).join(Response, Response.resident_id == Resident.id))).scalars().all()
        addresses = (await session.execute(select(Address.value))).scalars().all()
    identifiers = [str(resident.id) for resident in residents] + [resident.pseudonym for resident in residents]
    identifiers += [PHONE, PHONE.lstrip("+"), "612345678", CHAT_ID]
    assert sorted(str(resident.id) for resident in residents) == ["900001", "900002"]
    assert sorted(addresses) == sorted([PHONE, CHAT_ID])
    settings = panel_settings(database_url, min_group_size=1)

    assert await run_export(settings, SLUG, "--out", str(tmp_path / "r.csv")) == 0
    assert await run_export(settings, SLUG, "--out", str(tmp_path / "r.xlsx")) == 0
    async with db[1]() as session, session.begin():
        pk = await session.scalar(select(Survey.id).where(Survey.slug == SLUG))
        now = utcnow()
        period = await week_answers_csv(
            session, now - timedelta(hours=1), now + timedelta(hours=1), [pk], "nl", min_group_size=1, timezone="Europe/Amsterdam"
        )

    assert identifiers_in((tmp_path / "r.csv").read_bytes(), identifiers) == []
    assert identifiers_in((tmp_path / "r.xlsx").read_bytes(), identifiers) == []
    with zipfile.ZipFile(tmp_path / "r.xlsx") as archive:
        for name in archive.namelist():
            assert identifiers_in(archive.read(name), identifiers) == [], name
    assert identifiers_in(period.csv_text.encode(), identifiers) == []
    # Two residents, five closed questions each: the free-text answers are left out.
    assert period.rows == 10


# --- Profile columns and the minimum group size ----------------------------------------


async def profiled_panel(db, profiles: list[tuple[str | None, str | None]]) -> None:
    panel = await sample_panel(db)
    for number, (age, postcode) in enumerate(profiles):
        await respond(panel, f"resident-{number}", age=age, postcode=postcode, answers=("1", "3"))


async def test_profile_columns_kept_at_min_group_size(db, database_url, tmp_path, capsys):
    # Two per age band and district pair, and one resident of unknown age and district.
    await profiled_panel(db, [("25-44", "2511"), ("25-44", "2511"), ("45-64", "2512"), ("45-64", "2512"), (None, "9999")])
    settings = panel_settings(
        database_url, min_group_size=2, reference_population=REFERENCE, reference_area="GM0518",
        postcode_areas=postcode_file(tmp_path),
    )

    header, rows, output = await export_csv(settings, tmp_path, capsys)

    assert header[:6] == ["respondent", "channel", "started", "completed", "age_band", "district"]
    assert [row["district"] for row in rows] == [DISTRICT_A, DISTRICT_A, DISTRICT_B, DISTRICT_B, ""]
    assert [row["age_band"] for row in rows] == ["25-44", "25-44", "45-64", "45-64", ""]
    assert output.err == ""


async def test_age_column_dropped_below_min_group_size(db, database_url, tmp_path, capsys):
    await profiled_panel(db, [("25-44", None), ("25-44", None), ("65+", None)])
    settings = panel_settings(database_url, min_group_size=2)

    header, rows, output = await export_csv(settings, tmp_path, capsys)

    assert "age_band" not in header
    assert len(rows) == 3
    assert only_line(output.err) == (
        "chatpanel: warning: left out the age_band column because an age band has fewer than 2 respondents "
        "(the minimum group size, CHATPANEL_MIN_GROUP_SIZE)"
    )


async def test_district_dropped_when_pair_too_small(db, database_url, tmp_path, capsys):
    # Each age band and each district has two respondents, but each pair only one.
    await profiled_panel(db, [("25-44", "2511"), ("25-44", "2512"), ("45-64", "2511"), ("45-64", "2512")])
    settings = panel_settings(
        database_url, min_group_size=2, reference_population=REFERENCE, reference_area="GM0518",
        postcode_areas=postcode_file(tmp_path),
    )

    header, _, output = await export_csv(settings, tmp_path, capsys)

    assert "age_band" in header
    assert "district" not in header
    assert "left out the district column because a combination of age band and district has fewer than 2" in output.err


async def test_no_district_without_postcode_file(db, database_url, tmp_path, capsys):
    await profiled_panel(db, [("25-44", "2511")])
    settings = panel_settings(database_url, min_group_size=1, reference_population=REFERENCE, reference_area="GM0518")

    header, _, _ = await export_csv(settings, tmp_path, capsys)

    assert "age_band" in header
    assert "district" not in header


@pytest.mark.parametrize(
    ("profiles", "min_group_size", "kept", "left_out"),
    [
        ({("25-44", "2511"): 3, ("65+", "2512"): 3}, 3, ("age_band", "district"), ()),
        ({("25-44", "2511"): 3, ("65+", "2512"): 2}, 3, (), ("age_band", "district")),
        ({("25-44", "2511"): 3, ("65+", "2511"): 3, ("65+", "2512"): 2}, 3, ("age_band",), ("district",)),
        ({("25-44", "2511"): 2, ("65+", "2511"): 1, ("65+", "2512"): 3}, 3, ("district",), ("age_band",)),
        ({("25-44", "2511"): 3, (None, "2512"): 3, ("65+", None): 4, ("unknown", "1234"): 1}, 3, ("age_band", "district"), ()),
        ({}, 10, ("age_band", "district"), ()),
    ],
)
def test_profile_columns_rule(tmp_path, profiles, min_group_size, kept, left_out):
    settings = Settings(reference_population=str(REFERENCE), reference_area="GM0518", postcode_areas=str(postcode_file(tmp_path)))
    setup = load_reference_setup(settings)

    chosen, dropped = profile_columns(profiles, setup, min_group_size)

    assert chosen == kept
    assert tuple(item.column for item in dropped) == left_out


# --- Weights ---------------------------------------------------------------------------


def weighting_settings(database_url: str, **values) -> Settings:
    return panel_settings(
        database_url, reference_population=REFERENCE, reference_area="GM0518", weighting="age", **values
    )


async def test_weights_match_population(db, database_url, tmp_path, capsys):
    await profiled_panel(db, [(band, None) for band in POPULATION_AGE for _ in range(2)] + [(None, None)])
    settings = weighting_settings(database_url, min_group_size=2)

    header, rows, output = await export_csv(settings, tmp_path, capsys)

    assert header[4:6] == ["age_band", "weight"]
    assert output.out.strip().endswith("9 responses, with weights")
    assert output.err == ""
    weights = {band: 0.0 for band in POPULATION_AGE}
    for row in rows:
        if row["age_band"]:
            weights[row["age_band"]] += float(row["weight"])
    assert [row["weight"] for row in rows if not row["age_band"]] == ["1.0"]
    total = sum(POPULATION_AGE.values())
    for band, count in POPULATION_AGE.items():
        assert weights[band] / sum(weights.values()) == pytest.approx(count / total, abs=1e-4), band


async def test_weights_absent_when_category_empty(db, database_url, tmp_path, capsys):
    await profiled_panel(db, [(band, None) for band in ("16-24", "25-44", "45-64") for _ in range(2)])
    settings = weighting_settings(database_url, min_group_size=2)
    out = tmp_path / "responses.xlsx"

    assert await run_export(settings, SLUG, "--out", str(out)) == 0

    output = capsys.readouterr()
    assert only_line(output.err) == (
        'chatpanel: warning: no weight column. No respondent is in the category "65+".'
    )
    assert output.out.strip().endswith("6 responses, without weights")
    header = next(openpyxl.load_workbook(out)["Antwoorden"].iter_rows(values_only=True))
    assert "weight" not in header
    about = dict(openpyxl.load_workbook(out)["Over dit bestand"].iter_rows(values_only=True))
    assert about["Met gewichten"] == 'nee. Geen enkele deelnemer valt in de groep "65+".'


async def test_weights_left_out_with_age_column(db, database_url, tmp_path, capsys):
    # Weights on age alone show each respondent's age band, so they go when the band does.
    await profiled_panel(db, [("16-24", None), ("16-24", None), ("25-44", None), ("25-44", None), ("45-64", None), ("45-64", None), ("65+", None)])
    settings = weighting_settings(database_url, min_group_size=2)

    header, _, output = await export_csv(settings, tmp_path, capsys)

    assert "age_band" not in header
    assert "weight" not in header
    assert "left out the age_band column" in output.err
    assert "no weight column. Weights are left out because they differ by age" in output.err


# --- Spreadsheet safety ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+31 6 1234", "'+31 6 1234"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("a\x00b\x07c\x1fd\ufffe", "abcd"),
        ("\x01=cmd", "'=cmd"),
        ("line one\nline two", "line one\nline two"),
        ("Gewoon een idee", "Gewoon een idee"),
    ],
)
def test_safe_text(value, expected):
    assert safe_text(value) == expected


async def test_formula_answer_neutralised(db, database_url, tmp_path, capsys):
    panel = await sample_panel(db)
    await respond(panel, "alice", answers=("2", "4", "1,5", "10", "ja", FORMULA, "-1 bel\x07 mij"))
    settings = panel_settings(database_url, min_group_size=1)

    _, rows, _ = await export_csv(settings, tmp_path, capsys)
    assert await run_export(settings, SLUG, "--out", str(tmp_path / "responses.xlsx")) == 0

    assert rows[0]["help_idea"] == "'" + FORMULA
    assert rows[0]["remarks"] == "'-1 bel mij"
    sheet = openpyxl.load_workbook(tmp_path / "responses.xlsx")["Antwoorden"]
    idea = sheet.cell(row=2, column=HEADER.index("help_idea") + 1)
    # An xlsx text cell never runs as a formula, so it keeps the text as typed.
    assert idea.data_type == "s"
    assert idea.value == FORMULA
    assert sheet.cell(row=2, column=HEADER.index("remarks") + 1).value == "-1 bel mij"


# --- Command errors --------------------------------------------------------------------


async def answered_panel_settings(db, database_url, tmp_path) -> Settings:
    panel = await sample_panel(db)
    await respond(panel, "alice")
    return panel_settings(database_url, min_group_size=1)


def folder_entries(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


async def test_unknown_survey_named(db, database_url, tmp_path, capsys):
    settings = await answered_panel_settings(db, database_url, tmp_path)
    out = tmp_path / "out" / "x.csv"
    out.parent.mkdir()

    assert await run_export(settings, "geen-survey", "--out", str(out)) == 1

    assert only_line(capsys.readouterr().err) == (
        "chatpanel: error: no survey with id 'geen-survey'; see: chatpanel survey list"
    )
    assert folder_entries(out.parent) == []


@pytest.mark.parametrize(
    ("out", "extra", "message"),
    [
        ("missing/x.csv", (), "the folder {tmp}/missing does not exist; create it or give another path"),
        (".", (), "--out . is a folder; give a file name in it"),
        ("x.csv", ("--format", "xlsx"), "--out x.csv ends in .csv but --format is xlsx; use --format csv or a file name ending in .xlsx"),
        ("x.XLSX", ("--format", "csv"), "--out x.XLSX ends in .XLSX but --format is csv"),
        ("survey.yaml", (), "--out survey.yaml does not end in .csv or .xlsx; use one of those or give --format csv"),
    ],
)
async def test_invalid_out_rejected(db, database_url, tmp_path, capsys, monkeypatch, out, extra, message):
    settings = await answered_panel_settings(db, database_url, tmp_path)
    exports = tmp_path / "exports"
    exports.mkdir()
    monkeypatch.chdir(exports)

    assert await run_export(settings, SLUG, "--out", out, *extra) == 1

    error = only_line(capsys.readouterr().err)
    assert error.startswith("chatpanel: error: ")
    assert message.format(tmp=exports) in error
    assert folder_entries(exports) == []


async def test_invalid_reference_file_rejected(db, database_url, tmp_path, capsys):
    broken = tmp_path / "population.csv"
    broken.write_text("area_code,characteristic,category,count\nGM0518,age,16-24,many\n", encoding="utf-8")
    panel = await sample_panel(db)
    await respond(panel, "alice")
    settings = panel_settings(database_url, reference_population=broken)
    out = tmp_path / "responses.csv"

    assert await run_export(settings, SLUG, "--out", str(out)) == 1

    error = only_line(capsys.readouterr().err)
    assert error.startswith(f"chatpanel: error: {broken}, line 2")
    assert not out.exists()


async def test_reference_setup_error_rejected(db, database_url, tmp_path, capsys):
    panel = await sample_panel(db)
    await respond(panel, "alice")
    settings = panel_settings(database_url, weighting="age")
    out = tmp_path / "responses.csv"

    assert await run_export(settings, SLUG, "--out", str(out)) == 1

    error = only_line(capsys.readouterr().err)
    assert error.startswith("chatpanel: error: setting CHATPANEL_WEIGHTING needs a reference population")
    assert not out.exists()


async def test_survey_without_responses(db, database_url, tmp_path, capsys):
    await sample_panel(db)
    settings = panel_settings(database_url)
    out = tmp_path / "responses.csv"

    assert await run_export(settings, SLUG, "--out", str(out)) == 0

    output = capsys.readouterr()
    assert read_csv(out) == (HEADER, [])
    assert only_line(output.out) == f"wrote {out}: 0 responses, without weights"
    assert f"survey '{SLUG}' has no responses yet; {out} has only the header row" in output.err


async def test_missing_sqlite_database(tmp_path, capsys):
    database = tmp_path / "absent.db"
    settings = panel_settings(f"sqlite+aiosqlite:///{database}")

    assert await run_export(settings, SLUG, "--out", str(tmp_path / "x.csv")) == 1

    assert f"no database at {database}" in only_line(capsys.readouterr().err)
    assert not database.exists()
    assert not (tmp_path / "x.csv").exists()


async def failing_rows(rows_before_failure: int, error: BaseException):
    for number in range(rows_before_failure):
        yield ["R-0000000000AB", "console", None, None, f"row {number}"]
    raise error


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
async def test_failed_write_leaves_old_file(db, database_url, tmp_path, file_format):
    settings = await answered_panel_settings(db, database_url, tmp_path)
    out = tmp_path / f"responses.{file_format}"
    out.write_bytes(b"the previous export")
    async with db[1]() as session:
        row = (await session.execute(select(Survey).where(Survey.slug == SLUG))).scalar_one()
        plan = await plan_export(session, row, settings, "nl", None)

    with pytest.raises(cli_export.ExportError) as caught:
        await cli_export.write_export(plan, failing_rows(500, OSError(28, "No space left on device")), out, file_format)
    with pytest.raises(RuntimeError):
        await cli_export.write_export(plan, failing_rows(500, RuntimeError("stream broke")), out, file_format)

    assert str(caught.value) == f"cannot write {out} (No space left on device); check the free space and permissions"
    assert out.read_bytes() == b"the previous export"
    assert [path.name for path in tmp_path.iterdir() if path.name.endswith(".part")] == []


async def test_export_replaces_old_file(db, database_url, tmp_path, capsys):
    settings = await answered_panel_settings(db, database_url, tmp_path)
    out = tmp_path / "exports" / "responses.csv"
    out.parent.mkdir()
    out.write_text("old", encoding="utf-8")

    assert await run_export(settings, SLUG, "--out", str(out)) == 0

    assert read_csv(out)[0] == HEADER
    assert folder_entries(out.parent) == ["responses.csv"]
    assert out.stat().st_mode & 0o777 == 0o600


# --- A large survey --------------------------------------------------------------------


async def add_bulk_responses(db, count: int) -> None:
    """Insert ``count`` residents who each answered every question of the sample survey."""
    now = utcnow()
    async with db[1]() as session, session.begin():
        survey_pk = await session.scalar(select(Survey.id).where(Survey.slug == SLUG))
        first = (await session.scalar(select(Resident.id).order_by(Resident.id.desc()).limit(1))) or 0
        residents = [
            {"id": first + number + 1, "pseudonym": f"bulk{first + number:08d}", "consented_at": now, "age_band": "25-44"}
            for number in range(count)
        ]
        await session.execute(insert(Resident), residents)
        responses = [
            {"survey_id": survey_pk, "resident_id": resident["id"], "channel": "sms", "started_at": now, "completed_at": now}
            for resident in residents
        ]
        response_ids = (await session.execute(insert(Response).returning(Response.id), responses)).scalars().all()
        values = {"park_visits": "daily", "satisfaction": 3, "activities": ["walk", "sport"], "walk_minutes": "15",
                  "help_out": "no", "help_idea": None, "remarks": "Meer bankjes"}
        answers = [
            {"response_id": response_id, "question_id": question, "value": value, "skipped": value is None, "answered_at": now}
            for response_id in response_ids
            for question, value in values.items()
        ]
        await session.execute(insert(Answer), answers)
        if db[0].dialect.name == "postgresql":
            await session.execute(text("SELECT setval(pg_get_serial_sequence('residents', 'id'), (SELECT max(id) FROM residents))"))


async def peak_memory_of_export(settings: Settings, out: Path) -> int:
    tracemalloc.start()
    try:
        assert await run_export(settings, SLUG, "--out", str(out)) == 0
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


async def test_large_survey_streams(db, database_url, tmp_path, capsys):
    await sample_panel(db)
    settings = panel_settings(database_url, min_group_size=1)
    await add_bulk_responses(db, 1_000)
    small_peak = await peak_memory_of_export(settings, tmp_path / "small.csv")
    await add_bulk_responses(db, 4_000)

    large_peak = await peak_memory_of_export(settings, tmp_path / "large.csv")

    header, rows = read_csv(tmp_path / "large.csv")
    assert len(rows) == 5_000
    assert rows[-1]["activities"] == "Wandelen; Sporten"
    assert rows[-1]["help_idea"] == ""
    assert len({row["respondent"] for row in rows}) == 5_000
    # Five times the rows may not take much more memory: rows are streamed, not loaded.
    assert large_peak < small_peak * 1.5, (small_peak, large_peak)


# --- The digest's CSV of a period's answers ---------------------------------------------


async def period_csv(db, start, end, min_group_size=1, slugs=(SLUG,), locale="nl"):
    async with db[1]() as session, session.begin():
        pks = [await session.scalar(select(Survey.id).where(Survey.slug == slug)) for slug in slugs]
        return await week_answers_csv(
            session, start, end, pks, locale, min_group_size=min_group_size, timezone="Europe/Amsterdam"
        )


def period_rows(csv_text: str) -> list[dict[str, str]]:
    assert csv_text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(csv_text[1:])))
    assert rows[0] == list(PERIOD_COLUMNS)
    return [dict(zip(rows[0], row)) for row in rows[1:]]


async def test_period_answers_long_form(db, database_url, tmp_path, capsys):
    panel = await sample_panel(db)
    await respond(panel, "alice", answers=("2", "4", "1,5", "10", "ja", FORMULA, "overslaan"))
    await respond(panel, "bob", answers=("1", "5"))
    now = utcnow()

    period = await period_csv(db, now - timedelta(hours=1), now + timedelta(hours=1))

    rows = period_rows(period.csv_text)
    # Alice's five answers to closed questions and Bob's two; free text is left out.
    assert period.rows == len(rows) == 7
    assert period.withheld == ()
    _, exported, _ = await export_csv(panel_settings(database_url, min_group_size=1), tmp_path, capsys)
    alice_id, bob_id = exported[0]["respondent"], exported[1]["respondent"]
    alice = {row["question_id"]: row for row in rows if row["respondent"] == alice_id}
    assert sorted(alice) == sorted(QUESTIONS[:-2])
    assert alice["park_visits"]["answer"] == "Eén keer of een paar keer per week"
    assert alice["park_visits"]["question"] == "Hoe vaak ga je naar een park of een andere groene plek in je wijk?"
    assert alice["park_visits"]["survey"] == SLUG
    assert alice["activities"]["answer"] == "Wandelen; Zitten en rusten"
    assert alice["park_visits"]["answered"] == now.astimezone(ZoneInfo("Europe/Amsterdam")).date().isoformat()
    assert [row["question_id"] for row in rows if row["respondent"] == bob_id] == ["park_visits", "satisfaction"]


async def test_period_answers_outside_period(db):
    panel = await sample_panel(db)
    await respond(panel, "alice")
    await respond(panel, "bob")
    week_ago = utcnow() - timedelta(days=7)
    async with db[1]() as session, session.begin():
        await session.execute(update(Answer).where(Answer.question_id == "park_visits").values(answered_at=week_ago))

    earlier = await period_csv(db, week_ago - timedelta(days=1), week_ago + timedelta(days=1))
    ending_at_answers = await period_csv(db, week_ago - timedelta(days=1), week_ago)

    assert [row["question_id"] for row in period_rows(earlier.csv_text)] == ["park_visits", "park_visits"]
    assert earlier.rows == 2
    assert ending_at_answers.rows == 0
    assert ending_at_answers.withheld == ()


async def test_period_answers_withheld_below_min_group_size(db):
    panel = await sample_panel(db)
    await panel.load_survey(ALL_TYPES)
    await respond(panel, "alice", answers=("1", "1", "4", "ja", "3", "overslaan"))
    await respond(panel, "bob", answers=("1", "1", "4", "ja", "3", "overslaan"))
    now = utcnow()

    period = await period_csv(db, now - timedelta(hours=1), now + timedelta(hours=1), 2, slugs=(SLUG, "alle-typen"))
    stricter = await period_csv(db, now - timedelta(hours=1), now + timedelta(hours=1), 3, slugs=("alle-typen",))

    assert {row["survey"] for row in period_rows(period.csv_text)} == {"alle-typen"}
    assert period.rows == 10
    assert period.withheld == ()
    assert stricter.rows == 0
    assert stricter.withheld == ("alle-typen",)
    assert period_rows(stricter.csv_text) == []


async def test_period_answers_invalid_arguments(db):
    await sample_panel(db)
    now = utcnow()

    with pytest.raises(ValueError, match="aware"):
        await period_csv(db, now.replace(tzinfo=None), now + timedelta(hours=1))
    async with db[1]() as session:
        with pytest.raises(LookupError, match="no survey with primary key 999"):
            await week_answers_csv(session, now, now, [999], "nl", min_group_size=1, timezone="Europe/Amsterdam")


async def test_plan_counts_respondents(db, database_url):
    panel = await sample_panel(db)
    await respond(panel, "alice")
    await respond(panel, "bob", answers=("1",))
    settings = panel_settings(database_url, min_group_size=1)
    async with db[1]() as session:
        row = (await session.execute(select(Survey).where(Survey.slug == SLUG))).scalar_one()
        plan: ExportPlan = await plan_export(session, row, settings, "en", None)

    assert plan.responses == 2
    assert plan.header == HEADER
    assert plan.created_at.tzinfo is timezone.utc
