"""WebSub pings received: the last accepted and the last rejected, with counts."""

from __future__ import annotations

import aiosqlite

from bot.domain import PingOutcome, Pings
from storage.db import rows, transaction


async def record(
    conn: aiosqlite.Connection, outcome: PingOutcome, last_at: int, count: int, detail: str
) -> None:
    """Add `count` pings of this outcome, the newest at `last_at`, with its detail."""
    async with transaction(conn):
        await conn.execute(
            "INSERT INTO websub_pings (outcome, last_at, count, detail) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (outcome) DO UPDATE SET last_at = max(last_at, excluded.last_at), "
            "count = count + excluded.count, detail = excluded.detail",
            (outcome, last_at, count, detail),
        )


async def summary(conn: aiosqlite.Connection) -> dict[str, Pings]:
    """outcome -> what was recorded (absent when no such ping ever came)."""
    found = await rows(conn, "SELECT outcome, last_at, count, detail FROM websub_pings")
    return {r[0]: Pings(r[0], int(r[1]), int(r[2]), str(r[3])) for r in found}
