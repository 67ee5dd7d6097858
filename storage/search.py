"""Article search over the FTS5 index, and the newest articles for an empty query."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import aiosqlite

from bot.domain import Article

# bm25 column weights, in the order of articles_fts's columns: title, summary, author, sections.
# A word in the headline says far more about an article than the same word in its summary.
RANK = "bm25(8.0, 2.0, 1.0, 0.5)"

_COLUMNS = (
    "a.id, a.key, a.url, a.title, a.summary, a.author, a.published_at, a.image_url, a.word_count"
)


def _in_sections(sections: Sequence[str]) -> str:
    marks = ", ".join("?" for _ in sections)
    return f"a.id IN (SELECT article_id FROM article_sections WHERE section IN ({marks}))"


async def find(
    conn: aiosqlite.Connection,
    match: str | None,
    sections: Sequence[str] = (),
    *,
    limit: int,
    offset: int = 0,
) -> list[Article]:
    """Articles matching an FTS5 expression, best first, newest first among equals.

    `match` must come from bot.search.match_expression (never raw user text). Without it, the
    newest articles (of `sections`, when given) are returned.
    """
    params: list[object] = []
    where = []
    if match is not None:
        sql = (
            f"SELECT {_COLUMNS} FROM articles_fts f JOIN articles a ON a.id = f.rowid "
            f"WHERE articles_fts MATCH ? AND f.rank MATCH '{RANK}'"
        )
        params.append(match)
        order = "f.rank, a.published_at DESC, a.id DESC"
    else:
        sql = f"SELECT {_COLUMNS} FROM articles a WHERE 1"
        order = "a.published_at DESC, a.id DESC"
    if sections:
        where.append(_in_sections(sections))
        params += sections
    sql += "".join(f" AND {w}" for w in where)
    sql += f" ORDER BY {order} LIMIT ? OFFSET ?"
    params += [limit, offset]
    async with conn.execute(sql, params) as cur:
        rows = list(await cur.fetchall())
    return await _with_sections(conn, rows)


async def _with_sections(conn: aiosqlite.Connection, rows: list[aiosqlite.Row]) -> list[Article]:
    ids = [row[0] for row in rows]
    by_article: dict[int, list[str]] = {i: [] for i in ids}
    if ids:
        marks = ", ".join("?" for _ in ids)
        async with conn.execute(
            # Catalogue order, so an article's first section is the one the menu shows first.
            "SELECT x.article_id, x.section FROM article_sections x "
            f"LEFT JOIN sections s ON s.slug = x.section WHERE x.article_id IN ({marks}) "
            "ORDER BY s.position IS NULL, s.position, x.section",
            ids,
        ) as cur:
            for article_id, section in await cur.fetchall():
                by_article[article_id].append(section)
    return [
        Article(
            key=row[1],
            url=row[2],
            title=row[3],
            summary=row[4],
            author=row[5],
            published=datetime.fromtimestamp(row[6], UTC),
            image_url=row[7],
            sections=tuple(by_article[row[0]]),
            word_count=row[8],
            id=row[0],
        )
        for row in rows
    ]
