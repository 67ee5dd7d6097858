"""Figures about the stored data, for /metrics, /healthz and `newsbot stats`."""

from __future__ import annotations

from pathlib import Path

import aiosqlite

from bot.domain import Figures, SectionFigures
from storage.db import row, rows

STATUSES = ("pending", "sent", "failed", "dropped")


async def _scalar(conn: aiosqlite.Connection, sql: str, *args: object) -> int:
    found = await row(conn, sql, args)
    return int(found[0] or 0) if found else 0


async def _per_section(conn: aiosqlite.Connection, sql: str) -> dict[str, int]:
    return {r[0]: int(r[1]) for r in await rows(conn, sql)}


async def last_success(conn: aiosqlite.Connection) -> dict[str, int | None]:
    """The newest successful poll of any feed of each section (None: never)."""
    found = await rows(conn, "SELECT section, MAX(last_success_at) FROM feeds GROUP BY section")
    return {r[0]: r[1] for r in found}


async def figures(conn: aiosqlite.Connection, now: int) -> Figures:
    """Every figure an operator looks at, read in a handful of indexed queries."""
    day_ago = now - 86_400
    subscriptions = await _per_section(
        conn,
        "SELECT s.section, COUNT(*) FROM subscriptions s JOIN chats c ON c.id = s.chat_id "
        "WHERE c.active = 1 GROUP BY s.section",
    )
    articles = await _per_section(
        conn, "SELECT section, COUNT(*) FROM article_sections GROUP BY section"
    )
    feed_rows = await rows(
        conn,
        "SELECT section, MAX(last_success_at), SUM(failures > 0), "
        "(SELECT f2.last_error FROM feeds f2 WHERE f2.section = f.section AND f2.failures > 0 "
        " ORDER BY f2.last_fetch_at DESC LIMIT 1) "
        "FROM feeds f GROUP BY section",
    )
    feeds = {r[0]: (r[1], int(r[2] or 0), r[3]) for r in feed_rows}
    names = [
        (r[0], r[1])
        for r in await rows(conn, "SELECT slug, name FROM sections ORDER BY position, slug")
    ]
    deliveries = dict.fromkeys(STATUSES, 0)
    deliveries.update(
        await _per_section(conn, "SELECT status, COUNT(*) FROM deliveries GROUP BY status")
    )
    sections = tuple(
        SectionFigures(
            slug=slug,
            name=name,
            subscriptions=subscriptions.get(slug, 0),
            articles=articles.get(slug, 0),
            last_success_at=feeds.get(slug, (None, 0, None))[0],
            failing_feeds=feeds.get(slug, (None, 0, None))[1],
            last_error=feeds.get(slug, (None, 0, None))[2],
        )
        for slug, name in names
    )
    return Figures(
        active_chats=await _scalar(conn, "SELECT COUNT(*) FROM chats WHERE active = 1"),
        inactive_chats=await _scalar(conn, "SELECT COUNT(*) FROM chats WHERE active = 0"),
        articles=await _scalar(conn, "SELECT COUNT(*) FROM articles"),
        articles_last_day=await _scalar(
            conn, "SELECT COUNT(*) FROM articles WHERE first_seen_at >= ?", day_ago
        ),
        deliveries=deliveries,
        sent_last_day=await _scalar(
            conn,
            "SELECT COUNT(*) FROM deliveries WHERE status = 'sent' AND sent_at >= ?",
            day_ago,
        ),
        sections=sections,
    )


def _existing(path: Path) -> str:
    # mode=rw: a health check must not create a missing database.
    return f"{path.absolute().as_uri()}?mode=rw"


async def writable(path: Path, busy_seconds: float = 2.0) -> str | None:
    """None if a write transaction can be taken on the database file now, else why not.

    Its own short-lived connection: the bot's shared one may be inside another coroutine's
    transaction, and the question is whether the *file* accepts writers.
    """
    try:
        async with aiosqlite.connect(
            _existing(path), uri=True, timeout=busy_seconds, isolation_level=None
        ) as conn:
            await conn.execute("BEGIN IMMEDIATE")
            await conn.execute("ROLLBACK")
    except Exception as exc:  # any failure is the answer: not writable, and why
        return f"{type(exc).__name__}: {exc}"
    return None
