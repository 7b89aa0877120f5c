"""Parse what a resident types into the answer value for one question.

``parse_answer`` returns ``Accepted`` with the value to store, or ``Rejected`` with a ``Hint``
that the engine turns into a translated re-ask. Nothing here translates or does I/O, and no
input string makes it raise.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType

from bot.flows.model import NO, YES, AnswerValue, Question, QuestionType
from bot.flows.text import fold_accents, normalize

DEFAULT_MAX_TEXT_LENGTH = 500

# Longer numerals are rejected, so a pasted string of digits is never stored as a number.
MAX_NUMERAL_LENGTH = 30

# A label prefix must have at least this many characters to select an option.
MIN_PREFIX_LENGTH = 3


class Hint(StrEnum):
    """Reason a reply was rejected. The comment on each member lists the keys of its params."""

    CHOOSE_ONE = "choose_one"  # count: number of options
    CHOOSE_SEVERAL = "choose_several"  # count, min_choices, max_choices (max_choices is an int)
    YES_OR_NO = "yes_or_no"  # no params
    SCALE_RANGE = "scale_range"  # min, max: the scale's end points as ints, None when unset
    NUMBER_INVALID = "number_invalid"  # no params
    NUMBER_RANGE = "number_range"  # min, max: Decimal, None for an open end
    TOO_MANY_DECIMALS = "too_many_decimals"  # decimals: digits allowed after the separator
    TEXT_EMPTY = "text_empty"  # no params
    TEXT_TOO_LONG = "text_too_long"  # max_length, length: in code points
    # Choice questions: option_ids, a tuple of the matched option ids in option order.
    # Yes/no questions: no params, because the reply contained both yes and no.
    AMBIGUOUS = "ambiguous"


@dataclass(frozen=True)
class Accepted:
    value: AnswerValue


@dataclass(frozen=True)
class Rejected:
    hint: Hint
    params: Mapping[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))


_Result = Accepted | Rejected


def parse_answer(question: Question, text: str) -> Accepted | Rejected:
    """Parse ``text`` as an answer to ``question``.

    Keywords such as STOP and tapback reactions are not handled here, so the caller checks
    for them first.
    """
    parser = _PARSERS[question.type]
    return parser(question, text)


# Single and multiple choice


@dataclass(frozen=True)
class _OptionForms:
    """The forms in which a resident can name each option, indexed by option position."""

    ids: tuple[str, ...]
    # Every locale's label, normalised, and the same labels without accents.
    labels: tuple[frozenset[str], ...]
    folded_labels: tuple[frozenset[str], ...]

    @classmethod
    def of(cls, question: Question) -> _OptionForms:
        labels = tuple(frozenset(normalize(label) for label in option.label.values()) for option in question.options)
        return cls(
            ids=tuple(normalize(option.id) for option in question.options),
            labels=labels,
            folded_labels=tuple(frozenset(fold_accents(label) for label in forms) for forms in labels),
        )

    @property
    def count(self) -> int:
        return len(self.ids)


# A reference to an option by number, as in "optie 2", "nr. 2" or "#2".
_OPTION_NUMBER = re.compile(r"(?:(?:optie|option|antwoord|answer|nummer|number|nr)\.?\s*)?#?([0-9]+)")

# A numbered or lettered line copied from the question, such as "1. Fiets" or "b) Auto".
_NUMBERED_LABEL = re.compile(r"#?([0-9]+|[a-z])\s*[.):]?\s+(.+)")

# Words and signs that join choices in "1 en 3", "a and c" or "1 & 3".
_CONJUNCTION = re.compile(r"\s+(?:en|and|&|\+)\s+")

# Characters that separate choices in "1,3", "1;3", "1/3" or "1+3", and the Arabic comma.
_CHOICE_SEPARATOR = re.compile(r"[,;/&+،]")


def _match_option(reply: str, forms: _OptionForms) -> frozenset[int]:
    """Return the positions of the options that ``reply`` names, empty when it names none.

    Stricter rules are tried first, so an exact label beats a prefix of another label. More
    than one position means the reply is ambiguous.
    """
    positions = _match_plain(reply, forms)
    if positions:
        return positions

    # "1. Fiets" counts when the number and the label name the same option.
    numbered = _NUMBERED_LABEL.fullmatch(reply)
    if numbered is None:
        return frozenset()
    by_number = _match_plain(numbered.group(1), forms)
    by_label = _match_plain(numbered.group(2), forms)
    if len(by_number) == 1 and by_number == by_label:
        return by_number
    return frozenset()


def _match_plain(reply: str, forms: _OptionForms) -> frozenset[int]:
    reply = _ascii_digits(reply)

    exact: set[int] = set()
    number = _OPTION_NUMBER.fullmatch(reply)
    # Six digits are plenty for a position and keep int() far from its digit limit.
    if number is not None and len(number.group(1)) <= 6:
        position = int(number.group(1)) - 1
        if 0 <= position < forms.count:
            exact.add(position)
    # A letter names an option by position ("a" is the first) while the options fit a to z.
    if len(reply) == 1 and "a" <= reply <= "z" and forms.count <= 26:
        position = ord(reply) - ord("a")
        if position < forms.count:
            exact.add(position)
    for position in range(forms.count):
        if reply == forms.ids[position] or reply in forms.labels[position]:
            exact.add(position)
    if exact:
        return frozenset(exact)

    folded = fold_accents(reply)
    without_accents = {
        position
        for position in range(forms.count)
        if folded == fold_accents(forms.ids[position]) or folded in forms.folded_labels[position]
    }
    if without_accents:
        return frozenset(without_accents)

    if len(folded) < MIN_PREFIX_LENGTH:
        return frozenset()
    return frozenset(
        position
        for position in range(forms.count)
        if any(label.startswith(folded) for label in forms.folded_labels[position])
    )


def _ambiguous(question: Question, positions: frozenset[int]) -> Rejected:
    option_ids = tuple(question.options[position].id for position in sorted(positions))
    return Rejected(Hint.AMBIGUOUS, {"option_ids": option_ids})


def _parse_single_choice(question: Question, text: str) -> _Result:
    forms = _OptionForms.of(question)
    positions = _match_option(normalize(_remove_keycaps(text)), forms)
    if len(positions) > 1:
        return _ambiguous(question, positions)
    if not positions:
        return Rejected(Hint.CHOOSE_ONE, {"count": forms.count})
    (position,) = positions
    return Accepted(question.options[position].id)


def _parse_multiple_choice(question: Question, text: str) -> _Result:
    forms = _OptionForms.of(question)
    max_choices = question.max_choices if question.max_choices is not None else forms.count
    choose_several = Rejected(
        Hint.CHOOSE_SEVERAL,
        {"count": forms.count, "min_choices": question.min_choices, "max_choices": max_choices},
    )

    matches = _split_choices(normalize(_remove_keycaps(text)), forms)
    if matches is None:
        return choose_several
    ambiguous = next((positions for positions in matches if len(positions) > 1), None)
    if ambiguous is not None:
        return _ambiguous(question, ambiguous)

    # Duplicates collapse, and the value lists option ids in the question's option order.
    chosen = sorted({position for positions in matches for position in positions})
    if not question.min_choices <= len(chosen) <= max_choices:
        return choose_several
    return Accepted([question.options[position].id for position in chosen])


def _split_choices(reply: str, forms: _OptionForms) -> list[frozenset[int]] | None:
    """Split ``reply`` into choices and match each, or return None when a part names no option.

    Each part is first matched whole, so a label that contains a separator or "en" still
    matches. Only a part that names no option is split further: first at ",", ";", "/", "&"
    and "+", then at "en", "and", "&" and "+" between spaces, and last at every space.
    """
    # NOTE: "1, Bus/tram" fails when "Bus/tram" is a label, because the first split cuts it.
    if not reply:
        return None
    whole = _match_option(reply, forms)
    if whole:
        return [whole]

    matches: list[frozenset[int]] = []
    for part in _CHOICE_SEPARATOR.split(reply):
        part_matches = _match_part(normalize(part), forms)
        if part_matches is None:
            return None
        matches.extend(part_matches)
    return matches or None


def _match_part(part: str, forms: _OptionForms) -> list[frozenset[int]] | None:
    """Match one separator-delimited part, splitting at conjunctions and then at spaces."""
    if not part:
        return []
    whole = _match_option(part, forms)
    if whole:
        return [whole]

    matches: list[frozenset[int]] = []
    for clause in _CONJUNCTION.split(part):
        clause_match = _match_option(clause, forms)
        if clause_match:
            matches.append(clause_match)
            continue
        for word in clause.split():
            word_match = _match_option(word, forms)
            if not word_match:
                return None
            matches.append(word_match)
    return matches


# Yes/no

# Words that decide a yes/no reply on their own. "1" and "2" are here because the engine offers
# yes and no as options 1 and 2.
_YES_WORDS = frozenset(
    {"ja", "j", "jawel", "jazeker", "zeker", "natuurlijk", "klopt", "jep", "yes", "y", "yep", "yup", "yeah", "sure"}
    | {"1", "👍", "✅", "✔", "☑"}
)
_NO_WORDS = frozenset({"nee", "neen", "n", "no", "nope", "nah"} | {"2", "👎", "❌", "❎", "✖"})

# Words that may follow the deciding word without changing it, as in "ja hoor" or "no thanks".
_COURTESY_WORDS = frozenset(
    {"hoor", "graag", "wel", "dat", "is", "goed", "prima", "oke", "dank", "je", "jij", "u", "bedankt", "dankjewel"}
    | {"dankuwel", "ok", "okay", "please", "thanks", "thank", "you", "of", "course", "indeed", "fine"}
)

# Skin tone modifiers and emoji variation selectors, so 👍🏽 and ✔️ read as 👍 and ✔.
_EMOJI_MODIFIERS = re.compile("[\U0001f3fb-\U0001f3ff\ufe0e\ufe0f]")

# A word, or any single other character that is not a space.
_YES_NO_TOKEN = re.compile(r"\w+|[^\w\s]")

# A letter repeated, as in "jaaa", "neee" or "yesss".
_REPEATED_LETTER = re.compile(r"([^\W\d_])\1+")


def starts_with_word(text: str) -> bool:
    """Return whether the token that decides a yes/no reply (its first) is letters or
    digits, not an emoji or another sign."""
    first = _YES_NO_TOKEN.search(text)
    return first is not None and first.group().isalnum()


def _squeeze(word: str) -> str:
    return _REPEATED_LETTER.sub(r"\1", word)


_POLARITY = {_squeeze(word): YES for word in _YES_WORDS} | {_squeeze(word): NO for word in _NO_WORDS}
_COURTESY = frozenset(_squeeze(word) for word in _COURTESY_WORDS)


def _parse_yes_no(question: Question, text: str) -> _Result:
    """Parse a yes/no reply. The first word decides, and the other words must be courtesy.

    A reply that also contains a word of the other answer ("ja en nee", "yes no") is
    ambiguous. Any other extra word ("ja maar alleen 's avonds") makes the reply invalid, so
    the resident is asked again.
    """
    reply = _EMOJI_MODIFIERS.sub("", fold_accents(normalize(_ascii_digits(text))))
    tokens = [_squeeze(token) for token in _YES_NO_TOKEN.findall(reply)]
    # Punctuation and emoji other than the yes and no signs (such as 🙂) are ignored.
    tokens = [token for token in tokens if token in _POLARITY or not _is_punctuation_or_symbol(token)]
    if not tokens:
        return Rejected(Hint.YES_OR_NO)

    answer = _POLARITY.get(tokens[0])
    if answer is None:
        return Rejected(Hint.YES_OR_NO)

    polarities = {_POLARITY[token] for token in tokens if token in _POLARITY}
    if len(polarities) > 1:
        return Rejected(Hint.AMBIGUOUS)
    if any(token not in _POLARITY and token not in _COURTESY for token in tokens):
        return Rejected(Hint.YES_OR_NO)
    return Accepted(answer)


def _is_punctuation_or_symbol(token: str) -> bool:
    return len(token) == 1 and unicodedata.category(token)[0] in "PS"


# Scale

# "4", "4/5", "4 / 5", "4 van de 5", "4 van 5", "4 out of 5", "een 4" or "3,0". Digits are
# limited so that int() never meets a huge numeral.
_SCALE_REPLY = re.compile(
    r"(?:(?:een|a)\s+)?(?P<value>[+-]?[0-9]{1,12}(?:[.,][0-9]{1,12})?)"
    r"(?:\s*(?:/|van\s+de|van|out\s+of)\s*(?P<out_of>[0-9]{1,12}))?"
)


def _parse_scale(question: Question, text: str) -> _Result:
    low = int(question.min) if question.min is not None else None
    high = int(question.max) if question.max is not None else None
    out_of_range = Rejected(Hint.SCALE_RANGE, {"min": low, "max": high})

    match = _SCALE_REPLY.fullmatch(_numeric_text(text))
    if match is None:
        return out_of_range
    value = Decimal(match.group("value").replace(",", "."))
    # "3,5" is not a point on the scale, but "3,0" is.
    if value != value.to_integral_value():
        return out_of_range
    point = int(value)

    # "4/5" counts only when 5 is the top of the scale, because rescaling would guess.
    out_of = match.group("out_of")
    if out_of is not None and (high is None or int(out_of) != high):
        return out_of_range
    if (low is not None and point < low) or (high is not None and point > high):
        return out_of_range
    return Accepted(point)


# Number

# A sign, an optional currency symbol, a numeral with "." or "," separators, then an optional
# unit such as "km", "kinderen", "per maand" or "m2". _is_unit checks the unit.
_NUMBER_REPLY = re.compile(
    r"(?P<sign>[+-]?)\s*(?:[€$£]\s*)?(?P<numeral>[0-9](?:[0-9.,]*[0-9])?|[.,][0-9]+)(?P<unit>.*)"
)

MAX_UNIT_WORDS = 3

# A digit that starts a second number, as in "12 of 13" or "12-13". A digit after a letter
# ("m2") belongs to the unit.
_NUMBER_IN_UNIT = re.compile(r"(?<![^\W\d_])[0-9]")

# Words that turn a number into a range or a sum, as in "3 of meer" or "12 en een half".
_NON_UNIT_WORDS = frozenset({"of", "or", "en", "and", "tot", "to", "plus", "min", "minus"})


def _parse_number(question: Question, text: str) -> _Result:
    match = _NUMBER_REPLY.fullmatch(_numeric_text(text))
    if match is None or len(match.group("numeral")) > MAX_NUMERAL_LENGTH or not _is_unit(match.group("unit")):
        return Rejected(Hint.NUMBER_INVALID)

    parts = _split_numeral(match.group("numeral"), question.decimals)
    if parts is None:
        return Rejected(Hint.NUMBER_INVALID)
    whole, fraction = parts

    # Trailing zeros carry no value, so "7,50" has one decimal.
    fraction = fraction.rstrip("0")
    if len(fraction) > question.decimals:
        return Rejected(Hint.TOO_MANY_DECIMALS, {"decimals": question.decimals})

    whole = whole.lstrip("0") or "0"
    value = whole
    if fraction:
        value = f"{value}.{fraction}"
    # "-0" is stored as "0".
    if match.group("sign") == "-" and value != "0":
        value = f"-{value}"

    number = Decimal(value)
    if (question.min is not None and number < question.min) or (question.max is not None and number > question.max):
        return Rejected(Hint.NUMBER_RANGE, {"min": question.min, "max": question.max})
    return Accepted(value)


def _is_unit(unit: str) -> bool:
    """Return whether the text after a number is empty or a unit of a few words without numbers."""
    words = unit.split()
    if len(words) > MAX_UNIT_WORDS or _NUMBER_IN_UNIT.search(unit):
        return False
    return not any(word in _NON_UNIT_WORDS for word in words)


def _split_numeral(numeral: str, decimals: int) -> tuple[str, str] | None:
    """Split a numeral into its whole and fractional digits, or return None when invalid.

    With both "." and "," present, the last one is the decimal separator and the other groups
    thousands ("1.234,5" or "1,234.5"). A separator that occurs more than once groups
    thousands ("1.000.000"). A single separator followed by exactly three digits groups
    thousands only when the question allows no decimals, as Dutch "1.000" is one thousand.
    Otherwise it is the decimal separator, so "7,5" and "7.5" are both seven and a half.
    """
    if numeral[0] in ".,":
        return "0", numeral[1:]

    dots, commas = numeral.count("."), numeral.count(",")
    if dots == 0 and commas == 0:
        return numeral, ""

    if dots and commas:
        decimal_separator = "." if numeral.rfind(".") > numeral.rfind(",") else ","
        group_separator = "," if decimal_separator == "." else "."
        if numeral.count(decimal_separator) > 1:
            return None
        whole, fraction = numeral.split(decimal_separator)
        if not _is_grouped(whole, group_separator):
            return None
        return whole.replace(group_separator, ""), fraction

    separator = "." if dots else ","
    if numeral.count(separator) > 1:
        if not _is_grouped(numeral, separator):
            return None
        return numeral.replace(separator, ""), ""

    whole, fraction = numeral.split(separator)
    if decimals == 0 and len(fraction) == 3 and _is_grouped(numeral, separator):
        return whole + fraction, ""
    return whole, fraction


def _is_grouped(numeral: str, separator: str) -> bool:
    """Return whether ``numeral`` groups digits by three, as in "1.234.567" (no leading zero)."""
    groups = numeral.split(separator)
    head, tail = groups[0], groups[1:]
    if not 1 <= len(head) <= 3 or head.startswith("0") or not head.isdigit():
        return False
    return all(len(group) == 3 and group.isdigit() for group in tail)


# Text


def _parse_text(question: Question, text: str) -> _Result:
    cleaned = _clean_free_text(text)
    if not any(_is_visible(character) for character in cleaned):
        return Rejected(Hint.TEXT_EMPTY)

    max_length = question.max_length if question.max_length is not None else DEFAULT_MAX_TEXT_LENGTH
    if len(cleaned) > max_length:
        return Rejected(Hint.TEXT_TOO_LONG, {"max_length": max_length, "length": len(cleaned)})
    return Accepted(cleaned)


# Control characters and lone surrogates, which a database or a chat channel may reject.
_REMOVED_FROM_TEXT = frozenset({"Cc", "Cs"})


def _clean_free_text(text: str) -> str:
    """Trim ``text`` and remove control characters and lone surrogates, but keep newlines.

    Line ends become "\\n" and tabs become spaces. Format characters such as right-to-left
    marks and the zero width joiner in emoji stay, because they change how the text reads.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n").replace("\u2029", "\n")
    characters = []
    for character in text:
        if character == "\t":
            characters.append(" ")
        elif character == "\n" or unicodedata.category(character) not in _REMOVED_FROM_TEXT:
            characters.append(character)
    return "".join(characters).strip()


# Control, format, surrogate and combining mark characters, which show nothing on their own.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Mn", "Me"})


def _is_visible(character: str) -> bool:
    return not character.isspace() and unicodedata.category(character) not in _INVISIBLE_CATEGORIES


# Helpers shared by several question types


def _ascii_digits(text: str) -> str:
    """Replace decimal digits of any script (such as Arabic-Indic "٣") with ASCII digits."""
    characters = []
    for character in text:
        digit = None if character.isascii() else unicodedata.decimal(character, None)
        characters.append(character if digit is None else str(digit))
    return "".join(characters)


# The keycap mark, with the variation selector before it, that turns "1" into the emoji 1️⃣.
_KEYCAP = re.compile("\ufe0f?\u20e3")


def _remove_keycaps(text: str) -> str:
    return _KEYCAP.sub("", text)


_SPACED_SIGN = re.compile(r"^\s*([+-])\s+(?=[0-9])")


def _numeric_text(text: str) -> str:
    """Normalise a reply to a scale or number question.

    Keycap emoji such as 4️⃣ become plain digits, the minus sign "−" becomes "-", the Arabic
    decimal separator "٫" becomes "." and digits of every script become ASCII.
    """
    text = _remove_keycaps(text).replace("\ufe0f", "").replace("\u2212", "-").replace("\u066b", ".")
    text = _ascii_digits(text)
    # Join a sign to its number first, because normalize strips a "-" that a space follows.
    text = _SPACED_SIGN.sub(r"\1", text)
    return _ascii_digits(normalize(text))


_PARSERS: Mapping[QuestionType, Callable[[Question, str], _Result]] = MappingProxyType(
    {
        QuestionType.SINGLE_CHOICE: _parse_single_choice,
        QuestionType.MULTIPLE_CHOICE: _parse_multiple_choice,
        QuestionType.YES_NO: _parse_yes_no,
        QuestionType.SCALE: _parse_scale,
        QuestionType.NUMBER: _parse_number,
        QuestionType.TEXT: _parse_text,
    }
)
