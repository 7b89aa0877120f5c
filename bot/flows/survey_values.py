"""Generic checks of values in plain survey data: keys, types, ids, numbers and localized texts.

Each check adds a SurveyError for every problem it finds, and the value checks return None
for an invalid value. The caller goes on, so one run reports all problems.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Collection, Iterable, Mapping
from decimal import Decimal

from bot.flows.survey_errors import FieldPath, SurveyError, describe_value, format_path
from bot.flows.survey_format import DEFAULT_LOCALE, LOCALE_PATTERN, LOCALE_RULE

_EXPONENT_PATTERN = re.compile(r"[-+]?[0-9.]+[eE][-+]?[0-9]+")
_BOOLEAN_HINT = "YAML reads unquoted yes, no, on, off, true and false as booleans, so put the value in quotes"


def is_int(value: object) -> bool:
    # bool is a subclass of int, but true and false are not numbers in a survey file.
    return isinstance(value, int) and not isinstance(value, bool)


class ValueChecker:
    """Error list and generic value checks for the plain data of one survey."""

    def __init__(
        self, filename: str, lines: Mapping[FieldPath, int] | None, rejected_paths: Collection[FieldPath] = ()
    ) -> None:
        self.filename = filename
        self.lines = lines
        # Values that the YAML reader rejected and replaced by None, which need no second error.
        self.rejected_paths = rejected_paths
        self.errors: list[SurveyError] = []
        # None while default_locale itself is invalid, so texts are not checked against it.
        self.default_locale: str | None = DEFAULT_LOCALE

    # Errors and generic value checks.

    def error(self, path: FieldPath, message: str) -> None:
        if path in self.rejected_paths:
            return
        self.errors.append(SurveyError(self.filename, self._line(path), format_path(path), message))

    def _line(self, path: FieldPath) -> int | None:
        """Return the line of ``path``, or of its nearest parent for a missing key."""
        if self.lines is None:
            return None
        for end in range(len(path), -1, -1):
            line = self.lines.get(path[:end])
            if line is not None:
                return line
        return None

    def type_error(self, path: FieldPath, value: object, expected: str) -> None:
        message = f"must be {expected}, not {describe_value(value)}"
        if isinstance(value, bool) and expected != "true or false":
            message += f". {_BOOLEAN_HINT}"
        elif isinstance(value, (int, float)) and expected.startswith("text"):
            message += ". Put the value in quotes to use it as text"
        self.error(path, message)

    def check_keys(
        self,
        mapping: Mapping[str, object],
        path: FieldPath,
        allowed: Collection[str],
        required: Iterable[str],
        misplaced: Mapping[str, str] | None = None,
    ) -> None:
        """Report keys in ``mapping`` that are not ``allowed`` and ``required`` keys it lacks.

        ``misplaced`` maps keys that are valid elsewhere (a scale key on a text question)
        to their own message, which replaces the unknown-key message.
        """
        misplaced = misplaced or {}
        for key in mapping:
            if key in allowed:
                continue
            if key in misplaced:
                self.error(path + (key,), misplaced[key])
                continue
            candidates = list(dict.fromkeys([*allowed, *misplaced]))
            close = difflib.get_close_matches(key, candidates, n=1)
            if close:
                self.error(path + (key,), f"unknown key {key!r} (did you mean {close[0]!r}?)")
            else:
                self.error(path + (key,), f"unknown key {key!r}. Allowed keys here: {', '.join(allowed)}")

        for key in required:
            if key not in mapping:
                self.error(path + (key,), "missing required key")

    def check_text(self, value: object, path: FieldPath) -> str | None:
        if not isinstance(value, str):
            self.type_error(path, value, "text")
            return None
        return value

    def check_id(self, value: object, path: FieldPath, pattern: re.Pattern[str], rule: str) -> str | None:
        text = self.check_text(value, path)
        if text is None:
            return None
        if not pattern.fullmatch(text):
            self.error(path, f"invalid id {text!r}. Use {rule}")
            return None
        return text

    def check_int(self, value: object, path: FieldPath, minimum: int | None = None, maximum: int | None = None) -> int | None:
        if not is_int(value):
            self.type_error(path, value, "a whole number")
            return None
        assert isinstance(value, int)
        if minimum is not None and value < minimum:
            bounds = f"at least {minimum}" if maximum is None else f"from {minimum} to {maximum}"
            self.error(path, f"must be {bounds}, not {value}")
            return None
        if maximum is not None and value > maximum:
            bounds = f"at most {maximum}" if minimum is None else f"from {minimum} to {maximum}"
            self.error(path, f"must be {bounds}, not {value}")
            return None
        return value

    def check_bool(self, value: object, path: FieldPath) -> bool | None:
        if not isinstance(value, bool):
            self.type_error(path, value, "true or false")
            return None
        return value

    def check_number(self, value: object, path: FieldPath) -> Decimal | None:
        if isinstance(value, str) and _EXPONENT_PATTERN.fullmatch(value):
            # YAML 1.1 needs a dot and a sign in an exponent (1.0e+3), so PyYAML reads 1e3 as text.
            self.error(path, f"must be a number, not the text {value!r}. Write it without an exponent")
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.type_error(path, value, "a number")
            return None
        if isinstance(value, float) and not math.isfinite(value):
            self.error(path, f"must be a finite number, not {value}")
            return None
        # str() gives the shortest form that reads back as the same float, so 0.1 stays 0.1.
        return Decimal(str(value))

    def check_localized(self, value: object, path: FieldPath, max_length: int | None = None) -> dict[str, str] | None:
        """Return a localized text as {locale: text}, with the texts trimmed.

        A plain string is the text in the default locale.
        """
        if isinstance(value, str):
            if self.default_locale is None:
                return None
            texts = {self.default_locale: value}
            entry_paths = {self.default_locale: path}
        elif isinstance(value, dict):
            texts = value
            entry_paths = {locale: path + (locale,) for locale in value}
        else:
            self.type_error(path, value, "text or a mapping of locales to texts, such as {nl: ..., en: ...}")
            return None

        result: dict[str, str] = {}
        valid = True
        for locale, text in texts.items():
            entry_path = entry_paths[locale]
            if not LOCALE_PATTERN.fullmatch(locale):
                self.error(entry_path, f"invalid locale {locale!r}. {LOCALE_RULE}")
                valid = False
                continue
            checked = self._check_text_entry(text, entry_path, max_length)
            if checked is None:
                valid = False
                continue
            result[locale] = checked

        if self.default_locale is not None and self.default_locale not in texts:
            self.error(path, f"missing the text in the default locale {self.default_locale!r}")
            valid = False
        return result if valid else None

    def _check_text_entry(self, value: object, path: FieldPath, max_length: int | None) -> str | None:
        text = self.check_text(value, path)
        if text is None:
            return None
        text = text.strip()
        if not text:
            self.error(path, "must not be empty")
            return None
        if max_length is not None and len(text) > max_length:
            self.error(path, f"is {len(text)} characters long, the maximum is {max_length}")
            return None
        return text
