"""Read survey YAML into plain data and record the line of each field path.

NodeReader turns the PyYAML node tree into dicts, lists and scalars, and stores dates as
ISO text. It collects the problems that YAML allows but a survey does not (duplicate keys,
unsupported tags, recursive aliases), so that validation reports them with its own errors.
Invalid YAML and a file that aliases expand beyond MAX_YAML_VALUES values raise
SurveyValidationError at once.
"""

from __future__ import annotations

import datetime

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.reader import ReaderError

from bot.flows.survey_errors import FieldPath, SurveyError, SurveyValidationError, format_path

# Values read from one file, counted after expanding aliases. By a rough count, a survey at
# every limit (50 questions of 20 options, 10 languages) has about 15 000, so this only
# stops alias bombs.
MAX_YAML_VALUES = 100_000


def compose_yaml(text: str, filename: str) -> Node | None:
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


class NodeReader:
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
        self.errors.append(SurveyError(self.filename, line, format_path(path), message))

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
