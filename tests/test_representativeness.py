"""Representativeness and respondent weights: the panel beside the reference population,
the reference settings and their errors, and raking a survey's respondents."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.channels.types import Channel
from bot.i18n import texts
from bot.panel_weights import survey_weights, weights_for
from bot.reference_population import ReferenceFileError
from bot.representativeness import ReferenceSetupError, load_postcode_areas, load_reference_setup, representativeness
from bot.results import survey_results
from bot.settings import load_settings
from store.models import Address, Answer, Resident, Response, utcnow
from tests.harness import ConsolePanel

EXAMPLE_REFERENCE = Path(__file__).resolve().parents[1] / "examples" / "reference" / "den-haag-2019.csv"

# A municipality of 1,000 residents aged 16 and over in two districts.
REFERENCE = """area_code,characteristic,category,count,area_name
GM9999,age,16-24,100,Testdorp
GM9999,age,25-44,400,Testdorp
GM9999,age,45-64,300,Testdorp
GM9999,age,65+,200,Testdorp
WK999901,age,16-24,50,Noord
WK999901,age,25-44,250,Noord
WK999901,age,45-64,100,Noord
WK999901,age,65+,100,Noord
WK999902,age,16-24,50,Zuid
WK999902,age,25-44,150,Zuid
WK999902,age,45-64,200,Zuid
WK999902,age,65+,100,Zuid
"""
POSTCODES = "postcode,area_code\n1011,WK999901\n1012,WK999901\n1013,WK999902\n"


@pytest.fixture
def reference_files(tmp_path):
    reference = tmp_path / "reference.csv"
    reference.write_text(REFERENCE, encoding="utf-8")
    postcodes = tmp_path / "postcodes.csv"
    postcodes.write_text(POSTCODES, encoding="utf-8")
    return reference, postcodes


def setup_for(reference_files, **values):
    reference, postcodes = reference_files
    environ = {"CHATPANEL_REFERENCE_POPULATION": str(reference), "CHATPANEL_POSTCODE_AREAS": str(postcodes)}
    environ.update({f"CHATPANEL_{key.upper()}": value for key, value in values.items()})
    return load_reference_setup(load_settings(environ=environ))


async def add_residents(db, profiles: list[tuple[str | None, str | None]], *, stopped: int = 0, prefix: str = "r") -> list[int]:
    """Store one consented resident per (age band, postcode); the first ``stopped`` sent STOP."""
    now = utcnow()
    ids = []
    async with db[1]() as session, session.begin():
        for number, (age_band, postcode) in enumerate(profiles):
            resident = Resident(pseudonym=f"{prefix}{number}", consented_at=now, age_band=age_band, postcode=postcode)
            session.add(resident)
            await session.flush()
            opted_out = now if number < stopped else None
            session.add(Address(channel=Channel.CONSOLE.value, value=f"{prefix}-{number}", resident_id=resident.id, opted_out_at=opted_out))
            ids.append(resident.id)
    return ids


def row(table, category):
    return next(item for item in table.rows if item.category == category)


# --- reference settings ----------------------------------------------------------------


def test_setup_is_none_without_a_reference():
    assert load_reference_setup(load_settings(environ={})) is None


def test_setup_takes_the_only_municipality_and_names_districts(reference_files):
    setup = setup_for(reference_files, weighting="age,district")
    assert setup.area == "GM9999"
    assert setup.characteristics == ("age", "district")
    assert setup.population_counts("district") == {"WK999901": 500, "WK999902": 500}
    assert setup.label("district", "WK999902") == "Zuid"
    assert setup.population_shares("age") == {"16-24": 0.1, "25-44": 0.4, "45-64": 0.3, "65+": 0.2}


def test_setup_on_the_shipped_example_uses_the_hague():
    setup = load_reference_setup(load_settings(environ={"CHATPANEL_REFERENCE_POPULATION": str(EXAMPLE_REFERENCE)}))
    assert setup.area == "GM0518"
    assert setup.characteristics == ("age",)
    assert setup.population_counts("age")["25-44"] == 162025


def test_weighting_without_reference_is_an_error():
    with pytest.raises(ReferenceSetupError, match="CHATPANEL_WEIGHTING needs a reference population"):
        load_reference_setup(load_settings(environ={"CHATPANEL_WEIGHTING": "age"}))


def test_unknown_area_names_the_areas(reference_files):
    with pytest.raises(ReferenceSetupError, match="no age counts for area 'GM0001'; give one of GM9999, WK999901, WK999902"):
        setup_for(reference_files, reference_area="GM0001")


def test_district_weighting_needs_a_postcode_file(reference_files):
    reference, _ = reference_files
    settings = load_settings(environ={"CHATPANEL_REFERENCE_POPULATION": str(reference), "CHATPANEL_WEIGHTING": "district"})
    with pytest.raises(ReferenceSetupError, match="set CHATPANEL_POSTCODE_AREAS"):
        load_reference_setup(settings)


def test_unknown_weighting_characteristic_is_a_settings_error():
    from bot.settings import SettingsError

    with pytest.raises(SettingsError, match="unknown characteristic 'gender'; give one or more of age, district"):
        load_settings(environ={"CHATPANEL_WEIGHTING": "age,gender"})


@pytest.mark.parametrize(
    "content, message",
    [
        ("code,area_code\n1011,WK1\n", "field 'postcode': missing column"),
        ("postcode,area_code\n101,WK1\n", "line 2, field 'postcode': invalid postcode '101'"),
        ("postcode,area_code\n1011,\n", "line 2, field 'area_code': missing value"),
        ("postcode,area_code\n1011,WK1\n1011,WK2\n", "line 3, field 'postcode': postcode 1011 is mapped twice"),
    ],
)
def test_postcode_file_errors_name_line_and_field(tmp_path, content, message):
    path = tmp_path / "postcodes.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ReferenceFileError) as caught:
        load_postcode_areas(path)
    assert message in str(caught.value)


def test_missing_postcode_file_names_the_setting(tmp_path):
    with pytest.raises(ReferenceFileError, match="not found; check CHATPANEL_POSTCODE_AREAS"):
        load_postcode_areas(tmp_path / "nope.csv")


# --- the table ---------------------------------------------------------------------------


async def test_table_compares_panel_and_population(db, reference_files):
    setup = setup_for(reference_files)
    profiles = [("25-44", "1011")] * 12 + [("65+", "1013")] * 6 + [(None, "9999")] * 2
    await add_residents(db, [("16-24", "1011")] * 3 + profiles, stopped=3)
    async with db[1]() as session:
        report = await representativeness(session, setup, min_group_size=5)

    assert report.panel_size == 20
    age, district = report.tables
    assert age.unknown == 2
    assert row(age, "25-44").panel_count == 12
    assert row(age, "25-44").panel_share == pytest.approx(12 / 18)
    assert row(age, "25-44").population_share == pytest.approx(0.4)
    assert row(age, "25-44").difference == pytest.approx(12 / 18 - 0.4)
    # The three stopped residents were the 16-24s, so that band is empty and flagged.
    assert row(age, "16-24").panel_count == 0
    assert row(age, "16-24").too_few
    assert not row(age, "65+").too_few
    assert district.unknown == 2
    assert row(district, "WK999901").label == "Noord"
    assert row(district, "WK999901").panel_share == pytest.approx(12 / 18)


# --- weights -----------------------------------------------------------------------------


def test_weights_match_the_population_shares(reference_files):
    setup = setup_for(reference_files, weighting="age")
    respondents = [(number, band, None) for number, band in enumerate(["16-24"] * 10 + ["25-44"] * 10 + ["45-64"] * 10 + ["65+"] * 10)]
    result = weights_for(setup, respondents, min_group_size=5)
    assert result.problem is None
    # Each band contains a quarter of the respondents, so its weight is its share times 4.
    assert result.weights[0] == pytest.approx(0.4)
    assert result.weights[10] == pytest.approx(1.6)
    assert result.weights[20] == pytest.approx(1.2)
    assert result.weights[30] == pytest.approx(0.8)


def test_unknown_respondents_keep_weight_one(reference_files):
    setup = setup_for(reference_files, weighting="age")
    respondents = [(number, band, None) for number, band in enumerate(["16-24", "25-44", "45-64", "65+"] * 5)]
    respondents.append((99, None, None))
    result = weights_for(setup, respondents, min_group_size=5)
    assert result.weights[99] == 1.0
    assert sum(weight for key, weight in result.weights.items() if key != 99) == pytest.approx(20)


def test_empty_category_names_it(reference_files):
    setup = setup_for(reference_files, weighting="age")
    respondents = [(number, band, None) for number, band in enumerate(["25-44", "45-64", "65+"] * 5)]
    result = weights_for(setup, respondents, min_group_size=5)
    assert result.weights is None
    assert (result.problem.kind, result.problem.category) == ("empty_category", "16-24")
    assert result.problem.describe(texts("en")) == 'No respondent is in the category "16-24".'


def test_too_few_respondents_are_not_weighted(reference_files):
    setup = setup_for(reference_files, weighting="age")
    result = weights_for(setup, [(1, "16-24", None), (2, "65+", None)], min_group_size=5)
    assert result.weights is None
    assert result.problem.kind == "too_few"


def test_capped_weights_are_used_with_the_cap_noted(reference_files):
    setup = setup_for(reference_files, weighting="age", weight_cap="3")
    # One 16-24 respondent in 40 would need weight 4 (0.1 * 40) to reach 10%.
    bands = ["16-24"] + ["25-44"] * 15 + ["45-64"] * 12 + ["65+"] * 12
    result = weights_for(setup, [(number, band, None) for number, band in enumerate(bands)], min_group_size=5)
    assert result.weights is not None
    assert result.capped
    assert max(result.weights.values()) == pytest.approx(3.0)


def test_district_and_age_weighting_together(reference_files):
    setup = setup_for(reference_files, weighting="age,district")
    bands = ["16-24", "25-44", "45-64", "65+"]
    respondents = [(number, bands[number % 4], "1011" if number % 3 else "1013") for number in range(48)]
    result = weights_for(setup, respondents, min_group_size=5)
    assert result.problem is None
    north = sum(weight for number, weight in result.weights.items() if number % 3)
    assert north / sum(result.weights.values()) == pytest.approx(0.5, abs=1e-5)


async def test_weighted_results_beside_unweighted(db, reference_files):
    """The youngest say yes and the rest no. They are a quarter of the respondents and a
    tenth of the population, so weighting moves the share from 25% to 10%."""
    setup = setup_for(reference_files, weighting="age")
    panel = ConsolePanel(db[1])
    survey_row = await panel.load_survey(Path(__file__).parent / "data" / "all-types.yaml")
    bands = ["16-24"] * 10 + ["25-44"] * 10 + ["45-64"] * 10 + ["65+"] * 10
    ids = await add_residents(db, [(band, None) for band in bands])
    async with db[1]() as session, session.begin():
        for resident_id, band in zip(ids, bands):
            response = Response(survey_id=survey_row.id, resident_id=resident_id, channel="console")
            session.add(response)
            await session.flush()
            session.add(Answer(response_id=response.id, question_id="more_trees", value="yes" if band == "16-24" else "no"))
    async with db[1]() as session:
        weighting = await survey_weights(session, survey_row.id, setup, min_group_size=5)
        results = await survey_results(session, survey_row, "nl", weighting.weights)
    yes = next(option for option in next(q for q in results.questions if q.id == "more_trees").options if option.id == "yes")
    assert yes.share == pytest.approx(0.25)
    assert yes.weighted_share == pytest.approx(0.1)


async def test_no_weights_without_weighting_setting(db, reference_files):
    setup = setup_for(reference_files)
    async with db[1]() as session:
        weighting = await survey_weights(session, 1, setup, min_group_size=5)
    assert weighting.weights is None
    assert weighting.problem is None


def test_unknown_age_band_names_the_bands(tmp_path):
    reference = tmp_path / "reference.csv"
    reference.write_text(REFERENCE.replace("GM9999,age,25-44,400", "GM9999,age,25-45,400"), encoding="utf-8")
    settings = load_settings(environ={"CHATPANEL_REFERENCE_POPULATION": str(reference)})
    with pytest.raises(ReferenceSetupError, match="unknown age band 25-45 for area 'GM9999'; the panel's age bands are 16-24, 25-44, 45-64, 65\\+"):
        load_reference_setup(settings)


def test_postcode_mapped_to_unknown_district(reference_files, tmp_path):
    reference, _ = reference_files
    postcodes = tmp_path / "postcodes.csv"
    postcodes.write_text("postcode,area_code\n1011,WK999999\n", encoding="utf-8")
    environ = {"CHATPANEL_REFERENCE_POPULATION": str(reference), "CHATPANEL_POSTCODE_AREAS": str(postcodes)}
    with pytest.raises(ReferenceSetupError, match="district WK999999 is not in"):
        load_reference_setup(load_settings(environ=environ))
