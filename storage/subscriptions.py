"""Which chat (or forum topic) follows which section."""

from __future__ import annotations

import time
from collections.abc import Iterable

import aiosqlite

from storage.db import rows, transaction


async def sections_of(conn: aiosqlite.Connection, chat_id: int, thread_id: int = 0) -> set[str]:
    """Slugs a chat (or one of its topics) follows."""
    found = await rows(
        conn,
        "SELECT section FROM subscriptions WHERE chat_id = ? AND thread_id = ?",
        (chat_id, thread_id),
    )
    return {r[0] for r in found}


async def add(
    conn: aiosqlite.Connection, chat_id: int, sections: Iterable[str], thread_id: int = 0
) -> None:
    """Follow these sections; already-followed ones stay as they are."""
    now = int(time.time())
    async with transaction(conn):
        await conn.executemany(
            "INSERT OR IGNORE INTO subscriptions (chat_id, thread_id, section, created_at) "
            "VALUES (?, ?, ?, ?)",
            [(chat_id, thread_id, s, now) for s in sections],
        )


async def remove(
    conn: aiosqlite.Connection, chat_id: int, sections: Iterable[str], thread_id: int = 0
) -> None:
    """Stop following these sections."""
    async with transaction(conn):
        await conn.executemany(
            "DELETE FROM subscriptions WHERE chat_id = ? AND thread_id = ? AND section = ?",
            [(chat_id, thread_id, s) for s in sections],
        )


async def remove_all(
    conn: aiosqlite.Connection, chat_id: int, thread_id: int | None = None
) -> None:
    """Stop following everything (in one topic, or in the whole chat when thread_id is None)."""
    async with transaction(conn):
        if thread_id is None:
            await conn.execute("DELETE FROM subscriptions WHERE chat_id = ?", (chat_id,))
        else:
            await conn.execute(
                "DELETE FROM subscriptions WHERE chat_id = ? AND thread_id = ?",
                (chat_id, thread_id),
            )
