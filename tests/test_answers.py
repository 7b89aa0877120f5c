"""parse_answer on replies as residents type them, per question type."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.flows.answers import DEFAULT_MAX_TEXT_LENGTH, Accepted, Hint, Rejected, parse_answer
from bot.flows.model import NO, YES, Option, Question, QuestionType


def make_options(*options: tuple[str, str, str]) -> tuple[Option, ...]:
    return tuple(Option(id=option_id, label={"nl": dutch, "en": english}) for option_id, dutch, english in options)


TRANSPORT = make_options(
    ("bike", "Fiets", "Bicycle"),
    ("car", "Auto", "Car"),
    ("transit", "Openbaar vervoer", "Public transport"),
    ("walk", "Lopen", "Walking"),
    ("scooter", "Scooter", "Scooter"),
)

SINGLE = Question(id="transport", type=QuestionType.SINGLE_CHOICE, text={"nl": "Hoe ga je naar je werk?"}, options=TRANSPORT)

PLACES = make_options(
    ("cafe", "Café", "Café"),
    ("park", "Park", "Park"),
    ("parking", "Parkeerplaats", "Car park"),
    ("library", "Bibliotheek", "Library"),
)

SINGLE_PLACES = Question(id="place", type=QuestionType.SINGLE_CHOICE, text={"nl": "Waar?"}, options=PLACES)

MULTIPLE = Question(
    id="transports",
    type=QuestionType.MULTIPLE_CHOICE,
    text={"nl": "Welke vervoermiddelen gebruik je?"},
    options=TRANSPORT,
)

MULTIPLE_LIMITED = Question(
    id="priorities",
    type=QuestionType.MULTIPLE_CHOICE,
    text={"nl": "Kies twee of drie"},
    options=TRANSPORT,
    min_choices=2,
    max_choices=3,
)

YES_NO = Question(id="park", type=QuestionType.YES_NO, text={"nl": "Ga je wel eens naar het park?"})

SCALE = Question(
    id="satisfaction",
    type=QuestionType.SCALE,
    text={"nl": "Hoe tevreden ben je?"},
    min=Decimal(1),
    max=Decimal(5),
)

GRADE = Question(id="grade", type=QuestionType.SCALE, text={"nl": "Welk cijfer?"}, min=Decimal(1), max=Decimal(10))

NUMBER = Question(
    id="distance",
    type=QuestionType.NUMBER,
    text={"nl": "Hoeveel km?"},
    min=Decimal(-10),
    max=Decimal(100_000),
    decimals=1,
)

WHOLE_NUMBER = Question(id="children", type=QuestionType.NUMBER, text={"nl": "Hoeveel?"}, min=Decimal(0), decimals=0)

TEXT = Question(id="remark", type=QuestionType.TEXT, text={"nl": "Wat wil je kwijt?"})

SHORT_TEXT = Question(id="word", type=QuestionType.TEXT, text={"nl": "Eén woord?"}, max_length=10)


def rejected(hint: Hint, **params: object) -> Rejected:
    return Rejected(hint, params)


# Single choice

CHOOSE_ONE_OF_5 = rejected(Hint.CHOOSE_ONE, count=5)

SINGLE_CHOICE_REPLIES = [
    # Option numbers
    ("1", "bike"),
    (" 1 ", "bike"),
    ("1.", "bike"),
    ("1)", "bike"),
    ("(1)", "bike"),
    ("#1", "bike"),
    ("# 1", "bike"),
    ("3", "transit"),
    ("5", "scooter"),
    ("05", "scooter"),
    ("1️⃣", "bike"),
    ("１", "bike"),
    ("٣", "transit"),
    ("optie 2", "car"),
    ("Option 2", "car"),
    ("nr. 2", "car"),
    ("1!", "bike"),
    # Option letters
    ("a", "bike"),
    ("A", "bike"),
    ("B)", "car"),
    ("c.", "transit"),
    ("e", "scooter"),
    # Option ids
    ("bike", "bike"),
    ("TRANSIT", "transit"),
    # Labels in any locale, case and punctuation ignored
    ("Fiets", "bike"),
    ("fiets", "bike"),
    ("FIETS", "bike"),
    ("Fiets!", "bike"),
    ("  fiets.  ", "bike"),
    ("“Fiets”", "bike"),
    ("Bicycle", "bike"),
    ("auto", "car"),
    ("Car", "car"),
    ("openbaar vervoer", "transit"),
    ("Openbaar  Vervoer", "transit"),
    ("public transport", "transit"),
    # Label prefixes of at least three characters
    ("fie", "bike"),
    ("Openbaar", "transit"),
    ("ope", "transit"),
    ("pub", "transit"),
    ("scoot", "scooter"),
    # A line copied from the question
    ("1. Fiets", "bike"),
    ("1) fiets", "bike"),
    ("c) openbaar vervoer", "transit"),
]


@pytest.mark.parametrize(("text", "expected"), SINGLE_CHOICE_REPLIES)
def test_single_choice_accepts(text, expected):
    assert parse_answer(SINGLE, text) == Accepted(expected)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "0",
        "6",
        "-1",
        "99999999999999999999",
        "f",
        "fi",
        "z",
        "vliegtuig",
        "fietsen naar het werk",
        "1. Auto",
        "ik weet het niet",
        "👍",
        "\x00",
    ],
)
def test_single_choice_rejects(text):
    assert parse_answer(SINGLE, text) == CHOOSE_ONE_OF_5


SINGLE_PLACES_REPLIES = [
    ("Café", "cafe"),
    ("café", "cafe"),
    ("cafe", "cafe"),
    ("CAFE", "cafe"),
    ("cafe\u0301", "cafe"),
    ("Park", "park"),
    ("park", "park"),
    ("parkeer", "parking"),
    ("car park", "parking"),
    ("bibliotheek", "library"),
    ("Bibliothèek", "library"),
]


@pytest.mark.parametrize(("text", "expected"), SINGLE_PLACES_REPLIES)
def test_single_choice_accents_and_prefixes(text, expected):
    assert parse_answer(SINGLE_PLACES, text) == Accepted(expected)


def test_single_choice_prefix_must_match():
    # "bieb" is a common short form of "bibliotheek" but not a prefix of it.
    assert parse_answer(SINGLE_PLACES, "bieb") == rejected(Hint.CHOOSE_ONE, count=4)


def test_single_choice_ambiguous_prefix():
    # "Par" starts both "Park" and "Parkeerplaats".
    assert parse_answer(SINGLE_PLACES, "par") == rejected(Hint.AMBIGUOUS, option_ids=("park", "parking"))


def test_single_choice_ambiguous_number_label():
    counts = make_options(("none", "0", "0"), ("one", "1", "1"), ("two", "2", "2"), ("more", "3+", "3+"))
    question = Question(id="count", type=QuestionType.SINGLE_CHOICE, text={"nl": ""}, options=counts)
    # "2" is the second option by number and the third by label.
    assert parse_answer(question, "2") == rejected(Hint.AMBIGUOUS, option_ids=("one", "two"))


def test_single_choice_ambiguous_letter_label():
    labels = make_options(("a_plus", "A+", "A+"), ("b", "B", "B"), ("a", "A", "A"))
    question = Question(id="label", type=QuestionType.SINGLE_CHOICE, text={"nl": ""}, options=labels)
    assert parse_answer(question, "a") == rejected(Hint.AMBIGUOUS, option_ids=("a_plus", "a"))


def test_single_choice_exact_beats_prefix():
    options = make_options(("car", "Auto", "Car"), ("bus", "Autobus", "Bus"))
    question = Question(id="vehicle", type=QuestionType.SINGLE_CHOICE, text={"nl": ""}, options=options)
    assert parse_answer(question, "auto") == Accepted("car")


def test_single_choice_letters_beyond_26():
    options = tuple(Option(id=f"o{i}", label={"nl": f"Optie {i}"}) for i in range(1, 28))
    question = Question(id="many", type=QuestionType.SINGLE_CHOICE, text={"nl": ""}, options=options)
    assert parse_answer(question, "b") == rejected(Hint.CHOOSE_ONE, count=27)


def test_single_choice_without_options():
    question = Question(id="empty", type=QuestionType.SINGLE_CHOICE, text={"nl": ""})
    assert parse_answer(question, "1") == rejected(Hint.CHOOSE_ONE, count=0)


# Multiple choice

MULTIPLE_CHOICE_REPLIES = [
    ("1", ["bike"]),
    ("1,3", ["bike", "transit"]),
    ("1, 3", ["bike", "transit"]),
    ("1 ,3", ["bike", "transit"]),
    ("3,1", ["bike", "transit"]),
    ("1;3", ["bike", "transit"]),
    ("1/3", ["bike", "transit"]),
    ("1&3", ["bike", "transit"]),
    ("1 & 3", ["bike", "transit"]),
    ("1+3", ["bike", "transit"]),
    ("1 en 3", ["bike", "transit"]),
    ("1 and 3", ["bike", "transit"]),
    ("1 3", ["bike", "transit"]),
    ("1  3", ["bike", "transit"]),
    ("1, 2 en 3", ["bike", "car", "transit"]),
    ("1,2,3,4,5", ["bike", "car", "transit", "walk", "scooter"]),
    ("1,3.", ["bike", "transit"]),
    ("1,,3", ["bike", "transit"]),
    ("1, 3,", ["bike", "transit"]),
    ("1., 3.", ["bike", "transit"]),
    ("1), 3)", ["bike", "transit"]),
    ("#1 #3", ["bike", "transit"]),
    ("a, c", ["bike", "transit"]),
    ("a c", ["bike", "transit"]),
    ("A en C", ["bike", "transit"]),
    ("fiets", ["bike"]),
    ("Fiets, Auto", ["bike", "car"]),
    ("fiets en auto", ["bike", "car"]),
    ("fiets auto", ["bike", "car"]),
    ("Bicycle and car", ["bike", "car"]),
    ("openbaar vervoer", ["transit"]),
    ("openbaar vervoer, lopen", ["transit", "walk"]),
    ("auto en openbaar vervoer", ["car", "transit"]),
    ("1, fiets", ["bike"]),
    ("1,1", ["bike"]),
    ("1 1 1", ["bike"]),
    ("3, 1, 3", ["bike", "transit"]),
    ("1,3 ", ["bike", "transit"]),
    ("١،٣", ["bike", "transit"]),
]


@pytest.mark.parametrize(("text", "expected"), MULTIPLE_CHOICE_REPLIES)
def test_multiple_choice_table(text, expected):
    assert parse_answer(MULTIPLE, text) == Accepted(expected)


@pytest.mark.parametrize(
    "text",
    [
        "",
        " , ",
        "0",
        "6",
        "1,6",
        "1 en 7",
        "f",
        "1, vliegtuig",
        "ik fiets",
        "alles behalve de auto",
        "👍",
    ],
)
def test_multiple_choice_rejects(text):
    expected = rejected(Hint.CHOOSE_SEVERAL, count=5, min_choices=1, max_choices=5)
    assert parse_answer(MULTIPLE, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1,2", Accepted(["bike", "car"])),
        ("1,2,3", Accepted(["bike", "car", "transit"])),
        ("1", rejected(Hint.CHOOSE_SEVERAL, count=5, min_choices=2, max_choices=3)),
        ("1,1", rejected(Hint.CHOOSE_SEVERAL, count=5, min_choices=2, max_choices=3)),
        ("1,2,3,4", rejected(Hint.CHOOSE_SEVERAL, count=5, min_choices=2, max_choices=3)),
    ],
)
def test_multiple_choice_limits(text, expected):
    assert parse_answer(MULTIPLE_LIMITED, text) == expected


def test_multiple_choice_ambiguous_part():
    question = Question(id="places", type=QuestionType.MULTIPLE_CHOICE, text={"nl": ""}, options=PLACES)
    assert parse_answer(question, "cafe, par") == rejected(Hint.AMBIGUOUS, option_ids=("park", "parking"))


def test_multiple_choice_label_with_en():
    options = make_options(("outdoor", "Fietsen en wandelen", "Cycling and walking"), ("sport", "Sport", "Sport"))
    question = Question(id="hobbies", type=QuestionType.MULTIPLE_CHOICE, text={"nl": ""}, options=options)
    assert parse_answer(question, "fietsen en wandelen") == Accepted(["outdoor"])


def test_multiple_choice_label_with_en_listed():
    options = make_options(("outdoor", "Fietsen en wandelen", "Cycling and walking"), ("sport", "Sport", "Sport"))
    question = Question(id="hobbies", type=QuestionType.MULTIPLE_CHOICE, text={"nl": ""}, options=options)
    assert parse_answer(question, "sport, fietsen en wandelen") == Accepted(["outdoor", "sport"])


# Yes/no

YES_NO_REPLIES = [
    # Yes
    ("ja", YES),
    ("Ja", YES),
    ("JA", YES),
    ("JA!", YES),
    ("ja.", YES),
    ("ja!!!", YES),
    ("jaaa", YES),
    ("Jaaaa!", YES),
    ("j", YES),
    ("J", YES),
    ("yes", YES),
    ("Yes!", YES),
    ("yesss", YES),
    ("y", YES),
    ("jawel", YES),
    ("jazeker", YES),
    ("zeker", YES),
    ("Zeker!", YES),
    ("natuurlijk", YES),
    ("klopt", YES),
    ("yep", YES),
    ("yeah", YES),
    ("sure", YES),
    ("ja hoor", YES),
    ("Ja hoor!", YES),
    ("ja, hoor", YES),
    ("ja graag", YES),
    ("ja zeker", YES),
    ("ja dat klopt", YES),
    ("ja natuurlijk", YES),
    ("ja prima", YES),
    ("yes please", YES),
    ("Yes, please!", YES),
    ("yes of course", YES),
    ("ja 😊", YES),
    ("😊 ja", YES),
    ("👍", YES),
    ("👍🏻", YES),
    ("👍🏼", YES),
    ("👍🏽", YES),
    ("👍🏾", YES),
    ("👍🏿", YES),
    ("👍👍", YES),
    ("ja 👍", YES),
    ("✅", YES),
    ("✔️", YES),
    ("1", YES),
    ("1.", YES),
    ("١", YES),
    ("“ja”", YES),
    ("JÁ", YES),
    # No
    ("nee", NO),
    ("Nee", NO),
    ("NEE!", NO),
    ("neee", NO),
    ("neen", NO),
    ("n", NO),
    ("N", NO),
    ("no", NO),
    ("No.", NO),
    ("nooo", NO),
    ("nope", NO),
    ("nah", NO),
    ("nee hoor", NO),
    ("Nee, hoor.", NO),
    ("nee dank je", NO),
    ("nee bedankt", NO),
    ("no thanks", NO),
    ("No thank you", NO),
    ("👎", NO),
    ("👎🏻", NO),
    ("👎🏿", NO),
    ("❌", NO),
    ("2", NO),
    ("2)", NO),
]


@pytest.mark.parametrize(("text", "expected"), YES_NO_REPLIES)
def test_yes_no_accepts(text, expected):
    assert parse_answer(YES_NO, text) == Accepted(expected)


@pytest.mark.parametrize(
    "text",
    [
        "ja en nee",
        "ja nee",
        "yes no",
        "yes and no",
        "nee, ja",
        "👍👎",
        "1 2",
        "ja, nee, weet niet",
        "nee dat klopt",
    ],
)
def test_yes_no_ambiguous(text):
    assert parse_answer(YES_NO, text) == rejected(Hint.AMBIGUOUS)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "misschien",
        "weet ik niet",
        "soms",
        "ok",
        "ja maar niet vaak",
        "nee want het is te ver",
        "jammer",
        "nooit",
        "3",
        "😊",
        "?",
        "\x00",
    ],
)
def test_yes_no_rejects(text):
    assert parse_answer(YES_NO, text) == rejected(Hint.YES_OR_NO)


# Scale

SCALE_RANGE_1_5 = rejected(Hint.SCALE_RANGE, min=1, max=5)

SCALE_REPLIES = [
    ("1", 1),
    ("3", 3),
    ("5", 5),
    (" 4 ", 4),
    ("4.", 4),
    ("4!", 4),
    ("4/5", 4),
    ("4 / 5", 4),
    ("4 van de 5", 4),
    ("4 van 5", 4),
    ("4 out of 5", 4),
    ("een 4", 4),
    ("3,0", 3),
    ("3.0", 3),
    ("+3", 3),
    ("04", 4),
    ("4️⃣", 4),
    ("٤", 4),
    ("５", 5),
]


@pytest.mark.parametrize(("text", "expected"), SCALE_REPLIES)
def test_scale_accepts(text, expected):
    result = parse_answer(SCALE, text)
    assert result == Accepted(expected)
    assert type(result.value) is int


@pytest.mark.parametrize(
    "text",
    ["", "0", "6", "-1", "3,5", "3.5", "4/10", "4 van de 10", "6/5", "vier", "4 of 5", "3-4", "1e9", "9" * 50, "👍"],
)
def test_scale_rejects(text):
    assert parse_answer(SCALE, text) == SCALE_RANGE_1_5


@pytest.mark.parametrize(("text", "expected"), [("een 7", 7), ("10", 10), ("8/10", 8), ("7,0", 7)])
def test_scale_grade(text, expected):
    assert parse_answer(GRADE, text) == Accepted(expected)


def test_scale_negative_range():
    question = Question(id="opinion", type=QuestionType.SCALE, text={"nl": ""}, min=Decimal(-2), max=Decimal(2))
    assert parse_answer(question, "-2") == Accepted(-2)


# Number

NUMBER_REPLIES = [
    ("7", "7"),
    (" 7 ", "7"),
    ("7,5", "7.5"),
    ("7.5", "7.5"),
    ("7,50", "7.5"),
    ("7,0", "7"),
    ("0,5", "0.5"),
    (",5", "0.5"),
    (".5", "0.5"),
    ("-3", "-3"),
    ("- 3", "-3"),
    ("−3", "-3"),
    ("+3", "3"),
    ("-0", "0"),
    ("007", "7"),
    ("12 km", "12"),
    ("12km", "12"),
    ("12,5 km", "12.5"),
    ("12 kilometer per dag", "12"),
    ("12.", "12"),
    ("€ 12,5", "12.5"),
    ("€12", "12"),
    ("12 euro", "12"),
    ("12%", "12"),
    ("40 m²", "40"),
    ("1.234,5", "1234.5"),
    ("1,234.5", "1234.5"),
    ("12.345,6", "12345.6"),
    ("12️⃣", "12"),
    ("٧٫٥", "7.5"),
    ("٧", "7"),
    ("- ٣", "-3"),
]


@pytest.mark.parametrize(("text", "expected"), NUMBER_REPLIES)
def test_number_accepts(text, expected):
    assert parse_answer(NUMBER, text) == Accepted(expected)


WHOLE_NUMBER_REPLIES = [
    ("3", "3"),
    ("3 kinderen", "3"),
    ("0", "0"),
    ("1.000", "1000"),
    ("1,000", "1000"),
    ("12.500", "12500"),
    ("1.000.000", "1000000"),
    ("3,0", "3"),
    ("3.00", "3"),
]


@pytest.mark.parametrize(("text", "expected"), WHOLE_NUMBER_REPLIES)
def test_whole_number_accepts(text, expected):
    assert parse_answer(WHOLE_NUMBER, text) == Accepted(expected)


@pytest.mark.parametrize(
    ("question", "text", "expected"),
    [
        # One decimal allowed, so "1.000" is one with trailing zeros.
        (NUMBER, "1.000", Accepted("1")),
        (NUMBER, "1,500", Accepted("1.5")),
        # A leading zero never starts a thousands group.
        (WHOLE_NUMBER, "0.500", rejected(Hint.TOO_MANY_DECIMALS, decimals=0)),
        # Two digits after the separator are decimals, even when none are allowed.
        (WHOLE_NUMBER, "1.50", rejected(Hint.TOO_MANY_DECIMALS, decimals=0)),
        (WHOLE_NUMBER, "7,5", rejected(Hint.TOO_MANY_DECIMALS, decimals=0)),
        (WHOLE_NUMBER, "1.0000", Accepted("1")),
    ],
)
def test_number_separator_decisions(question, text, expected):
    assert parse_answer(question, text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "abc",
        "twaalf",
        "ongeveer 12",
        "12 of 13",
        "12-13",
        "12 tot 15",
        "3 of meer",
        "12 en een half",
        "1 000",
        "7,5,3",
        "1.23.4",
        "1.000,000,5",
        "1..5",
        "12 euro per maand ongeveer",
        "1" * 31,
        "👍",
        "\x00",
        "e5",
    ],
)
def test_number_invalid(text):
    assert parse_answer(NUMBER, text) == rejected(Hint.NUMBER_INVALID)


@pytest.mark.parametrize("text", ["7,55", "0,01", "1.234,56"])
def test_number_too_many_decimals(text):
    assert parse_answer(NUMBER, text) == rejected(Hint.TOO_MANY_DECIMALS, decimals=1)


@pytest.mark.parametrize("text", ["-11", "-10,5", "100001", "100.000,1", "1" * 30])
def test_number_out_of_range(text):
    assert parse_answer(NUMBER, text) == rejected(Hint.NUMBER_RANGE, min=Decimal(-10), max=Decimal(100_000))


def test_number_open_upper_end():
    assert parse_answer(WHOLE_NUMBER, "-1") == rejected(Hint.NUMBER_RANGE, min=Decimal(0), max=None)


def test_number_without_range():
    question = Question(id="any", type=QuestionType.NUMBER, text={"nl": ""}, decimals=2)
    assert parse_answer(question, "-123456789,12") == Accepted("-123456789.12")


# Free text

TEXT_REPLIES = [
    ("Meer bankjes in het park", "Meer bankjes in het park"),
    ("  Meer bankjes  ", "Meer bankjes"),
    ("regel 1\nregel 2", "regel 1\nregel 2"),
    ("regel 1\r\nregel 2", "regel 1\nregel 2"),
    ("regel 1\rregel 2", "regel 1\nregel 2"),
    ("\n\nregel\n\n", "regel"),
    ("a\tb", "a b"),
    ("nul\x00byte", "nulbyte"),
    ("bel\x07", "bel"),
    ("👍", "👍"),
    ("👨‍👩‍👧 gezin", "👨‍👩‍👧 gezin"),
    ("مرحبا بكم في الحي", "مرحبا بكم في الحي"),
    ("\u200fשלום", "\u200fשלום"),
    ("STOP met dat plan", "STOP met dat plan"),
    ("x" * DEFAULT_MAX_TEXT_LENGTH, "x" * DEFAULT_MAX_TEXT_LENGTH),
]


@pytest.mark.parametrize(("text", "expected"), TEXT_REPLIES)
def test_text_accepts(text, expected):
    assert parse_answer(TEXT, text) == Accepted(expected)


@pytest.mark.parametrize("text", ["", " ", "\n\n", "\t", "\x00", "\x00\x01\x1f", "\u200f", "\u200b\u200d", "\ufe0f"])
def test_text_empty(text):
    assert parse_answer(TEXT, text) == rejected(Hint.TEXT_EMPTY)


def test_text_too_long_default():
    text = "x" * (DEFAULT_MAX_TEXT_LENGTH + 1)
    expected = rejected(Hint.TEXT_TOO_LONG, max_length=DEFAULT_MAX_TEXT_LENGTH, length=DEFAULT_MAX_TEXT_LENGTH + 1)
    assert parse_answer(TEXT, text) == expected


def test_text_too_long_custom():
    assert parse_answer(SHORT_TEXT, "elf tekens!") == rejected(Hint.TEXT_TOO_LONG, max_length=10, length=11)


def test_text_length_after_trim():
    assert parse_answer(SHORT_TEXT, "   tientekens   ") == Accepted("tientekens")


def test_text_ten_thousand_characters():
    result = parse_answer(TEXT, "a" * 10_000)
    assert result == rejected(Hint.TEXT_TOO_LONG, max_length=DEFAULT_MAX_TEXT_LENGTH, length=10_000)


# Results

def test_rejected_params_read_only():
    result = rejected(Hint.CHOOSE_ONE, count=2)
    with pytest.raises(TypeError):
        result.params["count"] = 3  # type: ignore[index]


def test_accepted_frozen():
    result = Accepted("yes")
    with pytest.raises(AttributeError):
        result.value = "no"  # type: ignore[misc]


# Robustness

ALL_QUESTIONS = [
    SINGLE,
    SINGLE_PLACES,
    MULTIPLE,
    MULTIPLE_LIMITED,
    YES_NO,
    SCALE,
    GRADE,
    NUMBER,
    WHOLE_NUMBER,
    TEXT,
    SHORT_TEXT,
    Question(id="bare_scale", type=QuestionType.SCALE, text={"nl": ""}),
    Question(id="bare_choice", type=QuestionType.MULTIPLE_CHOICE, text={"nl": ""}),
]

ODD_TEXTS = [
    "",
    "\x00",
    "\x00" * 1000,
    "👍" * 10_000,
    "1" * 10_000,
    "1," * 5_000,
    "1 " * 5_000,
    "a" * 10_000,
    "9" * 5_000 + ",5",
    "\ud800",
    "\udfff1",
    "\u202e1\u202c",
    "🏽",
    "\ufe0f\u20e3",
    "#",
    "-",
    ",",
    "١٢٣٤٥٦٧٨٩٠" * 100,
]


@pytest.mark.parametrize("question", ALL_QUESTIONS, ids=lambda question: question.id)
@pytest.mark.parametrize("text", ODD_TEXTS, ids=range(len(ODD_TEXTS)))
def test_parse_answer_odd_input(question, text):
    assert isinstance(parse_answer(question, text), Accepted | Rejected)


ANY_TEXT = st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=200)

# Replies made of the characters the parsers look for, so that hypothesis reaches deep branches.
REPLY_PIECES = list("0123456789.,;/&+-#() aeijnosty€%\n") + [" en ", "ja", "nee", "fiets", "km", "👍", "\u20e3"]
REPLY_TEXT = st.lists(st.sampled_from(REPLY_PIECES), max_size=40).map("".join)


@pytest.mark.parametrize("question", ALL_QUESTIONS, ids=lambda question: question.id)
@given(text=ANY_TEXT)
def test_parse_answer_never_raises(question, text):
    assert isinstance(parse_answer(question, text), Accepted | Rejected)


@pytest.mark.parametrize("question", ALL_QUESTIONS, ids=lambda question: question.id)
@given(text=REPLY_TEXT)
def test_parse_answer_reply_characters(question, text):
    assert isinstance(parse_answer(question, text), Accepted | Rejected)


@given(text=REPLY_TEXT)
def test_number_value_round_trips(text):
    result = parse_answer(NUMBER, text)
    if isinstance(result, Accepted):
        value = Decimal(result.value)
        assert NUMBER.min <= value <= NUMBER.max
        assert result.value == format(value, "f")


@given(text=REPLY_TEXT)
def test_multiple_choice_value_ordered(text):
    result = parse_answer(MULTIPLE, text)
    if isinstance(result, Accepted):
        order = [option.id for option in TRANSPORT]
        positions = [order.index(option_id) for option_id in result.value]
        assert positions == sorted(set(positions))
