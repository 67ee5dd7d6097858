"""The backfill of article text after migration 0003, against the site double's REST API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import aiosqlite
import pytest

from bot import backfill
from bot.domain import Article
from bot.fetch import Fetcher
from storage import articles, db
from tests.doubles.site import SiteDouble

BODY = ["Pelosi's visit to Yerevan in 2022 changed the debate.", "The CSTO did not answer."]


@pytest.fixture
async def conn(tmp_path: Path) -> AsyncIterator[aiosqlite.Connection]:
    connection = await db.connect(tmp_path / "bot.db")
    yield connection
    await connection.close()


async def stored_unread(conn: aiosqlite.Connection, key: str) -> int:
    """An article as a version-2 bot left it: stored, its text never read."""
    found = await articles.upsert(
        conn,
        Article(key=key, url=f"https://aze.media/{key}/", title=f"Article {key}"),
        announced=True,
        now=0,
    )
    assert found.id is not None
    await conn.execute("DELETE FROM article_texts WHERE article_id = ?", (found.id,))
    return found.id


async def body_of(conn: aiosqlite.Connection, article_id: int) -> str | None:
    async with conn.execute(
        "SELECT body FROM article_texts WHERE article_id = ?", (article_id,)
    ) as cur:
        row = await cur.fetchone()
    return None if row is None else str(row[0])


def test_request_names_the_posts_and_embeds_only_their_terms() -> None:
    assert backfill.post_id("wp:118201") == 118201
    assert backfill.post_id("https://example.org/a") is None
    assert backfill.post_id("wp:x") is None
    assert backfill.posts_url("https://aze.media/", [3, 5]) == (
        "https://aze.media/wp-json/wp/v2/posts?include=3%2C5&per_page=2&_embed=wp%3Aterm"
    )


async def test_backfill_reads_in_batches_and_waits_out_an_outage(
    site: SiteDouble, conn: aiosqlite.Connection, caplog: pytest.LogCaptureFixture
) -> None:
    when = datetime(2021, 1, 1, tzinfo=UTC)
    posts = [site.add_post(f"Post {n}", ["news"], content=BODY, published=when) for n in range(3)]
    tagged = site.add_post("Tagged", ["news"], tags=["Gabala"], published=when)
    gone = site.add_post("Gone", ["news"], published=when)
    ids = {p.id: await stored_unread(conn, f"wp:{p.id}") for p in [*posts, tagged, gone]}
    foreign = await stored_unread(conn, "https://example.org/not-wordpress")
    site.remove_post(gone.id)
    site.fault("/wp-json/wp/v2/posts", "500", times=1)

    caplog.set_level("INFO", logger="bot.backfill")
    async with Fetcher(site.url, connect_timeout=1, read_timeout=1) as fetcher:
        job = backfill.Backfill(conn, fetcher, site.url, pause=0.01, batch=2)
        assert await job.run() == 6
        assert await job.run() == 0  # nothing left: not a single request more

    assert await articles.count_unread(conn) == 0
    assert await body_of(conn, ids[posts[0].id]) == "\n".join(BODY)
    assert await body_of(conn, ids[gone.id]) == ""  # the site no longer has it
    assert await body_of(conn, foreign) == ""  # no post id to ask for
    async with conn.execute("SELECT tags FROM articles WHERE id = ?", (ids[tagged.id],)) as cur:
        row = await cur.fetchone()
    assert row is not None and row[0] == "Gabala"
    requests = site.requests_to("/wp-json/wp/v2/posts")
    assert len(requests) == 4  # one refused, then three batches of two (one key is foreign)
    assert all("per_page=" in r.path and "include=" in r.path for r in requests)
    messages = [r.getMessage() for r in caplog.records]
    assert messages.count("backfill paused") == 1
    assert messages.count("backfill progress") == 3
    assert messages[0] == "backfill started" and messages[-1] == "backfill finished"
