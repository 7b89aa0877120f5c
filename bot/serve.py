"""``chatpanel serve``: the webhook server."""

from __future__ import annotations

import asyncio
import errno
import logging
import signal

from aiohttp import web
from telegram.error import InvalidToken

from bot.runtime import build_runtime
from bot.settings import Settings, SettingsError
from bot.web import create_app

log = logging.getLogger(__name__)


def serve(settings: Settings) -> int:
    """Run the server until SIGINT or SIGTERM.

    Raises SettingsError for incomplete settings, a host or port it cannot listen on, or
    a Telegram token that the Bot API rejects.
    """
    settings.require_for_serving()
    asyncio.run(_serve(settings))
    return 0


async def _serve(settings: Settings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signal_number, stop.set)

    runner = web.AppRunner(create_app(build_runtime(settings)), access_log=None)
    try:
        await runner.setup()
    except InvalidToken:
        raise SettingsError("telegram_token", "rejected by the Telegram Bot API", "copy the token again from BotFather") from None
    try:
        try:
            await web.TCPSite(runner, settings.host, settings.port).start()
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise SettingsError(
                    "port", f"{settings.host}:{settings.port} is already in use", "stop the other process or choose another port"
                ) from None
            # An address the machine does not have (EADDRNOTAVAIL), or a host name that
            # does not resolve (socket.gaierror, an OSError too).
            raise SettingsError(
                "host", f"cannot listen on {settings.host}:{settings.port} ({error.strerror or error})",
                "give an address of this machine, such as 127.0.0.1 or 0.0.0.0",
            ) from None
        log.info("serving on http://%s:%s", settings.host, settings.port)
        await stop.wait()
        log.info("stopping")
    finally:
        await runner.cleanup()
