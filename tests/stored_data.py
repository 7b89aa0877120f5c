"""Everything the store holds, as text, for tests that check what an erasure leaves behind."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import select

from store.models import Base


async def dump_rows(sessionmaker) -> list[tuple[str, str, str]]:
    """Return (table, column, value as text) for every column of every row of every table.

    Times are written to the second, so a 4-digit value such as a postcode cannot turn up
    by chance inside microseconds.
    """
    rows: list[tuple[str, str, str]] = []
    async with sessionmaker() as session:
        for table in Base.metadata.sorted_tables:
            for row in (await session.execute(select(table))).mappings():
                rows.extend((table.name, column, _as_text(value)) for column, value in row.items())
    return rows


def places_containing(rows: list[tuple[str, str, str]], needle: str) -> list[tuple[str, str]]:
    """Return the (table, column) pairs whose value contains ``needle``."""
    return sorted({(table, column) for table, column, value in rows if needle in value})


async def references_to_resident(sessionmaker, resident_id: int) -> list[tuple[str, str]]:
    """Return the (table, column) pairs that still hold ``resident_id`` in a column that
    refers to residents.id, or in residents.id itself."""
    found = []
    async with sessionmaker() as session:
        for table in Base.metadata.sorted_tables:
            for column in table.columns:
                refers = any(key.column.table.name == "residents" for key in column.foreign_keys)
                if not (refers or (table.name == "residents" and column.name == "id")):
                    continue
                statement = select(column).where(column == resident_id)
                if (await session.execute(statement)).first() is not None:
                    found.append((table.name, column.name))
    return found


def _as_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)
