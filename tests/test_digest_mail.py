"""The digest e-mail: its MIME structure, and sending it to aiosmtpd servers on 127.0.0.1."""

from __future__ import annotations

import dataclasses
import logging
import re
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from urllib.parse import quote

import pytest

from bot.digest.mail import MailError, build_message, send_message
from bot.digest.model import Attachment, Image, RenderedDigest

SENDER = "Inwonerspanel <panel@example.nl>"
RECIPIENT = "communicatie@gemeente.example.nl"
ORGANISATION = "gemeente-voorbeeld"
SUBJECT = "Weekoverzicht 2026-W49: één enquête gesloten, café ‘De Ruïne’ geïnteresseerd"
# Short lines, so that the email package would pick 8bit for the text part if asked to choose.
TEXT = "Beste collega's,\n\nDeze week sloot één enquête.\nReacties: 42 (ruïne, coöperatie, ’s-Hertogenbosch).\n"
HTML = (
    "<html><body><h1>Weekoverzicht</h1><p>Één enquête gesloten: coöperatie en ruïne.</p>"
    '<img src="cid:respons-2026-W49@chatpanel" alt="Respons">'
    "<img src='cid:leeftijd-2026-W49@chatpanel' alt='Leeftijd'></body></html>"
)
# Not real PNGs: the mail code sends the bytes as they are.
RESPONSE_CHART = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
AGE_CHART = b"\x89PNG\r\n\x1a\n" + b"\x00\xff" * 100
ANSWERS_CSV = "respondent;vraag;antwoord\r\nR-0001;1;Ja, één keer\r\nR-0002;1;Nee – café\r\n".encode("utf-8")
USER = "panel@example.nl"
PASSWORD = "gëheim:p@ss/%20wörd"
LOCAL_HOSTNAME = "localhost"


def _rendered(images: bool = True) -> RenderedDigest:
    charts = [
        Image("respons-2026-W49@chatpanel", "respons.png", RESPONSE_CHART),
        Image("leeftijd-2026-W49@chatpanel", "leeftijd.png", AGE_CHART),
    ]
    return RenderedDigest(subject=SUBJECT, html=HTML, text=TEXT, images=charts if images else [])


def _digest_message() -> EmailMessage:
    attachment = Attachment("antwoorden-2026-W49.csv", "text/csv", ANSWERS_CSV)
    return build_message(_rendered(), sender=SENDER, recipient=RECIPIENT, attachments=[attachment])


class _Sleeps:
    """A sleep function that records each delay and returns at once."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


async def _send(message: EmailMessage, url: str, sleeps: _Sleeps, **options) -> None:
    await send_message(
        message, url, context=ORGANISATION, sleep=sleeps, local_hostname=LOCAL_HOSTNAME, **options
    )


def _mail_records(caplog: pytest.LogCaptureFixture, level: int) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == "bot.digest.mail" and record.levelno == level]


# Building the message


def test_build_message_headers():
    message = _digest_message()

    assert message["Subject"] == SUBJECT
    assert message["From"] == SENDER
    assert message["To"] == RECIPIENT
    assert parsedate_to_datetime(message["Date"]).tzinfo is not None
    assert re.fullmatch(r"<[^@<>]+@example\.nl>", message["Message-ID"])


def test_build_message_without_attachments_or_images():
    message = build_message(_rendered(images=False), sender=SENDER, recipient=RECIPIENT)

    assert message.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in message.iter_parts()] == ["text/plain", "text/html"]


def test_build_message_keeps_attachment_charset():
    attachment = Attachment("answers.csv", "text/csv; charset=windows-1252", "café".encode("cp1252"))

    message = build_message(_rendered(), sender=SENDER, recipient=RECIPIENT, attachments=[attachment])

    csv_part = next(message.iter_attachments())
    assert csv_part.get_content_type() == "text/csv"
    assert csv_part.get_content_charset() == "windows-1252"
    assert csv_part.get_payload(decode=True) == "café".encode("cp1252")


@pytest.mark.parametrize("subject", ["Weekoverzicht\nBcc: x@example.nl", "Één enquête\r\nBcc: x@example.nl"])
def test_build_message_subject_with_line_break(subject):
    rendered = dataclasses.replace(_rendered(), subject=subject)

    with pytest.raises(ValueError):
        build_message(rendered, sender=SENDER, recipient=RECIPIENT)


def test_build_message_sender_without_domain():
    with pytest.raises(ValueError, match="no domain"):
        build_message(_rendered(), sender="panel", recipient=RECIPIENT)


def test_build_message_invalid_content_type():
    attachment = Attachment("answers.csv", "csv", ANSWERS_CSV)

    with pytest.raises(ValueError, match="invalid content type 'csv'"):
        build_message(_rendered(), sender=SENDER, recipient=RECIPIENT, attachments=[attachment])


# Delivery and the received structure


async def test_sent_message_structure(smtp_server):
    server = smtp_server()

    await _send(_digest_message(), server.url(), _Sleeps())

    assert len(server.messages) == 1
    received = server.messages[0]
    assert received.mail_from == "panel@example.nl"
    assert received.rcpt_tos == [RECIPIENT]
    root = received.message
    assert root.get_content_type() == "multipart/mixed"
    alternative, attachment = list(root.iter_parts())
    assert alternative.get_content_type() == "multipart/alternative"
    plain, related = list(alternative.iter_parts())
    assert plain.get_content_type() == "text/plain"
    assert related.get_content_type() == "multipart/related"
    html, *images = list(related.iter_parts())
    assert html.get_content_type() == "text/html"
    assert [image.get_content_type() for image in images] == ["image/png", "image/png"]

    images_by_cid = {image["Content-ID"].strip("<>"): image for image in images}
    references = re.findall(r"""cid:([^"'\s>]+)""", html.get_content())
    assert sorted(references) == sorted(images_by_cid)
    response_chart = images_by_cid["respons-2026-W49@chatpanel"]
    assert response_chart.get_content_disposition() == "inline"
    assert response_chart.get_filename() == "respons.png"
    assert response_chart.get_payload(decode=True) == RESPONSE_CHART
    assert images_by_cid["leeftijd-2026-W49@chatpanel"].get_payload(decode=True) == AGE_CHART

    assert attachment.get_content_type() == "text/csv"
    assert attachment.get_content_charset() == "utf-8"
    assert attachment.get_content_disposition() == "attachment"
    assert attachment.get_filename() == "antwoorden-2026-W49.csv"
    assert attachment.get_payload(decode=True) == ANSWERS_CSV


async def test_dutch_characters_survive(smtp_server):
    server = smtp_server()

    await _send(_digest_message(), server.url(), _Sleeps())

    received = server.messages[0]
    assert received.message["Subject"] == SUBJECT
    # On the wire every line ends in CRLF.
    assert received.message.get_body(("plain",)).get_content().replace("\r\n", "\n") == TEXT
    assert "Één enquête gesloten: coöperatie en ruïne." in received.message.get_body(("html",)).get_content()
    # Quoted-printable and encoded words keep the message 7-bit for any server.
    assert received.data.isascii()


@pytest.mark.parametrize(
    "subject",
    [
        "Weekoverzicht",
        "Weekly digest for week 49 of 2026: three surveys closed, two surveys running, five new topics",
        "Één enquête gesloten, coöperatie en ruïne, café ‘De Ruïne’, ’s-Hertogenbosch, Súdwest-Fryslân",
    ],
)
async def test_subject_survives_folding(smtp_server, subject):
    server = smtp_server()
    rendered = dataclasses.replace(_rendered(), subject=subject)

    await _send(build_message(rendered, sender=SENDER, recipient=RECIPIENT), server.url(), _Sleeps())

    assert server.messages[0].message["Subject"] == subject
    header_lines = server.messages[0].data.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    assert max(len(line) for line in header_lines) <= 78


async def test_delivery_log_names_organisation(smtp_server, caplog):
    caplog.set_level(logging.INFO, logger="bot.digest.mail")
    server = smtp_server()

    await _send(_digest_message(), server.url(), _Sleeps())

    infos = _mail_records(caplog, logging.INFO)
    assert len(infos) == 1
    assert ORGANISATION in infos[0].getMessage()
    assert f"127.0.0.1:{server.port}" in infos[0].getMessage()


# Login


async def test_login_with_right_password(smtp_server):
    server = smtp_server(credentials=(USER, PASSWORD))
    sleeps = _Sleeps()

    await _send(_digest_message(), server.url(user=USER, password=PASSWORD), sleeps)

    assert len(server.messages) == 1
    assert server.messages[0].login == USER
    assert sleeps.delays == []


async def test_login_needed_without_user(smtp_server):
    server = smtp_server(credentials=(USER, PASSWORD))

    with pytest.raises(MailError) as raised:
        await _send(_digest_message(), server.url(), _Sleeps())

    assert raised.value.permanent
    assert raised.value.code == 530
    assert server.messages == []


async def test_wrong_password_fails_at_once(smtp_server, caplog):
    caplog.set_level(logging.DEBUG)
    server = smtp_server(credentials=(USER, PASSWORD))
    sleeps = _Sleeps()

    with pytest.raises(MailError) as raised:
        await _send(_digest_message(), server.url(user=USER, password="wrong-password"), sleeps)

    error = raised.value
    assert error.permanent
    assert error.code == 535
    assert "login rejected" in str(error)
    assert f"127.0.0.1:{server.port}" in str(error)
    assert sleeps.delays == []
    assert server.connections == 1
    assert server.messages == []
    assert _mail_records(caplog, logging.WARNING) == []
    assert len(_mail_records(caplog, logging.ERROR)) == 1


# TLS


async def test_starttls_required(smtp_server, trusted_smtp_certificate):
    server = smtp_server(tls="starttls", certificate=trusted_smtp_certificate, require_starttls=True)

    await _send(_digest_message(), server.url("smtp+starttls"), _Sleeps())

    assert len(server.messages) == 1
    assert server.messages[0].tls


async def test_starttls_when_offered(smtp_server, trusted_smtp_certificate):
    server = smtp_server(tls="starttls", certificate=trusted_smtp_certificate)

    await _send(_digest_message(), server.url("smtp"), _Sleeps())

    assert len(server.messages) == 1
    assert server.messages[0].tls


async def test_plain_smtp_without_starttls_offer(smtp_server):
    server = smtp_server()

    await _send(_digest_message(), server.url("smtp"), _Sleeps())

    assert len(server.messages) == 1
    assert not server.messages[0].tls


async def test_starttls_required_but_not_offered(smtp_server):
    server = smtp_server()
    sleeps = _Sleeps()

    with pytest.raises(MailError) as raised:
        await _send(_digest_message(), server.url("smtp+starttls"), sleeps)

    assert raised.value.permanent
    assert "STARTTLS" in str(raised.value)
    assert sleeps.delays == []
    assert server.messages == []


async def test_login_after_starttls(smtp_server, trusted_smtp_certificate):
    server = smtp_server(
        credentials=(USER, PASSWORD), tls="starttls", certificate=trusted_smtp_certificate, require_starttls=True
    )

    await _send(_digest_message(), server.url("smtp+starttls", user=USER, password=PASSWORD), _Sleeps())

    assert len(server.messages) == 1
    assert server.messages[0].tls
    assert server.messages[0].login == USER


async def test_smtps_tls_from_start(smtp_server, trusted_smtp_certificate):
    server = smtp_server(tls="smtps", certificate=trusted_smtp_certificate)

    await _send(_digest_message(), server.url("smtps"), _Sleeps())

    assert len(server.messages) == 1
    assert server.messages[0].tls


@pytest.mark.parametrize(("tls", "scheme"), [("starttls", "smtp+starttls"), ("smtps", "smtps")])
async def test_untrusted_certificate_fails_at_once(smtp_server, smtp_certificate, tls, scheme):
    server = smtp_server(tls=tls, certificate=smtp_certificate)
    sleeps = _Sleeps()

    with pytest.raises(MailError) as raised:
        await _send(_digest_message(), server.url(scheme), sleeps)

    assert raised.value.permanent
    assert "certificate not trusted" in str(raised.value)
    assert sleeps.delays == []
    assert server.messages == []


# Retries


async def test_451_retried_then_delivered_once(smtp_server, caplog):
    caplog.set_level(logging.INFO, logger="bot.digest.mail")
    server = smtp_server(fail_data=1)
    sleeps = _Sleeps()

    await _send(_digest_message(), server.url(), sleeps)

    assert server.handler.data_commands == 2
    assert len(server.messages) == 1
    assert sleeps.delays == [10.0]
    warnings = _mail_records(caplog, logging.WARNING)
    assert len(warnings) == 1
    assert "reply code 451" in warnings[0].getMessage()
    assert ORGANISATION in warnings[0].getMessage()
    assert _mail_records(caplog, logging.ERROR) == []


async def test_451_every_time_gives_up(smtp_server):
    server = smtp_server(fail_data=5)
    sleeps = _Sleeps()

    with pytest.raises(MailError) as raised:
        await _send(_digest_message(), server.url(), sleeps, attempts=2)

    assert not raised.value.permanent
    assert raised.value.code == 451
    assert "after 2 attempts" in str(raised.value)
    assert server.handler.data_commands == 2
    assert server.messages == []


async def test_550_not_retried(smtp_server, caplog):
    caplog.set_level(logging.INFO, logger="bot.digest.mail")
    server = smtp_server(reject_recipients=True)
    sleeps = _Sleeps()

    with pytest.raises(MailError) as raised:
        await _send(_digest_message(), server.url(), sleeps)

    error = raised.value
    assert error.permanent
    assert error.code == 550
    assert "recipient refused" in str(error)
    assert server.handler.rcpt_commands == 1
    assert server.connections == 1
    assert sleeps.delays == []
    assert _mail_records(caplog, logging.WARNING) == []
    errors = _mail_records(caplog, logging.ERROR)
    assert len(errors) == 1
    assert "reply code 550" in errors[0].getMessage()
    assert ORGANISATION in errors[0].getMessage()


async def test_closed_port_retried_then_fails(closed_port, caplog):
    caplog.set_level(logging.INFO, logger="bot.digest.mail")
    sleeps = _Sleeps()

    with pytest.raises(MailError) as raised:
        await _send(_digest_message(), f"smtp://127.0.0.1:{closed_port}", sleeps, attempts=3)

    error = raised.value
    assert not error.permanent
    assert error.code is None
    assert error.server == f"127.0.0.1:{closed_port}"
    assert f"127.0.0.1:{closed_port}" in str(error)
    assert "after 3 attempts" in str(error)
    assert "\n" not in str(error)
    assert sleeps.delays == [10.0, 60.0]
    assert len(_mail_records(caplog, logging.WARNING)) == 2
    assert len(_mail_records(caplog, logging.ERROR)) == 1


async def test_last_retry_delay_repeats(closed_port):
    sleeps = _Sleeps()

    with pytest.raises(MailError):
        await _send(_digest_message(), f"smtp://127.0.0.1:{closed_port}", sleeps, attempts=4, retry_delays=(1.0, 2.0))

    assert sleeps.delays == [1.0, 2.0, 2.0]


async def test_silent_server_times_out_and_retries(silent_port):
    sleeps = _Sleeps()

    with pytest.raises(MailError) as raised:
        await _send(_digest_message(), f"smtp://127.0.0.1:{silent_port}", sleeps, attempts=2, timeout=0.2)

    assert not raised.value.permanent
    assert "timed out" in str(raised.value)
    assert sleeps.delays == [10.0]


async def test_attempts_below_one(smtp_server):
    server = smtp_server()

    with pytest.raises(ValueError, match="attempts must be at least 1"):
        await _send(_digest_message(), server.url(), _Sleeps(), attempts=0)

    assert server.connections == 0


# Secrets and invalid addresses


@pytest.mark.parametrize("case", ["right password", "wrong password", "closed port"])
async def test_logs_never_contain_password(smtp_server, closed_port, caplog, case):
    caplog.set_level(logging.DEBUG)
    server = smtp_server(credentials=(USER, "the-right-password" if case == "wrong password" else PASSWORD))
    url = server.url(user=USER, password=PASSWORD)
    if case == "closed port":
        url = f"smtp://{quote(USER, safe='')}:{quote(PASSWORD, safe='')}@127.0.0.1:{closed_port}"
    error_text = ""

    try:
        await _send(_digest_message(), url, _Sleeps())
    except MailError as error:
        error_text = str(error)

    if case == "right password":
        assert error_text == ""
    else:
        assert error_text != ""
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert logged
    for secret in (PASSWORD, quote(PASSWORD, safe=""), url):
        assert secret not in logged
        assert secret not in error_text


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://panel:s3cret-value@127.0.0.1:25", "scheme 'http'"),
        ("smtp://panel:s3cret-value@127.0.0.1:99999", "invalid port"),
        ("smtp://panel:s3cret-value@", "host None"),
    ],
)
async def test_invalid_url_fails_without_password(caplog, url, expected):
    caplog.set_level(logging.INFO, logger="bot.digest.mail")
    sleeps = _Sleeps()

    with pytest.raises(MailError) as raised:
        await _send(_digest_message(), url, sleeps)

    assert raised.value.permanent
    assert expected in str(raised.value)
    assert "s3cret-value" not in str(raised.value)
    assert sleeps.delays == []
    errors = _mail_records(caplog, logging.ERROR)
    assert len(errors) == 1
    assert ORGANISATION in errors[0].getMessage()
    assert "s3cret-value" not in errors[0].getMessage()
