"""The one connection layer: open SQLite with the right pragmas and bring the schema up to date."""

from __future__ import annotations

import asyncio
import re
import sqlite3
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path

import aiosqlite

from storage.text import fold

BUSY_TIMEOUT_MS = 5000
_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


class SchemaTooNew(RuntimeError):
    """The database was written by a newer version of the bot; we refuse to touch it."""


def migrations() -> list[tuple[int, str]]:
    """Numbered migrations shipped with the package, in order."""
    found = []
    for entry in resources.files("storage.migrations").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.read_text(encoding="utf-8")))
    return sorted(found)


def latest_version() -> int:
    """The schema version this code expects."""
    return migrations()[-1][0]


async def connect(path: str | Path) -> aiosqlite.Connection:
    """Open the database, set pragmas and apply pending migrations."""
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    # isolation_level=None: we issue BEGIN ourselves, so a transaction is exactly what we say.
    conn = await aiosqlite.connect(path, isolation_level=None)
    try:
        conn.row_factory = aiosqlite.Row
        await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        await conn.execute("PRAGMA journal_mode = WAL")
        await conn.execute("PRAGMA synchronous = NORMAL")
        await conn.execute("PRAGMA foreign_keys = ON")
        await register(conn)
        await migrate(conn)
    except BaseException:
        await conn.close()
        raise
    return conn


async def register(conn: aiosqlite.Connection) -> None:
    """SQL functions the schema relies on: fold() folds text for the search index."""
    await conn.create_function("fold", 1, fold, deterministic=True)


async def schema_version(conn: aiosqlite.Connection) -> int:
    """The version recorded in the database, 0 for a new file."""
    async with conn.execute(
        "SELECT name FROM sqlite_master WHERE type='table' AND name='schema_version'"
    ) as cur:
        if await cur.fetchone() is None:
            return 0
    async with conn.execute("SELECT MAX(version) FROM schema_version") as cur:
        row = await cur.fetchone()
    return int(row[0] or 0) if row else 0


async def migrate(conn: aiosqlite.Connection) -> list[int]:
    """Apply the migrations the database lacks, each in its own transaction; return them."""
    current = await schema_version(conn)
    newest = latest_version()
    if current > newest:
        raise SchemaTooNew(
            f"the database has schema version {current}, but this newsbot only knows up to "
            f"{newest}; upgrade newsbot or point NEWSBOT_DATABASE at another file"
        )
    applied = []
    for version, sql in migrations():
        if version <= current:
            continue
        # executescript commits first, so BEGIN/COMMIT go inside the script itself.
        try:
            await conn.executescript(
                "BEGIN IMMEDIATE;\n"
                "CREATE TABLE IF NOT EXISTS schema_version "
                "(version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL);\n"
                f"{sql}\n"
                f"INSERT INTO schema_version VALUES ({version}, unixepoch());\n"
                "COMMIT;"
            )
        except BaseException:
            if conn.in_transaction:
                await conn.execute("ROLLBACK")
            raise
        applied.append(version)
    return applied


# One aiosqlite connection is shared by coroutines; without this lock a second coroutine's
# BEGIN would fail inside the first one's transaction ("cannot start a transaction within a
# transaction") and its writes would silently join, or be rolled back with, the other's.
_locks: weakref.WeakKeyDictionary[aiosqlite.Connection, asyncio.Lock] = weakref.WeakKeyDictionary()


@asynccontextmanager
async def transaction(conn: aiosqlite.Connection) -> AsyncIterator[aiosqlite.Connection]:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any error; one at a time per connection."""
    lock = _locks.setdefault(conn, asyncio.Lock())
    async with lock:
        await _begin(conn)
        try:
            yield conn
        except BaseException:
            await conn.execute("ROLLBACK")
            raise
        await conn.execute("COMMIT")


async def _begin(conn: aiosqlite.Connection) -> None:
    # Another coroutine's query on this shared connection may still be open (between its execute
    # and its fetch). Upgrading that read to a write, SQLite never calls the busy handler: it
    # refuses at once with SQLITE_BUSY while another connection writes (waiting could deadlock)
    # or SQLITE_BUSY_SNAPSHOT once that one has committed. The query ends within a step or two,
    # after which BEGIN succeeds; a BEGIN that itself waited out busy_timeout is past the deadline.
    loop = asyncio.get_running_loop()
    deadline = loop.time() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            await conn.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            busy = exc.sqlite_errorname in ("SQLITE_BUSY", "SQLITE_BUSY_SNAPSHOT")
            if not busy or loop.time() > deadline:
                raise
        await asyncio.sleep(0.005)
