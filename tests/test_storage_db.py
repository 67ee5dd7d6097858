"""The connection layer: pragmas, migrations, restarts and a database from the future."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from storage import db


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


@pytest.mark.parametrize("other_is", ["committed", "writing"])
async def test_transaction_waits_for_an_open_read_on_its_shared_connection(
    tmp_path: Path, other_is: str
) -> None:
    """A handler's open query must not make another handler's BEGIN fail ("database is locked")."""
    shared = await db.connect(tmp_path / "bot.db")
    other = await db.connect(tmp_path / "bot.db")
    try:
        for chat_id in (1, 2, 3):
            await other.execute(
                "INSERT INTO chats (id, kind, created_at, updated_at) VALUES (?, 'private', 0, 0)",
                (chat_id,),
            )
        reading = await shared.execute("SELECT id FROM chats ORDER BY id")  # rows left to fetch
        assert (await reading.fetchone())[0] == 1
        # Another connection commits (the open query's snapshot is now stale) or is writing.
        if other_is == "writing":
            await other.execute("BEGIN IMMEDIATE")
        await other.execute("UPDATE chats SET title = 'new' WHERE id = 3")

        async def write() -> None:
            async with db.transaction(shared):
                await shared.execute("UPDATE chats SET active = 0 WHERE id = 2")

        writing = asyncio.create_task(write())
        await asyncio.sleep(0.05)  # the BEGIN meets the open query
        assert not writing.done()
        if other_is == "writing":
            await other.execute("COMMIT")
        await reading.close()
        await asyncio.wait_for(writing, 5)
        async with other.execute("SELECT active FROM chats WHERE id = 2") as cur:
            assert (await cur.fetchone())[0] == 0
    finally:
        await shared.close()
        await other.close()
