"""Error types for survey files and helpers that format field paths and values in messages.

A SurveyError names the file, line and field path of one problem. SurveyValidationError
carries every problem found in one survey.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

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


def format_path(path: FieldPath) -> str:
    """Return ``path`` as written in errors, such as ``questions[2].options``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text


def describe_value(value: object) -> str:
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
