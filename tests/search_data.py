"""Stored articles for the search tests, written with plain SQL the way ingest stores them.

Ingest's storage/articles.py did not exist when these tests were written; this mirrors its
contract (articles + article_sections + articles_fts with rowid = id and folded text).
"""

from __future__ import annotations

from collections.abc import Sequence

import aiosqlite

from storage.text import fold

DAY = 86_400
T0 = 1_735_689_600  # 2025-01-01 00:00 UTC


async def add_article(
    conn: aiosqlite.Connection,
    title: str,
    summary: str = "",
    *,
    author: str = "",
    sections: Sequence[str] = ("news",),
    published: int = T0,
    image_url: str | None = None,
    announced: bool = True,
) -> int:
    """Store one article and index it; returns its id."""
    async with conn.execute("SELECT COUNT(*) FROM articles") as cur:
        row = await cur.fetchone()
    n = int(row[0]) + 1 if row else 1
    cur2 = await conn.execute(
        "INSERT INTO articles (key, url, title, summary, author, published_at, image_url, "
        "first_seen_at, updated_at, announced) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            f"post-{n}",
            f"https://aze.media/post-{n}/",
            title,
            summary,
            author,
            published,
            image_url,
            published,
            published,
            int(announced),
        ),
    )
    article_id = cur2.lastrowid
    assert article_id is not None
    await conn.executemany(
        "INSERT INTO article_sections (article_id, section) VALUES (?, ?)",
        [(article_id, s) for s in sections],
    )
    await conn.execute(
        "INSERT INTO articles_fts (rowid, title, summary, author, sections) VALUES (?, ?, ?, ?, ?)",
        (article_id, fold(title), fold(summary), fold(author), fold(" ".join(sections))),
    )
    return article_id
