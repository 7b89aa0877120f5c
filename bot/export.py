"""Exports of survey responses for partner organisations: one row per response, with
pseudonymous respondent ids (bot.pseudonyms) and no personal data.

Rows are streamed from the database and written one at a time, so an export keeps one
response's answers in memory at a time, plus one weight per respondent when it has weights.
"""

from __future__ import annotations

import contextlib
import csv
import re
from collections import Counter
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.flows.model import NO, YES, Question, QuestionType
from bot.flows.model import Survey as SurveyModel
from bot.i18n import Texts, texts
from bot.panel_weights import WeightingProblem, survey_weights
from bot.profile import AGE_BANDS
from bot.pseudonyms import respondent_id, survey_export_key
from bot.representativeness import ReferenceSetup
from bot.settings import Settings
from bot.surveys import survey_model
from store.models import Answer, Resident, Response, Survey, utcnow

__all__ = [
    "Cell", "ExportPlan", "LeftOutColumn", "about_lines", "answer_value", "csv_value", "plan_export",
    "profile_columns", "response_rows", "safe_text", "write_csv", "write_xlsx",
]

Cell = str | int | Decimal | float | datetime | None

MULTIPLE_CHOICE_SEPARATOR = "; "
# Spreadsheet programs run a cell that starts with one of these as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# Characters that XML 1.0, and so xlsx, cannot contain: C0 controls other than tab, line
# feed and carriage return, lone surrogates, U+FFFE and U+FFFF.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# Rows fetched from the database per round trip while streaming.
ROWS_PER_BATCH = 1000
MINUTE_FORMAT = "%Y-%m-%d %H:%M"
WEIGHT_DECIMALS = 6
FIXED_COLUMNS = ("respondent", "channel", "started", "completed")


@dataclass(frozen=True)
class LeftOutColumn:
    """A profile column left out of an export, because a group (of ``grouped_by``, a
    profile column or "combination" of both) is smaller than ``min_group_size``."""

    column: str
    grouped_by: str
    min_group_size: int

    @property
    def reason(self) -> str:
        """The reason in English, for the command line."""
        return self.describe(texts("en"))

    def describe(self, t: Texts) -> str:
        """Return the reason in ``t``'s language."""
        if self.grouped_by == "age_band":
            return t.gettext("an age band has fewer than %(count)s respondents", count=self.min_group_size)
        if self.grouped_by == "district":
            return t.gettext("a district has fewer than %(count)s respondents", count=self.min_group_size)
        return t.gettext(
            "a combination of age band and district has fewer than %(count)s respondents", count=self.min_group_size
        )


@dataclass(frozen=True)
class ExportPlan:
    """The columns, weights and counts of one survey's export, decided before its rows are read."""

    survey_row: Survey
    survey: SurveyModel
    export_key: str
    locale: str
    zone: ZoneInfo
    setup: ReferenceSetup | None
    # Profile columns kept: "age_band" and "district", in that order.
    profile: tuple[str, ...]
    left_out: tuple[LeftOutColumn, ...]
    # Resident id to weight, or None when the export has no weight column.
    weights: Mapping[int, float] | None
    # Why the weight column is left out although weighting is configured: the survey's
    # results cannot be weighted (with the label of the category concerned), or the
    # weights would show the profile columns named in ``weights_hidden_by``.
    weighting_problem: WeightingProblem | None
    weighting_problem_label: str | None
    weights_hidden_by: tuple[str, ...]
    # True when the cap on weights kept the weighted shares from fitting exactly.
    weights_capped: bool
    responses: int
    created_at: datetime

    def weighting_note(self, t: Texts) -> str | None:
        """Return in ``t``'s language why the weight column is left out, or None."""
        if self.weighting_problem is not None:
            return self.weighting_problem.describe(t, self.weighting_problem_label)
        if not self.weights_hidden_by:
            return None
        if len(self.weights_hidden_by) == 1:
            columns = self.weights_hidden_by[0]
        else:
            columns = t.gettext("%(first)s and %(second)s", first=self.weights_hidden_by[0], second=self.weights_hidden_by[1])
        return t.gettext("Weights are left out because they differ by %(columns)s, which the export leaves out.", columns=columns)

    @property
    def header(self) -> list[str]:
        weight = ["weight"] if self.weights is not None else []
        return [*FIXED_COLUMNS, *self.profile, *weight, *(question.id for question in self.survey.questions)]


async def plan_export(
    session: AsyncSession, survey_row: Survey, settings: Settings, locale: str, setup: ReferenceSetup | None
) -> ExportPlan:
    """Decide the columns of ``survey_row``'s export and compute its weights.

    Creates the survey's export key when it has none, in the caller's transaction.
    """
    profiles = await _respondent_profiles(session, survey_row.id)
    included, left_out = profile_columns(profiles, setup, settings.min_group_size)
    computed = await survey_weights(session, survey_row.id, setup, settings.min_group_size)
    weights, label, hidden = computed.weights, None, ()
    if computed.problem is not None:
        category = computed.problem.category
        label = setup.label(computed.problem.characteristic, category) if setup and category else None
    elif weights is not None:
        hidden = tuple(name for name in setup.weighting if _PROFILE_COLUMN[name] not in included)
        if hidden:
            weights = None
    return ExportPlan(
        survey_row=survey_row,
        survey=survey_model(survey_row),
        export_key=await survey_export_key(session, survey_row),
        locale=locale,
        zone=ZoneInfo(settings.timezone),
        setup=setup,
        profile=included,
        left_out=left_out,
        weights=weights,
        weighting_problem=computed.problem,
        weighting_problem_label=label,
        weights_hidden_by=hidden,
        weights_capped=weights is not None and computed.capped,
        responses=sum(profiles.values()),
        created_at=utcnow(),
    )


def profile_columns(
    profiles: Mapping[tuple[str | None, str | None], int], setup: ReferenceSetup | None, min_group_size: int
) -> tuple[tuple[str, ...], tuple[LeftOutColumn, ...]]:
    """Return the profile columns to include, and those left out with the reason.

    ``profiles`` counts respondents per (age band, postcode). A column is kept when each of
    its categories that occurs has at least ``min_group_size`` respondents, and the pair
    age_band x district is checked too: district goes first when the pair fails.
    Respondents whose category is unknown form no group.
    """
    candidates = ["age_band"]
    if setup is not None and setup.postcode_areas:
        candidates.append("district")
    included, left_out = [], []
    for column in candidates:
        if _smallest_group(profiles, (column,), setup) < min_group_size:
            left_out.append(LeftOutColumn(column, column, min_group_size))
        else:
            included.append(column)
    if len(included) == 2 and _smallest_group(profiles, tuple(included), setup) < min_group_size:
        included.remove("district")
        left_out.append(LeftOutColumn("district", "combination", min_group_size))
    return tuple(included), tuple(left_out)


async def response_rows(session: AsyncSession, plan: ExportPlan) -> AsyncIterator[list[Cell]]:
    """Yield one row per response of ``plan``'s survey, in the order of ``plan.header``.

    Streams the responses joined with their answers, ordered by response, so only one
    response's answers are held at a time. An anonymous response (of an erased resident,
    bot.erasure) has no respondent id, channel or profile.
    """
    statement = (
        select(
            Response.id, Response.resident_id, Response.channel, Response.started_at, Response.completed_at,
            Resident.age_band, Resident.postcode, Answer.question_id, Answer.value, Answer.skipped,
        )
        .outerjoin(Resident, Resident.id == Response.resident_id)
        .outerjoin(Answer, Answer.response_id == Response.id)
        .where(Response.survey_id == plan.survey_row.id)
        .order_by(Response.id)
        .execution_options(yield_per=ROWS_PER_BATCH)
    )
    result = await session.stream(statement)
    current, answers = None, {}
    async for row in result:
        if current is not None and row.id != current.id:
            yield _response_row(plan, current, answers)
            answers = {}
        current = row
        if row.question_id is not None and not row.skipped:
            answers[row.question_id] = row.value
    if current is not None:
        yield _response_row(plan, current, answers)


async def write_csv(plan: ExportPlan, rows: AsyncIterator[list[Cell]], path: Path) -> int:
    """Write the header and ``rows`` to ``path`` as UTF-8 CSV with a byte order mark.

    Returns the number of rows written, without the header.
    """
    count = 0
    with open(path, "w", encoding="utf-8-sig", newline="") as file:
        writer = csv.writer(file)
        writer.writerow([csv_value(value) for value in plan.header])
        async for row in rows:
            writer.writerow([csv_value(value) for value in row])
            count += 1
    return count


async def write_xlsx(plan: ExportPlan, rows: AsyncIterator[list[Cell]], path: Path) -> int:
    """Write a workbook to ``path`` with the sheets "Responses" (bold, frozen header row)
    and "About" (what the export contains). Returns the number of response rows."""
    t = texts(plan.locale)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(t.gettext("Responses"))
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    sheet.append([_xlsx_cell(sheet, value, bold) for value in plan.header])
    count = 0
    try:
        async for row in rows:
            sheet.append([_xlsx_cell(sheet, value) for value in row])
            count += 1
    except BaseException:
        # Saving closes openpyxl's row writer and removes its temporary files. The caller
        # removes the partial file at ``path``.
        with contextlib.suppress(Exception):
            workbook.save(path)
        raise
    about = workbook.create_sheet(t.gettext("About"))
    for label, value in about_lines(plan, count):
        about.append([_xlsx_cell(about, label, bold), _xlsx_cell(about, value)])
    workbook.save(path)
    return count


def about_lines(plan: ExportPlan, count: int) -> list[tuple[str, str | int]]:
    """Return the "About" sheet as (label, value) pairs, in the export's language."""
    survey, locale = plan.survey, plan.locale
    t = texts(locale)
    note = plan.weighting_note(t)
    if plan.weights is None:
        weights = t.gettext("no. %(reason)s", reason=note) if note else t.gettext("no, because weighting is not configured")
    elif plan.weights_capped:
        weights = t.gettext(
            "yes, capped at %(cap)s times the mean weight, so weighted shares fit the population only roughly",
            cap=t.number(plan.setup.weight_cap),
        )
    else:
        weights = t.gettext("yes")
    left_out = "; ".join(f"{item.column} ({item.describe(t)})" for item in plan.left_out) or t.gettext("none")
    return [
        (t.gettext("Survey"), plan.survey_row.slug),
        (t.gettext("Title"), survey.text(survey.title, locale)),
        (t.gettext("Asked by"), survey.text(survey.requested_by, locale)),
        (t.gettext("Exported"), plan.created_at.astimezone(plan.zone).strftime(MINUTE_FORMAT) + f" ({plan.zone.key})"),
        (t.gettext("Responses"), count),
        (t.gettext("Weights included"), weights),
        (t.gettext("Profile columns left out"), left_out),
    ]


def safe_text(text: str) -> str:
    """Return ``text`` without characters xlsx cannot contain, and with a leading apostrophe
    when it starts like a formula, so spreadsheet programs opening a CSV file show it
    instead of running it."""
    text = _XML_ILLEGAL.sub("", text)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def xlsx_text(text: str) -> str:
    """Return ``text`` without characters xlsx cannot contain. ``_xlsx_cell`` stores text
    that starts like a formula as a text cell, so it needs no apostrophe."""
    return _XML_ILLEGAL.sub("", text)


_PROFILE_COLUMN = {"age": "age_band", "district": "district"}


async def _respondent_profiles(session: AsyncSession, survey_pk: int) -> Counter[tuple[str | None, str | None]]:
    statement = (
        select(Resident.age_band, Resident.postcode, func.count())
        .join(Response, Response.resident_id == Resident.id)
        .where(Response.survey_id == survey_pk)
        .group_by(Resident.age_band, Resident.postcode)
    )
    return Counter({(age_band, postcode): count for age_band, postcode, count in (await session.execute(statement)).all()})


def _category(column: str, setup: ReferenceSetup | None, age_band: str | None, postcode: str | None) -> str | None:
    if column == "age_band":
        return age_band if age_band in AGE_BANDS else None
    return setup.category_of("district", age_band, postcode) if setup is not None else None


def _smallest_group(profiles, columns: tuple[str, ...], setup: ReferenceSetup | None) -> float:
    """Return the size of the smallest group of known categories; infinity when none occurs."""
    groups: Counter[tuple[str, ...]] = Counter()
    for (age_band, postcode), count in profiles.items():
        key = tuple(_category(column, setup, age_band, postcode) for column in columns)
        if None not in key:
            groups[key] += count
    return min(groups.values(), default=float("inf"))


def _response_row(plan: ExportPlan, row, answers: Mapping[str, object]) -> list[Cell]:
    cells: list[Cell] = [
        respondent_id(plan.export_key, row.resident_id) if row.resident_id is not None else None,
        row.channel,
        _local_minute(row.started_at, plan.zone),
        _local_minute(row.completed_at, plan.zone) if row.completed_at is not None else None,
    ]
    for column in plan.profile:
        category = _category(column, plan.setup, row.age_band, row.postcode)
        if column == "district" and category is not None:
            category = plan.setup.label("district", category)
        cells.append(category)
    if plan.weights is not None:
        cells.append(round(plan.weights.get(row.resident_id, 1.0), WEIGHT_DECIMALS))
    for question in plan.survey.questions:
        value = answers.get(question.id)
        cells.append(None if value is None else answer_value(plan.survey, question, value, plan.locale))
    return cells


def answer_value(survey: SurveyModel, question: Question, value: object, locale: str) -> Cell:
    """Return a stored answer as a cell: option labels in ``locale``, numbers as numbers."""
    if question.type in (QuestionType.SINGLE_CHOICE, QuestionType.MULTIPLE_CHOICE):
        chosen = value if isinstance(value, list) else [value]
        labels = [survey.text(option.label, locale) for option in question.options if option.id in chosen]
        # An option id the survey no longer has is shown as stored rather than dropped.
        labels += [str(option_id) for option_id in chosen if question.option(str(option_id)) is None]
        return MULTIPLE_CHOICE_SEPARATOR.join(labels)
    if question.type is QuestionType.YES_NO:
        return texts(locale).gettext({YES: "Yes", NO: "No"}[value]) if value in (YES, NO) else str(value)
    if question.type is QuestionType.SCALE:
        return int(value)
    if question.type is QuestionType.NUMBER:
        number = Decimal(str(value))
        return int(number) if number == number.to_integral_value() else number
    return str(value)


def _local_minute(moment: datetime, zone: ZoneInfo) -> datetime:
    return moment.astimezone(zone).replace(second=0, microsecond=0, tzinfo=None)


def csv_value(value: Cell) -> str | int | Decimal | float:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime(MINUTE_FORMAT)
    if isinstance(value, str):
        return safe_text(value)
    return value


def _xlsx_cell(sheet, value: Cell, font: Font | None = None):
    formula_like = False
    if isinstance(value, str):
        value = xlsx_text(value)
        formula_like = value.startswith(FORMULA_PREFIXES)
    if not (isinstance(value, datetime) or formula_like) and font is None:
        return value
    cell = WriteOnlyCell(sheet, value=value)
    if formula_like:
        # openpyxl stores a string that starts with "=" as a formula; store it as text.
        cell.data_type = "s"
    if isinstance(value, datetime):
        cell.number_format = "yyyy-mm-dd hh:mm"
    if font is not None:
        cell.font = font
    return cell
