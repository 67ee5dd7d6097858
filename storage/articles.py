"""Articles, their sections and their search row, always written together."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import aiosqlite

from bot.domain import Article, Stored, Text, Write
from storage.db import row, rows, transaction

# The columns `from_rows` reads, in its order; select them FROM articles a.
COLUMNS = (
    "a.id, a.key, a.url, a.title, a.summary, a.author, a.published_at, a.image_url, a.word_count"
)
# SQLite's default limit on host parameters is 999 in old builds; stay well below it.
_CHUNK = 500


def _epoch(when: datetime | None, default: int) -> int:
    return int(when.timestamp()) if when is not None else default


# What the search indexes hold for each article, in their column order (title, tags, sections,
# author, summary, then body for articles_fts only): folded text, and one token per section
# slug. Rows leave an index with FTS5's 'delete' command given these same values, so both go
# through this one expression (migration 0003 filled the indexes with it too).
ABOUT = (
    "SELECT a.id, fold(a.title), fold(a.tags), "
    "(SELECT coalesce(group_concat(k, ' '), '') FROM ("
    "SELECT fold(replace(replace(x.section, '-', ''), '_', '')) AS k "
    "FROM article_sections x WHERE x.article_id = a.id ORDER BY x.section)), "
    "fold(a.author), fold(a.summary)"
)
INDEXED = (
    f"{ABOUT}, "
    "fold(coalesce((SELECT t.body FROM article_texts t WHERE t.article_id = a.id), '')) "
    "FROM articles a"
)
ABOUT_COLUMNS = "rowid, title, tags, sections, author, summary"
FTS_COLUMNS = f"{ABOUT_COLUMNS}, body"
# index -> (its columns, the expression that computes them)
INDEXES = {
    "articles_fts": (FTS_COLUMNS, INDEXED),
    "articles_about": (ABOUT_COLUMNS, f"{ABOUT} FROM articles a"),
}


async def unindex(conn: aiosqlite.Connection, ids: Sequence[int]) -> None:
    """Take these articles out of the search indexes (inside the caller's transaction)."""
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        marks = ",".join("?" * len(chunk))
        for table, (columns, expression) in INDEXES.items():
            await conn.execute(
                f"INSERT INTO {table} ({table}, {columns}) "
                f"SELECT 'delete', * FROM ({expression} WHERE a.id IN ({marks}))",
                chunk,
            )


async def index(conn: aiosqlite.Connection, ids: Sequence[int]) -> None:
    """Put these articles, as stored now, into the search indexes (inside a transaction)."""
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        marks = ",".join("?" * len(chunk))
        for table, (columns, expression) in INDEXES.items():
            await conn.execute(
                f"INSERT INTO {table} ({columns}) {expression} WHERE a.id IN ({marks})", chunk
            )


async def by_keys(conn: aiosqlite.Connection, keys: Iterable[str]) -> dict[str, Stored]:
    """The stored state of every known key among `keys`."""
    wanted = list(dict.fromkeys(keys))
    found: dict[str, Stored] = {}
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        marks = ",".join("?" * len(chunk))
        for r in await rows(
            conn,
            "SELECT a.key, a.id, a.announced, a.title, a.summary, a.url, a.first_seen_at, "
            "group_concat(s.section, char(31)), a.tags, "
            "(SELECT t.body FROM article_texts t WHERE t.article_id = a.id) FROM articles a "
            "LEFT JOIN article_sections s ON s.article_id = a.id "
            f"WHERE a.key IN ({marks}) GROUP BY a.id",
            chunk,
        ):
            found[r[0]] = Stored(
                id=r[1],
                announced=bool(r[2]),
                sections=frozenset(r[7].split("\x1f")) if r[7] else frozenset(),
                title=r[3],
                summary=r[4],
                url=r[5],
                first_seen_at=r[6],
                body=r[9],
                tags=tuple(r[8].split("\n")) if r[8] else (),
            )
    return found


def tags_text(tags: Sequence[str]) -> str:
    """Tag names as the tags column keeps them: one a line."""
    return "\n".join(t.replace("\n", " ") for t in tags)


_UPSERT = (
    "INSERT INTO articles (key, url, title, summary, author, published_at, image_url, "
    "word_count, first_seen_at, updated_at, announced, tags) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (key) DO UPDATE SET url = excluded.url, title = excluded.title, "
    "summary = excluded.summary, "
    # A sighting without tags (an Atom feed without them) keeps what we have.
    "tags = CASE excluded.tags WHEN '' THEN articles.tags ELSE excluded.tags END, "
    "author = CASE excluded.author WHEN '' THEN articles.author ELSE excluded.author END, "
    "image_url = coalesce(excluded.image_url, articles.image_url), "
    "word_count = coalesce(excluded.word_count, articles.word_count), "
    "updated_at = excluded.updated_at, "
    "announced = max(articles.announced, excluded.announced)"
)


async def _merged(conn: aiosqlite.Connection, keys: Sequence[str]) -> dict[str, tuple[Any, ...]]:
    """key -> (id, author, published_at, image_url, word_count) as stored now."""
    merged: dict[str, tuple[Any, ...]] = {}
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start : start + _CHUNK]
        marks = ",".join("?" * len(chunk))
        for found in await rows(
            conn,
            "SELECT key, id, author, published_at, image_url, word_count FROM articles "
            f"WHERE key IN ({marks})",
            chunk,
        ):
            merged[found[0]] = tuple(found[1:])
    return merged


async def upsert_many(
    conn: aiosqlite.Connection, writes: Sequence[Write], now: int
) -> list[Article]:
    """Insert or update articles with their sections and FTS rows in ONE transaction.

    Sections only accumulate: an article seen in several section feeds belongs to all of them.
    Returns the stored articles (with ids and all their sections), in the order given.
    A handful of statements per batch, not per article: each statement is a trip to
    aiosqlite's thread, and per-article trips cost more than the writes themselves.
    """
    if not writes:
        return []
    keys = list(dict.fromkeys(w.article.key for w in writes))
    async with transaction(conn):
        # Known articles leave the indexes as they are stored now (FTS5's 'delete' needs the
        # old values) and come back below as they are after this write.
        known = await _merged(conn, keys)
        await unindex(conn, [int(k[0]) for k in known.values()])
        await conn.executemany(
            _UPSERT,
            [
                (
                    w.article.key,
                    w.article.url,
                    w.article.title,
                    w.article.summary,
                    w.article.author,
                    _epoch(w.article.published, now),
                    w.article.image_url,
                    w.article.word_count,
                    now,
                    now,
                    int(w.announced),
                    tags_text(w.article.tags),
                )
                for w in writes
            ],
        )
        merged = await _merged(conn, keys)
        # A new article's text is read now, even when it is empty; a known article's text
        # changes only with a sighting that carries one (an Atom feed without content keeps
        # what we have, and an article stored before migration 0003 stays unread for the
        # backfill).
        await conn.executemany(
            "INSERT INTO article_texts (article_id, body) VALUES (?, ?) "
            "ON CONFLICT (article_id) DO UPDATE SET body = excluded.body "
            "WHERE excluded.body <> ''",
            [
                (merged[w.article.key][0], w.article.body)
                for w in writes
                if w.article.body or w.article.key not in known
            ],
        )
        await conn.executemany(
            "INSERT OR IGNORE INTO article_sections (article_id, section) VALUES (?, ?)",
            [(merged[w.article.key][0], s) for w in writes for s in w.article.sections],
        )
        ids = [int(r[0]) for r in merged.values()]
        sections = await _sections_of(conn, ids)
        stored = []
        for w in writes:
            a = w.article
            article_id, author, published, image_url, word_count = merged[a.key]
            stored.append(
                Article(
                    key=a.key,
                    url=a.url,
                    title=a.title,
                    summary=a.summary,
                    author=str(author),
                    published=datetime.fromtimestamp(int(published), UTC),
                    image_url=image_url,
                    sections=tuple(sections[int(article_id)]),
                    word_count=word_count,
                    id=int(article_id),
                    tags=a.tags,
                )
            )
        await index(conn, ids)
        return stored


async def upsert(
    conn: aiosqlite.Connection, article: Article, *, announced: bool, now: int
) -> Article:
    """Insert or update one article (see upsert_many)."""
    return (await upsert_many(conn, [Write(article, announced)], now))[0]


async def _sections_of(conn: aiosqlite.Connection, ids: Sequence[int]) -> dict[int, list[str]]:
    by_article: dict[int, list[str]] = {i: [] for i in ids}
    if not ids:
        return by_article
    marks = ",".join("?" * len(ids))
    for article_id, section in await rows(
        conn,
        # Catalogue order, so an article's first section is the one the menu shows first.
        "SELECT x.article_id, x.section FROM article_sections x "
        f"LEFT JOIN sections s ON s.slug = x.section WHERE x.article_id IN ({marks}) "
        "ORDER BY s.position IS NULL, s.position, x.section",
        ids,
    ):
        by_article[article_id].append(section)
    return by_article


async def from_rows(conn: aiosqlite.Connection, rows: Sequence[aiosqlite.Row]) -> list[Article]:
    """Articles, with their sections, from rows of `SELECT {COLUMNS} FROM articles a ...`."""
    sections = await _sections_of(conn, [row[0] for row in rows])
    return [
        Article(
            id=row[0],
            key=row[1],
            url=row[2],
            title=row[3],
            summary=row[4],
            author=row[5],
            published=datetime.fromtimestamp(row[6], UTC),
            image_url=row[7],
            word_count=row[8],
            sections=tuple(sections[row[0]]),
        )
        for row in rows
    ]


async def get(conn: aiosqlite.Connection, article_id: int) -> Article | None:
    """One stored article by id."""
    found = await from_rows(
        conn, await rows(conn, f"SELECT {COLUMNS} FROM articles a WHERE a.id = ?", (article_id,))
    )
    return found[0] if found else None


async def latest(
    conn: aiosqlite.Connection, n: int, sections: Iterable[str] | None = None
) -> list[Article]:
    """The `n` most recently published articles, optionally only from these sections."""
    if sections is None:
        sql = f"SELECT {COLUMNS} FROM articles a ORDER BY a.published_at DESC, a.id DESC LIMIT ?"
        params: tuple[object, ...] = (n,)
    else:
        wanted = list(sections)
        if not wanted:
            return []
        marks = ",".join("?" * len(wanted))
        sql = (
            f"SELECT {COLUMNS} FROM articles a WHERE a.id IN "
            f"(SELECT article_id FROM article_sections WHERE section IN ({marks})) "
            "ORDER BY a.published_at DESC, a.id DESC LIMIT ?"
        )
        params = (*wanted, n)
    return await from_rows(conn, await rows(conn, sql, params))


async def count(conn: aiosqlite.Connection) -> int:
    """How many articles are stored."""
    found = await row(conn, "SELECT count(*) FROM articles")
    return int(found[0]) if found else 0


_UNREAD = (
    "FROM articles a WHERE NOT EXISTS (SELECT 1 FROM article_texts t WHERE t.article_id = a.id)"
)


async def unread(conn: aiosqlite.Connection, limit: int) -> list[tuple[int, str]]:
    """(id, key) of articles whose text was never read (stored before migration 0003), newest
    first: readers search recent articles most."""
    found = await rows(conn, f"SELECT a.id, a.key {_UNREAD} ORDER BY a.id DESC LIMIT ?", (limit,))
    return [(int(r[0]), str(r[1])) for r in found]


async def count_unread(conn: aiosqlite.Connection) -> int:
    """How many articles still wait for their text."""
    found = await row(conn, f"SELECT count(*) {_UNREAD}")
    return int(found[0]) if found else 0


async def set_text(conn: aiosqlite.Connection, texts: Sequence[Text]) -> None:
    """Store (and index) the text and tags of articles, in one transaction.

    An empty body is stored as read: the site had no text for it, and it is not asked again.
    """
    ids = [t.id for t in texts]
    async with transaction(conn):
        await unindex(conn, ids)
        await conn.executemany(
            "INSERT INTO article_texts (article_id, body) VALUES (?, ?) "
            "ON CONFLICT (article_id) DO UPDATE SET body = excluded.body",
            [(t.id, t.body) for t in texts],
        )
        await conn.executemany(
            "UPDATE articles SET tags = ? WHERE id = ? AND ? <> ''",
            [(tags_text(t.tags), t.id, tags_text(t.tags)) for t in texts],
        )
        await index(conn, ids)
