"""SMS encoding and segment counting, following GSM 03.38 (3GPP TS 23.038).

A text that uses only the GSM 03.38 basic character set and its extension table is
sent in GSM-7. Any other character switches the whole message to UCS-2.
"""

from __future__ import annotations

# The GSM 03.38 basic character set, in code order from 0x00 to 0x7F. Position 0x1B is
# the escape to the extension table, not a character, so it is left out.
_GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)

# Characters of the GSM 03.38 extension table. Each is sent as the escape plus one
# code, so it takes two septets.
_GSM7_EXTENSION = "\f^{}\\[~]|€"

_GSM7_BASIC_SET = frozenset(_GSM7_BASIC)
_GSM7_EXTENSION_SET = frozenset(_GSM7_EXTENSION)

# Units per message. A concatenated message spends part of each segment on the user
# data header, which leaves 153 septets (GSM-7) or 67 UTF-16 code units (UCS-2).
_GSM7_SINGLE = 160
_GSM7_PER_SEGMENT = 153
_UCS2_SINGLE = 70
_UCS2_PER_SEGMENT = 67


def is_gsm7(text: str) -> bool:
    """Return whether every character of ``text`` can be sent in GSM-7."""
    return all(char in _GSM7_BASIC_SET or char in _GSM7_EXTENSION_SET for char in text)


def segment_count(text: str) -> int:
    """Count the SMS segments needed to send ``text``, or 0 for the empty text.

    An extension character (2 septets) or a character outside the Basic Multilingual
    Plane (a UTF-16 surrogate pair) is never split across two segments, so that each
    segment decodes on its own.
    """
    if not text:
        return 0

    if is_gsm7(text):
        widths = [2 if char in _GSM7_EXTENSION_SET else 1 for char in text]
        single, per_segment = _GSM7_SINGLE, _GSM7_PER_SEGMENT
    else:
        widths = [2 if ord(char) > 0xFFFF else 1 for char in text]
        single, per_segment = _UCS2_SINGLE, _UCS2_PER_SEGMENT

    if sum(widths) <= single:
        return 1
    return _pack(widths, per_segment)


def _pack(widths: list[int], per_segment: int) -> int:
    """Count the segments when characters of the given widths fill them in order."""
    segments = 1
    used = 0
    for width in widths:
        if used + width > per_segment:
            segments += 1
            used = 0
        used += width
    return segments
