"""Keywords, tapback reactions and the text normalisation they rely on."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.flows.keywords import KEYWORD_WORDS, Keyword, match_keyword
from bot.flows.text import fold_accents, is_reaction, normalize

# Text normalisation

NORMALIZED = [
    ("JA!", "ja"),
    (" 1 ", "1"),
    ("1.", "1"),
    ("1)", "1"),
    ("(1)", "1"),
    ("B)", "b"),
    ("#1", "#1"),
    ("-3", "-3"),
    ("7,5", "7,5"),
    ("STOP!!", "stop"),
    ("Stop.", "stop"),
    ("stop !", "stop"),
    ("“Ja”", "ja"),
    ('"ja"', "ja"),
    ("'ja'", "ja"),
    ("¿Sí?", "sí"),
    ("ja...", "ja"),
    ("ja…", "ja"),
    ("  ja \n\t hoor  ", "ja hoor"),
    ("ja\u00a0hoor", "ja hoor"),
    ("ja\x00", "ja"),
    ("j\x00a", "ja"),
    ("\u200fنعم\u200f", "نعم"),
    ("שלום!", "שלום"),
    ("ＪＡ", "ja"),
    ("Straße", "strasse"),
    ("👍", "👍"),
    ("stop 🛑", "stop 🛑"),
    ("", ""),
    ("...", ""),
    ("\x00\x01", ""),
]


@pytest.mark.parametrize(("text", "expected"), NORMALIZED)
def test_normalize_table(text, expected):
    assert normalize(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Café", "Cafe"),
        ("café", "cafe"),
        ("cafe\u0301", "cafe"),
        ("Één", "Een"),
        ("naïef", "naief"),
        ("ﬁets", "fiets"),
        ("fiets", "fiets"),
    ],
)
def test_fold_accents_table(text, expected):
    assert fold_accents(text) == expected


# Tapback reactions

REACTIONS = [
    "Liked “Hoe vaak ga je naar het park?”",
    'Liked "Hoe vaak ga je naar het park?"',
    "Loved “Bedankt voor je antwoord!”",
    "Disliked “Vraag 2 van 5: …”",
    "Laughed at “Vraag 3 van 5”",
    "Emphasized “Stuur STOP om je af te melden.”",
    "Emphasised “x”",
    "Questioned “Hoe oud ben je?”",
    "Reacted 👍 to “Hoe vaak ga je naar het park?”",
    "Reacted 👍🏽 to “Hoe vaak ga je naar het park?”",
    "Reacted ❤️ to “Vraag 1”",
    "Reacted with 😂 to “Vraag 1”",
    "Vind ik leuk: “Hoe vaak ga je naar het park?”",
    "Vind ik leuk “Vraag 1”",
    "Vind ik niet leuk: “Vraag 1”",
    "Geliked “Vraag 1”",
    "Leuk gevonden “Vraag 1”",
    "Benadrukt “Vraag 1”",
    "Gelachen om “Vraag 1”",
    "Vraagteken bij “Vraag 1”",
    "Liked „Vraag 1“",
    "Liked «Vraag 1»",
    "Liked ‘Vraag 1’",
    "liked “vraag 1”",
    "  Liked “Vraag 1”  ",
    "\u200eLiked “Vraag 1”",
    # A long quoted message may arrive without its closing quote.
    "Liked “Hoe vaak ga je naar het park in de zomer en in de",
]

NOT_REACTIONS = [
    "Liked it a lot",
    "Liked",
    "Liked “",
    "Loved the park",
    "I liked “the park”",
    "Ik vind het park leuk",
    "Vind ik leuk",
    "ja",
    "1",
    "👍",
    "“Liked”",
    "Reacted to the plan",
    "",
]


@pytest.mark.parametrize("text", REACTIONS)
def test_is_reaction_recognises_tapback(text):
    assert is_reaction(text)


@pytest.mark.parametrize("text", NOT_REACTIONS)
def test_is_reaction_rejects_text(text):
    assert not is_reaction(text)


# Keywords

KEYWORDS = [
    # Opt-out
    ("STOP", Keyword.STOP),
    ("stop", Keyword.STOP),
    ("Stop", Keyword.STOP),
    ("Stop.", Keyword.STOP),
    ("STOP!!", Keyword.STOP),
    ("stop 🛑", Keyword.STOP),
    ("🛑 stop", Keyword.STOP),
    ("stop 👋🏽", Keyword.STOP),
    ("  stop\n", Keyword.STOP),
    ("“stop”", Keyword.STOP),
    ("stop stop", Keyword.STOP),
    ("STOP STOP STOP", Keyword.STOP),
    ("AFMELDEN", Keyword.STOP),
    ("afmelden.", Keyword.STOP),
    ("STOPALL", Keyword.STOP),
    ("stop all", Keyword.STOP),
    ("UNSUBSCRIBE", Keyword.STOP),
    ("CANCEL", Keyword.STOP),
    ("END", Keyword.STOP),
    ("QUIT", Keyword.STOP),
    ("REVOKE", Keyword.STOP),
    ("OPTOUT", Keyword.STOP),
    ("opt out", Keyword.STOP),
    ("Opt-out", Keyword.STOP),
    ("ＳＴＯＰ", Keyword.STOP),
    ("s\u200btop", Keyword.STOP),
    ("\ud800stop", Keyword.STOP),
    # Opt-in
    ("START", Keyword.START),
    ("start", Keyword.START),
    ("Start!", Keyword.START),
    ("AANMELDEN", Keyword.START),
    ("aanmelden", Keyword.START),
    ("UNSTOP", Keyword.START),
    # Help
    ("HELP", Keyword.HELP),
    ("help?", Keyword.HELP),
    ("HULP", Keyword.HELP),
    ("hulp!", Keyword.HELP),
    ("INFO", Keyword.HELP),
    # Language
    ("TAAL", Keyword.LANGUAGE),
    ("taal", Keyword.LANGUAGE),
    ("LANGUAGE", Keyword.LANGUAGE),
    ("Language?", Keyword.LANGUAGE),
    # Skip
    ("OVERSLAAN", Keyword.SKIP),
    ("overslaan", Keyword.SKIP),
    ("SKIP", Keyword.SKIP),
    ("skip ⏭️", Keyword.SKIP),
    # Idea
    ("IDEE", Keyword.IDEA),
    ("Idee!", Keyword.IDEA),
    ("idée", Keyword.IDEA),
    ("IDEA", Keyword.IDEA),
    ("idea 💡", Keyword.IDEA),
]

NOT_KEYWORDS = [
    "we must stop this plan",
    "stop met dit plan",
    "stoppen",
    "stop start",
    "stop help",
    "please stop",
    "stop please",
    "ik wil afmelden",
    "help me",
    "hulp nodig",
    "mijn idee is een speeltuin",
    "ja",
    "nee",
    "1",
    "yes",
    "🛑",
    "",
    "   ",
    "Liked “Stuur STOP om je af te melden.”",
]


@pytest.mark.parametrize(("text", "expected"), KEYWORDS)
def test_match_keyword_table(text, expected):
    assert match_keyword(text) is expected


@pytest.mark.parametrize("text", NOT_KEYWORDS)
def test_match_keyword_ignores_text(text):
    assert match_keyword(text) is None


@pytest.mark.parametrize("keyword", list(Keyword))
def test_every_keyword_has_words(keyword):
    assert KEYWORD_WORDS[keyword]


@pytest.mark.parametrize(
    ("keyword", "word"),
    [(keyword, word) for keyword, words in KEYWORD_WORDS.items() for word in words],
)
def test_keyword_words_match_themselves(keyword, word):
    assert match_keyword(word.upper()) is keyword


def test_keyword_words_unique():
    words = [word for words in KEYWORD_WORDS.values() for word in words]
    assert len(words) == len(set(words))


# Robustness

ANY_TEXT = st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=300)


@given(ANY_TEXT)
def test_match_keyword_never_raises(text):
    assert match_keyword(text) in {None, *Keyword}


@given(ANY_TEXT)
def test_is_reaction_never_raises(text):
    assert is_reaction(text) in {True, False}


@given(ANY_TEXT)
def test_normalize_idempotent(text):
    once = normalize(text)
    assert normalize(once) == once


@pytest.mark.parametrize("text", ["", "\x00" * 100, "stop" * 2500, "🛑" * 10_000, "a\u0301" * 5000])
def test_match_keyword_odd_input(text):
    assert match_keyword(text) is None
