"""Article search over the FTS5 index, and the newest articles for an empty query."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import aiosqlite

from bot.domain import Article
from storage import articles
from storage.articles import COLUMNS
from storage.db import row, rows

# bm25 column weights, in the order of each index's columns: title, tags, sections, author,
# summary (and body, for articles_fts). bm25 saturates (a word said often counts little more
# than once), so the weights are far apart: the headline says most, then tags and section names,
# then the summary, then the text.
RANK = {
    "articles_about": "bm25(50.0, 10.0, 10.0, 2.0, 2.0)",
    "articles_fts": "bm25(50.0, 10.0, 10.0, 2.0, 2.0, 1.0)",
}
# The index each tier is matched against: first what an article is about, then everything.
TIER_TABLES = ("articles_about", "articles_fts")

BODY_COLUMN = 5  # articles_fts's columns: title, tags, sections, author, summary, body

# How many of the newest matches are ranked by relevance (see find).
WINDOW = 1000
# ... of the text tier: a common word is in nearly every text, and ranking a match means reading
# every position of the words in it; among matches only the text explains, recency counts most.
TEXT_WINDOW = 200
_WINDOWS = {"articles_about": WINDOW, "articles_fts": TEXT_WINDOW}


def _in_sections(column: str, sections: Sequence[str]) -> str:
    # Correlated, so each candidate costs one primary-key probe instead of first listing every
    # article of a big section.
    marks = ", ".join("?" for _ in sections)
    return (
        "EXISTS (SELECT 1 FROM article_sections x "
        f"WHERE x.article_id = {column} AND x.section IN ({marks}))"
    )


Match = str | Sequence[str] | None


async def find(
    conn: aiosqlite.Connection,
    match: Match,
    sections: Sequence[str] = (),
    *,
    limit: int,
    offset: int = 0,
) -> list[Article]:
    """Articles matching FTS5 expressions, best first, newest first among equals.

    `match` must come from bot.search (never raw user text): one expression for articles_fts,
    or tiers for TIER_TABLES (bot.search.match_tiers: headline, tags, sections and summary, then
    the text too). Every match of a tier comes before those only a later tier finds, so a word
    in a headline always beats the same word deep in an article's text, however often the text
    repeats it.
    Without `match`, the newest articles (of `sections`, when given) are returned.
    """
    if match is None:
        where = f"WHERE {_in_sections('a.id', sections)}" if sections else ""
        sql = (
            f"SELECT {COLUMNS} FROM articles a {where} "
            "ORDER BY a.published_at DESC, a.id DESC LIMIT ? OFFSET ?"
        )
        return await articles.from_rows(conn, await rows(conn, sql, [*sections, limit, offset]))
    tiers = [match] if isinstance(match, str) else list(match)
    tables = TIER_TABLES[-len(tiers) :] if len(tiers) <= len(TIER_TABLES) else ()
    if not tables:
        raise ValueError(f"at most {len(TIER_TABLES)} tiers")
    found: list[aiosqlite.Row] = []
    exclude = _Exclude()
    for table, tier in zip(tables, tiers, strict=True):
        ranked = await _ranked(conn, table, tier, exclude, sections, limit - len(found), offset)
        found += ranked
        if len(found) >= limit:
            break
        paged = offset > 0
        if paged:
            offset = max(0, offset - await _count(conn, table, tier, exclude, sections))
        if paged or sections:
            # What a tier found is not ranked again by the next.
            exclude = exclude.matching(table, tier)
        else:
            # The page did not fill from the start, so `ranked` are all this tier found (a
            # section filter could hide some behind the window): naming them spares matching
            # the tier's expression a second time.
            exclude = exclude.ids([int(r[0]) for r in ranked])
    return await articles.from_rows(conn, found)


@dataclass(frozen=True, slots=True)
class _Exclude:
    """The articles earlier tiers ranked, as an SQL condition on `f.rowid` and its values."""

    sql: str = ""
    params: tuple[object, ...] = ()

    def ids(self, ids: Sequence[int]) -> _Exclude:
        """Also leave out these articles."""
        if not ids:
            return self
        marks = ",".join("?" * len(ids))
        return _Exclude(f"{self.sql} AND f.rowid NOT IN ({marks})", (*self.params, *ids))

    def matching(self, table: str, match: str) -> _Exclude:
        """Also leave out every article `match` finds in `table`."""
        return _Exclude(
            f"{self.sql} AND f.rowid NOT IN (SELECT rowid FROM {table} WHERE {table} MATCH ?)",
            (*self.params, match),
        )


def _where(exclude: _Exclude, sections: Sequence[str]) -> tuple[str, list[object]]:
    """The conditions of one tier's own matches, after `f.<table> MATCH ?`, and their values."""
    where = f" AND {_in_sections('f.rowid', sections)}" if sections else ""
    return where + exclude.sql, [*sections, *exclude.params]


async def _ranked(
    conn: aiosqlite.Connection,
    table: str,
    match: str,
    exclude: _Exclude,
    sections: Sequence[str],
    limit: int,
    offset: int,
) -> list[aiosqlite.Row]:
    # Ranking every match of a word found in half the archive costs tens of milliseconds,
    # so only the newest matches (WINDOW, TEXT_WINDOW) are ranked (ids grow as articles are
    # first seen).
    # Articles rows are joined only for the page: reading thousands of summaries is the
    # other big cost.
    where, values = _where(exclude, sections)
    sql = (
        f"SELECT {COLUMNS} FROM ("
        f"SELECT f.rowid AS id, f.rank AS score FROM {table} f "
        f"WHERE f.{table} MATCH ? AND f.rank MATCH '{RANK[table]}'{where} "
        f"AND f.rowid >= coalesce((SELECT g.rowid FROM {table} g "
        f"WHERE g.{table} MATCH ? ORDER BY g.rowid DESC LIMIT 1 OFFSET ?), 0) "
        "ORDER BY f.rank, f.rowid DESC LIMIT ? OFFSET ?"
        ") m JOIN articles a ON a.id = m.id ORDER BY m.score, a.published_at DESC, a.id DESC"
    )
    params = [match, *values, match, max(_WINDOWS[table], offset + limit) - 1]
    return await rows(conn, sql, [*params, limit, offset])


async def _count(
    conn: aiosqlite.Connection,
    table: str,
    match: str,
    exclude: _Exclude,
    sections: Sequence[str],
) -> int:
    """How many matches a tier ranks (its newest WINDOW or TEXT_WINDOW): the pages it fills."""
    where, values = _where(exclude, sections)
    found = await row(
        conn,
        f"SELECT count(*) FROM (SELECT f.rowid FROM {table} f WHERE f.{table} MATCH ?{where} "
        "ORDER BY f.rowid DESC LIMIT ?)",
        [match, *values, _WINDOWS[table]],
    )
    return int(found[0]) if found else 0


async def snippets(
    conn: aiosqlite.Connection, match: str, ids: Sequence[int], tokens: int = 24
) -> dict[int, str]:
    """The passage of each article's text around the words `match` finds ("" when the text
    holds none of them): the index knows where they are, articles_text holds the text."""
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    found = await rows(
        conn,
        # The matched words come marked, so a text without them (snippet() then shows its
        # start) is told apart; the marks go before anyone sees the text.
        f"SELECT rowid, snippet(articles_fts, {BODY_COLUMN}, '\x02', '\x03', '…', ?) "
        f"FROM articles_fts WHERE articles_fts MATCH ? AND rowid IN ({marks})",
        [tokens, match, *ids],
    )
    return {
        int(r[0]): str(r[1]).replace("\x02", "").replace("\x03", "")
        for r in found
        if r[1] and "\x02" in str(r[1])
    }
