"""``chatpanel serve`` as a real process, with its background delivery worker, against the
fake Telegram and Twilio APIs on 127.0.0.1."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

import aiohttp
import pytest

from tests.fakes.payloads import PANEL_NUMBER, sign_twilio, telegram_text_update, twilio_sms_form

ROOT = Path(__file__).resolve().parent.parent
SECRET = "serve-secret-0123456789"
PUBLIC_URL = "https://panel.example.nl"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def wait_until(condition, timeout: float = 20.0) -> None:
    """Wait until ``condition()`` is true, checking every 50 ms, or fail after ``timeout``."""
    async with asyncio.timeout(timeout):
        while not await condition():
            await asyncio.sleep(0.05)


def serve_env(tmp_path, port: int, telegram_api, twilio_api) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("CHATPANEL_")}
    env.update(
        PYTHONPATH=str(ROOT),
        CHATPANEL_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'serve.db'}",
        CHATPANEL_PORT=str(port),
        CHATPANEL_PUBLIC_URL=PUBLIC_URL,
        CHATPANEL_PANEL_OWNER="Stichting Test",
        CHATPANEL_PRIVACY_URL="https://example.org/privacy",
        CHATPANEL_TELEGRAM_TOKEN=telegram_api.token,
        CHATPANEL_TELEGRAM_SECRET=SECRET,
        CHATPANEL_TELEGRAM_API_URL=telegram_api.url,
        CHATPANEL_TWILIO_ACCOUNT_SID=twilio_api.account_sid,
        CHATPANEL_TWILIO_AUTH_TOKEN=twilio_api.auth_token,
        CHATPANEL_TWILIO_SMS_FROM=PANEL_NUMBER,
        CHATPANEL_TWILIO_API_URL=twilio_api.url,
    )
    return env


@pytest.fixture
async def serve_process(tmp_path, telegram_api, twilio_api):
    port = free_port()
    env = serve_env(tmp_path, port, telegram_api, twilio_api)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "serve", env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as http:

        async def healthy() -> bool:
            if process.returncode is not None:
                raise AssertionError(f"serve exited with {process.returncode}: {await process.stdout.read()}")
            try:
                async with http.get(f"{base}/healthz") as response:
                    return response.status == 200
            except aiohttp.ClientConnectionError:
                return False

        try:
            await wait_until(healthy)
            yield http, base, process
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGINT)
                await asyncio.wait_for(process.wait(), 20)


async def test_serve_answers_both_channels(serve_process, telegram_api, twilio_api):
    http, base, process = serve_process
    form = twilio_sms_form("SM" + "a" * 32, "+31612345678", "hoi")
    signature = sign_twilio(twilio_api.auth_token, f"{PUBLIC_URL}/webhooks/twilio/sms", form)
    async with http.post(f"{base}/webhooks/twilio/sms", data=form, headers={"X-Twilio-Signature": signature}) as response:
        assert response.status == 200
    update = telegram_text_update(1, 4242, "hoi")
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    async with http.post(f"{base}/webhooks/telegram", json=update, headers=headers) as response:
        assert response.status == 200

    async def delivered() -> bool:
        return len(twilio_api.messages) == 1 and len(telegram_api.sent) == 1

    await wait_until(delivered)
    assert "Doe je mee?" in twilio_api.messages[0].body
    assert "Doe je mee?" in telegram_api.sent[0].text


async def test_serve_stops_cleanly(serve_process):
    _, _, process = serve_process
    process.send_signal(signal.SIGINT)
    assert await asyncio.wait_for(process.wait(), 20) == 0
    output = (await process.stdout.read()).decode()
    assert "delivery worker stopped" in output
    assert "Traceback" not in output


async def serve_until_exit(env: dict[str, str]) -> tuple[int, str]:
    """Run `chatpanel serve` until it exits by itself; return its exit code and stderr."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "serve", env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    _, stderr = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode, stderr.decode()


async def test_serve_port_in_use_one_line(tmp_path, telegram_api, twilio_api):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        code, stderr = await serve_until_exit(serve_env(tmp_path, taken.getsockname()[1], telegram_api, twilio_api))
    assert code == 2
    assert "CHATPANEL_PORT" in stderr
    assert "already in use" in stderr
    assert "Traceback" not in stderr


async def test_serve_foreign_host_one_line(tmp_path, telegram_api, twilio_api):
    env = serve_env(tmp_path, free_port(), telegram_api, twilio_api)
    # A documentation address (TEST-NET-1) that no machine has: listening on it fails
    # locally, and no packet leaves.
    env["CHATPANEL_HOST"] = "192.0.2.1"
    code, stderr = await serve_until_exit(env)
    assert code == 2
    assert "setting CHATPANEL_HOST: cannot listen on 192.0.2.1:" in stderr
    assert "give an address of this machine" in stderr
    assert "Traceback" not in stderr


async def test_serve_survives_unreachable_telegram(tmp_path, telegram_api, twilio_api, closed_port):
    port = free_port()
    env = serve_env(tmp_path, port, telegram_api, twilio_api)
    env["CHATPANEL_TELEGRAM_API_URL"] = f"http://127.0.0.1:{closed_port}"
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "serve", env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    try:
        async with aiohttp.ClientSession() as http:

            async def healthy() -> bool:
                assert process.returncode is None, "serve exited"
                try:
                    async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                        return response.status == 200
                except aiohttp.ClientConnectionError:
                    return False

            await wait_until(healthy)
    finally:
        process.send_signal(signal.SIGINT)
        await asyncio.wait_for(process.wait(), 20)
    output = (await process.stdout.read()).decode()
    assert "telegram API unreachable at start-up" in output
    assert "Traceback" not in output
