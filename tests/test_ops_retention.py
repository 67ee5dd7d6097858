"""Retention: old articles and finished deliveries go, the search index follows, size stays flat."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiosqlite
import pytest

from bot import config
from bot import retention as bot_retention
from bot.runtime import Runtime
from storage import articles, db, retention
from storage.retention import DAY
from tests.reader_helpers import eventually

NOW = 1_750_000_000


@pytest.fixture
async def conn(tmp_path: Path) -> AsyncIterator[aiosqlite.Connection]:
    conn = await db.connect(tmp_path / "newsbot.db")
    await conn.execute("INSERT INTO sections (slug, name) VALUES ('news', 'News')")
    for chat in (1, 2, 3, 4, 5):
        await conn.execute(
            "INSERT INTO chats (id, kind, created_at, updated_at) VALUES (?, 'private', 0, 0)",
            (chat,),
        )
    yield conn
    await conn.close()


async def add_article(
    conn: aiosqlite.Connection, key: str, published: int, first_seen: int | None = None
) -> int:
    first_seen = published if first_seen is None else first_seen
    cur = await conn.execute(
        "INSERT INTO articles (key, url, title, published_at, first_seen_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (key, f"https://example.org/{key}", f"title {key}", published, first_seen, first_seen),
    )
    article = cur.lastrowid
    assert article is not None
    await conn.execute("INSERT INTO article_sections VALUES (?, 'news')", (article,))
    await articles.index(conn, [article])  # the search indexes, as storage writes them
    return article


async def add_delivery(
    conn: aiosqlite.Connection, chat: int, article: int | None, status: str, at: int
) -> None:
    await conn.execute(
        "INSERT INTO deliveries (chat_id, article_id, status, created_at, sent_at) "
        "VALUES (?, ?, ?, ?, ?)",
        (chat, article, status, at, at if status == "sent" else None),
    )


async def scalar(conn: aiosqlite.Connection, sql: str) -> int:
    async with conn.execute(sql) as cur:
        row = await cur.fetchone()
    assert row is not None
    return int(row[0])


async def keys(conn: aiosqlite.Connection) -> set[str]:
    async with conn.execute("SELECT key FROM articles") as cur:
        return {row[0] for row in await cur.fetchall()}


def test_cutoff_counts_whole_days_back_from_now() -> None:
    assert retention.cutoff(NOW, 365) == NOW - 365 * DAY
    assert retention.cutoff(NOW, 1) == NOW - DAY


async def test_old_articles_go_with_their_search_rows_sections_and_deliveries(
    conn: aiosqlite.Connection,
) -> None:
    old = await add_article(conn, "old", NOW - 400 * DAY)
    await add_article(conn, "recent", NOW - 10 * DAY)
    await add_article(conn, "edge", NOW - 365 * DAY + 1)  # one second inside the window
    # An old post that a feed lists only now: deleting it would make ingest push it again.
    await add_article(conn, "old-but-new-here", NOW - 400 * DAY, first_seen=NOW - DAY)
    await add_delivery(conn, 1, old, "sent", NOW - 400 * DAY)

    pruned = await retention.prune(conn, now=NOW, article_days=365, delivery_days=30)

    assert pruned.articles == 1
    assert await keys(conn) == {"recent", "edge", "old-but-new-here"}
    assert await scalar(conn, "SELECT COUNT(*) FROM articles_fts") == 3
    assert await scalar(conn, f"SELECT COUNT(*) FROM articles_fts WHERE rowid = {old}") == 0
    assert await scalar(conn, "SELECT COUNT(*) FROM article_sections") == 3
    assert await scalar(conn, "SELECT COUNT(*) FROM deliveries") == 0
    async with conn.execute(
        "SELECT COUNT(*) FROM articles_fts WHERE articles_fts MATCH 'title'"
    ) as cur:
        assert (await cur.fetchone())[0] == 3  # the index still answers, in step with articles


async def test_finished_deliveries_go_after_their_window_pending_ones_stay(
    conn: aiosqlite.Connection,
) -> None:
    old_article = await add_article(conn, "a", NOW - 90 * DAY)
    fresh_article = await add_article(conn, "b", NOW - 5 * DAY)
    for chat, status in enumerate(("sent", "failed", "dropped", "pending"), start=1):
        await add_delivery(conn, chat, old_article, status, NOW - 60 * DAY)
    await add_delivery(conn, 5, old_article, "sent", NOW - 10 * DAY)  # recent: kept
    # Old row of an article first seen recently: it still guards fan_out from a re-send.
    await add_delivery(conn, 5, fresh_article, "sent", NOW - 40 * DAY)
    await conn.execute(
        "INSERT INTO broadcasts (id, text, created_by, created_at) VALUES (7, 'hi', 1, 0)"
    )
    await conn.execute(
        "INSERT INTO deliveries (chat_id, broadcast_id, status, created_at, sent_at) "
        f"VALUES (1, 7, 'sent', {NOW - 60 * DAY}, {NOW - 60 * DAY})"
    )

    pruned = await retention.prune(conn, now=NOW, article_days=365, delivery_days=30)

    assert pruned == retention.Pruned(articles=0, deliveries=4)
    async with conn.execute(
        "SELECT chat_id, article_id, status FROM deliveries ORDER BY id"
    ) as cur:
        left = [tuple(row) for row in await cur.fetchall()]
    assert left == [
        (4, old_article, "pending"),
        (5, old_article, "sent"),
        (5, fresh_article, "sent"),
    ]


async def test_prune_works_in_batches(
    conn: aiosqlite.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(retention, "BATCH", 3)
    for i in range(10):
        article = await add_article(conn, f"k{i}", NOW - 500 * DAY)
        await add_delivery(conn, 1, article, "sent", NOW - 500 * DAY)
        await add_delivery(conn, 2, article, "sent", NOW - 500 * DAY)
    pruned = await retention.prune(conn, now=NOW, article_days=365, delivery_days=30)
    assert pruned == retention.Pruned(articles=10, deliveries=20)
    assert await scalar(conn, "SELECT COUNT(*) FROM articles_fts") == 0


async def test_database_size_stays_bounded_under_steady_load(
    conn: aiosqlite.Connection,
) -> None:
    """120 simulated days, 10 articles a day to 2 chats, a 15-day window, pruned daily."""
    sizes = {}
    start = NOW - 120 * DAY
    for day in range(120):
        today = start + day * DAY
        for i in range(10):
            article = await add_article(conn, f"d{day}-{i}", today + i)
            await add_delivery(conn, 1, article, "sent", today + i)
            await add_delivery(conn, 2, article, "sent", today + i)
        await retention.prune(conn, now=today + DAY - 1, article_days=15, delivery_days=3)
        sizes[day] = await scalar(conn, "PRAGMA page_count")
    assert await scalar(conn, "SELECT COUNT(*) FROM articles") == 15 * 10
    assert await scalar(conn, "SELECT COUNT(*) FROM articles_fts") == 15 * 10
    # Freed pages are reused: once b-trees settle (a few windows) the file stops growing,
    # while 8 windows of unpruned data would be several times larger.
    assert sizes[119] <= sizes[59] * 1.05, sizes
    assert sizes[119] < sizes[14] * 2, sizes


async def test_the_retention_task_prunes_and_survives_a_failed_pass(
    conn: aiosqlite.Connection, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The task beside the poller and dispatcher: a failed pass is logged, the next one prunes."""
    now = int(time.time())
    await add_article(conn, "old", now - 400 * DAY)
    await add_article(conn, "new", now - DAY)
    closed = await db.connect(tmp_path / "elsewhere.db")
    await closed.close()
    settings = config.load({"NEWSBOT_DATABASE": str(tmp_path / "newsbot.db")})
    rt = Runtime(settings=settings, sections=(), db=closed)  # the first pass fails
    task = asyncio.create_task(bot_retention.prune_forever(rt, first=0, interval=0.05))
    try:

        async def failed() -> bool:
            return any(r.getMessage() == "retention pass failed" for r in caplog.records)

        await eventually(failed)
        rt.db = conn

        async def pruned() -> bool:
            return await keys(conn) == {"new"}

        await eventually(pruned)
        assert not task.done()
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
