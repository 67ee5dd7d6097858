"""The outbox: one row per message owed, 'pending' until Telegram confirmed it."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence

import aiosqlite

from bot.domain import Pending
from storage import chats
from storage.db import row, rows

# One statement per article: every active destination subscribed to any of its sections, once
# (DISTINCT + UNIQUE), skipping subscriptions made after the article was first seen.
_ENQUEUE_ARTICLE = """
INSERT OR IGNORE INTO deliveries (chat_id, thread_id, article_id, created_at)
SELECT DISTINCT s.chat_id, s.thread_id, a.id, :now
FROM articles a
JOIN article_sections x ON x.article_id = a.id
JOIN subscriptions s ON s.section = x.section AND s.created_at <= a.first_seen_at
JOIN chats c ON c.id = s.chat_id AND c.active = 1
WHERE a.id = :article
"""

_DUE = """
SELECT d.id, d.chat_id, d.thread_id, d.article_id, d.broadcast_id, d.attempts, d.created_at,
       c.kind,
       -- settings, in ChatSettings' field order (chats.settings_from)
       COALESCE(c.language, c.client_language), c.style, c.link_preview, c.digest_time,
       c.quiet_start, c.quiet_end, c.quiet_silent, c.timezone, c.digest_time2
FROM deliveries d JOIN chats c ON c.id = d.chat_id
WHERE d.status = 'pending' AND d.id > ? AND d.not_before <= ?
ORDER BY d.id LIMIT ?
"""


def _pending(r: aiosqlite.Row) -> Pending:
    return Pending(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], chats.settings_from(r[8:]))


async def enqueue_article(conn: aiosqlite.Connection, article_id: int) -> int:
    """Queue one article for every subscribed destination; returns rows created."""
    async with conn.execute(
        _ENQUEUE_ARTICLE, {"now": int(time.time()), "article": article_id}
    ) as cur:
        return max(0, cur.rowcount)


# Every active chat, where it reads the bot: each forum topic it subscribed or follows from
# (the General topic, 0, for chats without topics), or the chat itself if it has neither.
_ENQUEUE_BROADCAST = """
INSERT OR IGNORE INTO deliveries (chat_id, thread_id, broadcast_id, created_at)
SELECT c.id, COALESCE(t.thread_id, 0), :broadcast, :now
FROM chats c
LEFT JOIN (
    SELECT chat_id, thread_id FROM subscriptions
    UNION SELECT chat_id, thread_id FROM follows
) t ON t.chat_id = c.id
WHERE c.active = 1
"""


async def enqueue_broadcast(conn: aiosqlite.Connection, broadcast_id: int) -> int:
    """Queue a broadcast for every active chat, in the topics it reads us in; returns the
    number of chats queued (a chat with two topics is one chat)."""
    async with conn.execute(
        _ENQUEUE_BROADCAST, {"broadcast": broadcast_id, "now": int(time.time())}
    ) as cur:
        if cur.rowcount <= 0:
            return 0
    found = await row(
        conn,
        "SELECT COUNT(DISTINCT chat_id) FROM deliveries WHERE broadcast_id = ?",
        (broadcast_id,),
    )
    return int(found[0]) if found else 0


async def due(
    conn: aiosqlite.Connection, now: float, after_id: int = 0, limit: int = 500
) -> list[Pending]:
    """Pending rows allowed at `now`, in enqueue order, starting after `after_id`."""
    return [_pending(r) for r in await rows(conn, _DUE, (after_id, int(now), limit))]


async def next_due(conn: aiosqlite.Connection, after: float) -> int | None:
    """The earliest `not_before` after `after` among pending rows (unix seconds), if any."""
    found = await row(
        conn,
        "SELECT MIN(not_before) FROM deliveries WHERE status = 'pending' AND not_before > ?",
        (int(after),),
    )
    return None if found is None or found[0] is None else int(found[0])


async def digest_rows(
    conn: aiosqlite.Connection, chat_id: int, thread_id: int, queued_before: float
) -> list[tuple[int, int]]:
    """(row id, article id) of a destination's pending article rows queued before a time."""
    found = await rows(
        conn,
        "SELECT id, article_id FROM deliveries WHERE status = 'pending' AND chat_id = ? "
        "AND thread_id = ? AND article_id IS NOT NULL AND created_at < ? ORDER BY id",
        (chat_id, thread_id, int(queued_before)),
    )
    return [(r[0], r[1]) for r in found]


async def mark_sent(
    conn: aiosqlite.Connection, done: Sequence[tuple[int, int]], now: float | None = None
) -> None:
    """Rows Telegram confirmed: (row id, message_id)."""
    at = int(time.time() if now is None else now)
    await conn.executemany(
        "UPDATE deliveries SET status = 'sent', sent_at = ?, message_id = ?, attempts = "
        "attempts + 1, error = NULL WHERE id = ? AND status = 'pending'",
        [(at, message_id, row_id) for row_id, message_id in done],
    )


async def mark_failed(conn: aiosqlite.Connection, row_id: int, reason: str) -> None:
    """Give up on a row, keeping why."""
    await conn.execute(
        "UPDATE deliveries SET status = 'failed', sent_at = ?, attempts = attempts + 1, "
        "error = ? WHERE id = ?",
        (int(time.time()), reason, row_id),
    )


async def retry_later(
    conn: aiosqlite.Connection, row_id: int, not_before: float, reason: str = ""
) -> None:
    """A failed try: count it and keep the row pending until `not_before`."""
    await conn.execute(
        "UPDATE deliveries SET attempts = attempts + 1, not_before = ?, error = ? WHERE id = ?",
        (int(not_before + 0.999), reason or None, row_id),
    )


async def hold(conn: aiosqlite.Connection, row_ids: Iterable[int], not_before: float) -> None:
    """Keep rows pending until `not_before` (quiet hours, digests), without counting a try."""
    await conn.executemany(
        "UPDATE deliveries SET not_before = ? WHERE id = ? AND status = 'pending'",
        [(int(not_before + 0.999), row_id) for row_id in row_ids],
    )


async def hold_chat(
    conn: aiosqlite.Connection, chat_id: int, not_before: float, articles_only: bool = False
) -> None:
    """Keep every pending row of a chat until `not_before`."""
    only = " AND article_id IS NOT NULL" if articles_only else ""
    await conn.execute(
        "UPDATE deliveries SET not_before = MAX(not_before, ?) "
        f"WHERE chat_id = ? AND status = 'pending'{only}",
        (int(not_before + 0.999), chat_id),
    )


async def drop_topic(conn: aiosqlite.Connection, chat_id: int, thread_id: int, reason: str) -> int:
    """Drop what a closed or deleted forum topic was still owed."""
    async with conn.execute(
        "UPDATE deliveries SET status = 'dropped', error = ? "
        "WHERE chat_id = ? AND thread_id = ? AND status = 'pending'",
        (reason, chat_id, thread_id),
    ) as cur:
        return max(0, cur.rowcount)


async def counts_since(conn: aiosqlite.Connection, since: float) -> dict[str, int]:
    """Rows per status: sent/failed/dropped since a time, and everything pending."""
    finished = await rows(
        conn,
        "SELECT status, COUNT(*) FROM deliveries WHERE status != 'pending' AND sent_at >= ? "
        "GROUP BY status",
        (int(since),),
    )
    result = {r[0]: r[1] for r in finished}
    pending = await row(conn, "SELECT COUNT(*) FROM deliveries WHERE status = 'pending'")
    result["pending"] = int(pending[0]) if pending else 0
    return result
