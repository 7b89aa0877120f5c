"""Number, percentage and date formats of the digest in one locale, through Babel, and
plain-text tables with aligned columns."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Sequence
from datetime import date, datetime, timezone
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, match_skeleton
from babel.lists import format_list
from babel.numbers import format_decimal, format_percent

# Percentages and means show one decimal, as residents' summaries do.
PERCENT_PATTERN = "#,##0.0%"
POINTS_PATTERN = "+#,##0.0;-#,##0.0"
# Shown in place of a figure that does not exist, such as a share of a question without answers.
MISSING = "-"
# A CLDR skeleton for weekday, day and month without the year.
_DAY_MONTH_SKELETON = "MMMMEd"
_SHORT_WEEKDAY = re.compile(r"(?<!E)E{1,3}(?!E)")


class Formats:
    """Babel formats of numbers, percentages and dates in one locale."""

    def __init__(self, locale: str) -> None:
        self.locale = locale
        self._day_month_pattern = _day_month_pattern(locale)

    def number(self, value: int | float | Decimal | None) -> str:
        """Format a count, such as "12.345" in Dutch."""
        if value is None:
            return MISSING
        return format_decimal(value, locale=self.locale)

    def decimal(self, value: float | Decimal | None) -> str:
        """Format a mean with one decimal, rounded half up as residents expect: "3,5" in Dutch."""
        if value is None:
            return MISSING
        rounded = Decimal(str(value)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
        return format_decimal(rounded, format="#,##0.0", locale=self.locale)

    def percent(self, fraction: float | None) -> str:
        """Format a share from 0 to 1 as a percentage with one decimal: "62,5%" in Dutch."""
        if fraction is None:
            return MISSING
        return format_percent(fraction, format=PERCENT_PATTERN, locale=self.locale)

    def points(self, difference: float) -> str:
        """Format a difference of two shares in percentage points, with its sign: "+6,2".

        A difference that rounds to zero is "0,0", never "-0,0".
        """
        points = round(difference * 100, 1)
        if points == 0:
            return format_decimal(0, format="0.0", locale=self.locale)
        return format_decimal(points, format=POINTS_PATTERN, locale=self.locale)

    def enumeration(self, items: Sequence[str]) -> str:
        """Join items as a sentence does: "leeftijd en wijk" in Dutch."""
        return format_list(list(items), locale=self.locale) if items else ""

    def day(self, value: date | datetime, zone: ZoneInfo | None = None) -> str:
        """Format a date in full, such as "maandag 7 december 2026".

        A datetime is first converted to ``zone``; a naive one is taken to be UTC.
        """
        return format_date(_local_date(value, zone), format="full", locale=self.locale)

    def day_month(self, value: date | datetime, zone: ZoneInfo | None = None) -> str:
        """Format a date without its year, such as "maandag 30 november"."""
        return format_date(_local_date(value, zone), format=self._day_month_pattern, locale=self.locale)


def _local_date(value: date | datetime, zone: ZoneInfo | None) -> date:
    if not isinstance(value, datetime):
        return value
    if zone is None:
        return value.date()
    aware = value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)
    return aware.astimezone(zone).date()


def _day_month_pattern(locale: str) -> str:
    # The locale's pattern for weekday, day and month, with the weekday widened to its full
    # name, as ICU's pattern generator widens the fields that a skeleton requests.
    parsed = Locale.parse(locale)
    skeleton = match_skeleton(_DAY_MONTH_SKELETON, parsed.datetime_skeletons)
    if skeleton is None:
        return "EEEE d MMMM"
    return _SHORT_WEEKDAY.sub("EEEE", str(parsed.datetime_skeletons[skeleton]))


def text_table(
    headers: Sequence[str] | None, rows: Sequence[Sequence[str]], *, first_width: int = 32, indent: str = ""
) -> str:
    """Lay out rows as plain text: the first column left-aligned and wrapped at
    ``first_width`` characters, the other columns right-aligned, two spaces apart.

    ``headers``, when given, is the first row, underlined with dashes. Raise ValueError
    when a row has another number of cells than the first row.
    """
    table = [list(row) for row in ([headers] if headers is not None else []) + list(rows)]
    if not table:
        return ""
    columns = len(table[0])
    for row in table:
        if len(row) != columns:
            raise ValueError(f"text table row {row!r} has {len(row)} cells; expected {columns}")
    first = min(first_width, max(len(row[0]) for row in table))
    widths = [first] + [max(len(row[column]) for row in table) for column in range(1, columns)]

    lines: list[str] = []
    for index, row in enumerate(table):
        wrapped = textwrap.wrap(row[0], width=first) or [""]
        cells = [cell.rjust(width) for cell, width in zip(row[1:], widths[1:])]
        lines.append(indent + "  ".join([wrapped[0].ljust(first), *cells]).rstrip())
        lines.extend(indent + line for line in wrapped[1:])
        if index == 0 and headers is not None:
            lines.append(indent + "  ".join("-" * width for width in widths))
    return "\n".join(lines)
