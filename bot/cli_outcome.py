"""The moderator command ``chatpanel survey outcome``: tell residents what was done with the results."""

from __future__ import annotations

import getpass
import sys
from pathlib import Path

import yaml
from yaml.nodes import MappingNode, ScalarNode

from bot.channels.sms_segments import is_gsm7
from bot.cli_survey import database_exists
from bot.outcomes import OutcomeError, record_outcome, validate_texts
from bot.publishing import configured_channels
from bot.schedule_policy import SendPolicy
from bot.settings import Settings
from store.db import create_sessionmaker, migrated_engine
from store.models import utcnow

_NULL_TAG = "tag:yaml.org,2002:null"
FILE_FORMAT_HINT = "write one text per language, such as 'nl: |' with the Dutch text on the lines below it"


class OutcomeFileError(Exception):
    """An outcome text file that cannot be used; the message names the file and the fix."""


async def outcome_command(settings: Settings, survey_id: str, text_file: str, actor: str | None) -> int:
    """Record the outcome of a closed survey from ``text_file`` and queue it for its respondents.

    ``actor`` is the name in the audit log (default: the OS user name). Prints one line
    and returns 0, or prints a one-line error and returns 1.
    """
    try:
        texts = read_outcome_file(text_file)
    except OutcomeFileError as error:
        print(f"chatpanel: error: {error}", file=sys.stderr)
        return 1
    if not database_exists(settings):
        return 1
    for locale, text in texts.items():
        if not is_gsm7(text):
            print(
                f"chatpanel: warning: the {locale!r} text in {text_file} has characters outside the GSM-7 alphabet, "
                "so each SMS carries fewer characters; replace typographic quotes, dashes and emoji to save cost",
                file=sys.stderr,
            )
    policy = SendPolicy.from_settings(settings, configured_channels(settings))
    now = utcnow()
    try:
        async with migrated_engine(settings.database_url) as engine:
            async with create_sessionmaker(engine)() as session, session.begin():
                count = await record_outcome(session, survey_id, texts, actor or getpass.getuser(), now, policy.send_time(now))
    except OutcomeError as error:
        print(f"chatpanel: error: {error}; nothing was recorded", file=sys.stderr)
        return 1
    print(f"outcome of survey {survey_id!r} recorded; queued for {count} resident{'s' if count != 1 else ''} who answered")
    return 0


def read_outcome_file(path: str) -> dict[str, str]:
    """Read a YAML mapping of locale to outcome text and validate it.

    Raises OutcomeFileError that names the file, for a file that is missing, unreadable
    or not UTF-8, invalid YAML, anything but a mapping of texts, a duplicate language,
    or texts that bot.outcomes.validate_texts rejects.
    """
    try:
        content = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise OutcomeFileError(f"{path}: file not found; give the path of a YAML file with the outcome texts") from None
    except UnicodeDecodeError:
        raise OutcomeFileError(f"{path}: the file is not UTF-8 text; save it as UTF-8") from None
    except OSError as error:
        raise OutcomeFileError(f"{path}: cannot read the file ({error.strerror}); check the path and its permissions") from None

    texts = _parse_texts(content, path)
    try:
        return validate_texts(texts)
    except OutcomeError as error:
        raise OutcomeFileError(f"{path}: {error}") from None


def _parse_texts(content: str, path: str) -> dict[str, str]:
    try:
        root = yaml.compose(content, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f" at line {mark.line + 1}" if mark is not None else ""
        reason = ", ".join(part for part in (error.context, error.problem) if part)
        raise OutcomeFileError(f"{path}: invalid YAML{where}: {reason}; {FILE_FORMAT_HINT}") from None
    except yaml.YAMLError as error:
        raise OutcomeFileError(f"{path}: invalid YAML: {error}; {FILE_FORMAT_HINT}") from None

    if not isinstance(root, MappingNode):
        raise OutcomeFileError(f"{path}: expected texts per language; {FILE_FORMAT_HINT}")
    texts: dict[str, str] = {}
    for key_node, value_node in root.value:
        line = key_node.start_mark.line + 1
        if not isinstance(key_node, ScalarNode):
            raise OutcomeFileError(f"{path}: line {line}: a language must be a code such as nl or en; {FILE_FORMAT_HINT}")
        locale = key_node.value
        if locale in texts:
            raise OutcomeFileError(f"{path}: line {line}: the text for {locale!r} is given twice; keep one")
        if not isinstance(value_node, ScalarNode):
            raise OutcomeFileError(f"{path}: line {line}: the text for {locale!r} must be plain text; {FILE_FORMAT_HINT}")
        texts[locale] = "" if value_node.tag == _NULL_TAG else value_node.value
    return texts
