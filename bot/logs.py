"""Logging set-up for the command line and the server."""

from __future__ import annotations

import logging

# httpx logs every request URL at INFO, and Telegram Bot API URLs contain the bot token.
# twilio's HTTP client logs each request's headers and parameters (phone numbers) at INFO.
_SECRET_BEARING_LOGGERS = ("httpx", "httpcore", "twilio")


def configure_logging(level: int) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    silence_secret_bearing_loggers()
    # APScheduler logs every run of the scheduler's tick at INFO; ours logs what the tick did.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


def silence_secret_bearing_loggers() -> None:
    """Keep libraries that log request URLs (with tokens in them) at WARNING and above."""
    for name in _SECRET_BEARING_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
