"""Load survey files (YAML) into the survey model and validate them.

Reading turns the YAML node tree into plain data (dict, list, str, int, float, bool, None)
and records the line of every key and list item. Validation then walks the plain data and
collects each problem as a SurveyError, so that one run reports all of them. Surveys that
the store keeps as JSON go through the same validation, without line numbers.
docs/survey-format.md describes the format.
"""

from __future__ import annotations

import datetime
import difflib
import math
import os
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.reader import ReaderError

from bot.flows.model import CLOSED_TYPES, NO, YES, Condition, Option, Question, QuestionType, Survey

STORED_FILENAME = "<stored>"

SURVEY_ID_PATTERN = re.compile(r"[a-z0-9-]{3,64}")
ITEM_ID_PATTERN = re.compile(r"[a-z0-9_]{1,32}")
LOCALE_PATTERN = re.compile(r"[a-z]{2}")
_EXPONENT_PATTERN = re.compile(r"[-+]?[0-9.]+[eE][-+]?[0-9]+")

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
# Values read from one file, counted after expanding aliases. By a rough count, a survey at
# every limit (50 questions of 20 options, 10 languages) has about 15 000, so this only
# stops alias bombs.
MAX_YAML_VALUES = 100_000

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

_TYPE_NAMES = ", ".join(question_type.value for question_type in QuestionType)
_LOCALE_RULE = "Use a two-letter lowercase language code such as nl or en"
_CONDITION_TYPE_NAMES = "single_choice, multiple_choice, yes_no or scale"
_BOOLEAN_HINT = "YAML reads unquoted yes, no, on, off, true and false as booleans, so put the value in quotes"

# A place in the survey data: mapping keys and 0-based list indexes, such as ("questions", 2, "options").
FieldPath = tuple[str | int, ...]


@dataclass(frozen=True)
class SurveyError:
    """One problem in a survey: the file, the 1-based line if known, the field path and the message."""

    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        location = self.file if self.line is None else f"{self.file}:{self.line}"
        if self.field:
            return f"{location}: {self.field}: {self.message}"
        return f"{location}: {self.message}"


class SurveyValidationError(Exception):
    """A survey that cannot be loaded. ``errors`` lists every problem found, in file order."""

    def __init__(self, errors: Iterable[SurveyError]) -> None:
        self.errors = list(errors)
        super().__init__("\n".join(str(error) for error in self.errors))


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
    root = _compose_yaml(text, filename)
    if root is None:
        raise SurveyValidationError([SurveyError(filename, 1, "", "the file is empty. A survey needs id, title and questions")])

    reader = _NodeReader(filename)
    data = reader.read(root)
    checker = _SurveyChecker(filename, reader.lines, reader.rejected_paths)
    checker.errors.extend(reader.errors)
    return checker.check(data)


def survey_from_source(source: Mapping[str, object]) -> Survey:
    """Rebuild and validate a survey from its plain parsed form, such as ``Survey.source``.

    Raises SurveyValidationError with the file name "<stored>" and no line numbers.
    """
    checker = _SurveyChecker(STORED_FILENAME, None)
    return checker.check(_to_plain(source))


def _compose_yaml(text: str, filename: str) -> Node | None:
    """Return the YAML node tree of ``text`` (None for an empty document) or raise one syntax error."""
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        reason = ", ".join(part for part in (exc.context, exc.problem) if part)
        raise SurveyValidationError([SurveyError(filename, line, "", f"invalid YAML: {reason}")]) from exc
    except ReaderError as exc:
        # Raised for control characters, which YAML does not allow. ``position`` counts characters.
        line = text.count("\n", 0, exc.position) + 1
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        message = f"invalid YAML: the control character U+{code:04X} is not allowed in a YAML file"
        raise SurveyValidationError([SurveyError(filename, line, "", message)]) from exc


class _TooManyValues(Exception):
    pass


class _NodeReader:
    """Convert a YAML node tree to plain data and record the line of each value.

    ``lines`` maps a field path to the 1-based line of its key (mapping values) or of the
    value itself (list items and the top level). Problems that YAML itself allows but a
    survey does not (duplicate keys, tags, recursive aliases) go to ``errors``. A rejected
    value becomes None, and its path goes to ``rejected_paths``.
    """

    _SCALAR_TAGS = frozenset(
        f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "bool", "null", "timestamp", "binary")
    )
    _MAPPING_TAG = "tag:yaml.org,2002:map"
    _SEQUENCE_TAG = "tag:yaml.org,2002:seq"
    _MERGE_TAG = "tag:yaml.org,2002:merge"

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.lines: dict[FieldPath, int] = {}
        self.errors: list[SurveyError] = []
        self.rejected_paths: set[FieldPath] = set()
        # A loader used only for its constructors, which turn scalar nodes into values.
        self._constructor = yaml.SafeLoader("")
        self._value_count = 0
        self._open_nodes: set[int] = set()

    def read(self, root: Node) -> object:
        try:
            return self._read(root, (), root.start_mark.line + 1)
        except _TooManyValues:
            message = f"the file expands to more than {MAX_YAML_VALUES} values through aliases"
            self._error((), root.start_mark.line + 1, message)
            raise SurveyValidationError(self.errors) from None
        finally:
            self._constructor.dispose()

    def _error(self, path: FieldPath, line: int, message: str) -> None:
        self.errors.append(SurveyError(self.filename, line, _format_path(path), message))

    def _reject(self, path: FieldPath, line: int, message: str) -> None:
        self._error(path, line, message)
        self.rejected_paths.add(path)

    def _read(self, node: Node, path: FieldPath, line: int) -> object:
        self.lines[path] = line
        self._value_count += 1
        if self._value_count > MAX_YAML_VALUES:
            raise _TooManyValues
        if isinstance(node, ScalarNode):
            return self._read_scalar(node, path, line)

        # An alias can point back to a node that contains it, which would never end.
        if id(node) in self._open_nodes:
            self._reject(path, line, "an alias here refers to a value that contains it")
            return None
        self._open_nodes.add(id(node))
        try:
            if isinstance(node, MappingNode):
                return self._read_mapping(node, path, line)
            return self._read_sequence(node, path, line)
        finally:
            self._open_nodes.discard(id(node))

    def _read_scalar(self, node: ScalarNode, path: FieldPath, line: int) -> object:
        if node.tag not in self._SCALAR_TAGS:
            self._reject(path, line, f"unsupported YAML tag {_short_tag(node.tag)}")
            return None
        try:
            value = self._constructor.construct_object(node)
        except (ConstructorError, ValueError) as exc:
            self._reject(path, line, f"invalid value for the YAML tag {_short_tag(node.tag)}: {exc}")
            return None

        # Keep the data JSON-serialisable. datetime is a subclass of date.
        if isinstance(value, datetime.date):
            return value.isoformat()
        if isinstance(value, bytes):
            return node.value
        return value

    def _read_mapping(self, node: MappingNode, path: FieldPath, line: int) -> object:
        if node.tag != self._MAPPING_TAG:
            self._reject(path, line, f"unsupported YAML tag {_short_tag(node.tag)}")
            return None
        explicit_keys = {id(key_node) for key_node, _ in node.value if key_node.tag != self._MERGE_TAG}
        try:
            # Resolve merge keys (<<: *anchor) the way PyYAML's SafeLoader does. The merged
            # pairs come first, so that keys written in the mapping itself replace them.
            self._constructor.flatten_mapping(node)
        except ConstructorError as exc:
            self._error(path, line, f"invalid merge key: {exc.problem}")

        result: dict[str, object] = {}
        key_nodes: dict[str, Node] = {}
        for key_node, value_node in node.value:
            key_line = key_node.start_mark.line + 1
            if not isinstance(key_node, ScalarNode):
                self._error(path, key_line, "a key must be plain text, not a list or mapping")
                continue
            # Keys are always text, so a locale key such as `no` (Norwegian) stays "no".
            key = key_node.value
            first = key_nodes.get(key)
            if first is not None and id(first) in explicit_keys:
                message = f"duplicate key {key!r}, line {first.start_mark.line + 1} already sets it"
                self._error(path + (key,), key_line, message)
                continue
            key_nodes[key] = key_node
            result[key] = self._read(value_node, path + (key,), key_line)
        return result

    def _read_sequence(self, node: SequenceNode, path: FieldPath, line: int) -> object:
        if node.tag != self._SEQUENCE_TAG:
            self._reject(path, line, f"unsupported YAML tag {_short_tag(node.tag)}")
            return None
        return [self._read(item, path + (index,), item.start_mark.line + 1) for index, item in enumerate(node.value)]


def _short_tag(tag: str) -> str:
    """Return a YAML tag as written in files, such as !!set for tag:yaml.org,2002:set."""
    prefix = "tag:yaml.org,2002:"
    return "!!" + tag[len(prefix) :] if tag.startswith(prefix) else tag


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


def _format_path(path: FieldPath) -> str:
    """Return ``path`` as written in errors, such as ``questions[2].options``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text


def _describe(value: object) -> str:
    """Return a short description of a value that has the wrong type, for error messages."""
    if value is None:
        return "an empty value"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, str):
        excerpt = value if len(value) <= 40 else value[:37] + "..."
        return f"the text {excerpt!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"a value of type {type(value).__name__}"


def _join_or(words: Sequence[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return f"{', '.join(words[:-1])} or {words[-1]}"


def _types_with_key(key: str) -> list[str]:
    return [question_type.value for question_type, keys in TYPE_QUESTION_KEYS.items() if key in keys]


def _is_int(value: object) -> bool:
    # bool is a subclass of int, but true and false are not numbers in a survey file.
    return isinstance(value, int) and not isinstance(value, bool)


def _decimal_places(number: Decimal) -> int:
    exponent = number.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


@dataclass(frozen=True)
class _Reference:
    """An earlier question as show_if conditions see it: its type, option ids and scale range."""

    id: str
    index: int
    type: QuestionType | None
    # None when the question's options or scale range are invalid, so values go unchecked.
    option_ids: tuple[str, ...] | None
    scale_range: tuple[int, int] | None


class _SurveyChecker:
    """Validate plain survey data, collect every error and build the Survey when there are none."""

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

    def check(self, data: object) -> Survey:
        """Return the survey in ``data`` or raise SurveyValidationError with all errors."""
        survey = self._check_survey(data)
        if self.errors or survey is None:
            if self.lines is not None:
                self.errors.sort(key=lambda error: error.line or 0)
            raise SurveyValidationError(self.errors)
        return survey

    # Errors and generic value checks.

    def error(self, path: FieldPath, message: str) -> None:
        if path in self.rejected_paths:
            return
        self.errors.append(SurveyError(self.filename, self._line(path), _format_path(path), message))

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
        message = f"must be {expected}, not {_describe(value)}"
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
        if not _is_int(value):
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
                self.error(entry_path, f"invalid locale {locale!r}. {_LOCALE_RULE}")
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

    # The survey.

    def _check_survey(self, data: object) -> Survey | None:
        if not isinstance(data, dict):
            self.error((), f"the top level must be a mapping with keys such as id, title and questions, not {_describe(data)}")
            return None
        self.check_keys(data, (), SURVEY_KEYS, REQUIRED_SURVEY_KEYS)

        if "default_locale" in data:
            locale = self.check_text(data["default_locale"], ("default_locale",))
            if locale is not None and not LOCALE_PATTERN.fullmatch(locale):
                self.error(("default_locale",), f"invalid locale {locale!r}. {_LOCALE_RULE}")
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
        earlier: dict[str, _Reference] = {}
        questions: list[Question] = []
        for index, item in enumerate(value):
            question = self._check_question(item, (*path, index), index, earlier, all_ids)
            if question is not None:
                questions.append(question)
        return tuple(questions) if len(questions) == len(value) else None

    # Questions.

    def _check_question(
        self, item: object, path: FieldPath, index: int, earlier: dict[str, _Reference], all_ids: Collection[str]
    ) -> Question | None:
        """Check one question, add it to ``earlier`` for later show_if conditions and return it."""
        if not isinstance(item, dict):
            self.type_error(path, item, "a mapping with id, type and text")
            return None
        errors_before = len(self.errors)

        question_type = None
        if "type" in item:
            question_type = self._check_question_type(item["type"], (*path, "type"))
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
            earlier[question_id] = _Reference(question_id, index, question_type, option_ids, scale_range)
        if len(self.errors) > errors_before or question_id is None or question_type is None or text is None:
            return None
        return Question(id=question_id, type=question_type, text=text, optional=optional, show_if=show_if, **fields)

    def _check_question_type(self, value: object, path: FieldPath) -> QuestionType | None:
        name = self.check_text(value, path)
        if name is None:
            return None
        try:
            return QuestionType(name)
        except ValueError:
            self.error(path, f"unknown question type {name!r}. Use one of: {_TYPE_NAMES}")
            return None

    def _check_question_id(self, item: Mapping[str, object], path: FieldPath, earlier: Mapping[str, _Reference]) -> str | None:
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

    # show_if conditions.

    def _check_condition(
        self,
        value: object,
        path: FieldPath,
        question_id: str | None,
        earlier: Mapping[str, _Reference],
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
        earlier: Mapping[str, _Reference],
        all_ids: Collection[str],
    ) -> _Reference | None:
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
        self, raw_values: Sequence[object], paths: Sequence[FieldPath], reference: _Reference | None
    ) -> tuple[str | int, ...] | None:
        """Convert condition values to the form of stored answers: "yes"/"no", scale ints or option ids."""
        values: list[str | int] = []
        for raw, path in zip(raw_values, paths):
            converted = self._check_condition_value(raw, path, reference)
            if converted is not None:
                values.append(converted)
        return tuple(values) if len(values) == len(raw_values) else None

    def _check_condition_value(self, value: object, path: FieldPath, reference: _Reference | None) -> str | int | None:
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
            self.error(path, f"must be yes or no, not {_describe(value)}")
            return None

        if reference.type is QuestionType.SCALE:
            if not _is_int(value):
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
