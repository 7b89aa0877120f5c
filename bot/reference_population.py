"""Reference population: resident counts per area, characteristic and category.

An operator supplies the counts as a UTF-8 CSV file with the header
``area_code,characteristic,category,count``, one row per category, for example
``GM0518,age,25-44,162025``. An optional ``area_name`` column names each area, such as
``Centrum`` for ``WK051828``; reports show the name beside the code. The panel compares its residents' profiles (age band, gender)
with these counts and weights them with ``bot.weighting.rake``. ``convert_cbs_kwb`` produces such rows from
the CBS table "Kerncijfers wijken en buurten".
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from bot.profile import AGE_BANDS

COLUMNS = ("area_code", "characteristic", "category", "count")
NAME_COLUMN = "area_name"

# CBS age-band columns (name without the year-specific number suffix) and the panel's age band.
# The 0-15 band is dropped because the panel has no residents under 16.
# NOTE: CBS cuts at 15, not 16, so "16-24" here is the CBS band 15-24: it contains one extra
# year of age, and its share is an approximation that is slightly too large.
CBS_AGE_COLUMNS = {
    "k_15Tot25Jaar": AGE_BANDS[0],
    "k_25Tot45Jaar": AGE_BANDS[1],
    "k_45Tot65Jaar": AGE_BANDS[2],
    "k_65JaarOfOuder": AGE_BANDS[3],
}
CBS_GENDER_COLUMNS = {"Mannen": "male", "Vrouwen": "female"}
# CBS region kinds in the SoortRegio column: municipality, district and neighbourhood.
CBS_REGION_KINDS = ("Gemeente", "Wijk", "Buurt")
CBS_SUPPRESSED = "."
_CBS_SUFFIX = re.compile(r"_\d+$")


class ReferenceFileError(ValueError):
    """An invalid reference population file. The message names the file, line and field."""

    def __init__(self, path: str | Path, message: str, *, line: int | None = None, field: str | None = None):
        self.path = str(path)
        self.line = line
        self.field = field
        location = self.path if line is None else f"{self.path}, line {line}"
        if field is not None:
            location = f"{location}, field {field!r}"
        super().__init__(f"{location}: {message}")


@dataclass(frozen=True)
class ReferenceRow:
    area_code: str
    characteristic: str
    category: str
    count: int
    area_name: str | None = None


@dataclass(frozen=True)
class ReferencePopulation:
    """Counts per (area code, characteristic), each a mapping of category to count."""

    source: str
    table: Mapping[tuple[str, str], Mapping[str, int]]
    # Area code to area name, for areas whose rows name them.
    names: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def from_rows(cls, rows: Iterable[ReferenceRow], source: str = "<rows>") -> ReferencePopulation:
        """Build a population from rows, which must not repeat an (area, characteristic, category)."""
        table: dict[tuple[str, str], dict[str, int]] = {}
        names: dict[str, str] = {}
        for row in rows:
            if row.area_name:
                names.setdefault(row.area_code, row.area_name)
            categories = table.setdefault((row.area_code, row.characteristic), {})
            if row.category in categories:
                raise ReferenceFileError(
                    source,
                    f"duplicate row for area {row.area_code!r}, "
                    f"{row.characteristic}={row.category}",
                )
            categories[row.category] = row.count
        frozen = {key: MappingProxyType(categories) for key, categories in table.items()}
        return cls(source=source, table=MappingProxyType(frozen), names=MappingProxyType(names))

    @property
    def area_codes(self) -> list[str]:
        return sorted({area for area, _ in self.table})

    def characteristics(self, area_code: str) -> list[str]:
        return sorted(characteristic for area, characteristic in self.table if area == area_code)

    def name(self, area_code: str) -> str:
        """Return the area's name, or its code when the file names no area."""
        return self.names.get(area_code, area_code)

    def districts(self, area_code: str) -> list[str]:
        """Return the codes of the districts (CBS ``WK`` codes) within a municipality
        (``GM`` code) that have age counts, such as WK051828 in GM0518."""
        if not area_code.startswith("GM"):
            return []
        prefix = "WK" + area_code[2:]
        return [code for code in self.area_codes if code.startswith(prefix) and (code, "age") in self.table]

    def counts(self, characteristic: str, area_code: str) -> dict[str, int]:
        """Return the count per category. Raise KeyError for an unknown area or characteristic."""
        key = (area_code, characteristic)
        if key not in self.table:
            raise KeyError(
                f"{self.source} has no {characteristic!r} counts for area {area_code!r}. "
                f"Its areas are {', '.join(self.area_codes) or 'none'}"
            )
        return dict(self.table[key])

    def shares(self, characteristic: str, area_code: str) -> dict[str, float]:
        """Return each category's share of the area's total, so the shares sum to 1.

        Raise KeyError for an unknown area or characteristic, and ValueError when the
        counts sum to 0 because shares of an empty area are undefined.
        """
        counts = self.counts(characteristic, area_code)
        total = sum(counts.values())
        if total == 0:
            raise ValueError(
                f"{self.source}: the {characteristic!r} counts of area {area_code!r} sum to 0, "
                "so it has no shares. Choose another area"
            )
        return {category: count / total for category, count in counts.items()}


def load_reference_population(path: str | Path) -> ReferencePopulation:
    """Read a reference population CSV file. Raise ReferenceFileError on invalid content."""
    return ReferencePopulation.from_rows(read_reference_rows(path), source=str(path))


def read_reference_rows(path: str | Path) -> list[ReferenceRow]:
    """Read and validate the rows of a reference population CSV file.

    The header must contain the columns in COLUMNS, in any order, and other columns are ignored.
    Counts are non-negative integers. Raise ReferenceFileError naming the file, line and
    field for a missing column or value, an invalid count, a duplicate row or an empty file.
    """
    try:
        with open(path, encoding="utf-8-sig", newline="") as file:
            return _parse_rows(csv.reader(file), path)
    except FileNotFoundError:
        raise ReferenceFileError(path, "not found; check CHATPANEL_REFERENCE_POPULATION") from None
    except IsADirectoryError:
        raise ReferenceFileError(path, "is a folder; give the path of a CSV file") from None
    except PermissionError:
        raise ReferenceFileError(path, "cannot be read (permission denied); check the file's permissions") from None
    except UnicodeDecodeError as error:
        raise ReferenceFileError(path, f"invalid UTF-8 ({error.reason} at byte {error.start}); save the file as UTF-8") from error
    except csv.Error as error:
        raise ReferenceFileError(path, f"invalid CSV: {error}") from error


def _parse_rows(reader, path: str | Path) -> list[ReferenceRow]:
    header = next(reader, None)
    if header is None:
        raise ReferenceFileError(path, f"the file is empty. Expected the header {','.join(COLUMNS)}")
    header = [name.strip() for name in header]
    if len(header) == 1 and ";" in header[0]:
        raise ReferenceFileError(
            path, "the columns are separated by semicolons, as in a CBS export; convert a CBS table with "
            "bot.reference_population.convert_cbs_kwb (see examples/reference/README.md), or use commas", line=1,
        )
    for column in COLUMNS:
        if column not in header:
            raise ReferenceFileError(path, f"missing column. The header must contain {','.join(COLUMNS)}", line=1, field=column)
    positions = {column: header.index(column) for column in COLUMNS}
    name_position = header.index(NAME_COLUMN) if NAME_COLUMN in header else None

    rows: list[ReferenceRow] = []
    first_lines: dict[tuple[str, str, str], int] = {}
    for values in reader:
        line = reader.line_num
        if not any(value.strip() for value in values):
            continue
        if len(values) > len(header):
            raise ReferenceFileError(
                path, f"{len(values)} fields where the header has {len(header)}; remove the extra field or add its column",
                line=line,
            )
        fields = {}
        for column, position in positions.items():
            value = values[position].strip() if position < len(values) else ""
            if not value:
                raise ReferenceFileError(path, "missing value", line=line, field=column)
            fields[column] = value
        count = _parse_count(fields["count"], path, line)

        key = (fields["area_code"], fields["characteristic"], fields["category"])
        if key in first_lines:
            raise ReferenceFileError(
                path,
                f"duplicate row for area {key[0]!r}, {key[1]}={key[2]} (first on line {first_lines[key]})",
                line=line,
                field="category",
            )
        first_lines[key] = line
        name = None
        if name_position is not None and name_position < len(values):
            name = values[name_position].strip() or None
        rows.append(ReferenceRow(*key, count, name))

    if not rows:
        raise ReferenceFileError(path, "the file has a header but no rows")
    return rows


def _parse_count(text: str, path: str | Path, line: int) -> int:
    if not re.fullmatch(r"[+-]?\d+", text):
        raise ReferenceFileError(path, f"invalid count {text!r}: expected a whole number", line=line, field="count")
    count = int(text)
    if count < 0:
        raise ReferenceFileError(path, f"invalid count {count}: counts cannot be negative", line=line, field="count")
    return count


def write_reference_rows(rows: Iterable[ReferenceRow], path: str | Path) -> None:
    """Write rows as a reference population CSV file that ``read_reference_rows`` accepts."""
    rows = list(rows)
    named = any(row.area_name for row in rows)
    with open(path, "w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow((*COLUMNS, NAME_COLUMN) if named else COLUMNS)
        for row in rows:
            values = (row.area_code, row.characteristic, row.category, row.count)
            writer.writerow((*values, row.area_name or "") if named else values)


def convert_cbs_kwb(path: str | Path, *, region_kinds: Iterable[str] = CBS_REGION_KINDS) -> list[ReferenceRow]:
    """Convert a CBS "Kerncijfers wijken en buurten" CSV file into reference rows.

    Each region of a kind in ``region_kinds`` (the SoortRegio values "Gemeente", "Wijk",
    "Buurt") gets ``age`` rows in the panel's bands and ``gender`` rows (male, female).
    Columns are matched by their name without the number suffix, which changes per year.
    A suppressed value (".") produces no row, because it is unknown rather than 0.
    """
    kinds = set(region_kinds)
    try:
        with open(path, encoding="utf-8-sig", newline="") as file:
            reader = csv.reader(file, delimiter=";", quotechar='"')
            header = next(reader, None)
            if header is None:
                raise ReferenceFileError(path, "the file is empty. Expected a CBS header row")
            columns = _match_cbs_columns(header, path)
            rows: list[ReferenceRow] = []
            for values in reader:
                if not any(value.strip() for value in values):
                    continue
                if _cbs_value(values, columns["SoortRegio"]) in kinds:
                    rows.extend(_convert_cbs_region(values, columns, path, reader.line_num))
    except UnicodeDecodeError as error:
        raise ReferenceFileError(path, f"invalid UTF-8 ({error.reason} at byte {error.start})") from error
    except csv.Error as error:
        raise ReferenceFileError(path, f"invalid CSV: {error}") from error
    return rows


def _match_cbs_columns(header: list[str], path: str | Path) -> dict[str, int]:
    positions = {_CBS_SUFFIX.sub("", name.strip()): index for index, name in enumerate(header)}
    needed = ["SoortRegio", "Codering", *CBS_AGE_COLUMNS, *CBS_GENDER_COLUMNS]
    if "WijkenEnBuurten" in positions:
        needed.append("WijkenEnBuurten")
    for name in needed:
        if name not in positions:
            raise ReferenceFileError(path, "missing CBS column (matched without its number suffix)", line=1, field=name)
    return {name: positions[name] for name in needed}


def _cbs_value(values: list[str], position: int) -> str:
    return values[position].strip() if position < len(values) else ""


def _convert_cbs_region(values: list[str], columns: dict[str, int], path: str | Path, line: int) -> list[ReferenceRow]:
    area_code = _cbs_value(values, columns["Codering"])
    if not area_code:
        raise ReferenceFileError(path, "missing region code", line=line, field="Codering")

    # Some CBS exports repeat the code in the name column instead of the name.
    name = _cbs_value(values, columns["WijkenEnBuurten"]) if "WijkenEnBuurten" in columns else ""
    name = name if name and name != area_code else None
    rows = []
    characteristics = (("age", CBS_AGE_COLUMNS), ("gender", CBS_GENDER_COLUMNS))
    for characteristic, categories in characteristics:
        for column, category in categories.items():
            text = _cbs_value(values, columns[column])
            if text == CBS_SUPPRESSED:
                continue
            if not text.isdigit():
                raise ReferenceFileError(path, f"invalid count {text!r}: expected a whole number or '.'", line=line, field=column)
            rows.append(ReferenceRow(area_code, characteristic, category, int(text), name))
    return rows
