"""Loopback fakes of the Telegram Bot API and the Twilio Messages API for tests.

Each fake is an aiohttp application served on 127.0.0.1 on a free port.
"""

from __future__ import annotations

from aiohttp import web

LOOPBACK_HOST = "127.0.0.1"


class LoopbackServer:
    """Base for a fake API: serves the application from ``build_app`` on 127.0.0.1."""

    def __init__(self) -> None:
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    def build_app(self) -> web.Application:
        raise NotImplementedError

    @property
    def url(self) -> str:
        """Base URL of the running server, without a trailing slash."""
        if self._port is None:
            raise RuntimeError(f"{type(self).__name__} is not running: call start() first")
        return f"http://{LOOPBACK_HOST}:{self._port}"

    async def start(self) -> None:
        """Start serving on a free port that the operating system picks."""
        runner = web.AppRunner(self.build_app(), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, LOOPBACK_HOST, 0)
        await site.start()
        self._runner = runner
        self._port = runner.addresses[0][1]

    async def stop(self) -> None:
        """Stop the server and close open connections."""
        if self._runner is not None:
            await self._runner.cleanup()
        self._runner = None
        self._port = None
