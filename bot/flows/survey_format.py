"""Rules of the survey format as constants: id patterns, size limits and allowed keys.

docs/survey-format.md describes the format for survey authors.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from bot.flows.model import QuestionType

SURVEY_ID_PATTERN = re.compile(r"[a-z0-9-]{3,64}")
ITEM_ID_PATTERN = re.compile(r"[a-z0-9_]{1,32}")
LOCALE_PATTERN = re.compile(r"[a-z]{2}")

DEFAULT_LOCALE = "nl"
MAX_QUESTIONS = 50
MIN_OPTIONS = 2
MAX_OPTIONS = 20
QUESTION_TEXT_MAX_LENGTH = 1000
# Option labels and scale end labels become buttons or short list lines.
LABEL_MAX_LENGTH = 100
MAX_SCALE_STEPS = 10
MAX_DECIMALS = 4
DEFAULT_TEXT_ANSWER_LENGTH = 500
MAX_TEXT_ANSWER_LENGTH = 1000

SURVEY_KEYS = ("id", "version", "default_locale", "title", "requested_by", "intro", "outro", "questions")
REQUIRED_SURVEY_KEYS = ("id", "title", "requested_by", "intro", "outro", "questions")
COMMON_QUESTION_KEYS = ("id", "type", "text", "optional", "show_if")
REQUIRED_QUESTION_KEYS = ("id", "type", "text")
TYPE_QUESTION_KEYS: Mapping[QuestionType, tuple[str, ...]] = {
    QuestionType.SINGLE_CHOICE: ("options",),
    QuestionType.MULTIPLE_CHOICE: ("options", "min_choices", "max_choices"),
    QuestionType.SCALE: ("min", "max", "min_label", "max_label"),
    QuestionType.YES_NO: (),
    QuestionType.NUMBER: ("min", "max", "decimals"),
    QuestionType.TEXT: ("max_length",),
}
REQUIRED_TYPE_QUESTION_KEYS: Mapping[QuestionType, tuple[str, ...]] = {
    QuestionType.SINGLE_CHOICE: ("options",),
    QuestionType.MULTIPLE_CHOICE: ("options",),
    QuestionType.SCALE: ("min", "max"),
}
ALL_QUESTION_KEYS = COMMON_QUESTION_KEYS + tuple(
    dict.fromkeys(key for keys in TYPE_QUESTION_KEYS.values() for key in keys)
)
OPTION_KEYS = ("id", "label")
CONDITION_KEYS = ("question", "equals", "in")

# Appended to the error for an invalid locale.
LOCALE_RULE = "Use a two-letter lowercase language code such as nl or en"
