"""How far the panel reflects the population: the share of each category in the panel beside
its share in the reference population, per characteristic.

Characteristics come from residents' profiles: ``age`` is the age band they gave, and
``district`` is the district of their postcode, looked up in the operator's postcode file.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.profile import AGE_BANDS
from bot.reference_population import ReferenceFileError, ReferencePopulation, load_reference_population
from bot.settings import WEIGHTING_CHARACTERISTICS, Settings
from store.models import Address, Resident

POSTCODE_COLUMNS = ("postcode", "area_code")


class ReferenceSetupError(ValueError):
    """Reference settings that do not fit together. The message names the setting and the fix."""


@dataclass(frozen=True)
class ReferenceSetup:
    """The operator's reference population, the panel's area in it, and the postcode map."""

    population: ReferencePopulation
    area: str
    # 4-digit postcode to district code; empty when no postcode file is configured.
    postcode_areas: Mapping[str, str]
    # Characteristics to weight on; empty when weighting is off.
    weighting: tuple[str, ...]
    weight_cap: float

    @property
    def characteristics(self) -> tuple[str, ...]:
        """The characteristics the reference can compare: age, and district when postcodes map."""
        names = ["age"]
        if self.postcode_areas and self.population.districts(self.area):
            names.append("district")
        return tuple(names)

    def population_counts(self, characteristic: str) -> dict[str, int]:
        """Return the reference count per category of ``characteristic``."""
        if characteristic == "age":
            counts = self.population.counts("age", self.area)
            return {band: counts.get(band, 0) for band in AGE_BANDS}
        if characteristic == "district":
            return {
                code: sum(self.population.counts("age", code).values()) for code in self.population.districts(self.area)
            }
        raise KeyError(f"unknown characteristic {characteristic!r}: expected one of {', '.join(WEIGHTING_CHARACTERISTICS)}")

    def population_shares(self, characteristic: str) -> dict[str, float]:
        counts = self.population_counts(characteristic)
        total = sum(counts.values())
        return {category: count / total if total else 0.0 for category, count in counts.items()}

    def category_of(self, characteristic: str, age_band: str | None, postcode: str | None) -> str | None:
        """Return a resident's category of ``characteristic``, or None when unknown."""
        if characteristic == "age":
            return age_band if age_band in AGE_BANDS else None
        if characteristic == "district":
            return self.postcode_areas.get(postcode or "")
        return None

    def label(self, characteristic: str, category: str) -> str:
        """Return a category's label: the district's name where the reference has one."""
        if characteristic == "district":
            return self.population.name(category)
        return category


def load_reference_setup(settings: Settings) -> ReferenceSetup | None:
    """Build the reference setup from settings, or return None when none is configured.

    Raise ReferenceSetupError or ReferenceFileError for files or settings that do not fit.
    """
    if not settings.reference_population:
        if settings.weighting:
            raise ReferenceSetupError(
                "setting CHATPANEL_WEIGHTING needs a reference population; set CHATPANEL_REFERENCE_POPULATION "
                "to a CSV file, or leave CHATPANEL_WEIGHTING empty"
            )
        return None
    population = load_reference_population(settings.reference_population)
    area = settings.reference_area or _only_municipality(population)
    if (area, "age") not in population.table:
        raise ReferenceSetupError(
            f"setting CHATPANEL_REFERENCE_AREA: {population.source} has no age counts for area {area!r}; "
            f"give one of {', '.join(population.area_codes)}"
        )
    unknown_bands = sorted(set(population.counts("age", area)) - set(AGE_BANDS))
    if unknown_bands:
        raise ReferenceSetupError(
            f"{population.source}: unknown age band {', '.join(unknown_bands)} for area {area!r}; "
            f"the panel's age bands are {', '.join(AGE_BANDS)}"
        )
    postcode_areas = load_postcode_areas(settings.postcode_areas) if settings.postcode_areas else {}
    districts = set(population.districts(area))
    unknown_districts = sorted(set(postcode_areas.values()) - districts)
    if postcode_areas and unknown_districts:
        raise ReferenceSetupError(
            f"{settings.postcode_areas}: district {', '.join(unknown_districts[:5])} is not in {population.source}; "
            f"use the district (WK) codes of area {area}"
        )
    weighting = settings.weighting_characteristics()
    setup = ReferenceSetup(population, area, postcode_areas, weighting, settings.weight_cap)
    missing = [name for name in weighting if name not in setup.characteristics]
    if missing:
        raise ReferenceSetupError(
            "setting CHATPANEL_WEIGHTING: cannot weight on district without district counts and a postcode file; "
            "set CHATPANEL_POSTCODE_AREAS, or weight on age only"
        )
    return setup


def _only_municipality(population: ReferencePopulation) -> str:
    municipalities = [code for code in population.area_codes if code.startswith("GM")]
    if len(municipalities) != 1:
        raise ReferenceSetupError(
            f"setting CHATPANEL_REFERENCE_AREA is missing and {population.source} contains "
            f"{len(municipalities)} municipalities; give the area code of the panel's municipality, such as GM0518"
        )
    return municipalities[0]


def load_postcode_areas(path: str | Path) -> dict[str, str]:
    """Read a CSV file with the columns ``postcode,area_code`` (4-digit postcodes).

    Raise ReferenceFileError naming the file, line and field for invalid content.
    """
    try:
        with open(path, encoding="utf-8-sig", newline="") as file:
            return _parse_postcode_rows(csv.reader(file), path)
    except FileNotFoundError:
        raise ReferenceFileError(path, "not found; check CHATPANEL_POSTCODE_AREAS") from None
    except UnicodeDecodeError as error:
        raise ReferenceFileError(path, f"invalid UTF-8 ({error.reason} at byte {error.start})") from error
    except csv.Error as error:
        raise ReferenceFileError(path, f"invalid CSV: {error}") from error


def _parse_postcode_rows(reader: Iterable[list[str]], path: str | Path) -> dict[str, str]:
    rows = iter(reader)
    header = [name.strip() for name in next(rows, [])]
    for column in POSTCODE_COLUMNS:
        if column not in header:
            raise ReferenceFileError(path, f"missing column. The header must contain {','.join(POSTCODE_COLUMNS)}", line=1, field=column)
    postcode_at, area_at = header.index("postcode"), header.index("area_code")
    areas: dict[str, str] = {}
    for line, values in enumerate(rows, start=2):
        if not any(value.strip() for value in values):
            continue
        postcode = values[postcode_at].strip() if postcode_at < len(values) else ""
        area = values[area_at].strip() if area_at < len(values) else ""
        if not re.fullmatch(r"[1-9]\d{3}", postcode):
            raise ReferenceFileError(path, f"invalid postcode {postcode!r}: expected 4 digits, such as 2511", line=line, field="postcode")
        if not area:
            raise ReferenceFileError(path, "missing value", line=line, field="area_code")
        if postcode in areas and areas[postcode] != area:
            raise ReferenceFileError(path, f"postcode {postcode} is mapped twice ({areas[postcode]} and {area})", line=line, field="postcode")
        areas[postcode] = area
    return areas


@dataclass(frozen=True)
class CategoryRow:
    characteristic: str
    category: str
    label: str
    panel_count: int
    # Shares of the panel members whose category is known, and of the reference population.
    panel_share: float
    population_share: float
    # Fewer panel members than the minimum group size: the share is uncertain and weights
    # based on it are large.
    too_few: bool

    @property
    def difference(self) -> float:
        """Panel share minus population share: positive means over-represented."""
        return self.panel_share - self.population_share


@dataclass(frozen=True)
class CharacteristicTable:
    characteristic: str
    rows: list[CategoryRow]
    # Panel members whose category is unknown (no age band given, postcode not in the map).
    unknown: int


@dataclass(frozen=True)
class Representativeness:
    panel_size: int
    area: str
    area_name: str
    source: str
    tables: list[CharacteristicTable]
    min_group_size: int
    weighting: tuple[str, ...]


def panel_profiles_statement(at: datetime | None = None):
    """Select (age band, postcode) of every resident in the panel at ``at`` (default now):
    consented by then, with an address that had not stopped."""
    reachable = (Address.resident_id == Resident.id) & (
        Address.opted_out_at.is_(None) if at is None else or_(Address.opted_out_at.is_(None), Address.opted_out_at >= at)
    )
    statement = select(Resident.age_band, Resident.postcode).where(exists().where(reachable))
    if at is not None:
        statement = statement.where(Resident.consented_at < at)
    return statement


async def representativeness(
    session: AsyncSession, setup: ReferenceSetup, min_group_size: int, at: datetime | None = None
) -> Representativeness:
    """Compare the panel at ``at`` (default now) with the reference population."""
    profiles = Counter()
    for age_band, postcode in (await session.execute(panel_profiles_statement(at))).all():
        profiles[(age_band, postcode)] += 1
    tables = [compare(setup, characteristic, profiles, min_group_size) for characteristic in setup.characteristics]
    return Representativeness(
        panel_size=sum(profiles.values()),
        area=setup.area,
        area_name=setup.population.name(setup.area),
        source=setup.population.source,
        tables=tables,
        min_group_size=min_group_size,
        weighting=setup.weighting,
    )


def compare(
    setup: ReferenceSetup, characteristic: str, profiles: Mapping[tuple[str | None, str | None], int], min_group_size: int
) -> CharacteristicTable:
    """Build one characteristic's table from counts per (age band, postcode)."""
    counts: Counter[str] = Counter()
    unknown = 0
    for (age_band, postcode), count in profiles.items():
        category = setup.category_of(characteristic, age_band, postcode)
        if category is None:
            unknown += count
        else:
            counts[category] += count
    known = sum(counts.values())
    shares = setup.population_shares(characteristic)
    rows = [
        CategoryRow(
            characteristic=characteristic,
            category=category,
            label=setup.label(characteristic, category),
            panel_count=counts[category],
            panel_share=counts[category] / known if known else 0.0,
            population_share=share,
            too_few=counts[category] < min_group_size,
        )
        for category, share in shares.items()
        # A district without residents (a park or an industrial estate) adds no information.
        if share > 0 or counts[category] > 0
    ]
    # A postcode mapped to a district outside the reference is shown rather than dropped.
    for category in sorted(set(counts) - set(shares)):
        rows.append(
            CategoryRow(characteristic, category, category, counts[category], counts[category] / known, 0.0, counts[category] < min_group_size)
        )
    return CharacteristicTable(characteristic, rows, unknown)
