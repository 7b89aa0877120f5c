"""Compose the weekly digest e-mail and send it over SMTP with aiosmtplib.

``build_message`` does no I/O. ``send_message`` connects to the server named by the
``smtp_url`` setting, retries transient failures and raises MailError when it gives up.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.header import Header
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from urllib.parse import unquote, urlsplit

import aiosmtplib

from bot.digest.model import Attachment, RenderedDigest

__all__ = ["MailError", "build_message", "check_server", "send_message"]

log = logging.getLogger(__name__)

# The setting with the server address, named in the fixes that MailError gives.
_URL_SETTING = "CHATPANEL_SMTP_URL"
# Maximum length of a server reply quoted in an error message or log line, in characters.
_MAX_REPLY_LENGTH = 200


class MailError(Exception):
    """Sending a message failed and send_message gave up.

    ``permanent`` is True when retrying cannot help (a 5xx reply, a rejected login, a
    refused recipient, an untrusted certificate, an invalid URL) and False when the
    attempts ran out on transient failures. ``code`` is the SMTP reply code of the last
    failure, or None when the server sent none (no connection, a timeout). ``server`` is
    HOST:PORT, or empty when the URL could not be parsed. The message is one line that
    names the server and the fix.
    """

    def __init__(self, message: str, *, permanent: bool, code: int | None = None, server: str = "") -> None:
        super().__init__(message)
        self.permanent = permanent
        self.code = code
        self.server = server


def build_message(
    rendered: RenderedDigest,
    *,
    sender: str,
    recipient: str,
    attachments: Sequence[Attachment] = (),
) -> EmailMessage:
    """Build the digest e-mail with Subject, From, To, Date and Message-ID set.

    The structure is multipart/mixed [multipart/alternative [text/plain,
    multipart/related [text/html, image/png ...]], attachment ...]. Each image is an
    inline part with Content-ID ``<cid>``, so ``cid:`` references in the HTML resolve.
    Without images the HTML part is a plain text/html part, and without attachments the
    root is the multipart/alternative part. Text and HTML are UTF-8 in quoted-printable,
    so the message is 7-bit clean for servers without 8BITMIME. A text/* attachment
    without a charset parameter gets ``charset=utf-8``.

    Raises ValueError when the sender address has no domain, when a header value
    contains a line break, or when an attachment's content type is invalid.
    """
    message = EmailMessage()
    _set_subject(message, rendered.subject)
    message["From"] = sender
    message["To"] = recipient
    message["Date"] = format_datetime(datetime.now(timezone.utc))
    message["Message-ID"] = make_msgid(domain=_domain_of(sender))

    message.set_content(rendered.text, subtype="plain", charset="utf-8", cte="quoted-printable")
    message.add_alternative(rendered.html, subtype="html", charset="utf-8", cte="quoted-printable")
    html_part = message.get_body(preferencelist=("html",))
    for image in rendered.images:
        html_part.add_related(
            image.data, "image", "png", cid=f"<{image.cid}>", filename=image.filename, disposition="inline"
        )

    for attachment in attachments:
        maintype, subtype, params = _content_type(attachment)
        message.add_attachment(attachment.data, maintype, subtype, filename=attachment.filename, params=params)
    return message


async def send_message(
    message: EmailMessage,
    smtp_url: str,
    *,
    attempts: int = 3,
    retry_delays: Sequence[float] = (10.0, 60.0),
    timeout: float = 30.0,
    context: str = "",
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    local_hostname: str | None = None,
) -> None:
    """Send ``message`` to its From and To addresses through the server in ``smtp_url``.

    ``smtp_url`` is smtp://[USER:PASSWORD@]HOST[:PORT] (port 25, STARTTLS when the
    server offers it), smtp+starttls://... (port 587, STARTTLS required) or smtps://...
    (port 465, TLS from the start). A percent-encoded user and password are decoded, and
    the client logs in when the URL has a user.

    Transient failures (connection refused or reset, timeouts, 4xx replies) are tried
    again, up to ``attempts`` tries in all. Before try n+1 it awaits
    ``sleep(retry_delays[n-1])`` seconds, and the last delay repeats when there are more
    retries than delays. ``timeout`` is in seconds and applies to connecting and to each
    command, not to the whole send. ``context`` (such as the organisation's slug) goes
    into every log line. ``local_hostname`` is the EHLO name; None lets aiosmtplib use
    socket.getfqdn(). Logs never contain the password or the URL.

    NOTE: a timeout after the message data was sent is retried too, so the recipient
    may get the message twice when the server accepted it but its reply was lost.

    Raises MailError at once on a permanent failure and after the last attempt
    otherwise. Raises ValueError when ``attempts`` is less than 1.
    """
    if attempts < 1:
        raise ValueError(f"attempts must be at least 1, not {attempts}")
    try:
        server = _parse_url(smtp_url)
    except MailError as error:
        log.error("mail for %s not sent: %s", context or "-", error)
        raise

    for attempt in range(1, attempts + 1):
        try:
            await _send_once(message, server, timeout, local_hostname)
        except (aiosmtplib.SMTPException, OSError) as error:
            failure = _classify(error)
            if failure.permanent or attempt == attempts:
                _log_final_failure(failure, server, context, attempt)
                raise _mail_error(failure, server, attempt) from error
            delay = retry_delays[min(attempt, len(retry_delays)) - 1] if retry_delays else 0.0
            log.warning(
                "mail for %s via %s: attempt %d of %d failed, reply code %s: %s (%s); retrying in %g s",
                context or "-", server.address, attempt, attempts, failure.code, failure.problem, failure.reply, delay,
            )
        else:
            log.info("mail for %s sent via %s on attempt %d", context or "-", server.address, attempt)
            return
        await sleep(delay)


async def check_server(smtp_url: str, *, timeout: float = 10.0, local_hostname: str | None = None) -> None:
    """Connect to the server in ``smtp_url`` as send_message does, log in when the URL
    has a user, and quit without sending anything.

    Raises MailError, once and without retrying, for an invalid URL or a failure.
    """
    server = _parse_url(smtp_url)
    client = aiosmtplib.SMTP(**server.client_options(timeout, local_hostname))
    try:
        async with client:
            await client.noop()
    except (aiosmtplib.SMTPException, OSError) as error:
        raise _mail_error(_classify(error), server, 1, doing="connecting to the mail server") from error


@dataclass(frozen=True)
class _Server:
    host: str
    port: int
    use_tls: bool
    # None: upgrade with STARTTLS when the server offers it.
    start_tls: bool | None
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    def client_options(self, timeout: float, local_hostname: str | None) -> dict[str, object]:
        """Return the connection options of aiosmtplib's SMTP client and send() for this server."""
        return {
            "hostname": self.host,
            "port": self.port,
            "username": self.username,
            "password": self.password,
            "use_tls": self.use_tls,
            "start_tls": self.start_tls,
            "timeout": timeout,
            "local_hostname": local_hostname,
        }

    @property
    def address(self) -> str:
        """HOST:PORT, with an IPv6 host in brackets."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


# Per URL scheme: the default port, TLS from the start, and STARTTLS (None: when offered).
_SCHEMES: dict[str, tuple[int, bool, bool | None]] = {
    "smtp": (25, False, None),
    "smtp+starttls": (587, False, True),
    "smtps": (465, True, False),
}


def _parse_url(url: str) -> _Server:
    """Parse an smtp_url setting. Raises a permanent MailError that never quotes the URL."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in _SCHEMES or not parts.hostname:
        raise MailError(
            f"invalid mail server address in {_URL_SETTING} (scheme {scheme!r}, host {parts.hostname!r}); "
            "give it as smtp://USER:PASSWORD@HOST:587, smtp+starttls://HOST:587 or smtps://HOST:465",
            permanent=True,
        )
    try:
        port = parts.port
    except ValueError:
        raise MailError(
            f"invalid port in {_URL_SETTING} for host {parts.hostname}; give a port from 1 to 65535",
            permanent=True,
        ) from None

    default_port, use_tls, start_tls = _SCHEMES[scheme]
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    return _Server(parts.hostname, port or default_port, use_tls, start_tls, username, password)


async def _send_once(message: EmailMessage, server: _Server, timeout: float, local_hostname: str | None) -> None:
    """Make one delivery attempt. Raises SMTPRecipientsRefused when any recipient is refused."""
    refused, _ = await aiosmtplib.send(message, **server.client_options(timeout, local_hostname))
    # aiosmtplib raises only when every recipient is refused and returns the others.
    if refused:
        raise aiosmtplib.SMTPRecipientsRefused(
            [aiosmtplib.SMTPRecipientRefused(reply.code, reply.message, address) for address, reply in refused.items()]
        )


@dataclass(frozen=True)
class _Failure:
    permanent: bool
    code: int | None
    problem: str
    fix: str
    # The server's reply or the error's text, on one line.
    reply: str


# The meaning and fix of each kind of failure. The first matching type wins. The
# flag is True when the failure is permanent although the server sent no reply code.
# With a reply code, 4xx replies are transient and all others are permanent.
_FAILURE_KINDS: tuple[tuple[type[BaseException], str, str, bool], ...] = (
    (
        ssl.SSLCertVerificationError,
        "TLS certificate not trusted",
        "install the CA certificate that signed the server's certificate, or point SSL_CERT_FILE at it",
        True,
    ),
    (
        ssl.SSLError,
        "TLS handshake failed",
        f"check the scheme in {_URL_SETTING}: smtps:// for TLS from the start (port 465), "
        "smtp+starttls:// for STARTTLS (port 587)",
        True,
    ),
    (aiosmtplib.SMTPAuthenticationError, "login rejected", f"check the user and password in {_URL_SETTING}", True),
    (aiosmtplib.SMTPRecipientsRefused, "recipient refused", "check the recipient's e-mail address", True),
    (
        aiosmtplib.SMTPSenderRefused,
        "sender refused",
        "check that CHATPANEL_SMTP_FROM is an address that this login may send from",
        True,
    ),
    (
        aiosmtplib.SMTPDataError,
        "message rejected",
        "read the server's reply: the message may be too large or taken for spam",
        True,
    ),
    (
        aiosmtplib.SMTPTimeoutError,
        "timed out",
        f"check that the host and port in {_URL_SETTING} are reachable from this machine",
        False,
    ),
    (
        aiosmtplib.SMTPConnectResponseError,
        "connection rejected",
        "read the server's reply: it may refuse this machine's address",
        True,
    ),
    (
        aiosmtplib.SMTPConnectError,
        "connection failed",
        f"check that the mail server runs and that {_URL_SETTING} names its host and port",
        False,
    ),
    (
        aiosmtplib.SMTPServerDisconnected,
        "connection closed by the server",
        f"check that the scheme in {_URL_SETTING} matches the port: smtps:// for 465, smtp+starttls:// for 587",
        False,
    ),
    (aiosmtplib.SMTPResponseException, "server replied with an error", "read the server's reply", True),
    (
        aiosmtplib.SMTPException,
        "SMTP session failed",
        f"check that the server supports what {_URL_SETTING} asks for, such as STARTTLS or AUTH",
        True,
    ),
    (
        TimeoutError,
        "timed out",
        f"check that the host and port in {_URL_SETTING} are reachable from this machine",
        False,
    ),
    (OSError, "network error", f"check that the mail server in {_URL_SETTING} is reachable from this machine", False),
)


def _classify(error: BaseException) -> _Failure:
    """Decide whether ``error`` is permanent, and describe it."""
    # aiosmtplib wraps a failed TLS handshake on connect in SMTPConnectError.
    cause = _ssl_cause(error) or error
    problem, fix, permanent_without_code = next(
        (problem, fix, permanent) for kind, problem, fix, permanent in _FAILURE_KINDS if isinstance(cause, kind)
    )
    code = _reply_code(error)
    permanent = permanent_without_code if code is None else not 400 <= code < 500
    return _Failure(permanent, code, problem, fix, _reply_text(cause))


def _ssl_cause(error: BaseException) -> ssl.SSLError | None:
    current: BaseException | None = error
    while current is not None:
        if isinstance(current, ssl.SSLError):
            return current
        current = current.__cause__
    return None


def _reply_code(error: BaseException) -> int | None:
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        codes = [recipient.code for recipient in error.recipients]
        # One permanent refusal makes the whole send permanent.
        return max(codes) if codes else None
    if isinstance(error, aiosmtplib.SMTPResponseException):
        return error.code
    return None


def _reply_text(error: BaseException) -> str:
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        text = "; ".join(recipient.message for recipient in error.recipients)
    elif isinstance(error, aiosmtplib.SMTPException):
        text = error.message
    else:
        text = str(error) or type(error).__name__
    one_line = " ".join(text.split())
    return one_line[:_MAX_REPLY_LENGTH]


def _mail_error(failure: _Failure, server: _Server, attempt: int, doing: str = "sending mail via") -> MailError:
    code = f"{failure.code} " if failure.code is not None else ""
    tries = f" after {attempt} attempts" if attempt > 1 else ""
    return MailError(
        f"{doing} {server.address} failed{tries}: {failure.problem} ({code}{failure.reply}); {failure.fix}",
        permanent=failure.permanent,
        code=failure.code,
        server=server.address,
    )


def _log_final_failure(failure: _Failure, server: _Server, context: str, attempt: int) -> None:
    kind = "permanent failure" if failure.permanent else "transient failure, no attempts left"
    log.error(
        "mail for %s via %s: gave up after attempt %d (%s), reply code %s: %s (%s)",
        context or "-", server.address, attempt, kind, failure.code, failure.problem, failure.reply,
    )


def _set_subject(message: EmailMessage, subject: str) -> None:
    if not subject.isascii():
        # NOTE: the header folding of the email package in Python 3.11.7 drops the space
        # between two encoded words when it breaks the line there, so long Dutch subjects
        # lost spaces. email.header.Header keeps every space inside the encoded words, and
        # set_raw stores its folded lines as they are.
        if "\r" in subject or "\n" in subject:
            raise ValueError(f"subject {subject!r} contains a line break")
        message.set_raw("Subject", Header(subject, "utf-8", header_name="Subject").encode())
        return
    message["Subject"] = subject


def _domain_of(sender: str) -> str:
    _, address = parseaddr(sender)
    local_part, at, domain = address.rpartition("@")
    if not at or not local_part or not domain:
        raise ValueError(f"sender {sender!r} has no domain; give an address such as panel@example.nl")
    return domain


def _content_type(attachment: Attachment) -> tuple[str, str, dict[str, str]]:
    """Split an attachment's content type into maintype, subtype and parameters."""
    header_holder = EmailMessage()
    header_holder["Content-Type"] = attachment.content_type
    header = header_holder["Content-Type"]
    if header.defects:
        raise ValueError(
            f"attachment {attachment.filename!r} has an invalid content type {attachment.content_type!r}; "
            "give one such as text/csv"
        )
    params = dict(header.params)
    if header.maintype == "text":
        params.setdefault("charset", "utf-8")
    return header.maintype, header.subtype, params
