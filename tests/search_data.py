"""Stored articles for the search tests, written through ingest's own storage.articles.upsert."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import UTC, datetime

import aiosqlite

from bot.domain import Article
from storage import articles

DAY = 86_400
T0 = 1_735_689_600  # 2025-01-01 00:00 UTC

_keys = itertools.count(1)


async def add_article(
    conn: aiosqlite.Connection,
    title: str,
    summary: str = "",
    *,
    author: str = "",
    sections: Sequence[str] = ("news",),
    published: int = T0,
    image_url: str | None = None,
) -> int:
    """Store one article (first seen when published) with its index row; returns its id."""
    n = next(_keys)
    article = Article(
        key=f"post-{n}",
        url=f"https://aze.media/post-{n}/",
        title=title,
        summary=summary,
        author=author,
        published=datetime.fromtimestamp(published, UTC),
        image_url=image_url,
        sections=tuple(sections),
    )
    stored = await articles.upsert(conn, article, announced=True, now=published)
    assert stored.id is not None
    return stored.id
