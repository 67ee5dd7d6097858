"""The one connection layer: open SQLite with the right pragmas and bring the schema up to date."""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import aiosqlite

from bot.domain import fold

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


def _read_only(path: str | Path) -> str:
    # mode=ro: a missing file is an error instead of a new empty database.
    return f"{Path(path).absolute().as_uri()}?mode=ro"


async def connect_read_only(path: str | Path) -> aiosqlite.Connection:
    """Open an existing database for reading only: never created, migrated or written."""
    conn = await aiosqlite.connect(_read_only(path), uri=True, isolation_level=None)
    conn.row_factory = aiosqlite.Row
    try:
        await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        refuse_newer(await schema_version(conn))
    except BaseException:
        await conn.close()
        raise
    return conn


def refuse_newer(version: int) -> None:
    """SchemaTooNew if a database at `version` was written by a newer newsbot."""
    newest = latest_version()
    if version > newest:
        raise SchemaTooNew(
            f"the database has schema version {version}, but this newsbot only knows up to "
            f"{newest}; upgrade newsbot or point NEWSBOT_DATABASE at another file"
        )


class Database(aiosqlite.Connection):
    """The bot's read-write connection (an aiosqlite connection) and the lock its writes share.

    One connection is shared by coroutines; without the lock a second coroutine's BEGIN would
    fail inside the first one's transaction ("cannot start a transaction within a transaction")
    and its writes would silently join, or be rolled back with, the other's. Opened by connect().
    """

    def __init__(self, path: str | Path) -> None:
        location = str(path)
        # As aiosqlite.connect() builds its Connection; isolation_level=None: we issue BEGIN
        # ourselves, so a transaction is exactly what we say.
        super().__init__(lambda: sqlite3.connect(location, isolation_level=None), 64)
        self.write_lock = asyncio.Lock()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Database]:
        """BEGIN IMMEDIATE ... COMMIT, rolled back on any error; one at a time per connection.

        BEGIN waits out other connections' writers through busy_timeout. It never meets a read
        of its own connection left open (which SQLite would refuse at once, no busy handler):
        every read in storage/ is one trip (`rows`, `row`), tested in tests/test_storage_db.py.
        """
        async with self.write_lock:
            await self.execute("BEGIN IMMEDIATE")
            try:
                yield self
            except BaseException:
                await self.execute("ROLLBACK")
                raise
            await self.execute("COMMIT")


async def connect(path: str | Path) -> Database:
    """Open the database, set pragmas and apply pending migrations."""
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = Database(path)
    await conn
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


Params = Iterable[Any] | Mapping[str, Any]


async def rows(conn: aiosqlite.Connection, sql: str, params: Params = ()) -> list[aiosqlite.Row]:
    """Every row of a query, read in ONE trip through the connection's thread.

    `async with conn.execute(...) as cur: await cur.fetchall()` takes two trips, and between
    them the query stays open on the shared connection while other coroutines' statements run.
    A BEGIN IMMEDIATE meeting such an open read fails at once (SQLITE_BUSY or
    SQLITE_BUSY_SNAPSHOT, no busy handler) whenever another connection writes or has written.
    Every read in storage/ goes through here, so no read is ever left open.
    """
    return list(await conn.execute_fetchall(sql, params))


async def row(conn: aiosqlite.Connection, sql: str, params: Params = ()) -> aiosqlite.Row | None:
    """The first row of a query (None if none), read in one trip (see rows)."""
    found = await rows(conn, sql, params)
    return found[0] if found else None


async def register(conn: aiosqlite.Connection) -> None:
    """SQL functions the schema relies on: fold() folds text for the search index."""
    await conn.create_function("fold", 1, fold, deterministic=True)


async def schema_version(conn: aiosqlite.Connection) -> int:
    """The version recorded in the database, 0 for a new file."""
    if not await rows(
        conn, "SELECT name FROM sqlite_master WHERE type='table' AND name='schema_version'"
    ):
        return 0
    found = await row(conn, "SELECT MAX(version) FROM schema_version")
    return int(found[0] or 0) if found else 0


async def migrate(conn: aiosqlite.Connection) -> list[int]:
    """Apply the migrations the database lacks, each in its own transaction; return them."""
    current = await schema_version(conn)
    refuse_newer(current)
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


def transaction(conn: aiosqlite.Connection) -> AbstractAsyncContextManager[Database]:
    """`conn.transaction()` of the Database connect() opened (storage's functions take the
    connection as aiosqlite's type; a read-only or foreign connection has no writes to order)."""
    if not isinstance(conn, Database):
        raise TypeError("writes need the Database that storage.db.connect() opened")
    return conn.transaction()
