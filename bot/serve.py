"""``chatpanel serve``: the webhook server."""

from __future__ import annotations

import logging

from aiohttp import web

from bot.runtime import build_runtime
from bot.settings import Settings
from bot.web import create_app

log = logging.getLogger(__name__)


def serve(settings: Settings) -> int:
    """Run the server until interrupted. Raises SettingsError for incomplete settings."""
    settings.require_for_serving()
    app = create_app(build_runtime(settings))
    log.info("serving on http://%s:%s", settings.host, settings.port)
    web.run_app(app, host=settings.host, port=settings.port, print=None, access_log=None)
    return 0
