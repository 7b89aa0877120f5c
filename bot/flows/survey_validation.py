"""Validate plain survey data against the survey format and build the Survey model.

SurveyChecker collects each problem as a SurveyError and goes on, so that one run reports
all of them. It checks both the data read from YAML and the JSON form that the store keeps.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from decimal import Decimal

from bot.flows.model import Option, Question, QuestionType, Survey
from bot.flows.survey_conditions import ConditionChecker, QuestionReference
from bot.flows.survey_errors import FieldPath, SurveyValidationError, describe_value
from bot.flows.survey_format import (
    ALL_QUESTION_KEYS,
    COMMON_QUESTION_KEYS,
    DEFAULT_TEXT_ANSWER_LENGTH,
    ITEM_ID_PATTERN,
    LABEL_MAX_LENGTH,
    LOCALE_PATTERN,
    LOCALE_RULE,
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

_TYPE_NAMES = ", ".join(question_type.value for question_type in QuestionType)


def _join_or(words: Sequence[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return f"{', '.join(words[:-1])} or {words[-1]}"


def _types_with_key(key: str) -> list[str]:
    return [question_type.value for question_type, keys in TYPE_QUESTION_KEYS.items() if key in keys]


def _decimal_places(number: Decimal) -> int:
    exponent = number.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


class SurveyChecker(ConditionChecker):
    """Validate plain survey data, collect every error and build the Survey when there are none."""

    def check(self, data: object) -> Survey:
        """Return the survey in ``data`` or raise SurveyValidationError with all errors."""
        survey = self._check_survey(data)
        if self.errors or survey is None:
            if self.lines is not None:
                self.errors.sort(key=lambda error: error.line or 0)
            raise SurveyValidationError(self.errors)
        return survey

    # The survey.

    def _check_survey(self, data: object) -> Survey | None:
        if not isinstance(data, dict):
            self.error((), f"the top level must be a mapping with keys such as id, title and questions, not {describe_value(data)}")
            return None
        self.check_keys(data, (), SURVEY_KEYS, REQUIRED_SURVEY_KEYS)

        if "default_locale" in data:
            locale = self.check_text(data["default_locale"], ("default_locale",))
            if locale is not None and not LOCALE_PATTERN.fullmatch(locale):
                self.error(("default_locale",), f"invalid locale {locale!r}. {LOCALE_RULE}")
                locale = None
            self.default_locale = locale

        survey_id = None
        if "id" in data:
            rule = "3 to 64 lowercase letters, digits and hyphens, such as groen-in-de-wijk"
            survey_id = self.check_id(data["id"], ("id",), SURVEY_ID_PATTERN, rule)
        version = 1
        if "version" in data:
            version = self.check_int(data["version"], ("version",), 1) or 1

        texts: dict[str, dict[str, str] | None] = {}
        for key in ("title", "requested_by", "intro", "outro"):
            texts[key] = self.check_localized(data[key], (key,)) if key in data else None

        questions = self._check_questions(data["questions"]) if "questions" in data else None

        if self.errors or survey_id is None or questions is None or self.default_locale is None:
            return None
        assert all(text is not None for text in texts.values())
        return Survey(
            id=survey_id,
            title=texts["title"] or {},
            requested_by=texts["requested_by"] or {},
            intro=texts["intro"] or {},
            outro=texts["outro"] or {},
            questions=questions,
            default_locale=self.default_locale,
            version=version,
            source=data,
        )

    def _check_questions(self, value: object) -> tuple[Question, ...] | None:
        path: FieldPath = ("questions",)
        if not isinstance(value, list):
            self.type_error(path, value, "a list of questions")
            return None
        if not 1 <= len(value) <= MAX_QUESTIONS:
            self.error(path, f"a survey needs 1 to {MAX_QUESTIONS} questions, this one has {len(value)}")

        # Every id in the survey, so that show_if can tell a later question from a missing one.
        all_ids = {item["id"] for item in value if isinstance(item, dict) and isinstance(item.get("id"), str)}
        earlier: dict[str, QuestionReference] = {}
        questions: list[Question] = []
        for index, item in enumerate(value):
            question = self._check_question(item, (*path, index), index, earlier, all_ids)
            if question is not None:
                questions.append(question)
        return tuple(questions) if len(questions) == len(value) else None

    # Questions.

    def _check_question(
        self, item: object, path: FieldPath, index: int, earlier: dict[str, QuestionReference], all_ids: Collection[str]
    ) -> Question | None:
        """Check one question, add it to ``earlier`` for later show_if conditions and return it."""
        if not isinstance(item, dict):
            self.type_error(path, item, "a mapping with id, type and text")
            return None
        errors_before = len(self.errors)

        question_type = None
        if "type" in item:
            question_type = self._check_question_type(item["type"], (*path, "type"))
        self._check_question_keys(item, path, question_type)

        question_id = self._check_question_id(item, path, earlier)
        text = None
        if "text" in item:
            text = self.check_localized(item["text"], (*path, "text"), QUESTION_TEXT_MAX_LENGTH)
        optional = False
        if "optional" in item:
            optional = bool(self.check_bool(item["optional"], (*path, "optional")))
        show_if = None
        if "show_if" in item:
            show_if = self._check_condition(item["show_if"], (*path, "show_if"), question_id, earlier, all_ids)

        fields: dict[str, object] = {}
        option_ids = None
        scale_range = None
        if question_type in (QuestionType.SINGLE_CHOICE, QuestionType.MULTIPLE_CHOICE):
            fields, options = self._check_choice_fields(item, path, question_type)
            if options is not None:
                option_ids = tuple(option.id for option in options)
        elif question_type is QuestionType.SCALE:
            fields, scale_range = self._check_scale_fields(item, path)
        elif question_type is QuestionType.NUMBER:
            fields = self._check_number_fields(item, path)
        elif question_type is QuestionType.TEXT:
            fields = self._check_text_fields(item, path)

        if question_id is not None and question_id not in earlier:
            earlier[question_id] = QuestionReference(question_id, index, question_type, option_ids, scale_range)
        if len(self.errors) > errors_before or question_id is None or question_type is None or text is None:
            return None
        return Question(id=question_id, type=question_type, text=text, optional=optional, show_if=show_if, **fields)

    def _check_question_keys(self, item: Mapping[str, object], path: FieldPath, question_type: QuestionType | None) -> None:
        """Report unknown, misplaced and missing keys of a question of ``question_type``."""
        if question_type is None:
            # Without a valid type, every question key is allowed and only typos are reported.
            allowed: Collection[str] = ALL_QUESTION_KEYS
            required: Iterable[str] = REQUIRED_QUESTION_KEYS
        else:
            allowed = COMMON_QUESTION_KEYS + TYPE_QUESTION_KEYS[question_type]
            required = REQUIRED_QUESTION_KEYS + REQUIRED_TYPE_QUESTION_KEYS.get(question_type, ())
        misplaced = {
            key: f"{key!r} is not allowed on a {question_type} question, only on {_join_or(_types_with_key(key))} questions"
            for key in ALL_QUESTION_KEYS
            if key not in allowed
        }
        self.check_keys(item, path, allowed, required, misplaced)

    def _check_question_type(self, value: object, path: FieldPath) -> QuestionType | None:
        name = self.check_text(value, path)
        if name is None:
            return None
        try:
            return QuestionType(name)
        except ValueError:
            self.error(path, f"unknown question type {name!r}. Use one of: {_TYPE_NAMES}")
            return None

    def _check_question_id(self, item: Mapping[str, object], path: FieldPath, earlier: Mapping[str, QuestionReference]) -> str | None:
        if "id" not in item:
            return None
        rule = "1 to 32 lowercase letters, digits and underscores, such as park_visits"
        question_id = self.check_id(item["id"], (*path, "id"), ITEM_ID_PATTERN, rule)
        if question_id is not None and question_id in earlier:
            first = earlier[question_id].index
            self.error((*path, "id"), f"duplicate question id {question_id!r}, questions[{first}] already uses it")
            return None
        return question_id

    def _check_choice_fields(
        self, item: Mapping[str, object], path: FieldPath, question_type: QuestionType
    ) -> tuple[dict[str, object], tuple[Option, ...] | None]:
        """Return the fields of a choice question and its options, or None for invalid options."""
        options = None
        if "options" in item:
            options = self._check_options(item["options"], (*path, "options"), question_type)
        fields: dict[str, object] = {"options": options or ()}
        if question_type is QuestionType.MULTIPLE_CHOICE:
            fields["min_choices"], fields["max_choices"] = self._check_choice_counts(item, path, options)
        return fields, options

    def _check_options(self, value: object, path: FieldPath, question_type: QuestionType) -> tuple[Option, ...] | None:
        if not isinstance(value, list):
            self.type_error(path, value, "a list of options")
            return None
        valid = True
        if len(value) < MIN_OPTIONS:
            self.error(path, f"a {question_type} question needs at least {MIN_OPTIONS} options, this one has {len(value)}")
            valid = False
        if len(value) > MAX_OPTIONS:
            self.error(path, f"a {question_type} question can have at most {MAX_OPTIONS} options, this one has {len(value)}")
            valid = False

        options: list[Option] = []
        seen: dict[str, int] = {}
        for index, option in enumerate(value):
            option_path = (*path, index)
            if not isinstance(option, dict):
                self.type_error(option_path, option, "a mapping with id and label")
                valid = False
                continue
            errors_before = len(self.errors)
            self.check_keys(option, option_path, OPTION_KEYS, OPTION_KEYS)
            option_id = None
            if "id" in option:
                rule = "1 to 32 lowercase letters, digits and underscores, such as daily"
                option_id = self.check_id(option["id"], (*option_path, "id"), ITEM_ID_PATTERN, rule)
            if option_id is not None and option_id in seen:
                self.error((*option_path, "id"), f"duplicate option id {option_id!r}, options[{seen[option_id]}] already uses it")
                option_id = None
            label = None
            if "label" in option:
                label = self.check_localized(option["label"], (*option_path, "label"), LABEL_MAX_LENGTH)
            if option_id is not None and option_id not in seen:
                seen[option_id] = index
            if len(self.errors) > errors_before or option_id is None or label is None:
                valid = False
                continue
            options.append(Option(id=option_id, label=label))
        return tuple(options) if valid else None

    def _check_choice_counts(
        self, item: Mapping[str, object], path: FieldPath, options: Sequence[Option] | None
    ) -> tuple[int, int | None]:
        """Return (min_choices, max_choices) of a multiple-choice question. max_choices None means all options."""
        counts: dict[str, int | None] = {"min_choices": 1, "max_choices": None}
        for key in counts:
            if key not in item:
                continue
            count = self.check_int(item[key], (*path, key), 1)
            if count is not None and options is not None and count > len(options):
                self.error((*path, key), f"is {count}, but the question has only {len(options)} options")
                count = None
            counts[key] = count

        min_choices, max_choices = counts["min_choices"], counts["max_choices"]
        if min_choices is not None and max_choices is not None and min_choices > max_choices:
            self.error((*path, "max_choices"), f"must be at least min_choices ({min_choices}), not {max_choices}")
        return min_choices or 1, max_choices

    def _check_scale_fields(self, item: Mapping[str, object], path: FieldPath) -> tuple[dict[str, object], tuple[int, int] | None]:
        """Return the fields of a scale question and its (min, max) range, or None for an invalid range."""
        low = self.check_int(item["min"], (*path, "min")) if "min" in item else None
        high = self.check_int(item["max"], (*path, "max")) if "max" in item else None
        scale_range = None
        if low is not None and high is not None:
            if high <= low:
                self.error((*path, "max"), f"must be greater than min ({low}), not {high}")
            elif high - low > MAX_SCALE_STEPS:
                message = f"a scale has at most {MAX_SCALE_STEPS + 1} points, so max - min can be at most {MAX_SCALE_STEPS}, not {high - low}"
                self.error((*path, "max"), message)
            else:
                scale_range = (low, high)

        fields: dict[str, object] = {
            "min": Decimal(low) if low is not None else None,
            "max": Decimal(high) if high is not None else None,
        }
        for key in ("min_label", "max_label"):
            if key in item:
                fields[key] = self.check_localized(item[key], (*path, key), LABEL_MAX_LENGTH)
        return fields, scale_range

    def _check_number_fields(self, item: Mapping[str, object], path: FieldPath) -> dict[str, object]:
        low = self.check_number(item["min"], (*path, "min")) if "min" in item else None
        high = self.check_number(item["max"], (*path, "max")) if "max" in item else None
        if low is not None and high is not None and low > high:
            self.error((*path, "max"), f"must be at least min ({low}), not {high}")

        decimals: int | None = 0
        if "decimals" in item:
            decimals = self.check_int(item["decimals"], (*path, "decimals"), 0, MAX_DECIMALS)
        # A bound with more decimals than an answer may have is most likely a typo.
        for key, bound in (("min", low), ("max", high)):
            if bound is None or decimals is None:
                continue
            places = _decimal_places(bound)
            if places > decimals:
                message = f"has {places} digits after the decimal point, but decimals is {decimals}. Round it or raise decimals"
                self.error((*path, key), message)
        return {"min": low, "max": high, "decimals": decimals or 0}

    def _check_text_fields(self, item: Mapping[str, object], path: FieldPath) -> dict[str, object]:
        max_length = DEFAULT_TEXT_ANSWER_LENGTH
        if "max_length" in item:
            checked = self.check_int(item["max_length"], (*path, "max_length"), 1, MAX_TEXT_ANSWER_LENGTH)
            max_length = checked if checked is not None else DEFAULT_TEXT_ANSWER_LENGTH
        return {"max_length": max_length}
