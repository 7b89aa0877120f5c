"""The content of a weekly digest, gathered from the store by ``bot.digest.content`` and rendered
by ``bot.digest.render``. Every figure here is final: rendering only formats it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from bot.representativeness import Representativeness
from bot.results import SurveyResults


@dataclass(frozen=True)
class DigestOrganisation:
    slug: str
    name: str
    # The digest's language: "nl" or "en".
    locale: str
    contact_email: str | None


@dataclass(frozen=True)
class ClosedSurvey:
    """A survey that closed during the digest's week."""

    slug: str
    title: str
    requested_by: str
    # True when the digest's organisation asked the questions.
    own: bool
    closed_at: datetime
    invited: int
    # Per question, with ``weighted_share`` and ``weighted_mean`` set when weighting worked.
    results: SurveyResults
    # False when fewer residents responded than the minimum group size: show no results.
    shown: bool
    # Why the results are unweighted although weighting is configured, in the digest's
    # language (an empty category, no convergence); None when weighted or not configured.
    weighting_problem: str | None = None
    weighted: bool = False
    # What the requesting organisation did with the results, in the digest's language.
    outcome: str | None = None


@dataclass(frozen=True)
class RunningSurvey:
    """A survey that is open at the end of the digest's week."""

    slug: str
    title: str
    requested_by: str
    own: bool
    closes_at: datetime | None
    invited: int
    # Residents who answered at least one question, and those who answered them all.
    responses: int
    completed: int


@dataclass(frozen=True)
class DigestTopic:
    id: int
    title: str
    neighbourhood: str | None
    supporters: int
    # Supporters who joined during the week.
    new_supporters: int
    approved_at: datetime | None


@dataclass(frozen=True)
class PanelFigures:
    # Residents who can be reached at the end of the week (consented, not all addresses stopped).
    size: int
    joined: int
    left: int
    # Over the surveys that closed this week: residents invited and residents who responded.
    invited: int
    responded: int

    @property
    def response_rate(self) -> float | None:
        return self.responded / self.invited if self.invited else None


@dataclass(frozen=True)
class Digest:
    panel_name: str
    organisation: DigestOrganisation
    # ISO week, such as "2026-W49", and its first and last day (Monday and Sunday).
    week: str
    first_day: date
    last_day: date
    closed: list[ClosedSurvey] = field(default_factory=list)
    running: list[RunningSurvey] = field(default_factory=list)
    new_topics: list[DigestTopic] = field(default_factory=list)
    top_topics: list[DigestTopic] = field(default_factory=list)
    panel: PanelFigures = field(default_factory=lambda: PanelFigures(0, 0, 0, 0, 0))
    # None when no reference population is configured.
    representativeness: Representativeness | None = None
    min_group_size: int = 10
    # The week's pseudonymised answers to the organisation's own surveys as CSV text, and
    # its number of answer rows. The e-mail has the file attached only when there are rows.
    answers_csv: str = ""
    answer_rows: int = 0
    # The panel's IANA time zone. The digest shows the dates of closing and approval
    # times in it; a naive datetime is taken to be UTC, as the store keeps them.
    timezone: str = "Europe/Amsterdam"


@dataclass(frozen=True)
class Image:
    """A chart in the digest: inline in the e-mail by Content-ID, a file in the preview."""

    cid: str
    filename: str
    # PNG bytes.
    data: bytes


@dataclass(frozen=True)
class RenderedDigest:
    subject: str
    html: str
    text: str
    images: list[Image] = field(default_factory=list)


@dataclass(frozen=True)
class Attachment:
    filename: str
    # Such as "text/csv".
    content_type: str
    data: bytes
