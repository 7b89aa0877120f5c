"""Settings from a TOML file and ``CHATPANEL_<KEY>`` environment variables.

The environment wins over the file. Keys are lowercase in the file (``database_url``) and
uppercase after the prefix in the environment (``CHATPANEL_DATABASE_URL``).
"""

from __future__ import annotations

import difflib
import math
import os
import re
import tomllib
from dataclasses import dataclass, fields
from datetime import time
from pathlib import Path
from typing import Mapping
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers

ENV_PREFIX = "CHATPANEL_"
DEFAULT_CONFIG_FILE = "chatpanel.toml"
SUPPORTED_LOCALES = ("nl", "en")
# Sources of an effective setting.
SOURCE_DEFAULT, SOURCE_FILE, SOURCE_ENVIRONMENT = "default", "file", "environment"
# Secret settings, with how many leading characters mask_setting shows of each, so that an
# operator can tell which token is set. The webhook secret is shown not at all.
SECRET_SETTINGS = {"telegram_token": 4, "twilio_auth_token": 4, "telegram_secret": 0}
# URL settings that may carry a password.
PASSWORD_URL_SETTINGS = ("database_url", "smtp_url")


class SettingsError(Exception):
    """A missing or invalid setting. The message names the key and the fix on one line."""

    def __init__(self, key: str, problem: str, fix: str) -> None:
        super().__init__(f"setting {ENV_PREFIX}{key.upper()}: {problem}; {fix}")
        self.key = key
        self.problem = problem
        self.fix = fix
        # Every invalid setting found with this one; the message names only this one.
        self.all: list[SettingsError] = [self]


class SettingsFileError(SettingsError):
    """The settings file cannot be read, names a key that does not exist, or gives a key
    an invalid value."""

    def __init__(self, path: Path, problem: str, fix: str, key: str = "config") -> None:
        Exception.__init__(self, f"settings file {path}: {problem}; {fix}")
        self.key = key
        self.problem = problem
        self.fix = fix
        self.all = [self]


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite+aiosqlite:///chatpanel.db"
    public_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8080
    telegram_token: str | None = None
    telegram_secret: str | None = None
    telegram_api_url: str = "https://api.telegram.org"
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_sms_from: str | None = None
    twilio_api_url: str = "https://api.twilio.com"
    twilio_whatsapp_from: str | None = None
    # Approved WhatsApp Content template SIDs (HX...) for invitations, per locale.
    whatsapp_template_nl: str | None = None
    whatsapp_template_en: str | None = None
    # Sending pace. Telegram allows about 30 messages a second overall and 1 a second per
    # chat. A Twilio long code sends about 1 message a second per sender.
    telegram_rate_per_second: float = 30.0
    telegram_chat_rate_per_second: float = 1.0
    twilio_rate_per_second: float = 1.0
    timezone: str = "Europe/Amsterdam"
    # Messages the scheduler starts wait outside these local hours; replies do not.
    quiet_hours: str = "21:00-09:00"
    invitations_per_week: int = 2
    reminder_after_hours: float = 48.0
    scheduler_interval_seconds: float = 30.0
    # How long a delivery worker owns a message it is sending; after a crash the message is
    # sent again once this has passed. A send starts only while 45 s of it are left, or
    # half of a shorter lease, for the request (30 s at most) and storing its result.
    delivery_lease_seconds: float = 90.0
    # Topics: suggestions one resident may send in 7 days, and how often (in days) approved
    # topics are offered to the panel for support; 0 turns that broadcast off.
    suggestions_per_week: int = 3
    topics_broadcast_days: int = 14
    # Results are shown only for groups of at least this many respondents.
    min_group_size: int = 10
    # Inbound messages one address (chat id or phone number) may send per minute. The
    # webhooks drop the rest with a success status, so the provider does not retry them.
    # 0 turns the limit off. Each server process counts on its own (bot.inbound_limit).
    inbound_per_minute: int = 20
    # Telegram user ids of the moderators, comma-separated, and their group chat's id.
    moderator_telegram_ids: str | None = None
    moderator_chat_id: int | None = None
    # Outgoing mail for the weekly digest: smtp://[USER:PASSWORD@]HOST[:PORT] (STARTTLS when
    # the server offers it), smtp+starttls:// (STARTTLS required) or smtps:// (TLS from the start).
    smtp_url: str | None = None
    smtp_from: str | None = None
    # Representativeness and weighting: a reference population CSV (bot.reference_population),
    # the area code of the panel's area in it, a CSV that maps 4-digit postcodes to the
    # file's district codes, the characteristics to weight on, and the cap on a weight as a
    # multiple of the mean weight.
    reference_population: str | None = None
    reference_area: str | None = None
    postcode_areas: str | None = None
    weighting: str | None = None
    weight_cap: float = 5.0
    panel_name: str = "Inwonerspanel"
    panel_owner: str | None = None
    privacy_url: str | None = None
    # The version of the privacy statement at PRIVACY_URL, such as "2" or "2026-03". A
    # resident who agreed to an older version is asked again the next time they write.
    privacy_version: str = "1"
    # Days that claimed inbound message ids and finished outbox messages are kept.
    retention_days: int = 90
    # Whether an erased resident's closed answers stay as anonymous answers (True) or are
    # deleted with the rest (False). Free-text answers are always deleted.
    erasure_keeps_answers: bool = True
    default_locale: str = "nl"

    @property
    def telegram_enabled(self) -> bool:
        return self.telegram_token is not None

    @property
    def sms_enabled(self) -> bool:
        return self.twilio_account_sid is not None and self.twilio_sms_from is not None

    @property
    def whatsapp_enabled(self) -> bool:
        return self.twilio_account_sid is not None and self.twilio_whatsapp_from is not None

    @property
    def twilio_enabled(self) -> bool:
        return self.twilio_account_sid is not None

    def masked(self) -> dict[str, str]:
        """Return every setting as text that is safe to print or log (see mask_setting)."""
        return {key: mask_setting(key, getattr(self, key)) for key in _keys()}

    def moderator_ids(self) -> frozenset[int]:
        """Return the Telegram user ids allowed to moderate from the moderators' chat."""
        if not self.moderator_telegram_ids:
            return frozenset()
        return frozenset(int(part) for part in self.moderator_telegram_ids.split(",") if part.strip())

    def whatsapp_templates(self) -> dict[str, str]:
        """Return the configured invitation template SID per locale."""
        templates = {"nl": self.whatsapp_template_nl, "en": self.whatsapp_template_en}
        return {locale: sid for locale, sid in templates.items() if sid}

    def weighting_characteristics(self) -> tuple[str, ...]:
        """Return the characteristics to weight on; empty when weighting is off."""
        if not self.weighting:
            return ()
        return tuple(part for part in self.weighting.split(",") if part)

    def require_for_mail(self) -> None:
        """Raise the first of ``mail_problems()``, if any."""
        _raise_first(self.mail_problems())

    def mail_problems(self) -> list[SettingsError]:
        """Return one SettingsError per setting that the digest e-mail lacks."""
        return _missing(
            self,
            ("smtp_url", "give the mail server, such as smtp://USER:PASSWORD@mail.example.nl:587"),
            ("smtp_from", "give the sender address of the digest, such as panel@example.nl"),
        )

    def require_for_serving(self) -> None:
        """Raise the first of ``serving_problems()``, if any."""
        _raise_first(self.serving_problems())

    def serving_problems(self) -> list[SettingsError]:
        """Return one SettingsError per setting that serving webhooks lacks, in the order of
        the keys' importance."""
        problems: list[SettingsError] = []
        if not (self.telegram_enabled or self.twilio_enabled):
            problems.append(
                SettingsError(
                    "telegram_token", "no channel is configured", "set CHATPANEL_TELEGRAM_TOKEN or CHATPANEL_TWILIO_ACCOUNT_SID"
                )
            )
        required = [
            ("panel_owner", "give the name of the organisation that runs the panel"),
            ("privacy_url", "give the https address of the panel's privacy statement"),
        ]
        if self.telegram_enabled:
            required.append(("telegram_secret", "choose a random secret of 16 to 256 characters A-Z, a-z, 0-9, _ or -"))
        if self.twilio_enabled:
            required.append(("twilio_auth_token", "copy the auth token from the Twilio console"))
            if not (self.sms_enabled or self.whatsapp_enabled):
                required.append(("twilio_sms_from", "give the Twilio phone number in E.164 form, such as +3197010000000"))
            required.append(("public_url", "give the https base address at which Twilio reaches this server"))
        if self.whatsapp_enabled and self.default_locale not in self.whatsapp_templates():
            required.append((
                f"whatsapp_template_{self.default_locale}",
                "give the Content SID (HX...) of the approved invitation template in the default language",
            ))
        return problems + _missing(self, *required)


def load_settings(config_path: str | Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Read settings from ``config_path`` (or ./chatpanel.toml if it exists) and the environment.

    Raises SettingsError for an unreadable file, an unknown key or an invalid value.
    """
    return load_settings_with_sources(config_path, environ)[0]


def load_settings_with_sources(
    config_path: str | Path | None = None, environ: Mapping[str, str] | None = None
) -> tuple[Settings, dict[str, str]]:
    """Read settings as load_settings does, and return them with the source of each key:
    SOURCE_DEFAULT, SOURCE_FILE or SOURCE_ENVIRONMENT.

    Raises SettingsError for an unreadable file, an unknown key or an invalid value.
    """
    environ = os.environ if environ is None else environ
    values: dict[str, object] = {}
    sources = dict.fromkeys(_keys(), SOURCE_DEFAULT)
    config_file = settings_file(config_path)
    if config_file is not None:
        values.update(_read_toml(config_file))
        sources.update(dict.fromkeys(values, SOURCE_FILE))
    for key in _keys():
        env_value = environ.get(ENV_PREFIX + key.upper())
        if env_value is not None and env_value != "":
            values[key] = env_value
            sources[key] = SOURCE_ENVIRONMENT
    return _validated(values, sources, config_file), sources


def settings_file(config_path: str | Path | None = None) -> Path | None:
    """Return the settings file that load_settings reads: ``config_path`` when given, else
    ./chatpanel.toml if it exists, else None."""
    if config_path is not None:
        return Path(config_path)
    if Path(DEFAULT_CONFIG_FILE).is_file():
        return Path(DEFAULT_CONFIG_FILE)
    return None


def mask_setting(key: str, value: object) -> str:
    """Return ``value`` of setting ``key`` as text that is safe to print or log.

    A secret (SECRET_SETTINGS) shows at most its first 4 characters, and none when it is
    shorter than 16. A URL that may carry a password (database_url, smtp_url) shows the
    password, and a ``password`` query parameter, as ***. An unset setting is the empty text.
    """
    if value is None:
        return ""
    text = str(value)
    if key in SECRET_SETTINGS:
        prefix_length = SECRET_SETTINGS[key] if len(text) >= 16 else 0
        return text[:prefix_length] + "****"
    if key in PASSWORD_URL_SETTINGS:
        return _mask_url_password(text)
    return text


def _mask_url_password(url: str) -> str:
    try:
        parts = urlsplit(url)
    except ValueError:
        # urlsplit rejects some malformed URLs (an unclosed IPv6 bracket); show none of it.
        return "****"
    if parts.password is not None:
        user_info, _, host = parts.netloc.rpartition("@")
        url = url.replace(parts.netloc, f"{user_info.partition(':')[0]}:***@{host}", 1)
    return re.sub(r"(?i)([?&]password=)[^&#]*", r"\1***", url)


def _keys() -> list[str]:
    return [field.name for field in fields(Settings)]


def _read_toml(path: Path) -> dict[str, object]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SettingsFileError(path, "not found", "create it or leave out --config") from None
    except IsADirectoryError:
        raise SettingsFileError(path, "is a folder", "give the path of a .toml file") from None
    except PermissionError:
        raise SettingsFileError(path, "cannot be read (permission denied)", "check the file's permissions") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise SettingsFileError(path, f"is not valid TOML ({error})", "fix the file") from None
    known = _keys()
    for key in data:
        if key in known:
            continue
        if key.lower() in known:
            raise SettingsFileError(path, f"unknown key {key!r}", f"write keys in lowercase: {key.lower()}")
        close = difflib.get_close_matches(key.lower(), known, n=1)
        hint = f"did you mean {close[0]!r}?" if close else "remove it or check its spelling"
        raise SettingsFileError(path, f"unknown key {key!r}", hint)
    return data


def _validated(values: dict[str, object], sources: dict[str, str], config_file: Path | None) -> Settings:
    """Return the settings for ``values``. Raises the SettingsError of the first invalid
    value, with every invalid value in its ``all``. A value from the settings file is
    named by its key in the file, not by its environment variable."""
    clean: dict[str, object] = {}
    errors: list[SettingsError] = []
    for key, value in values.items():
        validate = _VALIDATORS.get(key, _text)
        try:
            clean[key] = validate(key, value)
        except SettingsError as error:
            if sources.get(key) == SOURCE_FILE and config_file is not None:
                error = SettingsFileError(config_file, f"{key}: {error.problem}", error.fix, key)
            errors.append(error)
    if errors:
        errors[0].all = errors
        raise errors[0]
    return Settings(**clean)


def _missing(settings: Settings, *required: tuple[str, str]) -> list[SettingsError]:
    """Return a "missing" SettingsError for each (key, fix) whose setting is empty."""
    return [SettingsError(key, "missing", fix) for key, fix in required if getattr(settings, key) in (None, "")]


def _raise_first(problems: list[SettingsError]) -> None:
    """Raise the first of ``problems``, with all of them in its ``all``."""
    if problems:
        problems[0].all = problems
        raise problems[0]


def _text(key: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise SettingsError(key, f"invalid value {value!r}", "give a non-empty text")
    return value.strip()


def _port(key: str, value: object) -> int:
    try:
        port = int(str(value))
    except ValueError:
        port = -1
    if not 1 <= port <= 65535:
        raise SettingsError(key, f"invalid value {value!r}", "give a whole number from 1 to 65535")
    return port


def _url(key: str, value: object) -> str:
    text = _text(key, value).rstrip("/")
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise SettingsError(
            key, f"invalid URL {_without_password(text)!r}", "give an http or https address such as https://panel.example.nl"
        )
    return text


def _database_url(key: str, value: object) -> str:
    text = _text(key, value)
    if not text.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
        raise SettingsError(
            key, f"unsupported database URL {text.split(':', 1)[0]!r}", "use sqlite+aiosqlite:///FILE or postgresql+asyncpg://USER@HOST/DB"
        )
    return text


def _telegram_token(key: str, value: object) -> str:
    text = _text(key, value)
    if not re.fullmatch(r"\d+:[A-Za-z0-9_-]{20,}", text):
        raise SettingsError(key, "invalid bot token", "copy the token BotFather gave, in the form 123456:ABC...")
    return text


def _telegram_secret(key: str, value: object) -> str:
    text = _text(key, value)
    if not re.fullmatch(r"[A-Za-z0-9_-]{16,256}", text):
        raise SettingsError(key, "invalid secret", "use 16 to 256 characters A-Z, a-z, 0-9, _ or -")
    return text


def _account_sid(key: str, value: object) -> str:
    text = _text(key, value)
    if not re.fullmatch(r"AC[0-9a-fA-F]{32}", text):
        raise SettingsError(key, "invalid account SID", "copy the SID from the Twilio console: AC followed by 32 hex digits")
    return text


def _phone_number(key: str, value: object) -> str:
    text = _text(key, value)
    try:
        number = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_possible_number(number):
        raise SettingsError(key, f"invalid phone number {text!r}", "give it in E.164 form, such as +3197010000000")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _positive_number(key: str, value: object) -> float:
    try:
        number = float(str(value))
    except ValueError:
        number = -1.0
    if not number > 0:
        raise SettingsError(key, f"invalid value {value!r}", "give a number greater than 0")
    return number


def _count(key: str, value: object) -> int:
    try:
        number = int(str(value))
    except ValueError:
        number = 0
    if number < 1:
        raise SettingsError(key, f"invalid value {value!r}", "give a whole number of at least 1")
    return number


def _content_sid(key: str, value: object) -> str:
    text = _text(key, value)
    if not re.fullmatch(r"HX[0-9a-fA-F]{32}", text):
        raise SettingsError(key, f"invalid Content SID {text!r}", "copy the template SID from the Twilio console: HX followed by 32 hex digits")
    return text


def _timezone(key: str, value: object) -> str:
    text = _text(key, value)
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(key, f"unknown time zone {text!r}", "give an IANA zone name such as Europe/Amsterdam") from None
    return text


def _quiet_hours(key: str, value: object) -> str:
    text = _text(key, value)
    try:
        parse_quiet_hours(text)
    except ValueError:
        raise SettingsError(key, f"invalid quiet hours {text!r}", "give them as HH:MM-HH:MM, such as 21:00-09:00, or 'off'") from None
    return text


def parse_quiet_hours(text: str) -> tuple[time, time] | None:
    """Parse "21:00-09:00" into (start, end) local times, or "off" into None.

    Raises ValueError for any other text.
    """
    if text.strip().lower() == "off":
        return None
    start_text, separator, end_text = text.partition("-")
    if not separator:
        raise ValueError(f"no '-' in quiet hours {text!r}")
    start, end = time.fromisoformat(start_text.strip()), time.fromisoformat(end_text.strip())
    if start == end:
        raise ValueError(f"quiet hours {text!r} start and end at the same time")
    return start, end


def _non_negative_count(key: str, value: object) -> int:
    try:
        number = int(str(value))
    except ValueError:
        number = -1
    if number < 0:
        raise SettingsError(key, f"invalid value {value!r}", "give a whole number of 0 or more")
    return number


def _privacy_version(key: str, value: object) -> str:
    text = _text(key, str(value))
    if len(text) > PRIVACY_VERSION_MAX_LENGTH or not PRIVACY_VERSION_PATTERN.fullmatch(text):
        raise SettingsError(
            key, f"invalid version {text!r}",
            f"give numbers separated by '.' or '-', such as 2 or 2026-03, at most {PRIVACY_VERSION_MAX_LENGTH} characters",
        )
    return text


def _boolean(key: str, value: object) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE_WORDS:
        return True
    if text in _FALSE_WORDS:
        return False
    raise SettingsError(key, f"invalid value {value!r}", "give true or false")


def _telegram_ids(key: str, value: object) -> str:
    text = _text(key, str(value))
    parts = [part.strip() for part in text.split(",")]
    if not parts or not all(re.fullmatch(r"\d{1,20}", part) for part in parts):
        raise SettingsError(key, f"invalid user ids {text!r}", "give numeric Telegram user ids separated by commas, such as 12345,67890")
    return ",".join(parts)


def _chat_id(key: str, value: object) -> int:
    try:
        return int(str(value).strip())
    except ValueError:
        raise SettingsError(key, f"invalid chat id {value!r}", "give the numeric id of the moderators' group, such as -1001234567890") from None


def _locale(key: str, value: object) -> str:
    text = _text(key, value).lower()
    if text not in SUPPORTED_LOCALES:
        raise SettingsError(key, f"unsupported locale {text!r}", f"use one of {', '.join(SUPPORTED_LOCALES)}")
    return text


def _smtp_url(key: str, value: object) -> str:
    text = _text(key, value)
    # An unencoded "@", "/", "?" or "#" in the password makes the rest of it read as the host.
    authority = text.split("://", 1)[-1]
    if authority.count("@") > 1 or any(mark in text for mark in "?#"):
        raise SettingsError(
            key, f"invalid mail server address {_without_userinfo(text)!r}",
            "percent-encode special characters in the user and password, such as @ as %40, / as %2F and # as %23",
        )
    parts = urlsplit(text)
    if parts.scheme not in SMTP_SCHEMES or not parts.hostname:
        raise SettingsError(
            key, f"invalid mail server address {_without_password(text)!r}",
            "give it as smtp://USER:PASSWORD@HOST:587, smtp+starttls://HOST:587 or smtps://HOST:465",
        )
    try:
        parts.port
    except ValueError:
        raise SettingsError(key, f"invalid port in {_without_password(text)!r}", "give a port from 1 to 65535") from None
    return text


def _without_userinfo(url: str) -> str:
    """Return ``url`` with everything up to its last "@" after the scheme hidden, so that a
    password with unencoded special characters is never shown in part."""
    scheme, separator, rest = url.partition("://")
    if not separator or "@" not in rest:
        return url
    return f"{scheme}://***@{rest.rsplit('@', 1)[1]}"


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return url.replace(f":{parts.password}@", ":***@", 1)


def _email(key: str, value: object) -> str:
    text = _text(key, value)
    if not EMAIL_PATTERN.fullmatch(text):
        raise SettingsError(key, f"invalid e-mail address {text!r}", "give one address such as panel@example.nl")
    return text


def _characteristics(key: str, value: object) -> str:
    text = _text(key, value)
    names = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [name for name in names if name not in WEIGHTING_CHARACTERISTICS]
    if not names or unknown:
        raise SettingsError(
            key, f"unknown characteristic {', '.join(unknown) or text!r}",
            f"give one or more of {', '.join(WEIGHTING_CHARACTERISTICS)}, separated by commas",
        )
    return ",".join(dict.fromkeys(names))


def _weight_cap(key: str, value: object) -> float:
    try:
        number = float(str(value))
    except ValueError:
        number = 0.0
    if not (number >= 1 and math.isfinite(number)):
        raise SettingsError(key, f"invalid value {value!r}", "give a number of 1 or more, such as 5")
    return number


SMTP_SCHEMES = ("smtp", "smtp+starttls", "smtps")
# Privacy statement versions are compared number by number (bot.flows.consent), so they
# consist of numbers only. The length fits Resident.consent_version.
PRIVACY_VERSION_PATTERN = re.compile(r"\d{1,6}(?:[.-]\d{1,6})*")
PRIVACY_VERSION_MAX_LENGTH = 16
_TRUE_WORDS = frozenset({"true", "yes", "on", "1"})
_FALSE_WORDS = frozenset({"false", "no", "off", "0"})
EMAIL_PATTERN = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
# Profile characteristics that can be compared with the reference population and weighted.
WEIGHTING_CHARACTERISTICS = ("age", "district")


_VALIDATORS = {
    "database_url": _database_url,
    "public_url": _url,
    "port": _port,
    "telegram_token": _telegram_token,
    "telegram_secret": _telegram_secret,
    "telegram_api_url": _url,
    "twilio_account_sid": _account_sid,
    "twilio_sms_from": _phone_number,
    "twilio_api_url": _url,
    "twilio_whatsapp_from": _phone_number,
    "whatsapp_template_nl": _content_sid,
    "whatsapp_template_en": _content_sid,
    "telegram_rate_per_second": _positive_number,
    "telegram_chat_rate_per_second": _positive_number,
    "twilio_rate_per_second": _positive_number,
    "timezone": _timezone,
    "quiet_hours": _quiet_hours,
    "invitations_per_week": _count,
    "reminder_after_hours": _positive_number,
    "scheduler_interval_seconds": _positive_number,
    "delivery_lease_seconds": _positive_number,
    "suggestions_per_week": _count,
    "topics_broadcast_days": _non_negative_count,
    "min_group_size": _count,
    "inbound_per_minute": _non_negative_count,
    "moderator_telegram_ids": _telegram_ids,
    "moderator_chat_id": _chat_id,
    "privacy_url": _url,
    "privacy_version": _privacy_version,
    "retention_days": _count,
    "erasure_keeps_answers": _boolean,
    "default_locale": _locale,
    "smtp_url": _smtp_url,
    "smtp_from": _email,
    "weighting": _characteristics,
    "weight_cap": _weight_cap,
}
