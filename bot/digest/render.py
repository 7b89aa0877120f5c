"""The weekly digest as an e-mail (HTML, plain text and chart images) and the panel's
representativeness report, rendered with the Jinja2 templates in ``templates/``.

Every word the organisation reads comes from the templates or the catalogs in ``locales/``,
in the digest's language, and every number, percentage and date is formatted by Babel.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path, PurePath
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context, select_autoescape

from bot.digest.charts import bar_chart_png, has_chart
from bot.digest.formats import Formats, text_table
from bot.digest.model import ClosedSurvey, Digest, DigestTopic, Image, RenderedDigest, RunningSurvey
from bot.i18n import normalize_locale, texts, translations
from bot.representativeness import Representativeness
from bot.results import QuestionResult

TEMPLATE_DIR = Path(__file__).parent / "templates"
# Dutch is the panel's default language, and unsupported languages fall back to it.
FALLBACK_LOCALE = "nl"
# CBS codes its regions GM (municipality), WK (district) and BU (neighbourhood) plus digits.
_CBS_AREA_CODE = re.compile(r"(GM|WK|BU)\d{4,8}")
_UNSAFE_NAME_CHARACTERS = re.compile(r"[^A-Za-z0-9_-]+")

ImageSource = Callable[[Image], str]


def cid_source(image: Image) -> str:
    """Return the e-mail reference of ``image``: ``cid:`` and its Content-ID."""
    return f"cid:{image.cid}"


def render_digest(digest: Digest, *, image_src: ImageSource | None = None) -> RenderedDigest:
    """Render ``digest`` in its organisation's language as subject, HTML, plain text and charts.

    The HTML refers to each chart through ``image_src(image)``; the default, cid_source,
    suits an e-mail that carries the images as related parts. A choice, yes/no or scale
    question gets a chart only when its survey's results are shown and at least
    ``digest.min_group_size`` residents answered it. Raise ZoneInfoNotFoundError for an
    unknown ``digest.timezone``.
    """
    locale = _supported(digest.organisation.locale)
    minimum = max(digest.min_group_size, 1)
    closed = [_survey_view(survey, minimum) for survey in _closed_order(digest.closed)]
    images = _draw_charts(closed, digest.week, locale)
    context = {
        "digest": digest,
        "subject": digest_subject(digest),
        "closed": closed,
        "running": _running_order(digest.running),
        "new_topics": sorted(digest.new_topics, key=_approved_key, reverse=True),
        "top_topics": sorted(digest.top_topics, key=_support_key, reverse=True),
        "report": digest.representativeness,
        "credit": _reference_credit(digest.representativeness),
        "minimum": minimum,
        "week_number": digest.first_day.isocalendar().week,
        "zone": ZoneInfo(digest.timezone),
        "images": images,
        "image_src": image_src or cid_source,
    }
    environment = _environment(locale)
    html = environment.get_template("digest.html.j2").render(context)
    text = environment.get_template("digest.txt.j2").render(context)
    return RenderedDigest(subject=context["subject"], html=html, text=text, images=list(images.values()))


def digest_subject(digest: Digest) -> str:
    """Return the e-mail subject: the panel's name and the ISO week number."""
    t = texts(_supported(digest.organisation.locale))
    return t.gettext(
        "%(panel)s: weekly digest for week %(week)s", panel=digest.panel_name, week=digest.first_day.isocalendar().week
    )


def render_report_html(report: Representativeness, *, locale: str, panel_name: str) -> str:
    """Render the representativeness report as a complete HTML page in ``locale``."""
    context = {"report": report, "panel_name": panel_name, "credit": _reference_credit(report)}
    return _environment(_supported(locale)).get_template("report.html.j2").render(context)


def render_report_text(report: Representativeness, *, locale: str) -> str:
    """Render the representativeness report as plain text with aligned columns, for a terminal."""
    context = {"report": report, "credit": _reference_credit(report)}
    return _environment(_supported(locale)).get_template("report.txt.j2").render(context)


@dataclass(frozen=True)
class QuestionView:
    """One question of a closed survey as the digest shows it."""

    result: QuestionResult
    # True when at least the minimum group size of residents answered, so its numbers may be shown.
    shown: bool
    # Weighted shares or a weighted mean are shown beside the unweighted ones.
    weighted: bool
    image_key: tuple[str, str] | None


@dataclass(frozen=True)
class SurveyView:
    survey: ClosedSurvey
    questions: list[QuestionView]
    # Share of the invited residents who responded, or None when no resident was invited.
    response_rate: float | None


def _survey_view(survey: ClosedSurvey, minimum: int) -> SurveyView:
    weighting_works = survey.weighted and survey.weighting_problem is None
    questions = []
    for result in survey.results.questions:
        shown = survey.shown and result.n >= minimum
        weighted = weighting_works and (
            any(option.weighted_share is not None for option in result.options) or result.weighted_mean is not None
        )
        image_key = (survey.slug, result.id) if shown and has_chart(result) else None
        questions.append(QuestionView(result, shown, weighted, image_key))
    rate = survey.results.respondents / survey.invited if survey.invited else None
    return SurveyView(survey, questions, rate)


def _draw_charts(surveys: list[SurveyView], week: str, locale: str) -> dict[tuple[str, str], Image]:
    """Draw one chart per charted question, keyed by (survey slug, question id)."""
    images: dict[tuple[str, str], Image] = {}
    used_stems: set[str] = set()
    for view in surveys:
        for question in view.questions:
            if question.image_key is None:
                continue
            stem = _unique_stem(f"{view.survey.slug}-{question.result.id}", used_stems)
            data = bar_chart_png(question.result, locale=locale, weighted=question.weighted)
            images[question.image_key] = Image(cid=f"{stem}.{_safe_name(week)}@chatpanel", filename=f"{stem}.png", data=data)
    return images


def _unique_stem(name: str, used: set[str]) -> str:
    # Two slugs that differ only in characters a file name cannot hold still get two files.
    base = _safe_name(name)
    stem, number = base, 2
    while stem in used:
        stem, number = f"{base}-{number}", number + 1
    used.add(stem)
    return stem


def _safe_name(name: str) -> str:
    return _UNSAFE_NAME_CHARACTERS.sub("-", name).strip("-") or "chart"


def _closed_order(surveys: list[ClosedSurvey]) -> list[ClosedSurvey]:
    """Sort the organisation's own surveys first, then by closing time, the newest first."""
    newest_first = sorted(surveys, key=lambda survey: _utc(survey.closed_at), reverse=True)
    return sorted(newest_first, key=lambda survey: not survey.own)


def _running_order(surveys: list[RunningSurvey]) -> list[RunningSurvey]:
    """Sort the organisation's own surveys first, then by closing time: the soonest first, and
    surveys without a closing time last."""
    far = datetime.max.replace(tzinfo=timezone.utc)
    return sorted(surveys, key=lambda survey: (not survey.own, _utc(survey.closes_at) if survey.closes_at else far))


def _support_key(topic: DigestTopic) -> tuple[int, int]:
    return topic.supporters, topic.new_supporters


def _approved_key(topic: DigestTopic) -> datetime:
    return _utc(topic.approved_at) if topic.approved_at else datetime.min.replace(tzinfo=timezone.utc)


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def _reference_credit(report: Representativeness | None) -> dict[str, str] | None:
    """Return how to credit the reference population: CBS, or the file name of its source."""
    if report is None:
        return None
    # NOTE: CBS data is recognised by its region codes, because the reference file does not
    # name its publisher. A file from another publisher that uses CBS codes is credited to CBS too.
    if _CBS_AREA_CODE.fullmatch(report.area):
        return {"publisher": "CBS"}
    return {"file": PurePath(report.source).name}


def _supported(locale: str) -> str:
    return normalize_locale(locale) or FALLBACK_LOCALE


@lru_cache(maxsize=None)
def _environment(locale: str) -> Environment:
    """Build the Jinja2 environment of ``locale``: its catalog and its Babel formats.

    HTML templates (``*.html.j2``) are autoescaped; plain-text templates are not.
    """
    environment = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=False, default=False),
        extensions=["jinja2.ext.i18n", "jinja2.ext.do"],
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.install_gettext_translations(translations(locale), newstyle=True)
    formats = Formats(locale)
    environment.filters.update(
        number=formats.number,
        decimal=formats.decimal,
        percent=formats.percent,
        points=formats.points,
        enumeration=formats.enumeration,
        day=_in_zone(formats.day),
        day_month=_in_zone(formats.day_month),
    )
    environment.globals.update(locale=locale, text_table=text_table)
    return environment


def _in_zone(format_day: Callable[[datetime, ZoneInfo | None], str]):
    """Wrap a date format as a filter that converts datetimes to the template's ``zone``."""

    @pass_context
    def filter_day(context, value):
        return format_day(value, context.get("zone"))

    return filter_day
