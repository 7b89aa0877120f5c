"""Keywords that residents send to steer the bot, in Dutch and English.

A keyword counts only when it is the whole message, so "we must stop this plan" is an answer
and not an opt-out. Both languages are accepted whatever the resident's language is.
"""

from __future__ import annotations

import unicodedata
from enum import StrEnum
from types import MappingProxyType
from typing import Mapping

from bot.flows.text import fold_accents, normalize


class Keyword(StrEnum):
    START = "start"
    STOP = "stop"
    HELP = "help"
    LANGUAGE = "language"
    SKIP = "skip"
    IDEA = "idea"
    ABOUT = "about"
    TOPICS = "topics"
    RESULTS = "results"
    # The resident's rights under the GDPR: to see their data, and to have it erased.
    MY_DATA = "my_data"
    ERASE = "erase"


# The words for each keyword. A hyphen counts as a space, so "opt out" also matches "opt-out".
# STOP includes the English opt-out words that Twilio handles by default on long codes (its
# Advanced Opt-Out documentation lists STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, REVOKE
# and OPTOUT), so a resident used to them is not ignored.
KEYWORD_WORDS: Mapping[Keyword, tuple[str, ...]] = MappingProxyType(
    {
        Keyword.START: ("start", "aanmelden", "unstop"),
        Keyword.STOP: (
            "stop",
            "afmelden",
            "stopall",
            "stop all",
            "unsubscribe",
            "cancel",
            "end",
            "quit",
            "revoke",
            "optout",
            "opt out",
        ),
        Keyword.HELP: ("help", "hulp", "info"),
        Keyword.LANGUAGE: ("taal", "language"),
        Keyword.SKIP: ("overslaan", "skip"),
        Keyword.IDEA: ("idee", "idea"),
        Keyword.ABOUT: ("over", "about"),
        Keyword.TOPICS: ("onderwerpen", "topics"),
        Keyword.RESULTS: ("resultaten", "results", "uitkomsten"),
        Keyword.MY_DATA: ("mijn gegevens", "mijn data", "gegevens", "my data"),
        Keyword.ERASE: ("verwijder", "delete", "wis mijn gegevens", "verwijder mijn gegevens", "delete my data"),
    }
)

# Categories stripped from both ends of a message besides whitespace and punctuation: emoji
# and other symbols, skin tone modifiers, variation selectors, keycap marks and joiners.
_IGNORED_EDGE_CATEGORIES = frozenset({"So", "Sk", "Mn", "Me", "Cf"})


def match_keyword(text: str) -> Keyword | None:
    """Return the keyword that ``text`` consists of, or None.

    Case, accents, punctuation and emoji at either end are ignored ("Stop.", "stop 🛑" and
    "STOP!!" are STOP). A message that repeats one keyword word, such as "stop stop", counts
    as that keyword.
    """
    phrase = _canonical(text)
    keyword = _KEYWORD_BY_PHRASE.get(phrase)
    if keyword is not None:
        return keyword

    words = set(phrase.split())
    if len(words) == 1:
        return _KEYWORD_BY_PHRASE.get(words.pop())
    return None


def _canonical(text: str) -> str:
    phrase = fold_accents(normalize(text)).replace("-", " ")
    return " ".join(_strip_edge_symbols(phrase).split())


def _strip_edge_symbols(text: str) -> str:
    start, end = 0, len(text)
    while start < end and _is_ignored_at_edge(text[start]):
        start += 1
    while end > start and _is_ignored_at_edge(text[end - 1]):
        end -= 1
    return text[start:end]


def _is_ignored_at_edge(character: str) -> bool:
    category = unicodedata.category(character)
    return character.isspace() or category.startswith("P") or category in _IGNORED_EDGE_CATEGORIES


def _build_lookup() -> dict[str, Keyword]:
    lookup: dict[str, Keyword] = {}
    for keyword, words in KEYWORD_WORDS.items():
        for word in words:
            lookup[_canonical(word)] = keyword
    return lookup


_KEYWORD_BY_PHRASE = _build_lookup()
