"""One turn of a conversation: the state the engine reads and the replies it decides."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.types import Choice
from bot.i18n import Texts, texts
from store.models import Address, Conversation, Resident
from store.queries import ResponseState


@dataclass(frozen=True)
class PanelInfo:
    """What residents are told about the panel itself."""

    name: str
    owner: str
    privacy_url: str
    default_locale: str = "nl"
    # Topic suggestions one resident may send in 7 days.
    suggestions_per_week: int = 3
    # Results are shown only for groups of at least this many respondents.
    min_group_size: int = 10
    # The moderators' Telegram group, which hears of every new suggestion.
    moderator_chat_id: int | None = None
    # The IANA zone for dates residents read.
    timezone: str = "Europe/Amsterdam"
    # The version of the privacy statement; residents who agreed to an older one are
    # asked again (bot.flows.consent).
    privacy_version: str = "1"
    # Whether erasure keeps a resident's closed answers as anonymous answers (bot.erasure).
    erasure_keeps_answers: bool = True


@dataclass(frozen=True)
class Reply:
    text: str
    choices: tuple[Choice, ...] = ()
    # False when the text already says how to answer (a scale), so channels without
    # buttons do not list the choices again.
    list_choices: bool = True
    # Sent even to an opted-out address: the confirmation of STOP, and the replies to
    # MY DATA and DELETE, which work after STOP too.
    ignores_opt_out: bool = False


@dataclass(frozen=True)
class Prompt:
    """A pending question: its text, how to answer it, and the step token that buttons carry."""

    text: str
    choices: tuple[Choice, ...] = ()
    list_choices: bool = True


@dataclass
class Turn:
    session: AsyncSession
    panel: PanelInfo
    now: datetime
    address: Address
    conversation: Conversation
    resident: Resident | None
    # The resident's response to the conversation's survey, loaded with the address
    # (bot.flows.survey_flow keeps it current).
    response: ResponseState | None = None
    replies: list[Reply] = field(default_factory=list)
    # Set by an erasure: the addresses whose message ids and outbox rows it deleted.
    erased_address_ids: tuple[int, ...] = ()

    @property
    def t(self) -> Texts:
        return texts(self.conversation.locale)

    def say(self, *parts: str, prompt: Prompt | None = None, ignores_opt_out: bool = False) -> None:
        """Queue one message made of ``parts`` and, if given, the pending ``prompt``.

        A prompt is sent in the same message as what precedes it, so the two cannot arrive
        in the wrong order.
        """
        lines = [part for part in parts if part]
        choices: tuple[Choice, ...] = ()
        list_choices = True
        if prompt is not None:
            lines.append(prompt.text)
            choices = prompt.choices
            list_choices = prompt.list_choices
        self.replies.append(Reply("\n\n".join(lines), choices, list_choices, ignores_opt_out))

    def set_step(self, flow: str, step: str | None = None, survey_id: int | None = None) -> None:
        conversation = self.conversation
        if (conversation.flow, conversation.step, conversation.survey_id) != (flow, step, survey_id):
            conversation.misses = 0
        conversation.flow = flow
        conversation.step = step
        conversation.survey_id = survey_id
        conversation.updated_at = self.now
