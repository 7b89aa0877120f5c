"""A loopback SMTP server for tests: aiosmtpd's Controller with a handler that keeps mail.

``smtp_server`` starts servers in several variants (plain, AUTH, STARTTLS, TLS from the
start, a 451 to the first DATA, a 550 to every RCPT). ``smtp_certificate`` makes a
self-signed certificate for 127.0.0.1 with the openssl command line, and
``trusted_smtp_certificate`` makes clients in one test trust it through SSL_CERT_FILE.
"""

from __future__ import annotations

import email
import email.policy
import hmac
import shutil
import socket
import ssl
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from tests.fakes import LOOPBACK_HOST

TlsMode = Literal["starttls", "smtps"]


@dataclass(frozen=True)
class TlsCertificate:
    """A self-signed certificate for 127.0.0.1 and its private key, as PEM files."""

    cert_file: Path
    key_file: Path


@dataclass(frozen=True)
class ReceivedMessage:
    """A message that the fake accepted, with its envelope and how the session ran."""

    mail_from: str
    rcpt_tos: list[str]
    # The bytes after DATA as received, and the same parsed with email.policy.default.
    data: bytes
    message: EmailMessage
    # True when the session was encrypted (after STARTTLS, or TLS from the start).
    tls: bool
    # The user that logged in, or None without AUTH.
    login: str | None


class RecordingHandler:
    """aiosmtpd handler that keeps every accepted message in ``messages``.

    ``fail_data`` is how many of the first DATA commands get a 451 reply, and
    ``reject_recipients`` rejects every RCPT with 550. With ``credentials`` (user,
    password) the handler checks AUTH LOGIN and PLAIN and rejects MAIL with 530 before a
    successful login. ``data_commands``, ``rcpt_commands`` and ``auth_attempts`` count
    what the clients sent.
    """

    def __init__(
        self,
        *,
        credentials: tuple[str, str] | None = None,
        fail_data: int = 0,
        reject_recipients: bool = False,
    ) -> None:
        self.credentials = credentials
        self.fail_data = fail_data
        self.reject_recipients = reject_recipients
        self.messages: list[ReceivedMessage] = []
        self.data_commands = 0
        self.rcpt_commands = 0
        self.auth_attempts = 0

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, mail_options: list[str]
    ) -> str:
        if self.credentials is not None and not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        self.rcpt_commands += 1
        if self.reject_recipients:
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.data_commands += 1
        if self.data_commands <= self.fail_data:
            return "451 4.3.0 Temporary local problem, try again later"

        data = envelope.original_content or b""
        login = session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None
        self.messages.append(
            ReceivedMessage(
                mail_from=envelope.mail_from or "",
                rcpt_tos=list(envelope.rcpt_tos),
                data=data,
                message=email.message_from_bytes(data, policy=email.policy.default),
                tls=server.transport is not None and server.transport.get_extra_info("ssl_object") is not None,
                login=login,
            )
        )
        return "250 2.0.0 OK: queued"

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        """Check a LOGIN or PLAIN login against ``credentials`` (aiosmtpd's authenticator callback)."""
        self.auth_attempts += 1
        if self.credentials is None or not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user, password = (value.encode() for value in self.credentials)
        matches = hmac.compare_digest(auth_data.login, user) and hmac.compare_digest(auth_data.password, password)
        return AuthResult(success=matches, handled=False, auth_data=auth_data)


class _CountingController(Controller):
    """A Controller that counts client connections in ``connections``."""

    connections = 0

    def factory(self) -> SMTP:
        # aiosmtpd builds one SMTP protocol object per connection.
        self.connections += 1
        return super().factory()


class FakeSmtpServer:
    """One running aiosmtpd server on 127.0.0.1. Its ``handler`` records what it received."""

    def __init__(self, controller: _CountingController, handler: RecordingHandler) -> None:
        self._controller = controller
        self.handler = handler
        self.host = LOOPBACK_HOST
        self.port = controller.port

    @property
    def messages(self) -> list[ReceivedMessage]:
        return self.handler.messages

    @property
    def connections(self) -> int:
        """Client connections since the server started."""
        return self._controller.connections

    def url(self, scheme: str = "smtp", *, user: str | None = None, password: str | None = None) -> str:
        """Build an smtp_url for this server, with the user and password percent-encoded."""
        userinfo = ""
        if user is not None:
            userinfo = quote(user, safe="")
            if password is not None:
                userinfo += ":" + quote(password, safe="")
            userinfo += "@"
        return f"{scheme}://{userinfo}{self.host}:{self.port}"

    def stop(self) -> None:
        self._controller.stop()


@pytest.fixture(scope="session")
def smtp_certificate(tmp_path_factory: pytest.TempPathFactory) -> TlsCertificate:
    """A self-signed certificate for IP address 127.0.0.1, valid for one day."""
    if shutil.which("openssl") is None:
        pytest.fail("the TLS tests need the openssl command line to make a certificate; install openssl")
    folder = tmp_path_factory.mktemp("smtp-tls")
    certificate = TlsCertificate(folder / "cert.pem", folder / "key.pem")
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-days", "1", "-subj", f"/CN={LOOPBACK_HOST}",
            "-addext", f"subjectAltName=IP:{LOOPBACK_HOST}",
            "-keyout", str(certificate.key_file), "-out", str(certificate.cert_file),
        ],
        check=True,
        capture_output=True,
    )
    return certificate


@pytest.fixture
def trusted_smtp_certificate(
    smtp_certificate: TlsCertificate, monkeypatch: pytest.MonkeyPatch
) -> TlsCertificate:
    """The fakes' certificate, trusted by new default SSL contexts for this test only.

    It sets SSL_CERT_FILE, which OpenSSL reads whenever a default context loads its
    CA certificates, so it replaces the system's CA certificates during the test.
    """
    monkeypatch.setenv("SSL_CERT_FILE", str(smtp_certificate.cert_file))
    return smtp_certificate


@pytest.fixture
def smtp_server(loopback_only: list[str]) -> Iterator[Callable[..., FakeSmtpServer]]:
    """Start fake SMTP servers on 127.0.0.1 for one test; all stop at teardown.

    Call it with keywords. ``credentials=(user, password)`` requires AUTH LOGIN or
    PLAIN. ``tls="starttls"`` offers STARTTLS (``require_starttls=True`` rejects MAIL
    without it) and ``tls="smtps"`` speaks TLS from the start, both with the given
    ``certificate``. ``fail_data=n`` replies 451 to the first n DATA commands, and
    ``reject_recipients=True`` rejects every RCPT with 550.
    """
    servers: list[FakeSmtpServer] = []

    def start(
        *,
        credentials: tuple[str, str] | None = None,
        tls: TlsMode | None = None,
        certificate: TlsCertificate | None = None,
        require_starttls: bool = False,
        fail_data: int = 0,
        reject_recipients: bool = False,
    ) -> FakeSmtpServer:
        handler = RecordingHandler(
            credentials=credentials, fail_data=fail_data, reject_recipients=reject_recipients
        )
        controller = _CountingController(
            handler,
            hostname=LOOPBACK_HOST,
            port=_free_port(),
            server_hostname="localhost",
            ready_timeout=10.0,
            authenticator=handler.authenticate,
            # With auth_require_tls=True, its default, aiosmtpd offers AUTH only after STARTTLS.
            auth_require_tls=tls == "starttls",
            **_tls_options(tls, certificate, require_starttls),
        )
        controller.start()
        # Controller.start() opens one connection of its own to check that the server runs.
        controller.connections = 0
        server = FakeSmtpServer(controller, handler)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def silent_port(loopback_only: list[str]) -> Iterator[int]:
    """A loopback TCP port that accepts connections but never sends a greeting."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK_HOST, 0))
        # The kernel completes connections into the backlog, and the fixture never calls accept().
        sock.listen(8)
        yield sock.getsockname()[1]


def _tls_options(tls: TlsMode | None, certificate: TlsCertificate | None, require_starttls: bool) -> dict[str, Any]:
    if tls is None:
        return {}
    if certificate is None:
        raise ValueError(f"tls={tls!r} needs a certificate; pass certificate=smtp_certificate")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certificate.cert_file, certificate.key_file)
    if tls == "smtps":
        return {"ssl_context": context}
    return {"tls_context": context, "require_starttls": require_starttls}


def _free_port() -> int:
    # NOTE: another process could take the port between this check and the server's bind,
    # because aiosmtpd 1.4 must know the port before it starts.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK_HOST, 0))
        return sock.getsockname()[1]
