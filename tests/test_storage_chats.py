"""Chats in storage: migration moves everything once; writes from many coroutines take turns."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from bot.domain import Article, ChatSettings, Section
from storage import articles, chats, db, deliveries, sections, subscriptions


async def test_migration_moves_subscriptions_once(tmp_path: Path) -> None:
    conn = await db.connect(tmp_path / "bot.db")
    try:
        await sections.sync(conn, [Section("news", "News", ("https://x/feed/",))])
        await chats.ensure(conn, -100, "group", "Readers")
        await subscriptions.add(conn, -100, ["news"])
        assert await chats.migrate(conn, -100, -1001234) is True
        # Telegram announces the migration in both chats: the second notice changes nothing.
        assert await chats.migrate(conn, -100, -1001234) is False
        assert await chats.get(conn, -100) is None
        moved = await chats.get(conn, -1001234)
        assert moved is not None and moved.kind == "supergroup"
        assert await subscriptions.sections_of(conn, -1001234) == {"news"}
    finally:
        await conn.close()


async def test_concurrent_reader_writes_on_one_connection(tmp_path: Path) -> None:
    conn = await db.connect(tmp_path / "bot.db")
    try:
        await sections.sync(conn, [Section("news", "News", ("https://x/feed/",))])

        async def reader(chat_id: int) -> None:
            await chats.ensure(conn, chat_id, "private")
            await subscriptions.add(conn, chat_id, ["news"])
            await chats.deactivate(conn, chat_id)
            await chats.ensure(conn, chat_id, "private")

        await asyncio.gather(*(reader(i) for i in range(1, 51)))
        for chat_id in range(1, 51):
            chat = await chats.get(conn, chat_id)
            assert chat is not None and chat.active
            assert await subscriptions.sections_of(conn, chat_id) == {"news"}
    finally:
        await conn.close()


async def test_a_settings_change_releases_what_quiet_hours_or_a_digest_held(
    tmp_path: Path,
) -> None:
    conn = await db.connect(tmp_path / "bot.db")
    try:
        await sections.sync(conn, [Section("news", "News", ("https://x/feed/",))])
        await chats.ensure(conn, 7, "private")
        await subscriptions.add(conn, 7, ["news"])
        article = Article(key="1", url="https://x/?p=1", title="T", sections=("news",))
        stored = await articles.upsert(conn, article, announced=True, now=int(time.time()))
        assert stored.id is not None
        await deliveries.enqueue_article(conn, stored.id)
        held_until = time.time() + 8 * 3600  # the end of the night, as quiet hours had it
        await deliveries.hold_chat(conn, 7, held_until)
        assert await deliveries.due(conn, time.time()) == []

        await chats.update_settings(conn, 7, ChatSettings(quiet_start=None, quiet_end=None))

        # The dispatcher decides afresh under the new settings (and holds again if it must).
        assert [row.chat_id for row in await deliveries.due(conn, time.time())] == [7]
    finally:
        await conn.close()
