"""Search over article text, tags and section names, end to end: the bot polls the site double,
readers search through the Bot API double (inline and /search); an upgraded database gets its
articles' text from the site's REST API."""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite
import pytest

from bot.botdata import App
from storage import articles, db
from tests.doubles.botapi import BotApiDouble, Call
from tests.doubles.site import SiteDouble
from tests.doubles.site_render import Post
from tests.harness import run_bot, settings_for
from tests.reader_helpers import eventually, say
from tests.test_search_e2e import inline, results, titles

USER = 777

BODY = [
    "Yerevan's leaders spent the week weighing which partners still answer the phone, and "
    "which alliances have become a formality that nobody in the capital defends any longer.",
    "Officials said the decision had been prepared for months, and that it reflected a change "
    "in how the government reads the region after the events of the last three years.",
    "Pelosi's visit to Yerevan in 2022 is remembered as the moment the debate became public, "
    "when the question of the alliance was asked aloud in parliament for the first time.",
]
EXCERPT = (
    "Yerevan weighs its partners as the old alliance loses its hold on the government, and "
    "officials say a new course was prepared over many months of quiet talks in the capital."
)


def excerpt(topic: str) -> str:
    return (
        f"{topic} and the people who live with it, seen from Baku and from the villages, in a "
        "report on what the last months changed and what readers should watch in the next ones, "
        "with the figures officials gave."
    )


async def stored(conn: aiosqlite.Connection, post_id: int) -> bool:
    async with conn.execute("SELECT 1 FROM articles WHERE key = ?", (f"wp:{post_id}",)) as cur:
        return await cur.fetchone() is not None


@pytest.fixture
async def conn(tmp_path: Path) -> AsyncIterator[aiosqlite.Connection]:
    connection = await db.connect(tmp_path / "newsbot.db")
    yield connection
    await connection.close()


@asynccontextmanager
async def running(botapi: BotApiDouble, site: SiteDouble, tmp_path: Path) -> AsyncIterator[App]:
    async with run_bot(settings_for(botapi, site, tmp_path)) as application:
        await botapi.wait_polling()
        yield application


@pytest.fixture
async def bot(botapi: BotApiDouble, site: SiteDouble, tmp_path: Path) -> AsyncIterator[App]:
    async with running(botapi, site, tmp_path) as application:
        yield application


async def until_stored(tmp_path: Path, *posts: Post) -> None:
    """Wait until the bot's poller has stored these posts."""
    conn = await db.connect(tmp_path / "newsbot.db")
    try:
        for post in posts:
            await eventually(functools.partial(stored, conn, post.id))
    finally:
        await conn.close()


def result_for(call: Call, title: str) -> dict[str, Any]:
    return next(r for r in results(call) if r["title"] == title)


async def search_reply(botapi: BotApiDouble, words: str) -> str:
    reply = await say(botapi, USER, f"/search {words}")
    return reply.text or ""


async def test_text_tags_and_section_names_find_the_article(
    site: SiteDouble, botapi: BotApiDouble, tmp_path: Path
) -> None:
    text_only = site.add_post(
        "Yerevan weighs its alliances", ["opinion"], content=BODY, excerpt=EXCERPT
    )
    tagged = site.add_post(
        "Mountain resorts count a record winter",
        ["economy"],
        excerpt=excerpt("Tourism in the mountains"),
        tags=["Gabala", "Tourism"],
    )
    in_section = site.add_post(
        "Roads reach the last villages before winter",
        ["karabakh"],
        excerpt=excerpt("New roads"),
        content=["A report on new roads and the villages they reach, with numbers."],
    )
    async with running(botapi, site, tmp_path):
        await until_stored(tmp_path, in_section, text_only, tagged)

        # A word only the article's text holds: found, and the passage around it shown.
        call = await inline(botapi, "pelosi")
        assert titles(call) == [text_only.title]
        description = results(call)[0]["description"]
        assert description.startswith("Opinion · ")
        assert "Pelosi's visit to Yerevan in 2022" in description
        assert text_only.title in await search_reply(botapi, "Pelosi")

        # A word only a tag holds, inline while typing and with /search.
        assert titles(await inline(botapi, "gabal")) == [tagged.title]
        assert tagged.title in await search_reply(botapi, "gabala")

        # A section's name, in English while typing, and in Azerbaijani and Russian.
        for typed in ("karab", "Qarabağ", "карабах"):
            assert in_section.title in titles(await inline(botapi, typed)), typed
        assert in_section.title in await search_reply(botapi, "qarabag")
        assert in_section.title in await search_reply(botapi, "Карабах")
        # Words in the section's name do not stand for it once a word outside it is typed.
        assert in_section.title not in titles(await inline(botapi, "karabakh pelosi"))


async def test_an_edit_of_only_the_text_or_tags_is_searchable(
    site: SiteDouble, botapi: BotApiDouble, tmp_path: Path
) -> None:
    post = site.add_post(
        "Yerevan weighs its alliances", ["opinion"], content=BODY, excerpt=EXCERPT, tags=["Tourism"]
    )
    async with running(botapi, site, tmp_path):
        await until_stored(tmp_path, post)
        assert titles(await inline(botapi, "Lachin")) == []
        assert post.title not in titles(await inline(botapi, "Shahdag"))
        # The headline and excerpt stay; only the text and the tags change.
        site.edit_post(
            post.id,
            content=[*BODY, "A last paragraph added later names the Lachin corridor."],
            tags=("Tourism", "Shahdag"),
        )

        async def found(words: str) -> bool:
            return post.title in titles(await inline(botapi, words))

        await eventually(functools.partial(found, "Lachin"))
        await eventually(functools.partial(found, "Shahdag"))
        assert post.title in await search_reply(botapi, "Lachin corridor")


async def test_a_title_match_ranks_above_a_newer_text_match(
    site: SiteDouble, botapi: BotApiDouble, tmp_path: Path
) -> None:
    headline = site.add_post(
        "Kelbajar prepares for its first returning families",
        ["karabakh"],
        excerpt=excerpt("Returning families"),
        published=datetime(2025, 6, 1, 9, 0, tzinfo=UTC),
    )
    in_text = site.add_post(
        "Mountain roads open early this spring",
        ["news"],
        excerpt=excerpt("Spring roads"),
        content=[
            "Engineers said the mountain roads opened three weeks earlier than last year.",
            "The road to Kelbajar was cleared first, and the rest followed within days.",
        ],
        published=datetime(2025, 6, 2, 9, 0, tzinfo=UTC),
    )
    async with running(botapi, site, tmp_path):
        await until_stored(tmp_path, headline, in_text)
        call = await inline(botapi, "kelbajar")
        assert titles(call) == [headline.title, in_text.title]
        # The headline explains its match: its description is the summary; the other's is
        # the sentence of the text that holds the word.
        assert "Returning families" in result_for(call, headline.title)["description"]
        assert (
            "The road to Kelbajar was cleared first"
            in (result_for(call, in_text.title)["description"])
        )
        reply = await search_reply(botapi, "Kelbajar")
        assert reply.index(headline.title) < reply.index(in_text.title)


def old_database(path: Path, site: SiteDouble, posts: list[int]) -> None:
    """A database as the bot before migration 0003 left it: no text, no tags, old index."""
    conn = sqlite3.connect(path)
    conn.executescript(
        "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL);"
    )
    for version, sql in db.migrations():
        if version <= 2:
            conn.executescript(f"BEGIN;\n{sql}\nINSERT INTO schema_version VALUES ({version}, 0);")
            conn.execute("COMMIT")
    for n, post_id in enumerate(posts, start=1):
        post = site.post(post_id)
        when = int(post.published.timestamp())
        conn.execute(
            "INSERT INTO articles (id, key, url, title, summary, author, published_at, "
            "first_seen_at, updated_at, announced) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1)",
            (
                n,
                f"wp:{post_id}",
                site.link(post),
                post.title,
                post.excerpt or "",
                "",
                when,
                when,
                when,
            ),
        )
        conn.execute("INSERT INTO article_sections VALUES (?, ?)", (n, post.categories[0]))
        conn.execute(
            "INSERT INTO articles_fts (rowid, title, summary, author, sections) "
            "VALUES (?, ?, ?, '', ?)",
            (n, post.title.lower(), (post.excerpt or "").lower(), post.categories[0]),
        )
    conn.commit()
    conn.close()


async def test_an_upgraded_database_finds_text_after_the_backfill(
    site: SiteDouble, botapi: BotApiDouble, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    old = datetime(2021, 3, 1, 9, 0, tzinfo=UTC)
    post = site.add_post(
        "Yerevan weighs its alliances", ["history"], content=BODY, excerpt=EXCERPT, published=old
    )
    tagged = site.add_post(
        "Mountain resorts count a record winter",
        ["history"],
        excerpt=excerpt("Tourism"),
        tags=["Gabala"],
        published=old,
    )
    gone = site.add_post("A post the site later removed", ["history"], published=old)
    old_database(tmp_path / "newsbot.db", site, [post.id, tagged.id, gone.id])
    site.remove_post(gone.id)
    site.set_feed_size(1)  # these old posts are in no feed: only the backfill reads them again

    caplog.set_level("INFO", logger="bot.backfill")
    async with running(botapi, site, tmp_path):
        conn = await db.connect(tmp_path / "newsbot.db")
        try:
            await eventually(functools.partial(_none_unread, conn))
            await eventually(functools.partial(_logged, caplog, "backfill finished"))
        finally:
            await conn.close()
        assert titles(await inline(botapi, "pelosi")) == [post.title]
        assert titles(await inline(botapi, "gabala")) == [tagged.title]
        assert post.title in await search_reply(botapi, "pelosi")
        # The title found before the upgrade is still found.
        assert post.title in titles(await inline(botapi, "alliances"))

    (request,) = site.requests_to("/wp-json/wp/v2/posts")
    assert "include=" in request.path and "_embed" in request.path
    messages = [r.getMessage() for r in caplog.records]
    assert "backfill started" in messages and "backfill finished" in messages
    assert any(r.getMessage() == "backfill progress" for r in caplog.records)


async def _logged(caplog: pytest.LogCaptureFixture, message: str) -> bool:
    return any(r.getMessage() == message for r in caplog.records)


async def _none_unread(conn: aiosqlite.Connection) -> bool:
    return await articles.count_unread(conn) == 0


async def test_a_fresh_database_has_nothing_to_backfill(
    bot: App, site: SiteDouble, conn: aiosqlite.Connection
) -> None:
    await eventually(functools.partial(_some_stored, conn))
    assert await articles.count_unread(conn) == 0
    assert site.requests_to("/wp-json/wp/v2/posts") == []


async def _some_stored(conn: aiosqlite.Connection) -> bool:
    return await articles.count(conn) > 0
