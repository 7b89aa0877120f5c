import pytest

from bot.channels.sms_segments import is_gsm7, segment_count

EMOJI = "\N{GRINNING FACE}"
TYPOGRAPHIC_QUOTE = "\N{RIGHT SINGLE QUOTATION MARK}"


def test_gsm7_plain_ascii():
    assert is_gsm7("Hello, world! 123")


def test_gsm7_basic_set_accents():
    assert is_gsm7("Café è ù Ä Ö Ñ Ü ß ¿¡ £¥§ ΔΦΓΛΩΠΨΣΘΞ")


def test_gsm7_extension_table():
    assert is_gsm7("^{}[]~|€\\\f")


@pytest.mark.parametrize("char", [TYPOGRAPHIC_QUOTE, EMOJI, "ë", "`", "\t", "\x1b"])
def test_gsm7_rejects(char):
    assert not is_gsm7(char)


def test_segments_empty():
    assert segment_count("") == 0


def test_segments_gsm7_160_single():
    assert segment_count("a" * 160) == 1


def test_segments_gsm7_161_two():
    assert segment_count("a" * 161) == 2


def test_segments_gsm7_306_two():
    assert segment_count("a" * 306) == 2


def test_segments_gsm7_307_three():
    assert segment_count("a" * 307) == 3


def test_segments_euro_fits_160():
    assert segment_count("a" * 158 + "€") == 1


def test_segments_euro_counts_two():
    assert segment_count("a" * 159 + "€") == 2


def test_segments_form_feed_counts_two():
    assert segment_count("a" * 159 + "\f") == 2


def test_segments_extension_not_split():
    # 306 septets would fit in two segments of 153, but the euro sign does not fit
    # after the first 152, so it starts the second segment and one "a" spills over.
    assert segment_count("a" * 152 + "€" + "a" * 152) == 3


def test_segments_quote_ucs2_70_single():
    assert segment_count(TYPOGRAPHIC_QUOTE + "a" * 69) == 1


def test_segments_quote_ucs2_71_two():
    assert segment_count(TYPOGRAPHIC_QUOTE + "a" * 70) == 2


def test_segments_ucs2_134_two():
    assert segment_count(TYPOGRAPHIC_QUOTE + "a" * 133) == 2


def test_segments_ucs2_135_three():
    assert segment_count(TYPOGRAPHIC_QUOTE + "a" * 134) == 3


def test_segments_emoji_counts_two():
    assert segment_count(EMOJI + "a" * 68) == 1
    assert segment_count(EMOJI + "a" * 69) == 2


def test_segments_emoji_not_split():
    # The surrogate pair does not fit in the one unit left after 66, so it starts the
    # second segment.
    assert segment_count("a" * 66 + EMOJI + "a" * 65) == 2
    assert segment_count("a" * 66 + EMOJI + "a" * 66) == 3
