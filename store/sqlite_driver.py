"""SQLAlchemy's aiosqlite adapter, with fewer trips to the database thread.

aiosqlite runs SQLite in a thread of its own, and SQLAlchemy's adapter makes four trips
there for a statement that returns rows: open a cursor, execute, fetch and close. Each
trip hands the work to the thread and then waits for the event loop to pick up the
result, under load after a whole turn of the loop, while the transaction holds SQLite's
only write lock.

Two changes, measured in docs/benchmarks.md:

- Each statement opens, executes, fetches and closes its cursor in one trip.
- Inside ``statements_in_loop()`` a statement runs in the event loop's own thread, with
  no trip at all, once the connection is in a transaction. The inbound path uses it:
  each of its turns touches one resident's rows and a few small tables. A transaction of
  the inbound path handles up to 25 messages (bot.inbound), and the loop handles nothing
  else between its BEGIN and COMMIT, unless a turn sends statements back to the thread
  (RESULTS does). In the inbound benchmark such a transaction took
  39 ms at the 95th percentile and 102 ms at most, BEGIN and COMMIT included. Every
  transaction starts with ``BEGIN IMMEDIATE`` (store.db), which still goes to the
  thread, because it can wait up to the busy timeout for another process to release
  the write lock. Once it returns, the transaction holds that lock. In WAL mode, which
  store.db sets, the statements after it then wait for no other connection. COMMIT and
  ROLLBACK also go to the thread, because a COMMIT can write a checkpoint. The thread
  is idle while a statement runs in the loop, because the BEGIN went through its queue
  and was awaited first.

Streaming results (``stream``, ``yield_per``) keep SQLAlchemy's server-side cursor,
which fetches in batches in the thread.
"""

from __future__ import annotations

import collections
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import EMPTY_DICT
from sqlalchemy.util.concurrency import await_

# The outcome of one execution: description, rowcount, lastrowid and the rows.
_Outcome = tuple[Any, int, int | None, list[Any]]

_IN_LOOP: ContextVar[bool] = ContextVar("chatpanel_sqlite_statements_in_loop", default=False)


@contextmanager
def statements_in_loop(in_loop: bool = True) -> Iterator[None]:
    """Run the SQLite statements of this task's transactions in the event loop's thread.

    Only for transactions of short statements: one that scans a large table would hold
    up the whole process while it runs. ``in_loop=False`` sends a block of such
    statements back to aiosqlite's thread. Statements outside a transaction, such as
    the BEGIN, always go there. Other databases ignore this.
    """
    token = _IN_LOOP.set(in_loop)
    try:
        yield
    finally:
        _IN_LOOP.reset(token)


def _execute(connection: sqlite3.Connection, operation: str, parameters: Any, many: bool) -> _Outcome:
    """Execute ``operation`` and return its whole outcome, with the cursor closed."""
    cursor = connection.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        else:
            cursor.execute(operation, () if parameters is None else parameters)
        rows = cursor.fetchall() if cursor.description else []
        return cursor.description, cursor.rowcount, cursor.lastrowid, rows
    finally:
        cursor.close()


class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    """A cursor whose statement runs, is fetched and is closed in one trip, or in none."""

    __slots__ = ("_description", "_rowcount", "_lastrowid", "_arraysize")

    def __init__(self, adapt_connection: AsyncAdapt_aiosqlite_connection) -> None:
        # No aiosqlite cursor is opened here: each execution opens and closes its own
        # sqlite3 cursor.
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self._description = None
        self._rowcount = -1
        self._lastrowid = None
        self._arraysize = 1

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._lastrowid

    @property
    def arraysize(self) -> int:
        return self._arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._arraysize = value

    def execute(self, operation: str, parameters: Any = None) -> None:
        self._run(operation, parameters, many=False)

    def executemany(self, operation: str, seq_of_parameters: Sequence[Any]) -> None:
        self._run(operation, seq_of_parameters, many=True)

    def close(self) -> None:
        self._rows.clear()

    async def _async_soft_close(self) -> None:
        # The sqlite3 cursor is closed already; the rows and description stay here.
        return None

    def _run(self, operation: str, parameters: Any, many: bool) -> None:
        try:
            outcome = await_(self._statement(operation, parameters, many))
        except Exception as error:
            self._adapt_connection._handle_exception(error)
        self._description, self._rowcount, self._lastrowid, rows = outcome
        self._rows = collections.deque(rows)

    async def _statement(self, operation: str, parameters: Any, many: bool) -> _Outcome:
        # A coroutine either way: SQLAlchemy's AsyncConnection checks that its call awaited
        # something, and awaiting a coroutine that does not suspend takes no turn of the loop.
        connection: aiosqlite.Connection = self._connection
        async with self._adapt_connection._execute_mutex:
            if _IN_LOOP.get() and connection._conn.in_transaction:
                return _execute(connection._conn, operation, parameters, many)
            # aiosqlite's own execute runs its functions in the thread this way.
            # NOTE: _execute, _conn and the adapter attributes are private to aiosqlite and
            # SQLAlchemy, so pyproject.toml pins the minor versions the tests ran with.
            return await connection._execute(_execute, connection._conn, operation, parameters, many)


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()
    _cursor_cls = OneTripCursor


class OneTripDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """The DBAPI module to pass as ``module`` to ``create_async_engine`` for sqlite+aiosqlite."""

    def connect(self, *arg: Any, **kw: Any) -> OneTripConnection:
        adapted = super().connect(*arg, **kw)
        return OneTripConnection(self, adapted._connection)


def one_trip_dbapi() -> OneTripDBAPI:
    return OneTripDBAPI(aiosqlite, sqlite3)
