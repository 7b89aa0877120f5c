"""The SQLite adapter (store.sqlite_driver): results, errors, and which thread runs a statement."""

from __future__ import annotations

import asyncio
import sqlite3
import threading

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import IntegrityError

from store.db import create_engine, sqlite_url
from store.sqlite_driver import statements_in_loop


@pytest.fixture
async def engine(tmp_path):
    engine = create_engine(sqlite_url(tmp_path / "driver.db"), connect_args={"timeout": 5})

    @event.listens_for(engine.sync_engine, "connect")
    def add_thread_function(dbapi_connection, _record) -> None:
        # SELECT thread_id() returns the thread that runs the statement.
        dbapi_connection.create_function("thread_id", 0, threading.get_ident)

    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL)"))
    yield engine
    await engine.dispose()


@pytest.mark.parametrize("in_loop", [False, True])
async def test_cursor_rows_rowcount_lastrowid(engine, in_loop) -> None:
    with statements_in_loop(in_loop):
        async with engine.begin() as connection:
            inserted = await connection.execute(text("INSERT INTO items (name) VALUES ('a')"))
            assert inserted.lastrowid == 1
            many = await connection.execute(text("INSERT INTO items (name) VALUES (:name)"), [{"name": "b"}, {"name": "c"}])
            assert many.rowcount == 2
            updated = await connection.execute(text("UPDATE items SET name = name || '!' WHERE id > 1"))
            assert updated.rowcount == 2
            rows = (await connection.execute(text("SELECT id, name FROM items ORDER BY id"))).all()
            batches = list((await connection.execute(text("SELECT id FROM items ORDER BY id"))).partitions())
    assert [tuple(row) for row in rows] == [(1, "a"), (2, "b!"), (3, "c!")]
    assert [[tuple(row) for row in batch] for batch in batches] == [[(1,)], [(2,)], [(3,)]]


async def test_cursor_streams_in_batches(engine) -> None:
    async with engine.begin() as connection:
        await connection.execute(text("INSERT INTO items (name) VALUES (:name)"), [{"name": str(number)} for number in range(5)])
        result = await connection.stream(text("SELECT name FROM items ORDER BY id"))
        batches = [[row.name for row in batch] async for batch in result.partitions(2)]
    assert batches == [["0", "1"], ["2", "3"], ["4"]]


async def test_in_loop_statement_thread(engine) -> None:
    loop_thread = threading.get_ident()
    select_thread = text("SELECT thread_id()")
    async with engine.begin() as connection:
        assert await connection.scalar(select_thread) != loop_thread
    with statements_in_loop():
        async with engine.begin() as connection:
            assert await connection.scalar(select_thread) == loop_thread
    async with engine.begin() as connection:
        assert await connection.scalar(select_thread) != loop_thread


async def test_in_loop_error_rolls_back(engine) -> None:
    with statements_in_loop():
        with pytest.raises(IntegrityError):
            async with engine.begin() as connection:
                await connection.execute(text("INSERT INTO items (name) VALUES ('same')"))
                await connection.execute(text("INSERT INTO items (name) VALUES ('same')"))
        async with engine.connect() as connection:
            assert await connection.scalar(text("SELECT count(*) FROM items")) == 0


async def test_in_loop_begin_keeps_loop_running(engine, tmp_path) -> None:
    """Another connection holds the write lock. The transaction's BEGIN IMMEDIATE waits for
    it in aiosqlite's thread, so the event loop keeps running other tasks meanwhile."""
    other = sqlite3.connect(tmp_path / "driver.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO items (name) VALUES ('other')")
    ticks = 0

    async def tick_until(done: asyncio.Event) -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            await asyncio.sleep(0.01)

    async def insert() -> int:
        with statements_in_loop():
            async with engine.begin() as connection:
                await connection.execute(text("INSERT INTO items (name) VALUES ('mine')"))
                return await connection.scalar(text("SELECT count(*) FROM items"))

    done = asyncio.Event()
    ticker = asyncio.create_task(tick_until(done))
    writer = asyncio.create_task(insert())
    await asyncio.sleep(0.3)
    assert not writer.done()
    ticks_while_waiting = ticks
    other.execute("COMMIT")
    other.close()
    assert await asyncio.wait_for(writer, 5) == 2
    done.set()
    await ticker
    assert ticks_while_waiting >= 10
