import pytest

from bot.channels.render import render_numbered, split_text
from bot.channels.types import Channel, Choice, Outbound

CHOICES = (
    Choice(number=1, label="Ja", payload="q1:yes"),
    Choice(number=2, label="Nee", payload="q1:no"),
)


def test_render_lists_choices():
    message = Outbound(Channel.SMS, "+31612345678", "Woont u hier?", CHOICES)

    assert render_numbered(message) == "Woont u hier?\n1. Ja\n2. Nee"


def test_render_without_choices():
    message = Outbound(Channel.SMS, "+31612345678", "Dank u wel.")

    assert render_numbered(message) == "Dank u wel."


def test_render_choices_not_listed():
    message = Outbound(
        Channel.SMS, "+31612345678", "Antwoord met 1 tot 5.", CHOICES, list_choices=False
    )

    assert render_numbered(message) == "Antwoord met 1 tot 5."


def test_render_empty_text_with_choices():
    message = Outbound(Channel.SMS, "+31612345678", "", CHOICES)

    assert render_numbered(message) == "1. Ja\n2. Nee"


def test_split_short_text_whole():
    assert split_text("kort", 10) == ["kort"]


def test_split_empty_text():
    assert split_text("", 10) == [""]


def test_split_on_line_breaks():
    text = "aaaa\nbbbb\ncccc"

    assert split_text(text, 9) == ["aaaa\nbbbb", "cccc"]


def test_split_prefers_line_break_over_space():
    text = "aa bb\ncc dd ee"

    assert split_text(text, 10) == ["aa bb", "cc dd ee"]


def test_split_on_spaces_in_long_line():
    text = "een twee drie vier"

    assert split_text(text, 9) == ["een twee", "drie vier"]


def test_split_hard_without_separators():
    assert split_text("abcdefghij", 4) == ["abcd", "efgh", "ij"]


def test_split_separator_at_limit():
    # The line break just past the limit is the cut, so no empty part follows.
    assert split_text("abcd\n", 4) == ["abcd"]


def test_split_parts_within_limit():
    text = "\n".join(f"regel {number} " + "x" * (number % 37) for number in range(300))

    parts = split_text(text, 100)

    assert max(len(part) for part in parts) <= 100
    assert "\n".join(parts) == text


def test_split_rejects_zero_limit():
    with pytest.raises(ValueError, match="limit"):
        split_text("abc", 0)
