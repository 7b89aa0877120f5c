"""Horizontal bar charts of a question's answers, as PNG bytes for the digest.

Each call builds its own ``matplotlib.figure.Figure`` on the Agg canvas and never touches
pyplot, so charts can be drawn from several threads at once and no figure outlives its call.
The chart is drawn for a 600 px wide slot in the e-mail: each option's label spans the full
width above its bars, so the text stays legible when a phone shrinks the picture further.
"""

from __future__ import annotations

import io
import os
import textwrap
from collections.abc import Sequence

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.patches import Patch

from bot.digest.formats import Formats
from bot.i18n import texts
from bot.results import OptionCount, QuestionResult

# Question types that get a chart: each has a fixed list of options with a count each.
CHART_TYPES = frozenset({"single_choice", "multiple_choice", "yes_no", "scale"})
# The picture is shown 600 px wide and drawn at twice that, so it stays sharp on
# high-density phone screens.
CHART_WIDTH_PX = 1200
DPI = 200
WIDTH_IN = CHART_WIDTH_PX / DPI

UNWEIGHTED_COLOUR = "#1f5c99"
WEIGHTED_COLOUR = "#e8a33d"
# Text drawn on a bar: white on the dark blue, near-black on the orange, both above 4.5:1.
UNWEIGHTED_TEXT_COLOUR = "#ffffff"
WEIGHTED_TEXT_COLOUR = "#1a1a1a"
TEXT_COLOUR = "#1a1a1a"
AXIS_COLOUR = "#555555"
GRID_COLOUR = "#d9d9d9"

# Sizes in points. At 600 px a point is about 1.4 px, and on a 360 px phone screen about 0.8 px.
LABEL_SIZE = 18
VALUE_SIZE = 16
TICK_SIZE = 15
# Characters per label line: DejaVu Sans at LABEL_SIZE fits about 40 across the plot.
LABEL_CHARACTERS = 36
# Vertical space in label lines (one line of LABEL_SIZE text, 1.3 line height).
LINE_IN = LABEL_SIZE * 1.3 / 72
BAR_LINES = 1.05
ROW_GAP_LINES = 0.55
# Margins in inches: the percent axis below, the legend above.
BOTTOM_IN = 0.45
TOP_IN = 0.12
LEGEND_IN = 0.4
LEFT = 0.02
RIGHT = 0.97
# A share above this is labelled inside its bar, so the label never leaves the picture.
INSIDE_LABEL_FROM = 0.82

# The font that ships with matplotlib, so the bytes do not depend on the fonts installed on
# the system.
_FONT_FILE = os.path.join(matplotlib.get_data_path(), "fonts", "ttf", "DejaVuSans.ttf")


def has_chart(question: QuestionResult) -> bool:
    """Return True when ``question`` is of a type that gets a bar chart and has options."""
    return question.type in CHART_TYPES and bool(question.options)


def bar_chart_png(question: QuestionResult, *, locale: str, weighted: bool) -> bytes:
    """Draw the share of respondents per option of ``question`` as PNG bytes.

    The PNG is CHART_WIDTH_PX wide, its height grows with the options and their label
    lines, and it has no metadata, so equal input gives equal bytes. With ``weighted``,
    each option gets an unweighted and a weighted bar and a legend that names them; a
    missing weighted share is drawn as 0. Raise ValueError for a question without options.
    """
    if not question.options:
        raise ValueError(f"question {question.id!r} has no options to chart")
    formats = Formats(locale)
    labels = [textwrap.wrap(option.label, width=LABEL_CHARACTERS) or [""] for option in question.options]
    bars_per_row = 2 if weighted else 1
    plot_lines = sum(len(lines) + bars_per_row * BAR_LINES + ROW_GAP_LINES for lines in labels)

    top_in = TOP_IN + (LEGEND_IN if weighted else 0)
    height_px = round((top_in + plot_lines * LINE_IN + BOTTOM_IN) * DPI)
    figure = Figure(figsize=(WIDTH_IN, height_px / DPI), dpi=DPI, facecolor="white")
    try:
        _draw(figure, question.options, labels, formats, weighted, plot_lines)
        buffer = io.BytesIO()
        # "Software": None drops the only text chunk matplotlib writes, so the bytes carry no version.
        FigureCanvasAgg(figure).print_png(buffer, metadata={"Software": None})
        return buffer.getvalue()
    finally:
        figure.clear()


def _draw(
    figure: Figure,
    options: Sequence[OptionCount],
    labels: list[list[str]],
    formats: Formats,
    weighted: bool,
    plot_lines: float,
) -> None:
    height_in = figure.get_figheight()
    bottom = BOTTOM_IN / height_in
    axes = figure.add_axes((LEFT, bottom, RIGHT - LEFT, plot_lines * LINE_IN / height_in))
    axes.set_xlim(0, 1)
    # Y runs downwards in label lines, so the first option is at the top.
    axes.set_ylim(plot_lines, 0)
    _style_axes(axes, formats)

    series = [("share", UNWEIGHTED_COLOUR, UNWEIGHTED_TEXT_COLOUR)]
    if weighted:
        series.append(("weighted_share", WEIGHTED_COLOUR, WEIGHTED_TEXT_COLOUR))
    y = ROW_GAP_LINES / 2
    for option, lines in zip(options, labels):
        axes.text(0, y, "\n".join(lines), va="top", ha="left", color=TEXT_COLOUR, linespacing=1.3, fontproperties=_font(LABEL_SIZE))
        y += len(lines)
        for attribute, colour, inside_colour in series:
            share = getattr(option, attribute) or 0.0
            centre = y + BAR_LINES / 2
            axes.barh(centre, share, height=BAR_LINES * 0.8, color=colour, linewidth=0)
            _value_label(axes, share, centre, formats, inside_colour)
            y += BAR_LINES
        y += ROW_GAP_LINES

    if weighted:
        t = texts(formats.locale)
        handles = [Patch(color=UNWEIGHTED_COLOUR, label=t.gettext("Unweighted")), Patch(color=WEIGHTED_COLOUR, label=t.gettext("Weighted"))]
        anchor = (LEFT, 1 - TOP_IN / height_in)
        figure.legend(
            handles=handles, loc="upper left", bbox_to_anchor=anchor, ncols=2, frameon=False, prop=_font(LABEL_SIZE),
            handlelength=1.2, borderaxespad=0, borderpad=0, labelcolor=TEXT_COLOUR,
        )


def _style_axes(axes, formats: Formats) -> None:
    ticks = [0, 0.25, 0.5, 0.75, 1]
    tick_labels = [_tick_label(formats, tick) for tick in ticks]
    axes.set_xticks(ticks, tick_labels, fontproperties=_font(TICK_SIZE), color=AXIS_COLOUR)
    # The outer labels align inwards, so "0%" and "100%" stay inside the picture.
    drawn = axes.get_xticklabels()
    drawn[0].set_horizontalalignment("left")
    drawn[-1].set_horizontalalignment("right")
    axes.set_yticks([])
    axes.tick_params(axis="x", colors=AXIS_COLOUR, length=0, pad=6)
    axes.grid(axis="x", color=GRID_COLOUR, linewidth=1)
    axes.set_axisbelow(True)
    for side in ("top", "right", "left"):
        axes.spines[side].set_visible(False)
    axes.spines["bottom"].set_color(AXIS_COLOUR)
    axes.set_facecolor("white")


def _tick_label(formats: Formats, fraction: float) -> str:
    return texts(formats.locale).percent(fraction)


def _value_label(axes, share: float, centre: float, formats: Formats, inside_colour: str) -> None:
    text = formats.percent(share)
    if share > INSIDE_LABEL_FROM:
        axes.text(share - 0.01, centre, text, va="center", ha="right", color=inside_colour, fontproperties=_font(VALUE_SIZE))
    else:
        axes.text(share + 0.01, centre, text, va="center", ha="left", color=TEXT_COLOUR, fontproperties=_font(VALUE_SIZE))


def _font(size: float) -> FontProperties:
    return FontProperties(fname=_FONT_FILE, size=size)
