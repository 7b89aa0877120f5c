"""Translations of the bot's own words through Babel catalogs in ``locales/``.

Message ids are English; ``locales/nl`` and ``locales/en`` hold the Dutch and English texts.
Placeholders use gettext's python-format style: ``%(name)s``.
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from importlib import resources

from babel import Locale, UnknownLocaleError
from babel.numbers import format_decimal, format_percent
from babel.support import Translations

from bot.settings import SUPPORTED_LOCALES

DOMAIN = "messages"


def locales_dir() -> str:
    return str(resources.files("locales"))


def normalize_locale(tag: str | None) -> str | None:
    """Map a tag such as ``nl``, ``nl-NL``, ``nl_BE`` or ``en-US`` to a supported locale,
    or return None when its language is not supported (callers fall back to the default)."""
    if not tag:
        return None
    separator = "-" if "-" in tag else "_"
    try:
        language = Locale.parse(tag.strip(), sep=separator).language
    except (ValueError, TypeError, UnknownLocaleError):
        return None
    return language if language in SUPPORTED_LOCALES else None


class Texts:
    """The bot's texts and number formats in one locale."""

    def __init__(self, locale: str) -> None:
        self.locale = locale
        self._translations = _translations(locale)

    def gettext(self, message: str, **params: object) -> str:
        text = self._translations.gettext(message)
        return text % params if params else text

    def ngettext(self, singular: str, plural: str, count: int, **params: object) -> str:
        text = self._translations.ngettext(singular, plural, count)
        return text % {"count": count, **params}

    def number(self, value: int | float | Decimal) -> str:
        return format_decimal(value, locale=self.locale)

    def percent(self, fraction: float | Decimal, decimals: int = 0) -> str:
        pattern = "#,##0%" if decimals == 0 else "#,##0." + "0" * decimals + "%"
        return format_percent(fraction, format=pattern, locale=self.locale)


@lru_cache(maxsize=None)
def texts(locale: str) -> Texts:
    return Texts(locale)


def translations(locale: str) -> Translations:
    """Return the Babel catalog of ``locale``, such as for Jinja2's ``i18n`` extension.

    The object is shared and cached, so callers must not change it.
    """
    return _translations(locale)


@lru_cache(maxsize=None)
def _translations(locale: str) -> Translations:
    # NOTE: Translations.load falls back to NullTranslations (the English msgids) when a
    # catalog is missing; tests check that every supported locale has a complete catalog.
    return Translations.load(locales_dir(), [locale], DOMAIN)
