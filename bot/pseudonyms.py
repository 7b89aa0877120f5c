"""Pseudonymous respondent ids for exports: stable within one survey, different across
surveys, and not reversible without the survey's export key.

An export never contains a resident's database id, stored pseudonym, phone number or chat
id. Partners get ``respondent_id(key, resident_id)`` instead, so they can join the rows of
one survey's exports but cannot link a resident across surveys.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from store.models import Survey

__all__ = ["RESPONDENT_ID_BITS", "respondent_id", "survey_export_key"]

# Crockford's base32 alphabet: digits and capitals without I, L, O and U, which are easy
# to misread.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_CHARACTERS = 12
RESPONDENT_ID_BITS = 5 * _CHARACTERS


async def survey_export_key(session: AsyncSession, survey_row: Survey) -> str:
    """Return the export key of ``survey_row``, creating a random one on first use.

    The key is set with a conditional UPDATE (only while it is still empty) and then read
    back, so two exports that start together end with the same key. The new key is part of
    the caller's transaction: commit it before the pseudonyms leave the process.
    """
    if survey_row.export_key:
        return survey_row.export_key
    candidate = secrets.token_hex(32)
    await session.execute(
        update(Survey)
        .where(Survey.id == survey_row.id, Survey.export_key.is_(None))
        .values(export_key=candidate)
        .execution_options(synchronize_session=False)
    )
    key = await session.scalar(select(Survey.export_key).where(Survey.id == survey_row.id))
    # The row may hold the stale empty value. Setting it as loaded state keeps the ORM
    # from writing it back.
    set_committed_value(survey_row, "export_key", key)
    return key


def respondent_id(export_key: str, resident_id: int) -> str:
    """Return the pseudonym of ``resident_id`` under ``export_key``, such as ``R-7K3M9QX2PA4B``.

    It is the first 60 bits of HMAC-SHA256(export_key, resident id as decimal text), written
    as 12 Crockford base32 characters. With 60 bits, the chance that two of a million
    respondents get the same id is about n²/2⁶¹ ≈ 4·10⁻⁷.
    """
    digest = hmac.new(export_key.encode("utf-8"), str(resident_id).encode("ascii"), hashlib.sha256).digest()
    number = int.from_bytes(digest[:8], "big") >> (64 - RESPONDENT_ID_BITS)
    characters = []
    for _ in range(_CHARACTERS):
        number, index = divmod(number, 32)
        characters.append(_ALPHABET[index])
    return "R-" + "".join(reversed(characters))
