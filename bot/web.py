"""The aiohttp application: webhooks for Telegram and Twilio, Twilio status callbacks and a
health check.

A webhook authenticates, claims and handles the message in one transaction, and answers.
Sending happens in the delivery worker, so nothing slow sits between the provider and its
answer. Between parsing and handling, bot.inbound_limit drops the messages of an address
that sends more than ``inbound_per_minute`` (per server process).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging

from aiohttp import web
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from bot import moderation_chat, status_callbacks
from bot.channels import telegram, twilio_sms
from bot.channels.types import Channel, Inbound
from bot.inbound_limit import InboundLimiter
from bot.runtime import Runtime
from store.models import utcnow

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
# How often the counts of dropped messages are logged, at the latest, after their minute ends.
DROP_REPORT_INTERVAL_SECONDS = 10.0
RUNTIME = web.AppKey("runtime", Runtime)
INBOUND_LIMITER = web.AppKey("inbound_limiter", InboundLimiter)


def create_app(runtime: Runtime, inbound_limiter: InboundLimiter | None = None) -> web.Application:
    """Create the web application for ``runtime``. Bodies over 64 KiB get 413.

    ``inbound_limiter`` defaults to one that allows ``settings.inbound_per_minute``
    messages per address; tests pass one with a clock they control.
    """
    app = web.Application(client_max_size=MAX_BODY_BYTES)
    app[RUNTIME] = runtime
    if inbound_limiter is None:
        inbound_limiter = InboundLimiter(runtime.settings.inbound_per_minute)
    app[INBOUND_LIMITER] = inbound_limiter
    app.router.add_get("/healthz", healthz)
    app.router.add_post("/webhooks/telegram", telegram_webhook)
    app.router.add_post("/webhooks/twilio/sms", twilio_sms_webhook)
    app.router.add_post("/webhooks/twilio/whatsapp", twilio_whatsapp_webhook)
    app.router.add_post(status_callbacks.STATUS_CALLBACK_PATH, twilio_status_callback)
    app.cleanup_ctx.append(_run_runtime)
    app.cleanup_ctx.append(_report_inbound_drops)
    return app


async def _run_runtime(app: web.Application):
    runtime = app[RUNTIME]
    await runtime.start()
    yield
    await runtime.stop()


async def _report_inbound_drops(app: web.Application):
    # Drop counts are also logged by the next message that reaches the limiter, but a
    # flood that stops would otherwise leave its last minute unlogged.
    limiter = app[INBOUND_LIMITER]

    async def report_forever() -> None:
        while True:
            await asyncio.sleep(DROP_REPORT_INTERVAL_SECONDS)
            limiter.report_due()

    task = asyncio.create_task(report_forever(), name="inbound drop report")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    limiter.report_all()


async def healthz(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    try:
        async with runtime.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except (SQLAlchemyError, OSError) as error:
        log.error("health check failed: database unreachable (%s)", type(error).__name__)
        return web.json_response({"status": "error", "database": "unreachable"}, status=503)
    return web.json_response({"status": "ok"})


async def telegram_webhook(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    if runtime.telegram is None:
        raise web.HTTPNotFound(text="Telegram is not configured on this server\n")
    secret = runtime.settings.telegram_secret or ""
    if not telegram.secret_matches(request.headers.get("X-Telegram-Bot-Api-Secret-Token"), secret):
        log.warning("Telegram webhook rejected: secret token missing or wrong")
        raise web.HTTPForbidden(text="invalid or missing X-Telegram-Bot-Api-Secret-Token\n")

    data = await _read_update(request)

    chat_id = runtime.settings.moderator_chat_id
    if chat_id is not None and moderation_chat.update_chat_id(data) == chat_id:
        try:
            # The worker's clock is the runtime's clock, which tests may replace.
            answer = await moderation_chat.handle_update(
                data, runtime.telegram.bot, runtime.sessionmaker, runtime.settings, runtime.worker.clock()
            )
        except telegram.MalformedUpdate as error:
            log.warning("Telegram webhook rejected: %s", error)
            raise web.HTTPBadRequest(text=f"{error}\n") from None
        runtime.worker.wake()
        return web.json_response(answer if answer is not None else {})

    try:
        inbound = telegram.parse_update(data, runtime.telegram.bot)
    except telegram.MalformedUpdate as error:
        log.warning("Telegram webhook rejected: %s", error)
        raise web.HTTPBadRequest(text=f"{error}\n") from None

    if inbound is not None and _admitted(request, inbound):
        await runtime.processor.process(inbound)
    # Responding with 200 also to ignored and dropped updates, because any other status
    # makes Telegram send them again.
    answer = telegram.callback_answer(data)
    return web.json_response(answer if answer is not None else {})


async def _read_update(request: web.Request) -> dict:
    """Read the JSON object of a Telegram webhook request.

    Raises 415 for a body that is not JSON and 400 for one that cannot be decoded or is
    not an object.
    """
    if request.content_type != "application/json":
        log.warning("Telegram webhook rejected: content type %s", request.content_type)
        raise web.HTTPUnsupportedMediaType(text="expected a JSON body (Content-Type: application/json)\n")
    body = await request.read()
    try:
        data = json.loads(body)
    except ValueError as error:
        # JSONDecodeError and UnicodeDecodeError are ValueErrors, and so is a number
        # longer than Python's limit on digits for int conversion (4300 by default).
        log.warning("Telegram webhook rejected: body is not valid JSON")
        raise web.HTTPBadRequest(text=f"body is not valid JSON: {error}\n") from None
    except RecursionError:
        log.warning("Telegram webhook rejected: body is not valid JSON")
        raise web.HTTPBadRequest(text="body is not valid JSON: nested too deeply\n") from None
    if not isinstance(data, dict):
        log.warning("Telegram webhook rejected: body is not a JSON object")
        raise web.HTTPBadRequest(text="body must be a JSON object (a Telegram Update)\n")
    return data


async def twilio_sms_webhook(request: web.Request) -> web.Response:
    return await _twilio_webhook(request, Channel.SMS)


async def twilio_whatsapp_webhook(request: web.Request) -> web.Response:
    return await _twilio_webhook(request, Channel.WHATSAPP)


async def _twilio_webhook(request: web.Request, channel: Channel) -> web.Response:
    runtime = request.app[RUNTIME]
    settings = runtime.settings
    if channel is Channel.WHATSAPP and not settings.whatsapp_enabled:
        raise web.HTTPNotFound(text="WhatsApp is not configured on this server\n")
    if channel is not Channel.WHATSAPP and not settings.sms_enabled:
        raise web.HTTPNotFound(text="Twilio is not configured on this server\n")
    params = await _signed_twilio_form(request)
    try:
        inbound = twilio_sms.parse_form(params, channel)
    except twilio_sms.MalformedForm as error:
        # The error text can contain the sender's number, so the log names only the path.
        log.warning("Twilio webhook rejected: malformed message form on %s", request.path)
        raise web.HTTPBadRequest(text=f"not a valid Twilio message webhook: {error}\n") from None

    if _admitted(request, inbound):
        await runtime.processor.process(inbound)
    # An empty TwiML also for a dropped message, so that Twilio does not retry it.
    return web.Response(text=twilio_sms.empty_twiml(), content_type="text/xml")


def _admitted(request: web.Request, inbound: Inbound) -> bool:
    """Return whether the inbound limit lets ``inbound`` through to the engine."""
    return request.app[INBOUND_LIMITER].allow(inbound.channel, inbound.address)


async def twilio_status_callback(request: web.Request) -> web.Response:
    """Store the delivery status that Twilio reports for a message we sent.

    Responds 200 with an empty body, also for an unknown MessageSid or a status that
    is ignored, because Twilio has nothing to do differently then.
    """
    runtime = request.app[RUNTIME]
    if not runtime.settings.twilio_enabled:
        raise web.HTTPNotFound(text="Twilio is not configured on this server\n")
    params = await _signed_twilio_form(request)
    try:
        report = status_callbacks.parse_status_form(params)
    except status_callbacks.MalformedStatusCallback as error:
        log.warning("Twilio status callback rejected: malformed form")
        raise web.HTTPBadRequest(text=f"not a valid Twilio status callback: {error}\n") from None
    # PostgreSQL rejects a NUL character in a query parameter, so a MessageSid that no
    # message of ours can have is rejected before it reaches the store.
    if not twilio_sms.MESSAGE_SID_PATTERN.fullmatch(report.message_sid):
        log.warning("Twilio status callback rejected: invalid MessageSid")
        raise web.HTTPBadRequest(text="not a valid Twilio status callback: invalid MessageSid\n")

    await status_callbacks.record_status(runtime.sessionmaker, report, now=utcnow())
    return web.Response(status=200)


async def _signed_twilio_form(request: web.Request) -> dict[str, str]:
    """Read the form of a Twilio webhook request and check its X-Twilio-Signature.

    Raises 415 for a body that is not form data, 400 for an unreadable form and 403 for
    a missing or wrong signature.
    """
    settings = request.app[RUNTIME].settings
    if request.content_type != "application/x-www-form-urlencoded":
        log.warning("Twilio webhook rejected: content type %s on %s", request.content_type, request.path)
        raise web.HTTPUnsupportedMediaType(text="expected application/x-www-form-urlencoded form data\n")
    try:
        form = await request.post()
    except ValueError as error:
        log.warning("Twilio webhook rejected: unreadable form on %s", request.path)
        raise web.HTTPBadRequest(text=f"body is not valid form data: {error}\n") from None
    except LookupError:
        # aiohttp decodes the body with the charset parameter, which may name no text codec.
        log.warning("Twilio webhook rejected: unknown charset on %s", request.path)
        raise web.HTTPUnsupportedMediaType(text="unknown charset in Content-Type: send UTF-8 form data\n") from None
    params = {key: str(value) for key, value in form.items()}

    # Twilio signs the public URL, which differs from what a proxy forwards to us.
    url = f"{settings.public_url}{request.path_qs}"
    if not twilio_sms.signature_valid(settings.twilio_auth_token or "", url, params, request.headers.get("X-Twilio-Signature")):
        log.warning("Twilio webhook rejected: invalid signature for %s", request.path)
        raise web.HTTPForbidden(text="invalid or missing X-Twilio-Signature\n")
    return params
