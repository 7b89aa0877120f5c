"""Survey model: the parsed, validated form of a survey file.

Texts are kept per locale as ``{"nl": ..., "en": ...}`` mappings. Every text has the
survey's default locale; other locales are optional and fall back to the default.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Mapping, TypeAlias

LocalizedText: TypeAlias = Mapping[str, str]

# An answer value as stored: an option id (single choice), a list of option ids (multiple
# choice), an int (scale), "yes" or "no" (yes/no), a decimal string such as "7.5" (number),
# or the resident's text (free text).
AnswerValue: TypeAlias = str | int | list[str]

YES = "yes"
NO = "no"


class QuestionType(StrEnum):
    SINGLE_CHOICE = "single_choice"
    MULTIPLE_CHOICE = "multiple_choice"
    SCALE = "scale"
    YES_NO = "yes_no"
    NUMBER = "number"
    TEXT = "text"


CLOSED_TYPES = frozenset(
    {QuestionType.SINGLE_CHOICE, QuestionType.MULTIPLE_CHOICE, QuestionType.SCALE, QuestionType.YES_NO}
)


@dataclass(frozen=True)
class Option:
    id: str
    label: LocalizedText


@dataclass(frozen=True)
class Condition:
    """Show a question only when the answer to ``question`` is one of ``values``.

    For a multiple-choice question the condition holds when any chosen option is listed.
    Values are option ids, "yes"/"no", or scale points as ints.
    """

    question: str
    values: tuple[str | int, ...]

    def holds(self, answers: Mapping[str, AnswerValue]) -> bool:
        answer = answers.get(self.question)
        if answer is None:
            return False
        if isinstance(answer, list):
            return any(choice in self.values for choice in answer)
        return answer in self.values


@dataclass(frozen=True)
class Question:
    id: str
    type: QuestionType
    text: LocalizedText
    options: tuple[Option, ...] = ()
    # Scale and number: inclusive range. Number: ``decimals`` digits after the separator.
    min: Decimal | None = None
    max: Decimal | None = None
    decimals: int = 0
    min_label: LocalizedText | None = None
    max_label: LocalizedText | None = None
    # Multiple choice: how many options a resident may pick (``max_choices`` None = all).
    min_choices: int = 1
    max_choices: int | None = None
    # Free text: maximum length in characters.
    max_length: int | None = None
    optional: bool = False
    show_if: Condition | None = None

    def option(self, option_id: str) -> Option | None:
        return next((option for option in self.options if option.id == option_id), None)

    @property
    def is_closed(self) -> bool:
        return self.type in CLOSED_TYPES


@dataclass(frozen=True)
class Survey:
    id: str
    title: LocalizedText
    requested_by: LocalizedText
    intro: LocalizedText
    outro: LocalizedText
    questions: tuple[Question, ...]
    default_locale: str = "nl"
    version: int = 1
    # The parsed file content, kept so the store can save and rebuild the survey exactly.
    source: Mapping[str, object] = field(default_factory=dict, compare=False, repr=False)

    def question(self, question_id: str) -> Question:
        for question in self.questions:
            if question.id == question_id:
                return question
        raise KeyError(f"survey {self.id!r} has no question {question_id!r}")

    def index_of(self, question_id: str) -> int:
        return next(i for i, question in enumerate(self.questions) if question.id == question_id)

    def next_question(self, after: str | None, answers: Mapping[str, AnswerValue]) -> Question | None:
        """Return the first question after ``after`` (or the first question) whose
        ``show_if`` holds for ``answers``, or None at the end of the survey."""
        start = 0 if after is None else self.index_of(after) + 1
        for question in self.questions[start:]:
            if question.show_if is None or question.show_if.holds(answers):
                return question
        return None

    def text(self, texts: LocalizedText, locale: str) -> str:
        """Return ``texts`` in ``locale``, falling back to the survey's default locale."""
        return texts.get(locale) or texts[self.default_locale]
