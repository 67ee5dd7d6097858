"""The connection layer: pragmas, migrations, restarts and a database from the future."""

from __future__ import annotations

import ast
import asyncio
import sqlite3
from pathlib import Path

import aiosqlite
import pytest

import storage
from bot.domain import Section
from storage import articles, chats, db, deliveries, follows, sections, subscriptions


async def test_new_database_gets_latest_schema_and_pragmas(tmp_path: Path) -> None:
    conn = await db.connect(tmp_path / "bot.db")
    try:
        assert await db.schema_version(conn) == db.latest_version()
        async with conn.execute("PRAGMA journal_mode") as cur:
            assert (await cur.fetchone())[0] == "wal"
        async with conn.execute("PRAGMA foreign_keys") as cur:
            assert (await cur.fetchone())[0] == 1
        async with conn.execute("PRAGMA busy_timeout") as cur:
            assert (await cur.fetchone())[0] == db.BUSY_TIMEOUT_MS
    finally:
        await conn.close()


async def test_second_start_migrates_nothing_and_keeps_data(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    conn = await db.connect(path)
    await conn.execute(
        "INSERT INTO chats (id, kind, created_at, updated_at) VALUES (42, 'private', 0, 0)"
    )
    await conn.close()
    conn = await db.connect(path)
    try:
        assert await db.migrate(conn) == []
        async with conn.execute("SELECT id FROM chats") as cur:
            assert [r[0] for r in await cur.fetchall()] == [42]
    finally:
        await conn.close()


async def test_newer_schema_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    conn = await db.connect(path)
    await conn.execute("INSERT INTO schema_version VALUES (999, 0)")
    await conn.close()
    before = path.read_bytes()
    with pytest.raises(db.SchemaTooNew, match="999"):
        await db.connect(path)
    assert path.read_bytes() == before


async def test_concurrent_transactions_on_one_connection_take_turns(tmp_path: Path) -> None:
    conn = await db.connect(tmp_path / "bot.db")
    order: list[str] = []

    async def write(name: str, chat_id: int, fail: bool) -> None:
        async with db.transaction(conn):
            order.append(f"{name} begin")
            await conn.execute(
                "INSERT INTO chats (id, kind, created_at, updated_at) VALUES (?, 'private', 0, 0)",
                (chat_id,),
            )
            await asyncio.sleep(0.01)  # the other coroutine tries to BEGIN meanwhile
            if fail:
                raise RuntimeError("boom")
            order.append(f"{name} commit")

    try:
        results = await asyncio.gather(
            write("a", 1, fail=True), write("b", 2, fail=False), return_exceptions=True
        )
        assert isinstance(results[0], RuntimeError) and results[1] is None
        assert order == ["a begin", "b begin", "b commit"]
        async with conn.execute("SELECT id FROM chats") as cur:
            # a's rollback did not take b's write with it
            assert [r[0] for r in await cur.fetchall()] == [2]
    finally:
        await conn.close()


async def test_each_database_owns_its_write_lock_and_only_it_writes(tmp_path: Path) -> None:
    first = await db.connect(tmp_path / "bot.db")
    second = await db.connect(tmp_path / "bot.db")
    foreign = await aiosqlite.connect(tmp_path / "bot.db", isolation_level=None)
    try:
        async with first.transaction():
            # first's open transaction holds its own lock only: second is not kept waiting on
            # it by our code (SQLite's busy_timeout orders the two files' writers).
            assert first.write_lock.locked() and not second.write_lock.locked()
        assert not first.write_lock.locked()
        with pytest.raises(TypeError, match=r"storage\.db\.connect"):
            async with db.transaction(foreign):
                pass
        assert not foreign.in_transaction
    finally:
        for conn in (first, second, foreign):
            await conn.close()


async def _three_chats(path: Path) -> tuple[aiosqlite.Connection, aiosqlite.Connection]:
    shared = await db.connect(path)
    other = await db.connect(path)
    for chat_id in (1, 2, 3):
        await other.execute(
            "INSERT INTO chats (id, kind, created_at, updated_at) VALUES (?, 'private', 0, 0)",
            (chat_id,),
        )
    return shared, other


async def _deactivate_2(shared: aiosqlite.Connection) -> None:
    async with db.transaction(shared):
        await shared.execute("UPDATE chats SET active = 0 WHERE id = 2")


@pytest.mark.parametrize("other_is", ["committed", "writing"])
async def test_a_read_left_open_between_its_trips_makes_a_concurrent_begin_fail(
    tmp_path: Path, other_is: str
) -> None:
    """The old 'database is locked' (3a42be3, 194c1ba), reproduced: why reads take one trip.

    A coroutine's query executed but not yet fetched keeps a read open on the shared
    connection; another coroutine's BEGIN IMMEDIATE queued in between must upgrade it, and
    SQLite refuses at once, without its busy handler, while another connection writes
    (SQLITE_BUSY) or once it has committed (SQLITE_BUSY_SNAPSHOT). transaction() no longer
    retries this: storage/ never leaves a read open (see the tests below).
    """
    shared, other = await _three_chats(tmp_path / "bot.db")
    try:
        reading = await shared.execute("SELECT id FROM chats ORDER BY id")  # first trip
        if other_is == "writing":
            await other.execute("BEGIN IMMEDIATE")
        await other.execute("UPDATE chats SET title = 'new' WHERE id = 3")
        # The writer's BEGIN is queued before the reader's second trip.
        writing = asyncio.create_task(_deactivate_2(shared))
        fetching = asyncio.create_task(reading.fetchall())
        with pytest.raises(sqlite3.OperationalError) as refused:
            await writing
        assert refused.value.sqlite_errorname == (
            "SQLITE_BUSY" if other_is == "writing" else "SQLITE_BUSY_SNAPSHOT"
        )
        assert [r[0] for r in await fetching] == [1, 2, 3]
        await reading.close()
        if other_is == "writing":
            await other.execute("COMMIT")
    finally:
        await shared.close()
        await other.close()


@pytest.mark.parametrize("other_is", ["committed", "writing"])
async def test_a_one_trip_read_leaves_nothing_open_for_a_begin_to_meet(
    tmp_path: Path, other_is: str
) -> None:
    """The same moment with db.rows: the read is over before any other statement runs."""
    shared, other = await _three_chats(tmp_path / "bot.db")
    try:
        if other_is == "writing":
            await other.execute("BEGIN IMMEDIATE")
            await other.execute("UPDATE chats SET title = 'new' WHERE id = 3")
        reading = asyncio.create_task(db.rows(shared, "SELECT id FROM chats ORDER BY id"))
        writing = asyncio.create_task(_deactivate_2(shared))
        assert [r[0] for r in await reading] == [1, 2, 3]
        if other_is == "writing":
            # BEGIN waits in SQLite's busy handler for the other writer, as it should.
            await other.execute("COMMIT")
        else:
            await other.execute("UPDATE chats SET title = 'new' WHERE id = 3")
        await asyncio.wait_for(writing, 5)
        assert tuple(await db.row(other, "SELECT active FROM chats WHERE id = 2") or ()) == (0,)
    finally:
        await shared.close()
        await other.close()


async def test_storage_reads_and_transactions_mix_on_a_shared_connection(tmp_path: Path) -> None:
    """Concurrent readers and writers on the bot's shared connection while another process
    writes: every call succeeds, with no retry anywhere (each read is one trip)."""
    path = tmp_path / "bot.db"
    shared = await db.connect(path)
    other = await db.connect(path)
    await sections.sync(shared, [Section("news", "News", ()), Section("sport", "Sport", ())])
    for chat_id in range(1, 4):
        await chats.ensure(shared, chat_id, "private")
    stop = asyncio.Event()

    async def other_process() -> None:
        # The CLI or a second stage writing: short transactions, some held across an await.
        n = 0
        while not stop.is_set():
            n += 1
            if n % 2:
                await other.execute("BEGIN IMMEDIATE")
                await other.execute("UPDATE chats SET title = ? WHERE id = 1", (str(n),))
                await asyncio.sleep(0.001)
                await other.execute("COMMIT")
            else:
                await other.execute("UPDATE chats SET title = ? WHERE id = 2", (str(n),))
            await asyncio.sleep(0.001)  # leave the lock free now and then

    async def reader(chat_id: int) -> None:
        for _ in range(10):
            await chats.get(shared, chat_id)
            await subscriptions.sections_of(shared, chat_id)
            await follows.list_for_chat(shared, chat_id)
            await articles.latest(shared, 5)
            await deliveries.due(shared, 0)

    async def writer(chat_id: int) -> None:
        for i in range(10):
            await subscriptions.add(shared, chat_id, ["news", "sport"][i % 2 :])
            await chats.ensure(shared, chat_id, "private", title=str(i))
            await subscriptions.remove(shared, chat_id, ["sport"])

    background = asyncio.create_task(other_process())
    try:
        await asyncio.gather(*(reader(c) for c in range(1, 4)), *(writer(c) for c in range(1, 4)))
        assert await subscriptions.sections_of(shared, 1) == {"news"}
    finally:
        stop.set()
        await background
        await shared.close()
        await other.close()


def test_no_storage_module_leaves_a_read_open() -> None:
    """Every read in storage/ is one trip (db.rows / db.row), never execute-then-fetch."""
    offenders = []
    for source in Path(storage.__file__).parent.glob("*.py"):
        if source.name == "backup.py":  # plain sqlite3 in a worker thread, no shared connection
            continue
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            fetch = (
                isinstance(node, ast.Attribute)
                and node.attr in ("fetchone", "fetchall", "fetchmany")
            ) or isinstance(node, ast.AsyncFor)
            if fetch:
                offenders.append(f"{source.name}:{getattr(node, 'lineno', '?')}")
    assert offenders == []
