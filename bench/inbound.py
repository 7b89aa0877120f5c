"""Benchmark: residents joining and answering a survey by SMS through `chatpanel serve`.

Starts a real `chatpanel serve` process (`python -m bot serve`) on 127.0.0.1 with SMS
through a fake Twilio API that this script serves, loads the five-question survey
bench/vijf-vragen.yaml into its database, and drives it with signed Twilio SMS webhooks
from simulated residents. Each resident first joins (5 messages: greeting, consent,
language, and two skipped profile questions) and then answers the five questions (5
messages), sending one message at a time and waiting for each response. A number of
residents are in progress at once.

For comparison the same client drives a bare aiohttp server, which this script starts in
a process of its own. It checks the same signature and does one INSERT per request, in a
transaction of its own. Its database is of the same kind, reached through the same
driver and engine settings. serve, by contrast, commits the messages that arrive
together in one transaction (bot.inbound).

Prints messages per second and the p50 and p99 latency of the webhook requests, for the
join phase and the answer phase separately, with the ratio serve / bare, on SQLite
and on PostgreSQL, and the machine it ran on.

Run it from the repository root: python bench/inbound.py
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
from aiohttp import web
from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, Text, func, insert, select

from common import (
    DEFAULT_POSTGRESQL_URL, REPOSITORY_ROOT, database_version, machine_description, selected_databases, temporary_database,
)
from bot.channels.twilio_sms import empty_twiml, signature_valid
from bot.flows.loader import load_survey_file
from bot.surveys import save_survey
from store.db import create_engine, create_sessionmaker, upgrade
from store.models import Answer, Response
from store.sqlite_driver import statements_in_loop
from tests.fakes.payloads import PANEL_NUMBER, sign_twilio, twilio_sms_form
from tests.fakes.twilio_api import FakeTwilioApi

LOOPBACK = "127.0.0.1"
SURVEY_FILE = REPOSITORY_ROOT / "bench" / "vijf-vragen.yaml"
WEBHOOK_PATH = "/webhooks/twilio/sms"
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
# Greeting, consent, language 1 (Nederlands), and the age and postcode questions skipped.
JOIN_MESSAGES = ("hoi", "ja", "1", "OVERSLAAN", "OVERSLAAN")
# Option 2, scale point 4, options 1 and 3, the number 12, and yes.
ANSWER_MESSAGES = ("2", "4", "1,3", "12", "ja")
STARTUP_TIMEOUT_SECONDS = 60
STOP_TIMEOUT_SECONDS = 30
# Valid Dutch mobile numbers from +31610000000 up. Messages to them reach only the fake Twilio API.
FIRST_RESIDENT_NUMBER = 31_610_000_000

BARE_MESSAGES = Table(
    "bare_messages",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("message_sid", String(64), unique=True, nullable=False),
    Column("sender", String(64), nullable=False),
    Column("body", Text, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
)


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database", choices=["sqlite", "postgresql", "both"], default="both", help="database to run on (default both)"
    )
    parser.add_argument("--residents", type=int, default=500, help="number of simulated residents (default 500)")
    parser.add_argument(
        "--concurrency", type=int, default=50, help="residents sending messages at the same time (default 50)"
    )
    parser.add_argument(
        "--twilio-rate",
        type=float,
        help="SMS messages a second that serve's delivery worker sends to the fake Twilio API "
        "(default: the product default, 1 a second)",
    )
    parser.add_argument(
        "--postgresql-url",
        default=DEFAULT_POSTGRESQL_URL,
        help=f"PostgreSQL server on which a temporary database is created and dropped (default {DEFAULT_POSTGRESQL_URL})",
    )
    arguments = parser.parse_args()
    if arguments.residents < 1 or arguments.concurrency < 1:
        parser.error("--residents and --concurrency must be at least 1")
    return arguments


@dataclass(frozen=True)
class SignedRequest:
    body: bytes
    headers: dict[str, str]


@dataclass(frozen=True)
class ResidentScript:
    """One resident's signed requests, in the order the resident sends them."""

    join: tuple[SignedRequest, ...]
    answers: tuple[SignedRequest, ...]


@dataclass
class PhaseResult:
    messages: int = 0
    seconds: float = 0.0
    # CPU time the server process used in the phase (user and system), None where unknown.
    server_cpu_seconds: float | None = None
    # Seconds from sending each request to reading its whole response.
    latencies: list[float] = field(default_factory=list)
    failures: int = 0
    first_failure: str | None = None

    @property
    def rate(self) -> float:
        return self.messages / self.seconds if self.seconds else 0.0

    @property
    def server_cpu_ms_per_message(self) -> float | None:
        if self.server_cpu_seconds is None or not self.messages:
            return None
        return self.server_cpu_seconds / self.messages * 1000

    def percentile_ms(self, percent: float) -> float:
        """Return the latency at ``percent`` by the nearest-rank method, in milliseconds."""
        ordered = sorted(self.latencies)
        rank = max(1, math.ceil(percent / 100 * len(ordered)))
        return ordered[rank - 1] * 1000


@dataclass
class ServerResult:
    name: str
    join: PhaseResult
    answers: PhaseResult
    # What the server's database contains afterwards, as a check that every message had its effect.
    check: str


def build_scripts(public_url: str, auth_token: str, residents: int) -> list[ResidentScript]:
    """Build every resident's signed webhook requests for the server at ``public_url``.

    Signing happens here, before the clock starts, so the client does little work while
    it is measured.
    """
    url = public_url + WEBHOOK_PATH
    scripts = []
    for resident in range(residents):
        sender = f"+{FIRST_RESIDENT_NUMBER + resident}"
        requests = []
        for step, text in enumerate(JOIN_MESSAGES + ANSWER_MESSAGES):
            form = twilio_sms_form(f"SM{resident:016x}{step:016x}", sender, text, to=PANEL_NUMBER)
            headers = {"Content-Type": FORM_CONTENT_TYPE, "X-Twilio-Signature": sign_twilio(auth_token, url, form)}
            requests.append(SignedRequest(urlencode(form).encode(), headers))
        scripts.append(ResidentScript(tuple(requests[: len(JOIN_MESSAGES)]), tuple(requests[len(JOIN_MESSAGES) :])))
    return scripts


async def drive_phase(
    http: aiohttp.ClientSession, url: str, scripts: Sequence[ResidentScript], phase: str, concurrency: int
) -> PhaseResult:
    """Send ``phase`` ("join" or "answers") of every script with ``concurrency`` residents at once.

    Each resident sends its messages in order and waits for each response. A response
    other than 200 counts as a failure.
    """
    result = PhaseResult()
    pending = list(reversed(scripts))

    async def play_residents() -> None:
        while pending:
            script = pending.pop()
            for request in getattr(script, phase):
                started = time.perf_counter()
                async with http.post(url, data=request.body, headers=request.headers) as response:
                    text = await response.text()
                result.latencies.append(time.perf_counter() - started)
                result.messages += 1
                if response.status != 200:
                    result.failures += 1
                    result.first_failure = result.first_failure or f"HTTP {response.status}: {text.strip()[:200]}"

    started = time.perf_counter()
    await asyncio.gather(*(play_residents() for _ in range(min(concurrency, len(scripts)))))
    result.seconds = time.perf_counter() - started
    return result


async def drive_server(
    base_url: str, scripts: Sequence[ResidentScript], concurrency: int, server_pid: int
) -> tuple[PhaseResult, PhaseResult]:
    """Run the join phase for every resident, then the answer phase."""
    connector = aiohttp.TCPConnector(limit=concurrency)
    results = []
    async with aiohttp.ClientSession(connector=connector) as http:
        for phase in ("join", "answers"):
            cpu_before = process_cpu_seconds(server_pid)
            result = await drive_phase(http, base_url + WEBHOOK_PATH, scripts, phase, concurrency)
            cpu_after = process_cpu_seconds(server_pid)
            if cpu_before is not None and cpu_after is not None:
                result.server_cpu_seconds = cpu_after - cpu_before
            results.append(result)
    return results[0], results[1]


def process_cpu_seconds(pid: int) -> float | None:
    """Return the user and system CPU time of process ``pid`` so far, from /proc (Linux only)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    # After the command name: utime and stime are the 12th and 13th fields, in clock ticks.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- the product: chatpanel serve ---


async def prepare_panel_database(database_url: str) -> None:
    """Migrate the database and load the benchmark survey, open for residents."""
    engine = create_engine(database_url)
    try:
        await upgrade(engine)
        async with create_sessionmaker(engine)() as session, session.begin():
            await save_survey(session, load_survey_file(SURVEY_FILE))
    finally:
        await engine.dispose()


def start_serve(database_url: str, port: int, twilio_api: FakeTwilioApi, folder: Path, twilio_rate: float | None) -> subprocess.Popen:
    """Start `chatpanel serve` with settings in its environment. Its log goes to ``folder``/serve.log."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("CHATPANEL_")}
    environment.update(
        PYTHONPATH=str(REPOSITORY_ROOT),
        CHATPANEL_DATABASE_URL=database_url,
        CHATPANEL_HOST=LOOPBACK,
        CHATPANEL_PORT=str(port),
        CHATPANEL_PUBLIC_URL=f"http://{LOOPBACK}:{port}",
        CHATPANEL_TWILIO_ACCOUNT_SID=twilio_api.account_sid,
        CHATPANEL_TWILIO_AUTH_TOKEN=twilio_api.auth_token,
        CHATPANEL_TWILIO_SMS_FROM=PANEL_NUMBER,
        CHATPANEL_TWILIO_API_URL=twilio_api.url,
        CHATPANEL_PANEL_OWNER="Stichting Benchmark",
        CHATPANEL_PRIVACY_URL="https://example.org/privacy",
    )
    if twilio_rate is not None:
        environment["CHATPANEL_TWILIO_RATE_PER_SECOND"] = str(twilio_rate)
    # The folder has no chatpanel.toml, so only the environment configures the server. The
    # child process keeps its own handle of the log file.
    with open(folder / "serve.log", "wb") as log_file:
        return subprocess.Popen(
            [sys.executable, "-m", "bot", "serve"], cwd=folder, env=environment, stdout=log_file, stderr=subprocess.STDOUT
        )


async def stop_serve(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        await asyncio.to_thread(process.wait, STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        await asyncio.to_thread(process.wait)
        raise RuntimeError(f"chatpanel serve did not stop within {STOP_TIMEOUT_SECONDS} s of SIGTERM, so it was killed") from None


async def check_panel_database(database_url: str, residents: int) -> str:
    """Count the completed responses and answers, and raise when any is missing."""
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            completed = await connection.scalar(
                select(func.count()).select_from(Response).where(Response.completed_at.is_not(None))
            )
            answers = await connection.scalar(select(func.count()).select_from(Answer))
    finally:
        await engine.dispose()
    expected = residents * len(ANSWER_MESSAGES)
    if completed != residents or answers != expected:
        raise RuntimeError(f"serve stored {completed} completed responses and {answers} answers; expected {residents} and {expected}")
    return f"{completed} completed responses, {answers} answers"


async def run_serve(database_url: str, arguments: argparse.Namespace, twilio_api: FakeTwilioApi, folder: Path) -> ServerResult:
    await prepare_panel_database(database_url)
    port = free_port()
    base_url = f"http://{LOOPBACK}:{port}"
    scripts = build_scripts(base_url, twilio_api.auth_token, arguments.residents)
    process = start_serve(database_url, port, twilio_api, folder, arguments.twilio_rate)
    try:
        await wait_until_healthy(base_url, lambda: process.poll() is None, folder / "serve.log")
        join, answers = await drive_server(base_url, scripts, arguments.concurrency, process.pid)
    finally:
        await stop_serve(process)
    return ServerResult("serve", join, answers, await check_panel_database(database_url, arguments.residents))


# --- the baseline: a bare aiohttp handler with one INSERT ---


BARE_ENGINE = web.AppKey("engine", object)


def run_bare_server(database_url: str, port: int, auth_token: str) -> None:
    """Serve the bare webhook on 127.0.0.1:``port`` until SIGTERM (the child process's target)."""
    public_url = f"http://{LOOPBACK}:{port}"

    async def open_database(app: web.Application):
        engine = create_engine(database_url)
        async with engine.begin() as connection:
            await connection.run_sync(BARE_MESSAGES.metadata.create_all)
        app[BARE_ENGINE] = engine
        yield
        await engine.dispose()

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def webhook(request: web.Request) -> web.Response:
        if request.content_type != FORM_CONTENT_TYPE:
            raise web.HTTPUnsupportedMediaType(text=f"expected {FORM_CONTENT_TYPE}\n")
        params = {key: str(value) for key, value in (await request.post()).items()}
        if not signature_valid(auth_token, public_url + request.path_qs, params, request.headers.get("X-Twilio-Signature")):
            raise web.HTTPForbidden(text="invalid or missing X-Twilio-Signature\n")
        row = dict(
            message_sid=params["MessageSid"], sender=params["From"], body=params.get("Body", ""), received_at=datetime.now(timezone.utc)
        )
        # Like serve's inbound path, the INSERT runs in the event loop's thread on SQLite.
        with statements_in_loop():
            async with request.app[BARE_ENGINE].begin() as connection:
                await connection.execute(insert(BARE_MESSAGES).values(**row))
        return web.Response(text=empty_twiml(), content_type="text/xml")

    app = web.Application(client_max_size=64 * 1024)
    app.cleanup_ctx.append(open_database)
    app.router.add_get("/healthz", healthz)
    app.router.add_post(WEBHOOK_PATH, webhook)
    # run_app stops gracefully on SIGTERM and SIGINT, so the engine is disposed.
    web.run_app(app, host=LOOPBACK, port=port, access_log=None, print=None)


async def run_bare(database_url: str, arguments: argparse.Namespace, auth_token: str) -> ServerResult:
    port = free_port()
    base_url = f"http://{LOOPBACK}:{port}"
    scripts = build_scripts(base_url, auth_token, arguments.residents)
    process = multiprocessing.get_context("spawn").Process(
        target=run_bare_server, args=(database_url, port, auth_token), name="bare-webhook"
    )
    process.start()
    try:
        await wait_until_healthy(base_url, process.is_alive, None)
        join, answers = await drive_server(base_url, scripts, arguments.concurrency, process.pid)
    finally:
        process.terminate()
        await asyncio.to_thread(process.join, STOP_TIMEOUT_SECONDS)
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            stored = await connection.scalar(select(func.count()).select_from(BARE_MESSAGES))
    finally:
        await engine.dispose()
    expected = arguments.residents * (len(JOIN_MESSAGES) + len(ANSWER_MESSAGES))
    if stored != expected:
        raise RuntimeError(f"the bare server stored {stored} rows; expected {expected}")
    return ServerResult("bare", join, answers, f"{stored} rows")


# --- running and reporting ---


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free now (another process could take it before use)."""
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


async def wait_until_healthy(base_url: str, is_running, log_path: Path | None) -> None:
    """Poll GET /healthz until it responds 200. Raise RuntimeError when the server exits or times out."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            if not is_running():
                log = log_path.read_text(errors="replace")[-3000:] if log_path else ""
                raise RuntimeError(f"the server at {base_url} exited during start-up\n{log}")
            try:
                async with http.get(base_url + "/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError(f"the server at {base_url} did not become healthy within {STARTUP_TIMEOUT_SECONDS} s")


def print_results(results: Sequence[ServerResult]) -> None:
    print(
        f"{'server':<7} {'phase':<8} {'messages':>8} {'seconds':>8} {'msg/s':>7} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'server CPU ms/msg':>17} {'failed':>6}"
    )
    for result in results:
        for phase, measured in (("join", result.join), ("answers", result.answers)):
            cpu = measured.server_cpu_ms_per_message
            print(
                f"{result.name:<7} {phase:<8} {measured.messages:>8} {measured.seconds:>8.1f} {measured.rate:>7.1f} "
                f"{measured.percentile_ms(50):>7.1f} {measured.percentile_ms(99):>7.1f} "
                f"{cpu if cpu is not None else float('nan'):>17.2f} {measured.failures:>6}"
            )
    serve, bare = results
    print(f"ratio serve/bare, messages per second: answers {serve.answers.rate / bare.answers.rate:.2f}, join {serve.join.rate / bare.join.rate:.2f}")
    print(f"stored: serve {serve.check}; bare {bare.check}")
    for result in results:
        for measured in (result.join, result.answers):
            if measured.first_failure:
                print(f"first failure at {result.name}: {measured.first_failure}")


async def run_benchmark(arguments: argparse.Namespace) -> None:
    print(f"machine: {machine_description()}; load average before the run {os.getloadavg()[0]:.2f}")
    print(
        f"residents: {arguments.residents}, at once: {arguments.concurrency}, messages per resident: "
        f"{len(JOIN_MESSAGES)} to join + {len(ANSWER_MESSAGES)} answers, serve's Twilio pace: "
        f"{arguments.twilio_rate if arguments.twilio_rate is not None else 'default'} messages/s"
    )
    twilio_api = FakeTwilioApi()
    await twilio_api.start()
    try:
        for kind in selected_databases(arguments.database):
            with tempfile.TemporaryDirectory(prefix="chatpanel-bench-serve-") as folder:
                async with temporary_database(kind, arguments.postgresql_url) as serve_url:
                    print(f"\ndatabase: {await database_version(serve_url)}")
                    serve = await run_serve(serve_url, arguments, twilio_api, Path(folder))
                async with temporary_database(kind, arguments.postgresql_url) as bare_url:
                    bare = await run_bare(bare_url, arguments, twilio_api.auth_token)
            print_results([serve, bare])
    finally:
        await twilio_api.stop()
    print(f"\nSMS messages the fake Twilio API accepted from serve: {len(twilio_api.messages)}")


def main() -> None:
    arguments = parse_arguments()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    asyncio.run(run_benchmark(arguments))


if __name__ == "__main__":
    main()
