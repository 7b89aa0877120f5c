"""SQLAlchemy models: the store is the truth for residents, conversations, surveys,
answers and every message in or out."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UtcDateTime(TypeDecorator):
    """A timestamp that is always timezone-aware UTC in Python.

    SQLite keeps no offset, so values are stored in UTC and read back with UTC attached.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: use an aware datetime in UTC")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None or value.tzinfo is not None:
            return value
        return value.replace(tzinfo=timezone.utc)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UtcDateTime(), dict[str, Any]: JSON}


class Resident(Base):
    """A person who consented to join the panel. Created at consent, never before."""

    __tablename__ = "residents"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Short random id used in logs and exports instead of any address.
    pseudonym: Mapped[str] = mapped_column(String(16), unique=True)
    consented_at: Mapped[datetime]
    # The version of the privacy statement (Settings.privacy_version) agreed to at
    # ``consented_at``.
    consent_version: Mapped[str] = mapped_column(String(16), default="1", server_default="1")
    age_band: Mapped[str | None] = mapped_column(String(8))
    postcode: Mapped[str | None] = mapped_column(String(4))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Address(Base):
    """A resident's contact point: a Telegram chat id or an E.164 number, per channel.

    Before consent an address has no resident: it and its conversation are all we store.
    """

    __tablename__ = "addresses"
    __table_args__ = (UniqueConstraint("channel", "value"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(64))
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"), index=True)
    # Set by STOP: until START, only the STOP confirmation and replies to MY DATA and
    # DELETE go to this address.
    opted_out_at: Mapped[datetime | None]
    # Set when the channel reports that it can never reach this address (blocked,
    # unsubscribed, invalid number). Cleared when the address writes to us again.
    unreachable_at: Mapped[datetime | None]
    unreachable_code: Mapped[str | None] = mapped_column(String(32))
    # The resident's last message on this address: WhatsApp allows free-form messages
    # only within 24 hours of it.
    last_inbound_at: Mapped[datetime | None]
    # Set when the resident erased their data from the chat: the row is kept only until
    # the confirmation is sent to it, and then deleted (bot.erasure).
    erased_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Conversation(Base):
    """The dialogue state of one address: which flow and step is waiting for a reply."""

    __tablename__ = "conversations"

    address_id: Mapped[int] = mapped_column(ForeignKey("addresses.id", ondelete="CASCADE"), primary_key=True)
    locale: Mapped[str] = mapped_column(String(8))
    flow: Mapped[str] = mapped_column(String(16))
    step: Mapped[str | None] = mapped_column(String(64))
    survey_id: Mapped[int | None] = mapped_column(ForeignKey("surveys.id", ondelete="SET NULL"))
    # Replies that did not fit the pending question, reset when the question changes.
    misses: Mapped[int] = mapped_column(Integer, default=0)
    # The flow, step and survey to return to after an interruption (language choice,
    # topic suggestion).
    resume: Mapped[dict[str, Any] | None]
    # Data of the current flow: a topic being written, the topic ids just listed.
    context: Mapped[dict[str, Any] | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Survey(Base):
    __tablename__ = "surveys"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # The validated survey file content; bot.flows.loader.survey_from_source rebuilds it.
    definition: Mapped[dict[str, Any]]
    # draft -> scheduled -> open -> closed; "survey load" makes a survey open at once.
    status: Mapped[str] = mapped_column(String(16), default="open")
    loaded_at: Mapped[datetime] = mapped_column(default=utcnow)
    opened_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    # Set by "survey publish": when to open and close, and who is invited (bot.segments).
    opens_at: Mapped[datetime | None]
    closes_at: Mapped[datetime | None]
    segment: Mapped[dict[str, Any] | None]
    channels: Mapped[list[str] | None] = mapped_column(JSON)
    # Invitations are enqueued in batches by ascending resident id. This is the last id
    # done, so a restarted or second scheduler carries on instead of starting again.
    invite_cursor: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    invitations_done_at: Mapped[datetime | None]
    reminders_done_at: Mapped[datetime | None]
    # The organisation that asked these questions, and the topic they grew from.
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id", ondelete="SET NULL"))
    topic_id: Mapped[int | None] = mapped_column(ForeignKey("suggestions.id", ondelete="SET NULL"))
    # Set when the followers of ``topic_id`` were told the survey opened.
    topic_followers_told_at: Mapped[datetime | None]
    # Random key for this survey's export pseudonyms (bot.pseudonyms), set at the first
    # export: a resident's pseudonym is stable within a survey and differs across surveys.
    export_key: Mapped[str | None] = mapped_column(String(64))


class Response(Base):
    """One resident's pass through one survey.

    An erased resident's response stays as an anonymous response: no resident, no
    channel, and times rounded to the day (bot.erasure). NULLs are distinct in the unique
    constraint, so it still allows one response per survey for each living resident.
    """

    __tablename__ = "responses"
    __table_args__ = (UniqueConstraint("survey_id", "resident_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"), index=True)
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str | None] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None]


class Answer(Base):
    __tablename__ = "answers"
    __table_args__ = (UniqueConstraint("response_id", "question_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("responses.id", ondelete="CASCADE"))
    question_id: Mapped[str] = mapped_column(String(32))
    # JSON: str, int or list of option ids (bot.flows.model.AnswerValue); None when skipped.
    value: Mapped[Any] = mapped_column(JSON, nullable=True)
    skipped: Mapped[bool] = mapped_column(Boolean, default=False)
    answered_at: Mapped[datetime] = mapped_column(default=utcnow)


class Suggestion(Base):
    """A topic a resident put forward. Approved suggestions are the panel's topics.

    status: pending -> approved or rejected, or merged (into ``merged_into_id``).
    """

    __tablename__ = "suggestions"

    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id", ondelete="SET NULL"), index=True)
    text: Mapped[str] = mapped_column(Text)
    # The neighbourhood the resident named, if any.
    neighbourhood: Mapped[str | None] = mapped_column(String(100))
    # The wording residents see when the topic is offered for support (default: ``text``).
    title: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("suggestions.id", ondelete="SET NULL"))
    decision_reason: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Support(Base):
    """One resident's support for one topic; a resident supports a topic once."""

    __tablename__ = "supports"
    __table_args__ = (UniqueConstraint("suggestion_id", "resident_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    suggestion_id: Mapped[int] = mapped_column(ForeignKey("suggestions.id", ondelete="CASCADE"), index=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Organisation(Base):
    """The panel's owner or a partner organisation that asks questions and gets results."""

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # owner, municipality, neighbourhood_council, business_association, housing_corporation, other
    kind: Mapped[str] = mapped_column(String(32))
    contact_email: Mapped[str | None] = mapped_column(String(254))
    # The language of the organisation's digest.
    locale: Mapped[str] = mapped_column(String(8), default="nl", server_default="nl")
    # When the weekly digest goes out, as "mon 09:00" in the panel's time zone, or "off".
    digest_schedule: Mapped[str] = mapped_column(String(16), default="mon 09:00", server_default="mon 09:00")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DigestRun(Base):
    """One organisation's digest for one ISO week, claimed before it is sent, so two
    processes or a restart never send the same week twice.

    status: sending -> sent, or failed. A "sending" row whose lease has passed belonged to
    a process that died, and may be claimed again.
    """

    __tablename__ = "digest_runs"
    __table_args__ = (UniqueConstraint("organisation_id", "week"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    # ISO week, such as "2026-W49".
    week: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16), default="sending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)


class SurveyOutcome(Base):
    """The requesting organisation's account of what it did with a survey's results, per locale."""

    __tablename__ = "survey_outcomes"

    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"), primary_key=True)
    texts: Mapped[dict[str, Any]]
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEntry(Base):
    """One moderator action: who did what to which record, and when."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # A command-line user name, or "telegram:<user id>" for a moderator in the chat.
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(64))
    details: Mapped[dict[str, Any] | None]


class ModeratorPrompt(Base):
    """A reject button a moderator pressed in the moderators' chat: the next reply from that
    moderator is the reason."""

    __tablename__ = "moderator_prompts"

    moderator_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    suggestion_id: Mapped[int] = mapped_column(ForeignKey("suggestions.id", ondelete="CASCADE"))
    asked_at: Mapped[datetime] = mapped_column(default=utcnow)


class ScheduledRun(Base):
    """A periodic job's run, claimed by a unique key (such as ``topics:2026-W49``), so two
    schedulers or a restart never run the same period twice."""

    __tablename__ = "scheduled_runs"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    ran_at: Mapped[datetime] = mapped_column(default=utcnow)


class InboundMessage(Base):
    """A claimed channel message id: inserted in the same transaction as its effects, so a
    redelivered update or MessageSid is processed once."""

    __tablename__ = "inbound_messages"
    __table_args__ = (UniqueConstraint("channel", "message_id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    message_id: Mapped[str] = mapped_column(String(64))
    # The address that sent it, so erasing the address erases its message ids. None for
    # updates from the moderators' chat.
    address_id: Mapped[int | None] = mapped_column(ForeignKey("addresses.id", ondelete="CASCADE"), index=True)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class OutboxMessage(Base):
    """A message to send, written in the same transaction as the change that caused it.

    ``key`` is unique, so deciding the same message twice stores it once.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "channel", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    key: Mapped[str] = mapped_column(String(160), unique=True)
    # reply, invitation, reminder or closing: only replies are exempt from quiet hours.
    kind: Mapped[str] = mapped_column(String(16), default="reply", server_default="reply")
    survey_id: Mapped[int | None] = mapped_column(ForeignKey("surveys.id", ondelete="SET NULL"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    address_id: Mapped[int] = mapped_column(ForeignKey("addresses.id", ondelete="CASCADE"), index=True)
    # Sent even though the address opted out: the confirmation of STOP, and replies to
    # MY DATA and DELETE.
    ignores_opt_out: Mapped[bool] = mapped_column(Boolean, default=False)
    text: Mapped[str] = mapped_column(Text)
    # [{"number": 1, "label": "...", "payload": "..."}, ...]
    choices: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # False when the text already explains the choices (bot.channels.types.Outbound).
    list_choices: Mapped[bool] = mapped_column(Boolean, default=True)
    # queued -> sending -> sent, or failed / skipped. A "sending" row whose
    # next_attempt_at has passed was claimed by a worker that died, and is due again.
    status: Mapped[str] = mapped_column(String(16), default="queued")
    # The provider's own state from status callbacks: queued, sent, delivered, undelivered
    # or failed. It never moves back from delivered, undelivered or failed.
    delivery_status: Mapped[str | None] = mapped_column(String(16))
    # The conversation's language and the values for a WhatsApp template, used when a
    # message has to go as an approved template outside the 24-hour window.
    locale: Mapped[str | None] = mapped_column(String(8))
    template_variables: Mapped[dict[str, Any] | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    provider_message_id: Mapped[str | None] = mapped_column(String(64), index=True)
    error_code: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
