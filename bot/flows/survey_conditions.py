"""Check the show_if condition of a question against the questions before it."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from bot.flows.model import CLOSED_TYPES, NO, YES, Condition, QuestionType
from bot.flows.survey_errors import FieldPath, describe_value
from bot.flows.survey_format import CONDITION_KEYS
from bot.flows.survey_values import ValueChecker, is_int

_CONDITION_TYPE_NAMES = "single_choice, multiple_choice, yes_no or scale"


@dataclass(frozen=True)
class QuestionReference:
    """An earlier question as show_if conditions see it: its type, option ids and scale range."""

    id: str
    index: int
    type: QuestionType | None
    # None when the question's options or scale range are invalid, so values go unchecked.
    option_ids: tuple[str, ...] | None
    scale_range: tuple[int, int] | None


class ConditionChecker(ValueChecker):
    """ValueChecker with the checks of show_if conditions, which SurveyChecker runs on each question."""

    def _check_condition(
        self,
        value: object,
        path: FieldPath,
        question_id: str | None,
        earlier: Mapping[str, QuestionReference],
        all_ids: Collection[str],
    ) -> Condition | None:
        if not isinstance(value, dict):
            self.type_error(path, value, "a mapping such as {question: park_visits, equals: daily}")
            return None
        self.check_keys(value, path, CONDITION_KEYS, ("question",))

        reference = None
        if "question" in value:
            reference = self._check_condition_question(value["question"], (*path, "question"), question_id, earlier, all_ids)

        if "equals" in value and "in" in value:
            self.error(path, "give either equals (one value) or in (a list of values), not both")
            return None
        if "equals" in value:
            raw_values = value["equals"]
            if isinstance(raw_values, (list, dict)):
                self.type_error((*path, "equals"), raw_values, "one value (use in for a list of values)")
                return None
            values = self._check_condition_values([raw_values], [(*path, "equals")], reference)
        elif "in" in value:
            raw_values = value["in"]
            if not isinstance(raw_values, list):
                self.type_error((*path, "in"), raw_values, "a list of values")
                return None
            if not raw_values:
                self.error((*path, "in"), "must list at least one value")
                return None
            value_paths = [(*path, "in", index) for index in range(len(raw_values))]
            values = self._check_condition_values(raw_values, value_paths, reference)
        else:
            self.error(path, "missing equals (one value) or in (a list of values)")
            return None

        if reference is None or values is None:
            return None
        assert isinstance(value["question"], str)
        return Condition(question=value["question"], values=values)

    def _check_condition_question(
        self,
        value: object,
        path: FieldPath,
        question_id: str | None,
        earlier: Mapping[str, QuestionReference],
        all_ids: Collection[str],
    ) -> QuestionReference | None:
        name = self.check_text(value, path)
        if name is None:
            return None
        if name == question_id:
            self.error(path, "a question cannot depend on itself. Name an earlier question")
            return None
        reference = earlier.get(name)
        if reference is None:
            if name in all_ids:
                self.error(path, f"question {name!r} comes later in the survey. show_if must name an earlier question")
            else:
                self.error(path, f"no question has the id {name!r}")
            return None
        if reference.type is not None and reference.type not in CLOSED_TYPES:
            self.error(path, f"question {name!r} is a {reference.type} question. show_if must name a {_CONDITION_TYPE_NAMES} question")
            return None
        return reference

    def _check_condition_values(
        self, raw_values: Sequence[object], paths: Sequence[FieldPath], reference: QuestionReference | None
    ) -> tuple[str | int, ...] | None:
        """Convert condition values to the form of stored answers: "yes"/"no", scale ints or option ids."""
        values: list[str | int] = []
        for raw, path in zip(raw_values, paths):
            converted = self._check_condition_value(raw, path, reference)
            if converted is not None:
                values.append(converted)
        return tuple(values) if len(values) == len(raw_values) else None

    def _check_condition_value(self, value: object, path: FieldPath, reference: QuestionReference | None) -> str | int | None:
        if reference is None or reference.type is None:
            # The question is invalid, so only the value's type can be checked.
            if isinstance(value, (list, dict)) or value is None:
                self.type_error(path, value, "an option id, yes, no or a scale point")
            return None

        if reference.type is QuestionType.YES_NO:
            if isinstance(value, bool):
                return YES if value else NO
            if value in (YES, NO):
                return str(value)
            self.error(path, f"must be yes or no, not {describe_value(value)}")
            return None

        if reference.type is QuestionType.SCALE:
            if not is_int(value):
                self.type_error(path, value, "a whole number on the scale")
                return None
            assert isinstance(value, int)
            if reference.scale_range is not None:
                low, high = reference.scale_range
                if not low <= value <= high:
                    self.error(path, f"{value} is not on the scale, which runs from {low} to {high}")
                    return None
            return value

        option_id = self.check_text(value, path)
        if option_id is None:
            return None
        if reference.option_ids is not None and option_id not in reference.option_ids:
            known = ", ".join(reference.option_ids)
            self.error(path, f"question {reference.id!r} has no option {option_id!r}. Its options are {known}")
            return None
        return option_id
