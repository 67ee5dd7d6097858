"""Topic alerts: the stored topics, matching new articles, and one outbox row per chat."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiosqlite
import pytest

from bot import fanout, topics
from bot.domain import Article, Follow
from bot.sections import builtin
from storage import articles, chats, db, follows, subscriptions
from storage import sections as stored_sections
from tests.search_data import add_article

CHAT = 42


@pytest.fixture
async def conn(tmp_path: Path) -> AsyncIterator[aiosqlite.Connection]:
    connection = await db.connect(tmp_path / "bot.db")
    await stored_sections.sync(connection, builtin("https://aze.media"))
    await chats.ensure(connection, CHAT, "private")
    yield connection
    await connection.close()


async def pending(conn: aiosqlite.Connection) -> list[tuple[int, int, int]]:
    async with conn.execute(
        "SELECT chat_id, thread_id, article_id FROM deliveries ORDER BY chat_id, article_id"
    ) as cur:
        return [(r[0], r[1], r[2]) for r in await cur.fetchall()]


async def new_article(
    conn: aiosqlite.Connection, title: str, summary: str, *sections: str
) -> Article:
    article_id = await add_article(
        conn, title, summary, sections=sections or ("culture",), published=int(time.time()) + 1
    )
    stored = await articles.get(conn, article_id)
    assert stored is not None
    return stored


def test_topic_is_stored_folded() -> None:
    assert topics.topic_of("  Şuşa,  FESTIVAL! ") == "susa festival"
    assert topics.topic_of("😀 -- ") == ""


def test_matching_uses_the_index_and_needs_every_word() -> None:
    followed = [Follow(1, "susa festival"), Follow(2, "oil"), Follow(3, "karabakh peace")]
    index = topics.index(followed)
    article = Article("k", "https://x/", "Şuşa Festival opens", "Oil money helps")
    assert sorted(f.chat_id for f in topics.recipients(index, article)) == [1, 2]
    assert topics.recipients(index, Article("k", "https://x/", "Peace", "")) == []


def test_overview_lists_topics_of_this_thread() -> None:
    followed = [Follow(1, "oil"), Follow(1, "gas <b>", thread_id=7)]
    assert topics.overview(followed, 0, "en") == "<b>Topics you follow</b>\n• oil"
    assert "gas &lt;b&gt;" in topics.overview(followed, 7, "en")
    assert "/follow" in topics.overview([], 0, "en")


async def test_add_remove_and_limit(conn: aiosqlite.Connection) -> None:
    assert await follows.add(conn, Follow(CHAT, "oil"), limit=2) == "added"
    assert await follows.add(conn, Follow(CHAT, "oil"), limit=2) == "exists"
    assert await follows.add(conn, Follow(CHAT, "gas", thread_id=5), limit=2) == "added"
    assert await follows.add(conn, Follow(CHAT, "coal"), limit=2) == "full"
    assert await follows.list_for_chat(conn, CHAT) == [Follow(CHAT, "oil"), Follow(CHAT, "gas", 5)]
    assert await follows.remove(conn, Follow(CHAT, "coal")) is False
    assert await follows.remove(conn, Follow(CHAT, "oil")) is True
    assert await follows.remove_all(conn, CHAT, 5) == 1
    assert await follows.list_for_chat(conn, CHAT) == []


async def test_fan_out_delivers_once_whether_by_section_or_topic(
    conn: aiosqlite.Connection,
) -> None:
    await chats.ensure(conn, 43, "group")
    await subscriptions.add(conn, CHAT, ["karabakh"])
    await follows.add(conn, Follow(CHAT, "ceasefire"), limit=20)
    await follows.add(conn, Follow(CHAT, "ceasefire holds"), limit=20)
    await follows.add(conn, Follow(43, "ceasefire"), limit=20)
    both = await new_article(conn, "Ceasefire holds", "", "karabakh")
    topic_only = await new_article(conn, "Culture news", "The ceasefire festival", "culture")
    neither = await new_article(conn, "Opera season", "Music", "culture")
    queued = await fanout.fan_out(conn, [both, topic_only, neither])
    assert await pending(conn) == [
        (CHAT, 0, both.id),
        (CHAT, 0, topic_only.id),
        (43, 0, both.id),
        (43, 0, topic_only.id),
    ]
    assert queued == 4
    assert await fanout.fan_out(conn, [both, topic_only]) == 0  # idempotent


async def test_inactive_chats_and_later_topics_get_nothing(conn: aiosqlite.Connection) -> None:
    await chats.ensure(conn, 43, "group")
    await follows.add(conn, Follow(43, "oil"), limit=20)
    await chats.deactivate(conn, 43)
    old = await add_article(conn, "Oil price", "", published=int(time.time()) - 3600)
    await follows.add(conn, Follow(CHAT, "oil"), limit=20)
    stored = await articles.get(conn, old)
    assert stored is not None
    assert await topics.enqueue_followers(conn, [stored]) == 0
    assert await pending(conn) == []
