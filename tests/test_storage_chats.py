"""Chats in storage: migration moves everything once; writes from many coroutines take turns."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.domain import Section
from storage import chats, db, sections, subscriptions


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
