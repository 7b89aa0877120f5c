"""Helpers the benchmark scripts share: the machine description, throwaway databases and
peak-memory measurement.

Importing this module puts the repository root on ``sys.path``, because Python puts only
``bench/`` there when a script in it runs.
"""

from __future__ import annotations

import contextlib
import os
import platform
import resource
import sqlite3
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

REPOSITORY_ROOT = Path(__file__).resolve().parents[1]
if str(REPOSITORY_ROOT) not in sys.path:
    sys.path.insert(0, str(REPOSITORY_ROOT))

from store.db import sqlite_url  # noqa: E402

DATABASES = ("sqlite", "postgresql")
# The server on which the PostgreSQL runs create (and then drop) a database of their own.
DEFAULT_POSTGRESQL_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"


def selected_databases(choice: str) -> list[str]:
    """Return the databases of a ``--database sqlite|postgresql|both`` option."""
    return list(DATABASES) if choice == "both" else [choice]


def machine_description() -> str:
    """Describe the CPU model, logical cores, RAM, OS and Python version of this machine."""
    cpu_model = platform.processor() or "unknown CPU"
    memory = "unknown RAM"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024**2:.1f} GiB RAM"
                break
    return (
        f"{cpu_model}, {os.cpu_count()} logical cores, {memory}, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}"
    )


async def database_version(url: str) -> str:
    """Return the database product and version behind ``url``, such as "SQLite 3.40.1"."""
    if make_url(url).get_backend_name() == "sqlite":
        # aiosqlite runs the standard library's sqlite3 module in a thread.
        return f"SQLite {sqlite3.sqlite_version} (aiosqlite)"
    connection = await _connect(url)
    try:
        version = await connection.fetchval("SHOW server_version")
    finally:
        await connection.close()
    return f"PostgreSQL {version} (asyncpg)"


@contextlib.asynccontextmanager
async def temporary_database(kind: str, postgresql_url: str = DEFAULT_POSTGRESQL_URL) -> AsyncIterator[str]:
    """Yield the SQLAlchemy URL of a new, empty database and delete it afterwards.

    ``kind`` "sqlite" gives a file in a new temporary folder. "postgresql" creates a
    database named ``chatpanel_bench_<random>`` on the server of ``postgresql_url`` and
    drops it, closing any connections still open to it.
    """
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="chatpanel-bench-") as folder:
            yield sqlite_url(Path(folder) / "bench.db")
        return
    name = f"chatpanel_bench_{uuid.uuid4().hex[:12]}"
    admin = await _connect(postgresql_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield make_url(postgresql_url).set(database=name).render_as_string(hide_password=False)
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def _connect(url: str) -> asyncpg.Connection:
    parsed = make_url(url)
    return await asyncpg.connect(
        host=parsed.host, port=parsed.port or 5432, user=parsed.username, password=parsed.password, database=parsed.database
    )


def max_rss_mib() -> float:
    """Return this process's maximum resident set size so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass
class PhaseMeasure:
    """Elapsed time and memory of one measured phase."""

    seconds: float = 0.0
    # Peak of memory allocated through Python while tracemalloc traced the phase; None untraced.
    traced_peak_mib: float | None = None
    max_rss_before_mib: float = 0.0
    max_rss_after_mib: float = 0.0


@contextlib.contextmanager
def measure_phase(trace: bool) -> Iterator[PhaseMeasure]:
    """Measure the elapsed time of the ``with`` block and the process's peak memory in it.

    With ``trace`` tracemalloc runs during the block, which slows Python code down, so the
    elapsed time of a traced block is longer than that of an untraced one.
    """
    measure = PhaseMeasure(max_rss_before_mib=max_rss_mib())
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    try:
        yield measure
    finally:
        measure.seconds = time.perf_counter() - started
        if trace:
            measure.traced_peak_mib = tracemalloc.get_traced_memory()[1] / 1024**2
            tracemalloc.stop()
        measure.max_rss_after_mib = max_rss_mib()
