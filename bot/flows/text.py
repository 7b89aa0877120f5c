"""Normalisation of what residents type, so replies can be compared with keywords and options.

Everything here is pure and synchronous and accepts any string, including empty strings,
lone surrogates and NUL bytes.
"""

from __future__ import annotations

import re
import unicodedata

# Format characters (category Cf) that matter inside words or emoji sequences: the zero width
# non-joiner (Persian and other Arabic-script text) and the zero width joiner (emoji such as 👨‍👩‍👧).
_KEPT_FORMAT_CHARACTERS = frozenset("\u200c\u200d")

# Control, format (bidi marks, byte order mark, zero width space) and surrogate characters.
_REMOVED_CATEGORIES = frozenset({"Cc", "Cf", "Cs"})

# Leading punctuation kept when a digit follows, so "#1", "-3" and ".5" stay numbers.
_NUMBER_PREFIXES = frozenset("#-.,")

_QUOTES = "\"'“”„‟«»‘’‚‛‹›"

# Verbs that start an iPhone or Android tapback sent as SMS text, in English and in Dutch.
_REACTION_VERBS = (
    r"liked",
    r"loved",
    r"disliked",
    r"laughed at",
    r"emphasi[sz]ed",
    r"questioned",
    r"reacted (?:with )?\S+ to",
    r"vind ik leuk",
    r"vind ik niet leuk",
    r"geliked",
    r"leuk gevonden",
    r"benadrukt",
    r"gelachen om",
    r"vraagteken bij",
)

# The verb, an optional colon, then an opening quote and at least one quoted character. The
# closing quote is optional because a long quoted message may arrive cut off.
_REACTION = re.compile(
    rf"(?:{'|'.join(_REACTION_VERBS)})\s*:?\s*[{_QUOTES}]\s*\S",
    re.IGNORECASE,
)


def normalize(text: str) -> str:
    """Normalise a reply for matching: NFKC, no control characters, single spaces, casefolded.

    Punctuation and quotes around the reply are stripped, so "JA!" becomes "ja" and "1)"
    becomes "1". A leading "#", "-", "." or "," stays when a digit follows it. Letters of every
    script are kept, and so are emoji and other symbols.
    """
    return _strip_edge_punctuation(_clean(text).casefold())


def fold_accents(text: str) -> str:
    """Remove combining marks after NFKD decomposition, so "café" becomes "cafe"."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(character for character in decomposed if not unicodedata.combining(character))


def is_reaction(text: str) -> bool:
    """Return whether ``text`` is a tapback that quotes an earlier message.

    iPhones and many Android phones send a reaction to an SMS as a text such as
    ``Liked “Hoe vaak ga je naar het park?”``. Only a known verb followed by a quoted passage
    counts, so "Liked it a lot" is not a reaction.
    """
    return _REACTION.match(_clean(text)) is not None


def _clean(text: str) -> str:
    """Apply NFKC, drop control and format characters and collapse whitespace to single spaces."""
    characters = []
    for character in unicodedata.normalize("NFKC", text):
        if character.isspace():
            characters.append(" ")
        elif unicodedata.category(character) not in _REMOVED_CATEGORIES:
            characters.append(character)
        elif character in _KEPT_FORMAT_CHARACTERS:
            characters.append(character)
    return " ".join("".join(characters).split())


def _is_punctuation(character: str) -> bool:
    return unicodedata.category(character).startswith("P")


def _strip_edge_punctuation(text: str) -> str:
    end = len(text)
    while end > 0 and (text[end - 1].isspace() or _is_punctuation(text[end - 1])):
        end -= 1

    start = 0
    while start < end:
        character = text[start]
        if not (character.isspace() or _is_punctuation(character)):
            break
        if character in _NUMBER_PREFIXES and start + 1 < end and text[start + 1].isdigit():
            break
        start += 1

    return text[start:end]
