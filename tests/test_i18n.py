"""Catalogs: complete in Dutch and English, compiled, plural forms, SMS-friendly."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from bot.channels.sms_segments import is_gsm7, segment_count
from bot.i18n import locales_dir, normalize_locale, texts
from bot.settings import SUPPORTED_LOCALES

LOCALES = Path(locales_dir())


def catalog(locale: str):
    with open(LOCALES / locale / "LC_MESSAGES" / "messages.po", "rb") as po_file:
        return read_po(po_file, locale=locale)


def template_ids() -> set:
    with open(LOCALES / "messages.pot", "rb") as pot_file:
        return {_key(message.id) for message in read_po(pot_file) if message.id}


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_catalog_covers_template(locale):
    ids = {_key(message.id) for message in catalog(locale) if message.id}
    assert template_ids() - ids == set()


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_catalog_fully_translated(locale):
    untranslated = [message.id for message in catalog(locale) if message.id and not all(_strings(message))]
    assert untranslated == []


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_catalog_has_no_fuzzy(locale):
    fuzzy = [message.id for message in catalog(locale) if message.id and message.fuzzy]
    assert fuzzy == []


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_compiled_catalog_matches_po(locale):
    with open(LOCALES / locale / "LC_MESSAGES" / "messages.mo", "rb") as mo_file:
        compiled = {_key(message.id): _strings(message) for message in read_mo(mo_file) if message.id}
    source = {_key(message.id): _strings(message) for message in catalog(locale) if message.id}
    assert compiled == source, "run: pybabel compile -d locales -D messages"


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_placeholders_kept_in_translation(locale):
    for message in catalog(locale):
        if not message.id or not message.python_format:
            continue
        assert not list(message.check()), message.id


def test_template_is_current(tmp_path):
    from babel.messages.extract import extract_from_dir

    extracted = {
        message[2] if isinstance(message[2], str) else tuple(message[2])[:2]
        for message in extract_from_dir(
            str(LOCALES.parent / "bot"),
            keywords={"gettext": None, "ngettext": (1, 2)},
            method_map=[("**.py", "python"), ("digest/templates/**.j2", "jinja2")],
            options_map={"digest/templates/**.j2": {"extensions": "jinja2.ext.i18n,jinja2.ext.do", "trim_blocks": "true", "lstrip_blocks": "true"}},
        )
    }
    assert extracted - template_ids() == set(), "run the pybabel extract command in docs/translations.md"


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_catalog_messages_fit_gsm7(locale):
    not_gsm = [string for message in catalog(locale) if message.id for string in _strings(message) if not is_gsm7(string)]
    assert not_gsm == []


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_catalog_segment_counts(locale):
    """Print the SMS segment count of every catalog message, and keep each to at most 3."""
    counts = []
    for message in catalog(locale):
        for string in _strings(message) if message.id else ():
            counts.append((segment_count(string), string.splitlines()[0][:60]))
    # Shown with: python -m pytest tests/test_i18n.py -k segment_counts -s
    print(f"\nSMS segments per {locale} catalog message (before placeholders are filled):")
    for segments, first_line in sorted(counts, reverse=True):
        print(f"  {segments}  {first_line}")
    assert max(segments for segments, _ in counts) <= 3


@pytest.mark.parametrize(
    ("locale", "count", "expected"),
    [
        ("nl", 0, "Gebruik maximaal 0 cijfers na de komma."),
        ("nl", 1, "Gebruik maximaal 1 cijfer na de komma."),
        ("nl", 2, "Gebruik maximaal 2 cijfers na de komma."),
        ("en", 0, "Please use at most 0 digits after the decimal point."),
        ("en", 1, "Please use at most 1 digit after the decimal point."),
        ("en", 2, "Please use at most 2 digits after the decimal point."),
    ],
)
def test_ngettext_plural_forms(locale, count, expected):
    text = texts(locale).ngettext(
        "Please use at most %(count)s digit after the decimal point.",
        "Please use at most %(count)s digits after the decimal point.",
        count,
    )
    assert text == expected


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("nl", "nl"),
        ("nl-NL", "nl"),
        ("nl_BE", "nl"),
        ("en-US", "en"),
        ("EN", "en"),
        ("de", None),
        ("ar-EG", None),
        ("", None),
        ("not a tag", None),
        (None, None),
    ],
)
def test_normalize_locale(tag, expected):
    assert normalize_locale(tag) == expected


def test_percent_formatting_per_locale():
    assert texts("nl").percent(0.625, decimals=1) == "62,5%"
    assert texts("en").percent(0.625, decimals=1) == "62.5%"


def _key(message_id) -> str | tuple[str, ...]:
    return tuple(message_id) if isinstance(message_id, (list, tuple)) else message_id


def _strings(message) -> tuple[str, ...]:
    return tuple(message.string) if isinstance(message.string, (list, tuple)) else (message.string,)


def test_locales_dir_has_every_locale():
    found = {path.name for path in LOCALES.iterdir() if (path / "LC_MESSAGES" / "messages.mo").is_file()}
    assert found == set(SUPPORTED_LOCALES)


