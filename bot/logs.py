"""Logging set-up for the command line and the server, and how logs name an address.

No log message may contain a phone number, chat id, message text or survey answer. A
message names a resident by ``Resident.pseudonym`` and an address by ``address_tag``.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets

# httpx logs every request URL at INFO, and Telegram Bot API URLs contain the bot token.
# twilio's HTTP client logs each request's headers and parameters (phone numbers) at INFO.
# python-telegram-bot logs every Bot API call with its chat id and text at DEBUG, and
# aiosqlite logs every statement with its parameters at DEBUG.
_SECRET_BEARING_LOGGERS = ("httpx", "httpcore", "twilio", "telegram", "aiosqlite")

# A random key per process: a tag cannot be reversed by hashing every possible phone
# number, and an address keeps its tag for as long as the process runs.
_ADDRESS_TAG_KEY = secrets.token_bytes(32)
_ADDRESS_TAG_LENGTH = 10


def configure_logging(level: int) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    silence_secret_bearing_loggers()
    # APScheduler logs every run of the scheduler's tick at INFO; ours logs what the tick did.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


def silence_secret_bearing_loggers() -> None:
    """Keep libraries that log tokens or personal data (request URLs, phone numbers, chat
    ids, message texts, SQL parameters) at WARNING and above."""
    for name in _SECRET_BEARING_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def address_tag(channel: str, value: str) -> str:
    """Return a short name for an address in logs, such as ``sms:3f9a0c1b2d``.

    The tag is a keyed hash of the address. NOTE: the key is new in every process, so the
    same address gets another tag after a restart or in another server process.
    """
    digest = hmac.new(_ADDRESS_TAG_KEY, f"{channel}:{value}".encode("utf-8", "surrogatepass"), hashlib.sha256)
    return f"{channel}:{digest.hexdigest()[:_ADDRESS_TAG_LENGTH]}"
