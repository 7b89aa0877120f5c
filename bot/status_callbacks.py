"""Twilio status callbacks: the provider's delivery status of each message we sent.

Twilio posts a form with MessageSid and MessageStatus to the StatusCallback URL of a
message each time its status changes, and with ErrorCode when delivery failed. Callbacks
can arrive out of order, so a status only ever moves forward: see next_delivery_status.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.types import Channel
from store.models import Address, OutboxMessage

log = logging.getLogger(__name__)

STATUS_CALLBACK_PATH = "/webhooks/twilio/status"
TWILIO_CHANNELS = (Channel.SMS, Channel.WHATSAPP)
# The length of OutboxMessage.error_code and Address.unreachable_code.
MAX_ERROR_CODE_LENGTH = 32

# The order of the statuses a message passes through before a final one. "accepted" and
# "scheduled" come first with a Messaging Service, "queued" first without one.
PROGRESS_ORDER: Mapping[str, int] = {
    "accepted": 0,
    "scheduled": 0,
    "queued": 1,
    "sending": 2,
    "sent": 3,
}
# Statuses after which no other status is taken, except "read" after "delivered"
# (WhatsApp sends a read receipt after the delivery receipt).
FINAL_STATUSES = frozenset({"delivered", "read", "undelivered", "failed", "canceled"})
FAILURE_STATUSES = frozenset({"undelivered", "failed"})
DELIVERY_STATUSES = frozenset(PROGRESS_ORDER) | FINAL_STATUSES
# Statuses of inbound messages. They never describe a message we sent, so they are ignored.
INBOUND_STATUSES = frozenset({"receiving", "received"})


@dataclass(frozen=True)
class ErrorCodeMeaning:
    description: str
    # True when the code means that no later message can reach the number either.
    address_unreachable: bool


# Twilio error codes in the ErrorCode of a failed or undelivered message, with whether
# each one makes the address unreachable. A code that is not listed is kept on the
# message and leaves the address alone (see error_code_meaning).
CALLBACK_ERROR_CODES: Mapping[str, ErrorCodeMeaning] = {
    "21211": ErrorCodeMeaning("invalid To number", address_unreachable=True),
    "21610": ErrorCodeMeaning("recipient unsubscribed with STOP", address_unreachable=True),
    "21614": ErrorCodeMeaning("To number is not a mobile number", address_unreachable=True),
    # Twilio documents 30003 as a handset that is switched off, out of coverage or
    # roaming, usually for a while, and advises trying again. So it stays reachable.
    "30003": ErrorCodeMeaning("unreachable destination handset", address_unreachable=False),
    # A number that the carrier reports as unknown, inactive or out of service.
    "30005": ErrorCodeMeaning("unknown destination handset", address_unreachable=True),
    # A landline, which cannot receive SMS. Twilio advises not to retry.
    "30006": ErrorCodeMeaning("landline or unreachable carrier", address_unreachable=True),
}
UNLISTED_ERROR_CODE = ErrorCodeMeaning("error code without an entry in CALLBACK_ERROR_CODES", address_unreachable=False)


class MalformedStatusCallback(ValueError):
    """A status callback form with a missing or invalid field."""


@dataclass(frozen=True)
class StatusReport:
    """One status callback: the message, its new status and the error code, if any."""

    message_sid: str
    status: str
    error_code: str | None = None


class StatusOutcome(StrEnum):
    UPDATED = "updated"
    # The row was already at this status or a later one.
    UNCHANGED = "unchanged"
    UNKNOWN_MESSAGE = "unknown_message"
    # A status of an inbound message, or one this module does not know.
    IGNORED = "ignored"


def status_callback_url(public_url: str | None) -> str | None:
    """Build the StatusCallback URL for outgoing Twilio messages, or None without ``public_url``."""
    if not public_url:
        return None
    return public_url.rstrip("/") + STATUS_CALLBACK_PATH


def parse_status_form(form: Mapping[str, str]) -> StatusReport:
    """Parse a Twilio status callback form.

    Raises MalformedStatusCallback when MessageSid or MessageStatus is missing, or when
    ErrorCode is not a number of at most 32 digits.
    """
    message_sid = form.get("MessageSid", "").strip()
    if not message_sid:
        raise MalformedStatusCallback("missing MessageSid in Twilio status callback form")
    status = form.get("MessageStatus", "").strip().lower()
    if not status:
        raise MalformedStatusCallback("missing MessageStatus in Twilio status callback form")

    error_code = form.get("ErrorCode", "").strip() or None
    if error_code is not None and not (error_code.isascii() and error_code.isdigit() and len(error_code) <= MAX_ERROR_CODE_LENGTH):
        raise MalformedStatusCallback(f"invalid ErrorCode {error_code[:40]!r}: expected a Twilio error number")
    return StatusReport(message_sid, status, error_code)


def next_delivery_status(current: str | None, reported: str) -> str | None:
    """Return the delivery status a row at ``current`` takes when ``reported`` arrives,
    or None when the row keeps ``current``.

    A final status is kept, except that "delivered" moves on to "read". Before that a
    row moves only forward: a late "queued" never undoes "sent", and a final status
    wins over any status before it.
    """
    if reported not in DELIVERY_STATUSES or reported == current:
        return None
    if current is None:
        return reported
    if current in FINAL_STATUSES:
        return reported if (current, reported) == ("delivered", "read") else None
    if reported in FINAL_STATUSES:
        return reported
    # Only other code can have stored an unknown status, and any known status replaces it.
    if current not in PROGRESS_ORDER or PROGRESS_ORDER[reported] > PROGRESS_ORDER[current]:
        return reported
    return None


def statuses_moving_to(reported: str) -> frozenset[str]:
    """Return the known statuses from which a row moves to ``reported``."""
    return frozenset(status for status in DELIVERY_STATUSES if next_delivery_status(status, reported) == reported)


def error_code_meaning(code: str) -> ErrorCodeMeaning:
    """Look ``code`` up in CALLBACK_ERROR_CODES, with UNLISTED_ERROR_CODE for any other code."""
    return CALLBACK_ERROR_CODES.get(code, UNLISTED_ERROR_CODE)


async def record_status(sessionmaker: async_sessionmaker[AsyncSession], report: StatusReport, *, now: datetime) -> StatusOutcome:
    """Store ``report`` on the outbox row whose provider_message_id is its MessageSid.

    The update is a single conditional UPDATE, so two callbacks for one message that
    arrive at once cannot move the row backwards. When the report applies and is a
    failure whose error code makes the address unreachable, the address is marked
    unreachable at ``now`` in the same transaction, unless it already is.
    """
    if report.status in INBOUND_STATUSES:
        log.info("Twilio status callback for %s ignored: %s is the status of an inbound message", report.message_sid, report.status)
        return StatusOutcome.IGNORED
    if report.status not in DELIVERY_STATUSES:
        log.warning("Twilio status callback for %s ignored: unknown status %r", report.message_sid, report.status[:40])
        return StatusOutcome.IGNORED

    async with sessionmaker() as session, session.begin():
        found = (
            await session.execute(
                select(OutboxMessage.id, OutboxMessage.address_id)
                .where(OutboxMessage.provider_message_id == report.message_sid, OutboxMessage.channel.in_(TWILIO_CHANNELS))
                .order_by(OutboxMessage.id)
                .limit(1)
            )
        ).first()
        if found is None:
            log.info("Twilio status callback for unknown MessageSid %s ignored", report.message_sid)
            return StatusOutcome.UNKNOWN_MESSAGE
        row_id, address_id = found

        is_failure = report.status in FAILURE_STATUSES
        values: dict[str, str] = {"delivery_status": report.status}
        if is_failure and report.error_code is not None:
            values["error_code"] = report.error_code
        result = await session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id == row_id,
                or_(
                    OutboxMessage.delivery_status.is_(None),
                    OutboxMessage.delivery_status.not_in(DELIVERY_STATUSES),
                    OutboxMessage.delivery_status.in_(statuses_moving_to(report.status)),
                ),
            )
            .values(**values)
        )
        if result.rowcount == 0:
            log.info("Twilio status %s for outbox %s ignored: the row is at that status or past it", report.status, row_id)
            return StatusOutcome.UNCHANGED

        if is_failure and report.error_code is not None and error_code_meaning(report.error_code).address_unreachable:
            await _mark_unreachable(session, address_id, report.error_code, now)
        log.info("outbox %s delivery status is now %s (error code %s)", row_id, report.status, report.error_code or "none")
        return StatusOutcome.UPDATED


async def _mark_unreachable(session: AsyncSession, address_id: int, error_code: str, now: datetime) -> None:
    result = await session.execute(
        update(Address)
        .where(Address.id == address_id, Address.unreachable_at.is_(None))
        .values(unreachable_at=now, unreachable_code=error_code)
    )
    if result.rowcount:
        meaning = error_code_meaning(error_code).description
        log.warning("address %s marked unreachable after Twilio error %s (%s)", address_id, error_code, meaning)
