"""Reference population: the CSV reader, its errors, and the CBS converter on the real table."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.reference_population import (
    ReferenceFileError,
    ReferencePopulation,
    ReferenceRow,
    convert_cbs_kwb,
    load_reference_population,
    read_reference_rows,
    write_reference_rows,
)

ROOT = Path(__file__).resolve().parents[1]
CBS_FILE = ROOT.parent / "shared" / "data" / "cbs-kwb-2019-gm0518-den-haag.csv"
EXAMPLE_FILE = ROOT / "examples" / "reference" / "den-haag-2019.csv"
needs_cbs_file = pytest.mark.skipif(not CBS_FILE.exists(), reason=f"CBS table not found at {CBS_FILE}")

HEADER = "area_code,characteristic,category,count\n"
CBS_HEADER = (
    '"ID";"WijkenEnBuurten";"SoortRegio_2";"Codering_3";"AantalInwoners_5";"Mannen_6";"Vrouwen_7";'
    '"k_0Tot15Jaar_8";"k_15Tot25Jaar_9";"k_25Tot45Jaar_10";"k_45Tot65Jaar_11";"k_65JaarOfOuder_12"\n'
)


def write(tmp_path: Path, text: str, name: str = "reference.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding=encoding)
    return path


def test_load_counts_and_shares(tmp_path):
    path = write(tmp_path, HEADER + "GM1,age,16-24,10\nGM1,age,25-44,30\nGM1,gender,male,20\n")
    population = load_reference_population(path)
    assert population.counts("age", "GM1") == {"16-24": 10, "25-44": 30}
    assert population.shares("age", "GM1") == {"16-24": 0.25, "25-44": 0.75}
    assert population.characteristics("GM1") == ["age", "gender"]


def test_columns_in_any_order(tmp_path):
    path = write(tmp_path, "count,category,characteristic,area_code,note\n7,male,gender,GM1,x\n")
    assert load_reference_population(path).counts("gender", "GM1") == {"male": 7}


def test_population_is_frozen(tmp_path):
    population = load_reference_population(write(tmp_path, HEADER + "GM1,age,65+,5\n"))
    with pytest.raises(AttributeError):
        population.source = "other"
    with pytest.raises(TypeError):
        population.table[("GM1", "age")]["65+"] = 6


def test_unknown_area_raises(tmp_path):
    population = load_reference_population(write(tmp_path, HEADER + "GM1,age,65+,5\n"))
    with pytest.raises(KeyError, match="area 'GM2'"):
        population.counts("age", "GM2")


def test_zero_total_shares_raise(tmp_path):
    population = load_reference_population(write(tmp_path, HEADER + "WK1,age,65+,0\n"))
    with pytest.raises(ValueError, match="sum to 0"):
        population.shares("age", "WK1")


def test_error_missing_column(tmp_path):
    path = write(tmp_path, "area_code,characteristic,category\nGM1,age,65+\n")
    with pytest.raises(ReferenceFileError) as caught:
        load_reference_population(path)
    assert caught.value.line == 1
    assert caught.value.field == "count"
    assert str(path) in str(caught.value)


@pytest.mark.parametrize("count", ["12.5", "many", "1e3"])
def test_error_non_integer_count(tmp_path, count):
    path = write(tmp_path, HEADER + "GM1,age,65+,5\n" + f"GM1,age,16-24,{count}\n")
    with pytest.raises(ReferenceFileError, match="invalid count") as caught:
        load_reference_population(path)
    assert caught.value.line == 3
    assert caught.value.field == "count"


def test_error_negative_count(tmp_path):
    path = write(tmp_path, HEADER + "GM1,age,65+,-5\n")
    with pytest.raises(ReferenceFileError, match="cannot be negative") as caught:
        load_reference_population(path)
    assert caught.value.line == 2


def test_error_missing_value(tmp_path):
    path = write(tmp_path, HEADER + "GM1,,65+,5\n")
    with pytest.raises(ReferenceFileError, match="missing value") as caught:
        load_reference_population(path)
    assert caught.value.field == "characteristic"


def test_error_duplicate_row(tmp_path):
    path = write(tmp_path, HEADER + "GM1,age,65+,5\nGM1,age,16-24,3\nGM1,age,65+,6\n")
    with pytest.raises(ReferenceFileError, match="first on line 2") as caught:
        load_reference_population(path)
    assert caught.value.line == 4


def test_error_empty_file(tmp_path):
    with pytest.raises(ReferenceFileError, match="empty"):
        load_reference_population(write(tmp_path, ""))


def test_error_header_only(tmp_path):
    with pytest.raises(ReferenceFileError, match="no rows"):
        load_reference_population(write(tmp_path, HEADER))


def test_error_invalid_utf8(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes(HEADER.encode() + "GM1,age,65+,5\nGM1,geslacht,männlich,3\n".encode("latin-1"))
    with pytest.raises(ReferenceFileError, match="invalid UTF-8"):
        load_reference_population(path)


def test_byte_order_mark_accepted(tmp_path):
    path = write(tmp_path, HEADER + "GM1,age,65+,5\n", encoding="utf-8-sig")
    assert load_reference_population(path).counts("age", "GM1") == {"65+": 5}


def test_write_read_round_trip(tmp_path):
    rows = [ReferenceRow("GM1", "age", "65+", 5), ReferenceRow("GM1", "gender", "female", 3)]
    path = tmp_path / "out.csv"
    write_reference_rows(rows, path)
    assert read_reference_rows(path) == rows


def test_from_rows_rejects_duplicates():
    rows = [ReferenceRow("GM1", "age", "65+", 5), ReferenceRow("GM1", "age", "65+", 6)]
    with pytest.raises(ReferenceFileError, match="duplicate row"):
        ReferencePopulation.from_rows(rows)


@needs_cbs_file
def test_cbs_municipality_age_total():
    # In the table, GM0518 has 537833 residents of whom 92532 are aged 0-14.
    rows = convert_cbs_kwb(CBS_FILE)
    age_total = sum(row.count for row in rows if row.area_code == "GM0518" and row.characteristic == "age")
    assert age_total == 537833 - 92532


@needs_cbs_file
def test_cbs_municipality_gender():
    population = ReferencePopulation.from_rows(convert_cbs_kwb(CBS_FILE))
    assert population.counts("gender", "GM0518") == {"male": 266778, "female": 271055}


@needs_cbs_file
def test_cbs_age_bands():
    population = ReferencePopulation.from_rows(convert_cbs_kwb(CBS_FILE))
    assert list(population.counts("age", "GM0518")) == ["16-24", "25-44", "45-64", "65+"]
    assert population.counts("age", "WK051802") == {"16-24": 1210, "25-44": 1780, "45-64": 2350, "65+": 1680}


@needs_cbs_file
def test_cbs_region_kinds():
    rows = convert_cbs_kwb(CBS_FILE, region_kinds=("Gemeente", "Wijk"))
    areas = {row.area_code for row in rows}
    assert "GM0518" in areas
    assert len([area for area in areas if area.startswith("WK")]) == 44
    assert not [area for area in areas if area.startswith("BU")]


@needs_cbs_file
def test_cbs_neighbourhoods_by_default():
    areas = {row.area_code for row in convert_cbs_kwb(CBS_FILE)}
    assert "BU05180271" in areas


@needs_cbs_file
def test_example_matches_converter():
    expected = convert_cbs_kwb(CBS_FILE, region_kinds=("Gemeente", "Wijk"))
    assert read_reference_rows(EXAMPLE_FILE) == expected


def test_cbs_suppressed_value_skipped(tmp_path):
    line = '"1";"WK000101  ";"Wijk      ";"WK000101  ";"  100";"   50";"   50";"   10";"       .";"   40";"   30";"   20"\n'
    path = write(tmp_path, CBS_HEADER + line, name="cbs.csv", encoding="utf-8-sig")
    counts = ReferencePopulation.from_rows(convert_cbs_kwb(path)).counts("age", "WK000101")
    assert "16-24" not in counts
    assert counts == {"25-44": 40, "45-64": 30, "65+": 20}


def test_cbs_other_year_suffixes(tmp_path):
    header = (
        '"ID";"WijkenEnBuurten";"SoortRegio_3";"Codering_4";"AantalInwoners_6";"Mannen_7";"Vrouwen_8";'
        '"k_0Tot15Jaar_9";"k_15Tot25Jaar_10";"k_25Tot45Jaar_11";"k_45Tot65Jaar_12";"k_65JaarOfOuder_13"\n'
    )
    line = '"1";"GM0001    ";"Gemeente  ";"GM0001    ";"  100";"   50";"   50";"   10";"   15";"   40";"   20";"   15"\n'
    path = write(tmp_path, header + line, name="cbs.csv", encoding="utf-8-sig")
    counts = ReferencePopulation.from_rows(convert_cbs_kwb(path)).counts("age", "GM0001")
    assert counts["16-24"] == 15


def test_cbs_missing_column(tmp_path):
    header = CBS_HEADER.replace('"Vrouwen_7";', "")
    path = write(tmp_path, header, name="cbs.csv", encoding="utf-8-sig")
    with pytest.raises(ReferenceFileError, match="missing CBS column") as caught:
        convert_cbs_kwb(path)
    assert caught.value.field == "Vrouwen"


def test_cbs_invalid_count(tmp_path):
    line = '"1";"WK000101  ";"Wijk      ";"WK000101  ";"  100";"   50";"   x";"   10";"   10";"   40";"   30";"   20"\n'
    path = write(tmp_path, CBS_HEADER + line, name="cbs.csv", encoding="utf-8-sig")
    with pytest.raises(ReferenceFileError, match="invalid count 'x'") as caught:
        convert_cbs_kwb(path)
    assert caught.value.line == 2


def test_missing_file_names_the_setting(tmp_path):
    with pytest.raises(ReferenceFileError, match="not found; check CHATPANEL_REFERENCE_POPULATION"):
        read_reference_rows(tmp_path / "nope.csv")


def test_folder_is_not_a_file(tmp_path):
    with pytest.raises(ReferenceFileError, match="is a folder; give the path of a CSV file"):
        read_reference_rows(tmp_path)


def test_extra_field_is_an_error(tmp_path):
    path = write(tmp_path, HEADER + "GM1,age,25-44,162025,extra\n")
    with pytest.raises(ReferenceFileError, match="line 2: 5 fields where the header has 4"):
        read_reference_rows(path)


def test_semicolon_file_points_to_the_converter(tmp_path):
    path = write(tmp_path, "area_code;characteristic;category;count\nGM1;age;25-44;5\n")
    with pytest.raises(ReferenceFileError, match="separated by semicolons, as in a CBS export"):
        read_reference_rows(path)
