"""Tests for bot.flows.loader: the survey file format, its validation and the stored form."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import pytest

from bot.flows.loader import (
    STORED_FILENAME,
    SurveyError,
    SurveyValidationError,
    load_survey_file,
    parse_survey_text,
    survey_from_source,
)
from bot.flows.model import Condition, QuestionType

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "surveys" / "groen-in-de-wijk.yaml"
FORMAT_DOC = ROOT / "docs" / "survey-format.md"

# Lines 1 to 6. The first question starts on line 7.
HEADER = """\
id: test-survey
title: Test
requested_by: Gemeente Test
intro: Hallo
outro: Dag
questions:
"""

# Lines 7 to 12.
CHOICE_QUESTION = """\
  - id: visits
    type: single_choice
    text: Hoe vaak?
    options:
      - {id: daily, label: Elke dag}
      - {id: weekly, label: Elke week}
"""

VALID = HEADER + CHOICE_QUESTION

# The characters of the GSM 03.38 basic set, without the escape and line break codes.
GSM7_CHARACTERS = set(
    "@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)


def errors_of(text: str) -> list[SurveyError]:
    with pytest.raises(SurveyValidationError) as raised:
        parse_survey_text(text, "test.yaml")
    return raised.value.errors


def only_error(text: str) -> SurveyError:
    errors = errors_of(text)
    assert len(errors) == 1, "\n".join(map(str, errors))
    return errors[0]


def question(body: str) -> str:
    """Return HEADER with one question whose keys are ``body``, starting on line 7."""
    lines = body.strip("\n").splitlines()
    return HEADER + "  - " + lines[0] + "\n" + "".join(f"    {line}\n" for line in lines[1:])


def options(count: int) -> str:
    return "options:\n" + "".join(f"  - {{id: o{index}, label: Optie {index}}}\n" for index in range(count))


def all_texts(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for item in value.values() for text in all_texts(item)]
    if isinstance(value, list):
        return [text for item in value for text in all_texts(item)]
    return []


# The example survey.


def test_example_file_loads() -> None:
    survey = load_survey_file(EXAMPLE)
    assert survey.id == "groen-in-de-wijk"


def test_example_uses_every_type() -> None:
    survey = load_survey_file(EXAMPLE)
    assert {question.type for question in survey.questions} == set(QuestionType)


def test_example_has_optional_question() -> None:
    survey = load_survey_file(EXAMPLE)
    assert any(question.optional for question in survey.questions)


def test_example_has_show_if() -> None:
    survey = load_survey_file(EXAMPLE)
    assert survey.question("help_idea").show_if == Condition("help_out", ("yes",))


def test_example_has_dutch_and_english() -> None:
    survey = load_survey_file(EXAMPLE)
    texts = [survey.title, survey.requested_by, survey.intro, survey.outro]
    texts += [question.text for question in survey.questions]
    texts += [option.label for question in survey.questions for option in question.options]
    assert all(set(text) == {"nl", "en"} for text in texts)


def test_example_texts_are_gsm7() -> None:
    survey = load_survey_file(EXAMPLE)
    for text in all_texts(survey.source):
        assert set(text) <= GSM7_CHARACTERS, text


def test_docs_example_matches_file() -> None:
    blocks = re.findall(r"```yaml\n(.*?)```", FORMAT_DOC.read_text(encoding="utf-8"), re.DOTALL)
    assert blocks[-1] == EXAMPLE.read_text(encoding="utf-8")


# The model built from a file.


def test_plain_text_uses_default_locale() -> None:
    survey = parse_survey_text(VALID, "test.yaml")
    assert survey.title == {"nl": "Test"}


def test_survey_version_default() -> None:
    survey = parse_survey_text(VALID, "test.yaml")
    assert survey.version == 1


def test_survey_locale_default() -> None:
    survey = parse_survey_text(VALID, "test.yaml")
    assert survey.default_locale == "nl"


def test_texts_are_trimmed() -> None:
    survey = parse_survey_text(VALID.replace("intro: Hallo", 'intro: "  Hallo\n"'), "test.yaml")
    assert survey.intro == {"nl": "Hallo"}


def test_other_default_locale() -> None:
    text = VALID.replace("id: test-survey\n", "id: test-survey\ndefault_locale: en\n")
    survey = parse_survey_text(text, "test.yaml")
    assert survey.outro == {"en": "Dag"}


def test_text_question_default_length() -> None:
    survey = parse_survey_text(question("id: remarks\ntype: text\ntext: Opmerking?"), "test.yaml")
    assert survey.questions[0].max_length == 500


def test_multiple_choice_defaults() -> None:
    survey = parse_survey_text(question("id: pick\ntype: multiple_choice\ntext: Kies\n" + options(3)), "test.yaml")
    assert survey.questions[0].min_choices == 1
    assert survey.questions[0].max_choices is None


def test_scale_bounds_are_decimals() -> None:
    survey = parse_survey_text(question("id: score\ntype: scale\ntext: Cijfer?\nmin: 1\nmax: 5"), "test.yaml")
    assert survey.questions[0].min == Decimal(1)
    assert isinstance(survey.questions[0].max, Decimal)


def test_number_bounds_keep_fractions() -> None:
    text = question("id: km\ntype: number\ntext: Hoe ver?\nmin: 0.5\nmax: 10\ndecimals: 1")
    survey = parse_survey_text(text, "test.yaml")
    assert survey.questions[0].min == Decimal("0.5")


def test_norwegian_locale_key() -> None:
    survey = parse_survey_text(VALID.replace("title: Test", "title: {nl: Test, no: Test}"), "test.yaml")
    assert survey.title == {"nl": "Test", "no": "Test"}


def test_merge_keys_are_resolved() -> None:
    text = HEADER + "  - &first {id: a, type: yes_no, text: Ja}\n  - <<: *first\n    id: b\n"
    survey = parse_survey_text(text, "test.yaml")
    assert [question.id for question in survey.questions] == ["a", "b"]


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + VALID.encode())
    assert load_survey_file(path).id == "test-survey"


# The stored form.


def test_source_round_trip() -> None:
    survey = load_survey_file(EXAMPLE)
    assert survey_from_source(survey.source) == survey


def test_source_round_trip_through_json() -> None:
    survey = load_survey_file(EXAMPLE)
    stored = json.loads(json.dumps(survey.source))
    assert survey_from_source(stored) == survey


def test_source_keeps_ints() -> None:
    survey = load_survey_file(EXAMPLE)
    scale = survey.source["questions"][1]
    assert isinstance(scale["max"], int)


def test_source_converts_dates() -> None:
    # Unquoted, 2024-05-01 is a YAML timestamp.
    text = VALID.replace("intro: Hallo", "intro: 2024-05-01")
    survey = parse_survey_text(text, "test.yaml")
    assert survey.source["intro"] == "2024-05-01"


def test_source_converts_decimals() -> None:
    source = load_survey_file(EXAMPLE).source
    stored = json.loads(json.dumps(source))
    stored["questions"][3]["max"] = Decimal("120")
    assert survey_from_source(stored).source["questions"][3]["max"] == 120


def test_stored_errors_have_no_line() -> None:
    source = json.loads(json.dumps(load_survey_file(EXAMPLE).source))
    source["questions"][0]["optinal"] = True
    with pytest.raises(SurveyValidationError) as raised:
        survey_from_source(source)
    error = raised.value.errors[0]
    assert error.file == STORED_FILENAME
    assert error.line is None
    assert error.field == "questions[0].optinal"


def test_stored_non_mapping_rejected() -> None:
    with pytest.raises(SurveyValidationError) as raised:
        survey_from_source(["not", "a", "survey"])  # type: ignore[arg-type]
    assert "top level must be a mapping" in raised.value.errors[0].message


# Error objects and messages.


def test_error_str_format() -> None:
    error = SurveyError("groen.yaml", 14, "questions[2].options", "a single_choice question needs at least 2 options")
    assert str(error) == "groen.yaml:14: questions[2].options: a single_choice question needs at least 2 options"


def test_error_str_without_line() -> None:
    error = SurveyError("<stored>", None, "id", "missing required key")
    assert str(error) == "<stored>: id: missing required key"


def test_exception_lists_errors() -> None:
    errors = [SurveyError("a.yaml", 1, "id", "first"), SurveyError("a.yaml", 2, "title", "second")]
    assert str(SurveyValidationError(errors)) == "a.yaml:1: id: first\na.yaml:2: title: second"


# Broken surveys: each case has exactly one error, with this line, field and message part.

BROKEN_SURVEYS = [
    ("missing title", VALID.replace("title: Test\n", ""), 1, "title", "missing required key"),
    ("unknown top key", VALID + "colour: green\n", 13, "colour", "unknown key 'colour'"),
    ("survey id format", VALID.replace("id: test-survey", "id: Test Survey"), 1, "id", "invalid id 'Test Survey'"),
    ("survey id too short", VALID.replace("id: test-survey", "id: ab"), 1, "id", "invalid id 'ab'"),
    ("version zero", VALID.replace("title:", "version: 0\ntitle:"), 2, "version", "at least 1"),
    ("version boolean", VALID.replace("title:", "version: yes\ntitle:"), 2, "version", "boolean true"),
    ("default locale invalid", VALID.replace("title:", "default_locale: NL\ntitle:"), 2, "default_locale", "invalid locale 'NL'"),
    ("default locale text missing", VALID.replace("title: Test", "title: {en: Test}"), 2, "title", "default locale 'nl'"),
    ("empty text", VALID.replace("intro: Hallo", 'intro: "   "'), 4, "intro", "must not be empty"),
    ("locale key uppercase", VALID.replace("outro: Dag", "outro: {nl: Dag, EN: Bye}"), 5, "outro.EN", "invalid locale 'EN'"),
    ("text is a list", VALID.replace("outro: Dag", "outro: [Dag]"), 5, "outro", "not a list"),
    ("questions not a list", HEADER.replace("questions:", "questions: park"), 6, "questions", "must be a list"),
    ("no questions", HEADER.replace("questions:", "questions: []"), 6, "questions", "1 to 50 questions"),
    (
        "too many questions",
        HEADER + "".join(f"  - {{id: q{index}, type: yes_no, text: Ja}}\n" for index in range(51)),
        6,
        "questions",
        "this one has 51",
    ),
    ("question not a mapping", HEADER + "  - just text\n", 7, "questions[0]", "must be a mapping"),
    ("question key typo", VALID + "    optinal: true\n", 13, "questions[0].optinal", "did you mean 'optional'?"),
    ("question type missing", question("id: a\ntext: Ja?"), 7, "questions[0].type", "missing required key"),
    ("question type unknown", question("id: a\ntype: ranking\ntext: Ja?"), 8, "questions[0].type", "unknown question type 'ranking'"),
    ("question id format", VALID.replace("id: visits", "id: Visits"), 7, "questions[0].id", "invalid id 'Visits'"),
    ("question id too long", VALID.replace("id: visits", "id: " + "a" * 33), 7, "questions[0].id", "invalid id"),
    (
        "duplicate question id",
        VALID + "  - {id: visits, type: yes_no, text: Ja}\n",
        13,
        "questions[1].id",
        "duplicate question id 'visits'",
    ),
    ("question text missing", question("id: a\ntype: yes_no"), 7, "questions[0].text", "missing required key"),
    (
        "question text too long",
        question(f"id: a\ntype: yes_no\ntext: {'x' * 1001}"),
        9,
        "questions[0].text",
        "1001 characters long",
    ),
    ("optional not boolean", VALID + '    optional: "no"\n', 13, "questions[0].optional", "true or false"),
    (
        "duplicate option id",
        VALID.replace("id: weekly", "id: daily"),
        12,
        "questions[0].options[1].id",
        "duplicate option id 'daily'",
    ),
    (
        "option id boolean",
        VALID.replace("id: weekly", "id: no"),
        12,
        "questions[0].options[1].id",
        "boolean false",
    ),
    ("option id format", VALID.replace("id: weekly", "id: every-week"), 12, "questions[0].options[1].id", "invalid id"),
    ("option label missing", VALID.replace(", label: Elke week", ""), 12, "questions[0].options[1].label", "missing required key"),
    (
        "option label too long",
        VALID.replace("label: Elke week", "label: " + "x" * 101),
        12,
        "questions[0].options[1].label",
        "the maximum is 100",
    ),
    (
        "option unknown key",
        VALID.replace("label: Elke week", "label: Elke week, lable: x"),
        12,
        "questions[0].options[1].lable",
        "unknown key 'lable'",
    ),
    ("too few options", question("id: a\ntype: single_choice\ntext: Kies\n" + options(1)), 10, "questions[0].options", "needs at least 2 options"),
    ("too many options", question("id: a\ntype: single_choice\ntext: Kies\n" + options(21)), 10, "questions[0].options", "at most 20 options"),
    ("options missing", question("id: a\ntype: multiple_choice\ntext: Kies"), 7, "questions[0].options", "missing required key"),
    (
        "options on scale",
        question("id: a\ntype: scale\ntext: Cijfer\nmin: 1\nmax: 5\n" + options(2)),
        12,
        "questions[0].options",
        "not allowed on a scale question",
    ),
    (
        "max_length on yes_no",
        question("id: a\ntype: yes_no\ntext: Ja?\nmax_length: 10"),
        10,
        "questions[0].max_length",
        "not allowed on a yes_no question",
    ),
    (
        "min_choices on single_choice",
        question("id: a\ntype: single_choice\ntext: Kies\nmin_choices: 1\n" + options(2)),
        10,
        "questions[0].min_choices",
        "only on multiple_choice questions",
    ),
    (
        "min_choices above options",
        question("id: a\ntype: multiple_choice\ntext: Kies\nmin_choices: 4\n" + options(3)),
        10,
        "questions[0].min_choices",
        "only 3 options",
    ),
    (
        "max_choices below min_choices",
        question("id: a\ntype: multiple_choice\ntext: Kies\nmin_choices: 3\nmax_choices: 2\n" + options(3)),
        11,
        "questions[0].max_choices",
        "at least min_choices (3)",
    ),
    (
        "max_choices zero",
        question("id: a\ntype: multiple_choice\ntext: Kies\nmax_choices: 0\n" + options(3)),
        10,
        "questions[0].max_choices",
        "at least 1",
    ),
    ("scale max missing", question("id: a\ntype: scale\ntext: Cijfer\nmin: 1"), 7, "questions[0].max", "missing required key"),
    ("scale min fraction", question("id: a\ntype: scale\ntext: Cijfer\nmin: 1.5\nmax: 5"), 10, "questions[0].min", "whole number"),
    ("scale min above max", question("id: a\ntype: scale\ntext: Cijfer\nmin: 5\nmax: 1"), 11, "questions[0].max", "greater than min (5)"),
    ("scale equal bounds", question("id: a\ntype: scale\ntext: Cijfer\nmin: 3\nmax: 3"), 11, "questions[0].max", "greater than min (3)"),
    ("scale too many points", question("id: a\ntype: scale\ntext: Cijfer\nmin: 0\nmax: 11"), 11, "questions[0].max", "at most 11 points"),
    (
        "scale label empty",
        question('id: a\ntype: scale\ntext: Cijfer\nmin: 1\nmax: 5\nmin_label: ""'),
        12,
        "questions[0].min_label",
        "must not be empty",
    ),
    ("number min above max", question("id: a\ntype: number\ntext: Hoeveel?\nmin: 10\nmax: 1"), 11, "questions[0].max", "at least min (10)"),
    ("number bound is text", question("id: a\ntype: number\ntext: Hoeveel?\nmax: veel"), 10, "questions[0].max", "must be a number"),
    ("number exponent", question("id: a\ntype: number\ntext: Hoeveel?\nmax: 1e3"), 10, "questions[0].max", "without an exponent"),
    ("number infinite", question("id: a\ntype: number\ntext: Hoeveel?\nmax: .inf"), 10, "questions[0].max", "finite number"),
    ("decimals too many", question("id: a\ntype: number\ntext: Hoeveel?\ndecimals: 5"), 10, "questions[0].decimals", "from 0 to 4"),
    (
        "bound finer than decimals",
        question("id: a\ntype: number\ntext: Hoeveel?\nmin: 0.25\ndecimals: 1"),
        10,
        "questions[0].min",
        "2 digits after the decimal point",
    ),
    ("max_length zero", question("id: a\ntype: text\ntext: Wat?\nmax_length: 0"), 10, "questions[0].max_length", "from 1 to 1000"),
    ("max_length too big", question("id: a\ntype: text\ntext: Wat?\nmax_length: 1001"), 10, "questions[0].max_length", "from 1 to 1000"),
    ("duplicate yaml key", VALID.replace("intro: Hallo\n", "intro: Hallo\nintro: Hoi\n"), 5, "intro", "line 4 already sets it"),
    ("unsupported tag", VALID.replace("intro: Hallo", "intro: !!set {a}"), 4, "intro", "unsupported YAML tag"),
    ("top level list", "- id: test\n", 1, "", "top level must be a mapping"),
    ("top level text", "just some text\n", 1, "", "top level must be a mapping"),
]


@pytest.mark.parametrize(
    ("text", "line", "field", "message_part"),
    [case[1:] for case in BROKEN_SURVEYS],
    ids=[case[0] for case in BROKEN_SURVEYS],
)
def test_broken_survey_error(text: str, line: int, field: str, message_part: str) -> None:
    error = only_error(text)
    assert error.line == line, str(error)
    assert error.field == field, str(error)
    assert message_part in error.message, str(error)


def test_broken_survey_file_name() -> None:
    error = only_error(VALID.replace("title: Test\n", ""))
    assert error.file == "test.yaml"


# Several errors in one run.

SEVERAL_ERRORS = """\
id: Bad Id
title: {en: Test}
requested_by: Gemeente Test
intro: Hallo
outro: Dag
questions:
  - id: visits
    type: single_choice
    text: Hoe vaak?
    optinal: true
    options:
      - {id: daily, label: Elke dag}
  - id: score
    type: scale
    text: Cijfer?
    min: 1
    max: 20
  - id: km
    type: number
    text: Hoe ver?
    min: 10
    max: 1
"""


def test_all_errors_reported() -> None:
    errors = errors_of(SEVERAL_ERRORS)
    assert [(error.line, error.field) for error in errors] == [
        (1, "id"),
        (2, "title"),
        (10, "questions[0].optinal"),
        (11, "questions[0].options"),
        (17, "questions[1].max"),
        (22, "questions[2].max"),
    ]


def test_exception_str_has_every_error() -> None:
    with pytest.raises(SurveyValidationError) as raised:
        parse_survey_text(SEVERAL_ERRORS, "several.yaml")
    assert len(str(raised.value).splitlines()) == 6


def test_exception_str_line_format() -> None:
    with pytest.raises(SurveyValidationError) as raised:
        parse_survey_text(SEVERAL_ERRORS, "several.yaml")
    assert str(raised.value).splitlines()[0].startswith("several.yaml:1: id: invalid id 'Bad Id'")


def test_stored_survey_reports_all_errors() -> None:
    source = json.loads(json.dumps(load_survey_file(EXAMPLE).source))
    source["id"] = "X"
    source["questions"][1]["max"] = 50
    with pytest.raises(SurveyValidationError) as raised:
        survey_from_source(source)
    assert [error.field for error in raised.value.errors] == ["id", "questions[1].max"]


# Files that are not YAML surveys at all.


def test_invalid_yaml_line() -> None:
    error = only_error(VALID.replace("intro: Hallo", "intro: [Hallo"))
    assert error.line == 5


def test_invalid_yaml_message() -> None:
    error = only_error(VALID.replace("intro: Hallo", "intro: [Hallo"))
    assert error.message.startswith("invalid YAML: ")


def test_invalid_yaml_bad_indent() -> None:
    error = only_error(VALID.replace("    text: Hoe vaak?", "   text: Hoe vaak?"))
    assert error.line == 9


def test_two_documents_rejected() -> None:
    error = only_error(VALID + "---\nid: other\n")
    assert "single document" in error.message


def test_control_character_rejected() -> None:
    error = only_error(VALID.replace("intro: Hallo", "intro: Hal\x07lo"))
    assert error.line == 4


def test_empty_file_rejected() -> None:
    error = only_error("")
    assert "the file is empty" in error.message


def test_comment_only_file_rejected() -> None:
    error = only_error("# nothing here yet\n")
    assert "the file is empty" in error.message


def test_non_utf8_file_rejected(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(VALID.replace("intro: Hallo", "intro: Caf\xe9").encode("latin-1"))
    with pytest.raises(SurveyValidationError) as raised:
        load_survey_file(path)
    error = raised.value.errors[0]
    assert error.line == 4
    assert "not valid UTF-8" in error.message


def test_missing_file_rejected(tmp_path: Path) -> None:
    with pytest.raises(SurveyValidationError) as raised:
        load_survey_file(tmp_path / "missing.yaml")
    assert "could not read the file" in raised.value.errors[0].message


def test_recursive_alias_rejected() -> None:
    errors = errors_of(VALID + "extra: &loop [*loop]\n")
    assert any("refers to a value that contains it" in error.message for error in errors)


def test_alias_bomb_rejected() -> None:
    levels = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for level in range(1, 6):
        previous = f"*a{level - 1}"
        levels.append(f"a{level}: &a{level} [{', '.join([previous] * 10)}]")
    error = only_error("\n".join(levels) + "\n")
    assert "more than 100000 values" in error.message


# show_if: the order of questions.

YES_NO_FIRST = HEADER + "  - {id: garden, type: yes_no, text: Tuin}\n"


def test_show_if_later_question() -> None:
    text = HEADER + (
        "  - {id: first, type: text, text: Wat, show_if: {question: garden, equals: yes}}\n"
        "  - {id: garden, type: yes_no, text: Tuin}\n"
    )
    error = only_error(text)
    assert error.line == 7
    assert error.field == "questions[0].show_if.question"


def test_show_if_later_question_message() -> None:
    text = HEADER + (
        "  - {id: first, type: text, text: Wat, show_if: {question: garden, equals: yes}}\n"
        "  - {id: garden, type: yes_no, text: Tuin}\n"
    )
    assert "comes later in the survey" in only_error(text).message


def test_show_if_own_question() -> None:
    text = HEADER + "  - {id: garden, type: yes_no, text: Tuin, show_if: {question: garden, equals: yes}}\n"
    assert "cannot depend on itself" in only_error(text).message


def test_show_if_unknown_question() -> None:
    text = YES_NO_FIRST + "  - {id: size, type: text, text: Hoe groot, show_if: {question: gardn, equals: yes}}\n"
    error = only_error(text)
    assert "no question has the id 'gardn'" in error.message


def test_show_if_text_question() -> None:
    text = HEADER + (
        "  - {id: name, type: text, text: Naam}\n"
        "  - {id: size, type: yes_no, text: Groot, show_if: {question: name, equals: Piet}}\n"
    )
    error = only_error(text)
    assert "is a text question" in error.message


def test_show_if_number_question() -> None:
    text = HEADER + (
        "  - {id: km, type: number, text: Hoe ver}\n"
        "  - {id: size, type: yes_no, text: Groot, show_if: {question: km, equals: 3}}\n"
    )
    assert "is a number question" in only_error(text).message


# show_if: the shape of the condition and its values.


def test_show_if_equals_and_in() -> None:
    text = YES_NO_FIRST + "  - {id: size, type: text, text: Wat, show_if: {question: garden, equals: yes, in: [no]}}\n"
    assert "not both" in only_error(text).message


def test_show_if_without_value() -> None:
    text = YES_NO_FIRST + "  - {id: size, type: text, text: Wat, show_if: {question: garden}}\n"
    assert "missing equals" in only_error(text).message


def test_show_if_question_missing() -> None:
    text = YES_NO_FIRST + "  - {id: size, type: text, text: Wat, show_if: {equals: yes}}\n"
    assert only_error(text).field == "questions[1].show_if.question"


def test_show_if_unknown_key() -> None:
    text = YES_NO_FIRST + "  - {id: size, type: text, text: Wat, show_if: {question: garden, equal: yes}}\n"
    errors = errors_of(text)
    assert "unknown key 'equal' (did you mean 'equals'?)" in [error.message for error in errors]


def test_show_if_empty_in() -> None:
    text = YES_NO_FIRST + "  - {id: size, type: text, text: Wat, show_if: {question: garden, in: []}}\n"
    assert "at least one value" in only_error(text).message


def test_show_if_equals_list() -> None:
    text = YES_NO_FIRST + "  - {id: size, type: text, text: Wat, show_if: {question: garden, equals: [yes]}}\n"
    assert "use in for a list" in only_error(text).message


def test_show_if_unknown_option() -> None:
    text = VALID + "  - {id: why, type: text, text: Waarom, show_if: {question: visits, in: [daily, hourly]}}\n"
    error = only_error(text)
    assert error.field == "questions[1].show_if.in[1]"
    assert "no option 'hourly'" in error.message


def test_show_if_option_values() -> None:
    text = VALID + "  - {id: why, type: text, text: Waarom, show_if: {question: visits, in: [daily, weekly]}}\n"
    survey = parse_survey_text(text, "test.yaml")
    assert survey.questions[1].show_if == Condition("visits", ("daily", "weekly"))


def test_show_if_option_boolean_rejected() -> None:
    text = VALID + "  - {id: why, type: text, text: Waarom, show_if: {question: visits, equals: no}}\n"
    assert "put the value in quotes" in only_error(text).message


def test_show_if_scale_values_are_ints() -> None:
    text = HEADER + (
        "  - {id: score, type: scale, text: Cijfer, min: 1, max: 5}\n"
        "  - {id: why, type: text, text: Waarom, show_if: {question: score, in: [1, 2]}}\n"
    )
    survey = parse_survey_text(text, "test.yaml")
    assert survey.questions[1].show_if == Condition("score", (1, 2))


def test_show_if_scale_point_outside() -> None:
    text = HEADER + (
        "  - {id: score, type: scale, text: Cijfer, min: 1, max: 5}\n"
        "  - {id: why, type: text, text: Waarom, show_if: {question: score, equals: 6}}\n"
    )
    assert "not on the scale" in only_error(text).message


def test_show_if_scale_point_text() -> None:
    text = HEADER + (
        "  - {id: score, type: scale, text: Cijfer, min: 1, max: 5}\n"
        "  - {id: why, type: text, text: Waarom, show_if: {question: score, equals: '3'}}\n"
    )
    assert "whole number on the scale" in only_error(text).message


# show_if on yes_no questions: YAML 1.1 reads unquoted yes and no as booleans.


@pytest.mark.parametrize(
    ("condition", "values"),
    [
        ("equals: yes", ("yes",)),
        ("equals: no", ("no",)),
        ("equals: true", ("yes",)),
        ("equals: off", ("no",)),
        ('equals: "yes"', ("yes",)),
        ("in: [yes, no]", ("yes", "no")),
        ("in: ['no']", ("no",)),
    ],
)
def test_yes_no_condition_values(condition: str, values: tuple[str, ...]) -> None:
    text = YES_NO_FIRST + f"  - {{id: size, type: text, text: Wat, show_if: {{question: garden, {condition}}}}}\n"
    survey = parse_survey_text(text, "test.yaml")
    assert survey.questions[1].show_if == Condition("garden", values)


def test_yes_no_condition_other_text() -> None:
    text = YES_NO_FIRST + "  - {id: size, type: text, text: Wat, show_if: {question: garden, equals: maybe}}\n"
    assert "must be yes or no" in only_error(text).message


def test_yes_no_condition_holds() -> None:
    text = YES_NO_FIRST + "  - {id: size, type: text, text: Wat, show_if: {question: garden, equals: yes}}\n"
    condition = parse_survey_text(text, "test.yaml").questions[1].show_if
    assert condition is not None
    assert condition.holds({"garden": "yes"})
