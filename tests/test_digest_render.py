"""Digest rendering: what a partner organisation reads in the HTML and plain text, in Dutch
and English, the chart images, and the representativeness report."""

from __future__ import annotations

import re
import struct
from dataclasses import replace
from datetime import date, datetime, timezone

import pytest

from bot.digest.charts import CHART_WIDTH_PX, bar_chart_png
from bot.digest.formats import text_table
from bot.digest.model import (
    ClosedSurvey,
    Digest,
    DigestOrganisation,
    DigestTopic,
    PanelFigures,
    RunningSurvey,
)
from bot.digest.render import render_digest, render_report_html, render_report_text
from bot.representativeness import CategoryRow, CharacteristicTable, Representativeness
from bot.results import OptionCount, QuestionResult, SurveyResults

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
UTC = timezone.utc

# Ten options with long labels and long Dutch words, for wrapping in charts, tables and text.
PRIORITY_LABELS = (
    "Verkeersveiligheidsmaatregelen rondom basisscholen en kinderdagverblijven",
    "Meer groen, bomen en geveltuinen in de straat",
    "Speeltuinen en sportvelden voor jongeren",
    "Onderhoud van stoepen en fietspaden",
    "Afvalinzameling en ondergrondse containers",
    "Parkeergelegenheid voor bewoners en bezoekers",
    "Buurtbewonersvertegenwoordigingsoverleg",
    "Veiligheid en verlichting op straat",
    "Wateroverlast na hevige regenbuien",
    "Anders",
)
PRIORITY_COUNTS = (40, 31, 22, 18, 14, 12, 9, 7, 5, 2)
# Ten districts of The Hague, with CBS codes, some with long names.
DISTRICTS = (
    ("WK051801", "Oostduinen"),
    ("WK051802", "Belgisch Park"),
    ("WK051803", "Westbroekpark en Duttendel"),
    ("WK051804", "Benoordenhout"),
    ("WK051805", "Archipelbuurt en Willemspark"),
    ("WK051806", "Zeeheldenkwartier"),
    ("WK051807", "Statenkwartier"),
    ("WK051808", "Regentessekwartier"),
    ("WK051809", "Valkenboskwartier"),
    ("WK051810", "Bohemen, Meer en Bos"),
)


# --- builders ----------------------------------------------------------------------------


def option(option_id: str, label: str, count: int, n: int, weighted_share: float | None = None) -> OptionCount:
    return OptionCount(option_id, label, count, count / n if n else None, weighted_share)


def priority_question(weighted: bool = True) -> QuestionResult:
    n = sum(PRIORITY_COUNTS)
    options = []
    for index, (label, count) in enumerate(zip(PRIORITY_LABELS, PRIORITY_COUNTS)):
        # Weighting moves every other option up and the rest down by a tenth.
        factor = 1.1 if index % 2 else 0.9
        options.append(option(f"p{index}", label, count, n, count / n * factor if weighted else None))
    return QuestionResult("prioriteit", "single_choice", "Wat moet de gemeente als eerste aanpakken in uw wijk?", n, 4, options)


def own_survey(**changes) -> ClosedSurvey:
    """The organisation's own weighted survey: every question type, one question below the minimum."""
    questions = [
        priority_question(),
        QuestionResult(
            "bomen", "yes_no", "Wilt u meer bomen in uw straat?", 160, 0,
            [option("yes", "Ja", 100, 160, 0.58), option("no", "Nee", 60, 160, 0.42)],
        ),
        QuestionResult(
            "vervoer", "multiple_choice", "Hoe verplaatst u zich door de wijk?", 150, 10,
            [option("fiets", "Fiets", 120, 150, 0.77), option("auto", "Auto", 70, 150, 0.49), option("tram", "Tram of bus", 55, 150, 0.40)],
        ),
        QuestionResult(
            "tevredenheid", "scale", "Hoe tevreden bent u over uw buurt?", 155, 5,
            [option(str(point), str(point), count, 155, count / 155) for point, count in zip(range(1, 6), (5, 15, 40, 60, 35))],
            mean=3.6774, weighted_mean=3.5512,
        ),
        QuestionResult("uren", "number", "Hoeveel uur per week bent u buiten?", 140, 20, mean=11.25, weighted_mean=10.75),
        QuestionResult(
            "toelichting", "text", "Wilt u uw antwoord toelichten?", 40, 120,
            texts=["Meer bankjes bij de vijver graag", "De stoep bij nummer 12 is kapot"],
        ),
        QuestionResult(
            "huisdier", "single_choice", "Welk huisdier heeft u?", 4, 156,
            [option("kat", "Kat (geheim)", 3, 4), option("hond", "Hond (geheim)", 1, 4)],
        ),
    ]
    survey = ClosedSurvey(
        slug="groen-in-de-wijk",
        title="Groen in de wijk",
        requested_by="Gemeente Den Haag",
        own=True,
        closed_at=datetime(2026, 12, 2, 16, 0, tzinfo=UTC),
        invited=400,
        results=SurveyResults("groen-in-de-wijk", "Groen in de wijk", "closed", 160, 150, questions),
        shown=True,
        weighted=True,
        outcome="De gemeente plant in het voorjaar 40 nieuwe bomen.\nDe wijkraad kiest de straten.",
    )
    return replace(survey, **changes)


def partner_survey(**changes) -> ClosedSurvey:
    """A partner's survey that closed later in the week, with weighting that failed."""
    question = QuestionResult(
        "markt", "yes_no", "Moet de weekmarkt op zaterdag blijven?", 64, 0,
        [option("yes", "Ja", 40, 64), option("no", "Nee", 24, 64)],
    )
    survey = ClosedSurvey(
        slug="weekmarkt",
        title="De weekmarkt",
        requested_by="Wijkberaad Segbroek",
        own=False,
        closed_at=datetime(2026, 12, 5, 9, 0, tzinfo=UTC),
        invited=120,
        results=SurveyResults("weekmarkt", "De weekmarkt", "closed", 64, 60, [question]),
        shown=True,
        weighting_problem='Geen enkele deelnemer valt in de categorie "16-24".',
        weighted=False,
    )
    return replace(survey, **changes)


def small_survey() -> ClosedSurvey:
    """A survey with fewer respondents than the minimum group size."""
    question = QuestionResult(
        "parkeren", "yes_no", "Parkeert u in de garage onder het plein?", 6, 0,
        [option("yes", "Ja", 5, 6), option("no", "Nee", 1, 6)],
    )
    return ClosedSurvey(
        slug="parkeergarage",
        title="Parkeergarage Plein",
        requested_by="Gemeente Den Haag",
        own=True,
        closed_at=datetime(2026, 12, 1, 12, 0, tzinfo=UTC),
        invited=50,
        results=SurveyResults("parkeergarage", "Parkeergarage Plein", "closed", 6, 6, [question]),
        shown=False,
    )


def representativeness_report() -> Representativeness:
    """The panel against the population for 4 age bands and 10 districts."""
    ages = [("16-24", 8, 0.148), ("25-44", 410, 0.363), ("45-64", 420, 0.312), ("65+", 362, 0.177)]
    age_known = sum(count for _, count, _ in ages)
    age_rows = [CategoryRow("age", band, band, count, count / age_known, share, count < 10) for band, count, share in ages]
    district_counts = (180, 95, 7, 160, 140, 120, 210, 130, 110, 28)
    district_known = sum(district_counts)
    district_rows = [
        CategoryRow("district", code, name, count, count / district_known, 0.1, count < 10)
        for (code, name), count in zip(DISTRICTS, district_counts)
    ]
    return Representativeness(
        panel_size=1240,
        area="GM0518",
        area_name="'s-Gravenhage",
        source="/etc/chatpanel/den-haag-2019.csv",
        tables=[CharacteristicTable("age", age_rows, 40), CharacteristicTable("district", district_rows, 60)],
        min_group_size=10,
        weighting=("age", "district"),
    )


def rich_digest(locale: str = "nl", **changes) -> Digest:
    """A full week: three closed surveys, a running one, topics, panel figures and representativeness."""
    digest = Digest(
        panel_name="Haags Bewonerspanel",
        organisation=DigestOrganisation("gemeente-den-haag", "Gemeente Den Haag", locale, "panel@denhaag.example"),
        week="2026-W49",
        first_day=date(2026, 11, 30),
        last_day=date(2026, 12, 6),
        closed=[partner_survey(), small_survey(), own_survey()],
        running=[
            RunningSurvey(
                "afvalinzameling", "Afvalinzameling en ondergrondse containers", "Gemeente Den Haag", True,
                datetime(2026, 12, 7, 10, 0, tzinfo=UTC), 300, 48, 41,
            ),
        ],
        new_topics=[
            DigestTopic(12, "Zebrapad bij de Fahrenheitstraat", "Valkenboskwartier", 14, 14, datetime(2026, 12, 3, 8, 0, tzinfo=UTC)),
        ],
        top_topics=[
            DigestTopic(3, "Meer bankjes in het Westbroekpark", "Westbroekpark en Duttendel", 87, 9, datetime(2026, 10, 2, tzinfo=UTC)),
            DigestTopic(12, "Zebrapad bij de Fahrenheitstraat", "Valkenboskwartier", 14, 14, datetime(2026, 12, 3, tzinfo=UTC)),
        ],
        panel=PanelFigures(size=1240, joined=37, left=4, invited=570, responded=230),
        representativeness=representativeness_report(),
        min_group_size=10,
        answers_csv="survey,question,answer\nweekmarkt,dagen,zaterdag\n",
        answer_rows=1,
    )
    return replace(digest, **changes)


def empty_digest(locale: str = "nl") -> Digest:
    return Digest(
        panel_name="Haags Bewonerspanel",
        organisation=DigestOrganisation("gemeente-den-haag", "Gemeente Den Haag", locale, None),
        week="2026-W49",
        first_day=date(2026, 11, 30),
        last_day=date(2026, 12, 6),
    )


def png_size(data: bytes) -> tuple[int, int]:
    """Return (width, height) from a PNG's IHDR chunk."""
    return struct.unpack(">II", data[16:24])


def section(text: str, start: str, end: str) -> str:
    """Return the part of ``text`` from ``start`` up to ``end``."""
    begin = text.index(start)
    return text[begin : text.index(end, begin)]


@pytest.fixture(scope="module")
def dutch():
    """The rich digest rendered in Dutch, shared by the tests that only read it."""
    return render_digest(rich_digest("nl"))


@pytest.fixture(scope="module")
def english():
    return render_digest(rich_digest("en"))


# --- heading, subject, dates -------------------------------------------------------------


def test_subject_names_panel_and_week(dutch, english):
    assert dutch.subject == "Haags Bewonerspanel: weekoverzicht week 49"
    assert english.subject == "Haags Bewonerspanel: weekly digest for week 49"


def test_heading_week_range_dutch(dutch):
    rendered = dutch
    expected = "Week 49, maandag 30 november tot en met zondag 6 december 2026"
    assert expected in rendered.html
    assert expected in rendered.text
    assert "Weekoverzicht voor Gemeente Den Haag" in rendered.html


def test_heading_week_range_english(english):
    rendered = english
    expected = "Week 49, Monday, November 30 to Sunday, December 6, 2026"
    assert expected in rendered.html
    assert expected in " ".join(rendered.text.split())


def test_heading_week_across_new_year_has_both_years():
    digest = replace(empty_digest(), week="2026-W53", first_day=date(2026, 12, 28), last_day=date(2027, 1, 3))
    rendered = render_digest(digest)
    assert "Week 53, maandag 28 december 2026 tot en met zondag 3 januari 2027" in rendered.html


def test_dates_in_full_format(dutch, english):
    nl, en = dutch, english
    assert "Sluit op maandag 7 december 2026." in nl.html
    assert "Gesloten op woensdag 2 december 2026." in nl.html
    assert "Closes on Monday, December 7, 2026." in en.html


def test_dates_in_panel_time_zone():
    # 23:30 UTC on Sunday 6 December is already Monday 7 December in Amsterdam.
    running = replace(rich_digest().running[0], closes_at=datetime(2026, 12, 6, 23, 30, tzinfo=UTC))
    assert "Sluit op maandag 7 december 2026." in render_digest(rich_digest(running=[running])).html
    in_utc = rich_digest(running=[running], timezone="UTC")
    assert "Sluit op zondag 6 december 2026." in render_digest(in_utc).html


# --- closed surveys ----------------------------------------------------------------------


def test_percentages_in_babel_format(dutch, english):
    nl, en = dutch, english
    assert "62,5%" in nl.html
    assert "62,5%" in nl.text
    assert "62.5%" in en.html
    assert "62.5%" in en.text


def test_counts_and_participation(dutch):
    html = dutch.html
    assert "Deelname: 160 van de 400 uitgenodigde inwoners (40,0%)." in html
    assert "Daarvan beantwoordden 150 inwoners alle vragen." in html
    assert "160 antwoorden" in html


def test_weighted_beside_unweighted_labelled(dutch):
    rendered = dutch
    question = section(rendered.html, "Wilt u meer bomen in uw straat?", "Hoe verplaatst u zich")
    assert ">Ongewogen</th>" in question
    assert ">Gewogen</th>" in question
    assert "62,5%" in question
    assert "58,0%" in question
    text = section(rendered.text, "Wilt u meer bomen in uw straat?", "Hoe verplaatst u zich")
    assert re.search(r"Antwoord\s+Aantal\s+Ongewogen\s+Gewogen", text)
    assert re.search(r"Ja\s+100\s+62,5%\s+58,0%", text)


def test_weighted_labels_in_english(english):
    rendered = english
    assert ">Unweighted</th>" in rendered.html
    assert ">Weighted</th>" in rendered.html
    assert "Average: 3.7 unweighted, 3.6 weighted" in rendered.html


def test_weighting_problem_shown_and_unweighted(dutch):
    rendered = dutch
    survey = section(rendered.html, "De weekmarkt", "Lopende vragenlijsten")
    assert "De uitkomsten hieronder zijn ongewogen." in survey
    assert "Geen enkele deelnemer valt in de categorie &#34;16-24&#34;." in survey
    assert ">Ongewogen</th>" in survey
    assert ">Gewogen</th>" not in survey


def test_weighting_problem_hides_weighted_shares():
    # Weighted shares that came with a problem are not shown, even when the survey is marked weighted.
    survey = own_survey(weighting_problem="Te weinig inwoners deden mee om de uitkomsten te wegen.")
    rendered = render_digest(rich_digest(closed=[survey]))
    assert ">Gewogen</th>" not in rendered.html
    assert "58,0%" not in rendered.html
    assert "Gemiddeld: 3,7" in rendered.html
    assert "3,6 gewogen" not in rendered.html


def test_unweighted_survey_says_percentage():
    digest = rich_digest(closed=[partner_survey(weighting_problem=None)])
    html = render_digest(digest).html
    assert ">Percentage</th>" in html
    assert "Ongewogen</th>" not in html


def test_question_below_minimum_shows_no_numbers(dutch):
    rendered = dutch
    sentence = "Minder dan 10 inwoners beantwoordden deze vraag. Daarom tonen we de uitkomsten niet."
    question = section(rendered.html, "Welk huisdier heeft u?", "Wat Gemeente Den Haag")
    assert sentence in question
    assert "geheim" not in rendered.html
    assert "geheim" not in rendered.text
    assert "75,0%" not in question
    assert all("huisdier" not in image.filename for image in rendered.images)


def test_survey_below_minimum_shows_one_sentence(dutch):
    rendered = dutch
    survey = section(rendered.html, "Parkeergarage Plein", "De weekmarkt")
    assert "Te weinig inwoners deden mee om uitkomsten te tonen. We tonen uitkomsten pas vanaf 10 deelnemers" in survey
    assert "Parkeert u in de garage" not in rendered.html
    assert "83,3%" not in rendered.html
    assert all(not image.filename.startswith("parkeergarage") for image in rendered.images)


def test_open_question_counted_not_quoted(dutch):
    rendered = dutch
    assert "40 inwoners antwoordden in eigen woorden. Deze antwoorden citeren we hier niet." in rendered.html
    assert "bankjes bij de vijver" not in rendered.html
    assert "bankjes bij de vijver" not in rendered.text


def test_means_of_scale_and_number(dutch):
    rendered = dutch
    assert "Gemiddeld: 3,7 ongewogen, 3,6 gewogen" in rendered.html
    assert "Gemiddeld: 11,3 ongewogen, 10,8 gewogen" in rendered.html
    assert "Gemiddeld: 3,7 ongewogen, 3,6 gewogen" in rendered.text


def test_multiple_choice_note(dutch):
    html = dutch.html
    assert "Daarom zijn de percentages samen meer dan 100%." in html


def test_outcome_shown(dutch):
    rendered = dutch
    assert "Wat Gemeente Den Haag met de uitkomsten heeft gedaan:" in rendered.html
    assert "De gemeente plant in het voorjaar 40 nieuwe bomen." in rendered.text


def test_closed_order_own_first_then_newest(dutch):
    html = dutch.html
    own_old = html.index("Parkeergarage Plein")
    own_new = html.index("Groen in de wijk")
    partner = html.index("De weekmarkt")
    assert own_new < own_old < partner


def test_title_escaped_in_html():
    hostile = own_survey(title='Bomen <script>alert("x")</script>', requested_by="Wijkraad <b>Oost</b>")
    rendered = render_digest(rich_digest(closed=[hostile]))
    assert "<script" not in rendered.html
    assert "&lt;script&gt;" in rendered.html
    assert "&lt;b&gt;Oost&lt;/b&gt;" in rendered.html
    assert 'Bomen <script>alert("x")</script>' in rendered.text


# --- other sections ----------------------------------------------------------------------


def test_running_survey_progress(dutch):
    rendered = dutch
    expected = "Deelname tot nu toe: 48 van de 300 uitgenodigde inwoners. Alle vragen beantwoord: 41."
    assert expected in rendered.html
    assert expected in " ".join(rendered.text.split())


def test_topics_with_supporters(dutch):
    rendered = dutch
    top = section(rendered.html, "Meest gesteunde onderwerpen", "Het panel")
    assert "Meer bankjes in het Westbroekpark" in top
    assert ">87</td>" in top
    assert ">+9</td>" in top
    assert re.search(r"Meer bankjes in het Westbroekpark\s+87\s+\+9\n\s+\(Westbroekpark en Duttendel\)", rendered.text)


def test_panel_figures(dutch):
    rendered = dutch
    assert re.search(r"Panelleden</td><td class=\"num\">1\.240<", rendered.html)
    assert re.search(r"Respons op de vragenlijsten die deze week sloten\s+40,4%", rendered.text)


def test_empty_sections_say_so():
    rendered = render_digest(empty_digest("nl"))
    for sentence in (
        "Deze week is geen vragenlijst gesloten.",
        "Er staat geen vragenlijst open.",
        "Deze week is geen nieuw onderwerp goedgekeurd.",
        "Er is nog geen onderwerp met steun.",
        "Er is geen referentiebevolking ingesteld.",
    ):
        assert sentence in rendered.html
        assert sentence in rendered.text
    assert rendered.images == []


def test_empty_sections_in_english():
    rendered = render_digest(empty_digest("en"))
    assert "No survey closed this week." in rendered.html
    assert "No survey is open." in rendered.text


def test_footer(dutch):
    rendered = dutch
    footer = rendered.html[rendered.html.index('class="footer"') :]
    assert "zonder namen of telefoonnummers" in footer
    assert "Gewogen uitkomsten zijn schattingen voor alle inwoners." in footer
    assert "Bron: CBS" in footer
    assert "Bron: CBS" in rendered.text
    assert "bijlage" not in render_digest(empty_digest()).html


def test_unknown_locale_falls_back_to_dutch():
    assert "Gesloten vragenlijsten" in render_digest(rich_digest("de")).html


# --- e-mail safety -----------------------------------------------------------------------


def test_html_has_no_scripts_or_external_resources(dutch):
    html = dutch.html
    assert "<script" not in html.lower()
    assert "<link" not in html.lower()
    assert "http://" not in html
    assert "https://" not in html
    assert "max-width:640px" in html
    assert "overflow-wrap: anywhere" in html


def test_plain_text_has_no_html(dutch):
    text = dutch.text
    assert not re.search(r"<[a-z/][^>]*>", text)
    assert "&amp;" not in text
    assert "&#" not in text


def test_plain_text_columns_aligned(dutch):
    text = dutch.text
    table = section(text, "  Antwoord", "\n\n")
    rows = [line for line in table.splitlines() if line.rstrip().endswith("%")]
    assert len(rows) == len(PRIORITY_LABELS)
    assert len({len(line.rstrip()) for line in rows}) == 1


# --- charts ------------------------------------------------------------------------------


def test_one_png_per_chart_question(dutch):
    rendered = dutch
    # Shown choice, yes/no and scale questions: four in the own survey, one in the partner's.
    assert sorted(image.filename for image in rendered.images) == [
        "groen-in-de-wijk-bomen.png",
        "groen-in-de-wijk-prioriteit.png",
        "groen-in-de-wijk-tevredenheid.png",
        "groen-in-de-wijk-vervoer.png",
        "weekmarkt-markt.png",
    ]
    for image in rendered.images:
        assert image.data.startswith(PNG_SIGNATURE)
        assert png_size(image.data)[0] == CHART_WIDTH_PX
        assert f'src="cid:{image.cid}"' in rendered.html
    assert len({image.cid for image in rendered.images}) == len(rendered.images)


def test_image_src_function_used():
    rendered = render_digest(rich_digest("nl"), image_src=lambda image: image.filename)
    assert 'src="groen-in-de-wijk-prioriteit.png"' in rendered.html
    assert "cid:" not in rendered.html


def test_cids_stable_across_renders(dutch):
    first = dutch
    second = render_digest(rich_digest("nl"))
    assert [image.cid for image in first.images] == [image.cid for image in second.images]
    assert [image.data for image in first.images] == [image.data for image in second.images]


def test_chart_bytes_deterministic():
    question = priority_question()
    first = bar_chart_png(question, locale="nl", weighted=True)
    assert bar_chart_png(question, locale="nl", weighted=True) == first
    assert bar_chart_png(question, locale="nl", weighted=False) != first
    assert b"tEXt" not in first
    assert b"tIME" not in first


def test_chart_grows_with_options():
    ten = bar_chart_png(priority_question(), locale="nl", weighted=False)
    two = bar_chart_png(own_survey().results.questions[1], locale="nl", weighted=False)
    assert png_size(ten)[1] > 2 * png_size(two)[1]


def test_chart_without_options_rejected():
    empty = QuestionResult("leeg", "single_choice", "Leeg?", 0, 0, [])
    with pytest.raises(ValueError, match="leeg"):
        bar_chart_png(empty, locale="nl", weighted=False)


# --- representativeness ------------------------------------------------------------------


def test_representativeness_in_digest(dutch):
    rendered = dutch
    panel = rendered.html[rendered.html.index("Het panel") :]
    assert "Panelleden vergeleken met alle inwoners van &#39;s-Gravenhage." in panel
    assert "Westbroekpark en Duttendel" in panel
    assert "16-24 <span class=\"mark\"" in panel
    assert "Minder dan 10 panelleden in deze groep." in panel
    assert "Gewogen uitkomsten corrigeren voor verschillen in leeftijd en wijk." in panel


def test_report_text_aligned_with_marks():
    text = render_report_text(representativeness_report(), locale="nl")
    age = section(text, "Leeftijd", "\n\n")
    assert re.search(r"16-24 \*\s+8\s+0,7%\s+14,8%\s+-14,1", age)
    assert re.search(r"65\+\s+362\s+30,2%\s+17,7%\s+\+12,5", age)
    assert re.search(r"Onbekend\s+40\s+-\s+-\s+-", age)
    rows = [line for line in age.splitlines()[2:]]
    assert len({len(line) for line in rows}) == 1
    district = section(text, "Wijk", "\n\n")
    assert "Westbroekpark en Duttendel *" in district
    assert "1.240 panelleden" in text
    assert "Bron: CBS" in text


def test_report_text_in_english():
    text = render_report_text(representativeness_report(), locale="en")
    assert re.search(r"Age\s+Members\s+Panel\s+Population\s+Difference", text)
    assert "1,240 panel members" in text
    assert "Source: CBS" in text


def test_report_html_is_full_page():
    html = render_report_html(representativeness_report(), locale="nl", panel_name="Haags <Bewonerspanel>")
    assert html.startswith("<!DOCTYPE html>")
    assert "<title>Representativiteit van Haags &lt;Bewonerspanel&gt;</title>" in html
    assert html.count('<table class="data rep"') == 2
    assert html.rstrip().endswith("</html>")


def test_report_credits_file_without_cbs_codes():
    report = replace(representativeness_report(), area="DH", source="/srv/panel/bevolking-2025.csv")
    html = render_report_html(report, locale="nl", panel_name="Panel")
    assert "Bron van de bevolkingscijfers: bevolking-2025.csv" in html
    assert "/srv/panel" not in html
    assert "CBS" not in html


# --- plain-text tables -------------------------------------------------------------------


def test_text_table_wraps_first_column():
    table = text_table(["Naam", "Aantal"], [["Een heel lange naam die niet past", "7"], ["Kort", "12"]], first_width=12)
    assert table.splitlines() == [
        "Naam          Aantal",
        "------------  ------",
        "Een heel           7",
        "lange naam",
        "die niet",
        "past",
        "Kort              12",
    ]


def test_text_table_rejects_ragged_rows():
    with pytest.raises(ValueError, match="expected 2"):
        text_table(["Naam", "Aantal"], [["Kort"]])
