"""Article search over the FTS5 index, and the newest articles for an empty query."""

from __future__ import annotations

from collections.abc import Sequence

import aiosqlite

from bot.domain import Article
from storage import articles
from storage.articles import COLUMNS
from storage.db import rows

# bm25 column weights, in the order of articles_fts's columns: title, summary, author, sections.
# A word in the headline says far more about an article than the same word in its summary.
RANK = "bm25(8.0, 2.0, 1.0, 0.5)"

# How many of the newest matches are ranked by relevance (see find).
WINDOW = 1000


def _in_sections(column: str, sections: Sequence[str]) -> str:
    # Correlated, so each candidate costs one primary-key probe instead of first listing every
    # article of a big section.
    marks = ", ".join("?" for _ in sections)
    return (
        "EXISTS (SELECT 1 FROM article_sections x "
        f"WHERE x.article_id = {column} AND x.section IN ({marks}))"
    )


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
    if match is None:
        where = f"WHERE {_in_sections('a.id', sections)}" if sections else ""
        sql = (
            f"SELECT {COLUMNS} FROM articles a {where} "
            "ORDER BY a.published_at DESC, a.id DESC LIMIT ? OFFSET ?"
        )
        params += [*sections, limit, offset]
    else:
        # Ranking every match of a word found in half the archive costs tens of milliseconds,
        # so only the newest WINDOW matches are ranked (ids grow as articles are first seen).
        # Articles rows are joined only for the page: reading thousands of summaries is the
        # other big cost.
        f_in = f" AND {_in_sections('f.rowid', sections)}" if sections else ""
        sql = (
            f"SELECT {COLUMNS} FROM ("
            "SELECT f.rowid AS id, f.rank AS score FROM articles_fts f "
            f"WHERE f.articles_fts MATCH ? AND f.rank MATCH '{RANK}'{f_in} "
            "AND f.rowid >= coalesce((SELECT g.rowid FROM articles_fts g "
            "WHERE g.articles_fts MATCH ? ORDER BY g.rowid DESC LIMIT 1 OFFSET ?), 0) "
            "ORDER BY f.rank, f.rowid DESC LIMIT ? OFFSET ?"
            ") m JOIN articles a ON a.id = m.id ORDER BY m.score, a.published_at DESC, a.id DESC"
        )
        params += [match, *sections, match, max(WINDOW, offset + limit) - 1]
        params += [limit, offset]
    return await articles.from_rows(conn, await rows(conn, sql, params))
