"""Service announcements from admins, delivered through the outbox."""

from __future__ import annotations

import time

import aiosqlite

from storage import db, deliveries
from storage.db import row


async def create(conn: aiosqlite.Connection, text: str, created_by: int) -> int:
    """Store an announcement; returns its id."""
    async with conn.execute(
        "INSERT INTO broadcasts (text, created_by, created_at) VALUES (?, ?, ?)",
        (text, created_by, int(time.time())),
    ) as cur:
        assert cur.lastrowid is not None
        return cur.lastrowid


async def text(conn: aiosqlite.Connection, broadcast_id: int) -> str | None:
    """The announcement's text, None if unknown."""
    found = await row(conn, "SELECT text FROM broadcasts WHERE id = ?", (broadcast_id,))
    return str(found[0]) if found else None


async def audience(conn: aiosqlite.Connection) -> int:
    """How many chats a broadcast would reach now (every active chat)."""
    found = await row(conn, "SELECT COUNT(*) FROM chats WHERE active = 1")
    return int(found[0]) if found else 0


async def publish(conn: aiosqlite.Connection, text: str, created_by: int) -> tuple[int, int]:
    """Store an announcement and queue it for every active chat at once: (id, rows queued)."""
    async with db.transaction(conn):
        broadcast_id = await create(conn, text, created_by)
        queued = await deliveries.enqueue_broadcast(conn, broadcast_id)
    return broadcast_id, queued
