"""Topic alerts: the words chats follow, and their deliveries in the shared outbox."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Literal

import aiosqlite

from bot.domain import Follow
from storage.db import row, rows, transaction

AddResult = Literal["added", "exists", "full"]


async def list_for_chat(conn: aiosqlite.Connection, chat_id: int) -> list[Follow]:
    """All topics a chat follows, any forum topic, oldest first."""
    found = await rows(
        conn,
        "SELECT chat_id, query, thread_id FROM follows WHERE chat_id = ? "
        "ORDER BY thread_id, created_at, query",
        (chat_id,),
    )
    return [Follow(r[0], r[1], r[2]) for r in found]


async def count(conn: aiosqlite.Connection, chat_id: int) -> int:
    """How many topics a chat follows, over all its forum topics."""
    found = await row(conn, "SELECT COUNT(*) FROM follows WHERE chat_id = ?", (chat_id,))
    return int(found[0]) if found else 0


async def add(conn: aiosqlite.Connection, follow: Follow, *, limit: int) -> AddResult:
    """Follow a topic unless the chat already follows it or already follows `limit` topics."""
    async with transaction(conn):
        if await row(
            conn,
            "SELECT 1 FROM follows WHERE chat_id = ? AND thread_id = ? AND query = ?",
            (follow.chat_id, follow.thread_id, follow.query),
        ):
            return "exists"
        if await count(conn, follow.chat_id) >= limit:
            return "full"
        await conn.execute(
            "INSERT INTO follows (chat_id, thread_id, query, created_at) VALUES (?, ?, ?, ?)",
            (follow.chat_id, follow.thread_id, follow.query, int(time.time())),
        )
    return "added"


async def remove(conn: aiosqlite.Connection, follow: Follow) -> bool:
    """Stop following one topic; False when it was not followed."""
    async with transaction(conn):
        cur = await conn.execute(
            "DELETE FROM follows WHERE chat_id = ? AND thread_id = ? AND query = ?",
            (follow.chat_id, follow.thread_id, follow.query),
        )
    return cur.rowcount > 0


async def remove_all(conn: aiosqlite.Connection, chat_id: int, thread_id: int = 0) -> int:
    """Stop following every topic in this chat (or forum topic); returns how many."""
    async with transaction(conn):
        cur = await conn.execute(
            "DELETE FROM follows WHERE chat_id = ? AND thread_id = ?", (chat_id, thread_id)
        )
    return cur.rowcount


async def active(conn: aiosqlite.Connection) -> list[Follow]:
    """Every followed topic of a chat the bot still sends to."""
    found = await rows(
        conn,
        "SELECT f.chat_id, f.query, f.thread_id FROM follows f "
        "JOIN chats c ON c.id = f.chat_id WHERE c.active = 1",
    )
    return [Follow(r[0], r[1], r[2]) for r in found]


async def enqueue(conn: aiosqlite.Connection, article_id: int, matched: Iterable[Follow]) -> int:
    """Owe the article to every chat whose topic matched; returns the rows actually added.

    The UNIQUE (chat_id, thread_id, article_id) of the outbox makes a chat that also gets the
    article through a section (or through a second topic) receive it once. A topic followed
    only after the article was first seen does not reach back for it.
    """
    before = conn.total_changes
    await conn.executemany(
        "INSERT OR IGNORE INTO deliveries (chat_id, thread_id, article_id, created_at) "
        "SELECT f.chat_id, f.thread_id, a.id, ? FROM follows f "
        "JOIN articles a ON a.id = ? JOIN chats c ON c.id = f.chat_id "
        "WHERE f.chat_id = ? AND f.thread_id = ? AND f.query = ? "
        "AND c.active = 1 AND f.created_at <= a.first_seen_at",
        [
            (int(time.time()), article_id, f.chat_id, f.thread_id, f.query)
            for f in dict.fromkeys(matched)
        ],
    )
    return conn.total_changes - before
