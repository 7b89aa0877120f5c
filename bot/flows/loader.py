"""Load survey files (YAML) into the survey model and validate them.

Reading turns the YAML node tree into plain data (dict, list, str, int, float, bool, None)
and records the line of every key and list item. Validation then walks the plain data and
collects each problem as a SurveyError, so that one run reports all of them. Surveys that
the store keeps as JSON go through the same validation, without line numbers.
docs/survey-format.md describes the format.

This module is the public interface, and it re-exports the format constants and error types.
bot.flows.survey_yaml reads the YAML. bot.flows.survey_validation checks the plain data,
using the generic checks in survey_values and the show_if checks in survey_conditions.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path

from bot.flows.model import Survey
from bot.flows.survey_errors import FieldPath, SurveyError, SurveyValidationError
from bot.flows.survey_format import (
    ALL_QUESTION_KEYS,
    COMMON_QUESTION_KEYS,
    CONDITION_KEYS,
    DEFAULT_LOCALE,
    DEFAULT_TEXT_ANSWER_LENGTH,
    ITEM_ID_PATTERN,
    LABEL_MAX_LENGTH,
    LOCALE_PATTERN,
    MAX_DECIMALS,
    MAX_OPTIONS,
    MAX_QUESTIONS,
    MAX_SCALE_STEPS,
    MAX_TEXT_ANSWER_LENGTH,
    MIN_OPTIONS,
    OPTION_KEYS,
    QUESTION_TEXT_MAX_LENGTH,
    REQUIRED_QUESTION_KEYS,
    REQUIRED_SURVEY_KEYS,
    REQUIRED_TYPE_QUESTION_KEYS,
    SURVEY_ID_PATTERN,
    SURVEY_KEYS,
    TYPE_QUESTION_KEYS,
)
from bot.flows.survey_validation import SurveyChecker
from bot.flows.survey_yaml import MAX_YAML_VALUES, NodeReader, compose_yaml

__all__ = [
    "ALL_QUESTION_KEYS",
    "COMMON_QUESTION_KEYS",
    "CONDITION_KEYS",
    "DEFAULT_LOCALE",
    "DEFAULT_TEXT_ANSWER_LENGTH",
    "ITEM_ID_PATTERN",
    "LABEL_MAX_LENGTH",
    "LOCALE_PATTERN",
    "MAX_DECIMALS",
    "MAX_OPTIONS",
    "MAX_QUESTIONS",
    "MAX_SCALE_STEPS",
    "MAX_TEXT_ANSWER_LENGTH",
    "MAX_YAML_VALUES",
    "MIN_OPTIONS",
    "OPTION_KEYS",
    "QUESTION_TEXT_MAX_LENGTH",
    "REQUIRED_QUESTION_KEYS",
    "REQUIRED_SURVEY_KEYS",
    "REQUIRED_TYPE_QUESTION_KEYS",
    "STORED_FILENAME",
    "SURVEY_ID_PATTERN",
    "SURVEY_KEYS",
    "TYPE_QUESTION_KEYS",
    "FieldPath",
    "SurveyError",
    "SurveyValidationError",
    "load_survey_file",
    "parse_survey_text",
    "survey_from_source",
]

STORED_FILENAME = "<stored>"


def load_survey_file(path: str | os.PathLike[str]) -> Survey:
    """Read and validate the survey file at ``path``.

    Raises SurveyValidationError when the file cannot be read, is not UTF-8, is not valid
    YAML or breaks a rule of the survey format. Errors name the path as given.
    """
    filename = os.fspath(path)
    try:
        content = Path(path).read_bytes()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise SurveyValidationError([SurveyError(filename, None, "", f"could not read the file: {reason}")]) from exc

    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = content.count(b"\n", 0, exc.start) + 1
        message = f"the file is not valid UTF-8 (byte 0x{content[exc.start]:02x} at offset {exc.start}). Save it as UTF-8"
        raise SurveyValidationError([SurveyError(filename, line, "", message)]) from exc
    return parse_survey_text(text, filename)


def parse_survey_text(text: str, filename: str) -> Survey:
    """Parse and validate a survey from YAML ``text``. ``filename`` is used in the errors.

    Raises SurveyValidationError.
    """
    root = compose_yaml(text, filename)
    if root is None:
        raise SurveyValidationError([SurveyError(filename, 1, "", "the file is empty. A survey needs id, title and questions")])

    reader = NodeReader(filename)
    data = reader.read(root)
    checker = SurveyChecker(filename, reader.lines, reader.rejected_paths)
    checker.errors.extend(reader.errors)
    return checker.check(data)


def survey_from_source(source: Mapping[str, object]) -> Survey:
    """Rebuild and validate a survey from its plain parsed form, such as ``Survey.source``.

    Raises SurveyValidationError with the file name "<stored>" and no line numbers.
    """
    checker = SurveyChecker(STORED_FILENAME, None)
    return checker.check(_to_plain(source))


def _to_plain(value: object) -> object:
    """Return a copy of ``value`` as JSON-style data: dicts with text keys, lists and scalars."""
    if isinstance(value, Mapping):
        return {str(key): _to_plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_plain(item) for item in value]
    if isinstance(value, Decimal):
        if not value.is_finite():
            return str(value)
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value
