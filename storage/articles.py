"""Articles, their sections and their search row, always written together."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiosqlite

from bot.domain import Article
from storage.db import row, rows, transaction
from storage.text import fold

# The columns `from_rows` reads, in its order; select them FROM articles a.
COLUMNS = (
    "a.id, a.key, a.url, a.title, a.summary, a.author, a.published_at, a.image_url, a.word_count"
)
# SQLite's default limit on host parameters is 999 in old builds; stay well below it.
_CHUNK = 500


@dataclass(frozen=True, slots=True)
class Stored:
    """What the store already knows about an article key, for deciding what is new."""

    id: int
    announced: bool
    sections: frozenset[str]
    title: str
    summary: str
    url: str
    first_seen_at: int


@dataclass(frozen=True, slots=True)
class Write:
    """One article to insert or update; `announced` applies to inserts and only ever rises."""

    article: Article
    announced: bool


def _epoch(when: datetime | None, default: int) -> int:
    return int(when.timestamp()) if when is not None else default


def _fts_text(article: Article, sections: Iterable[str]) -> tuple[str, str, str, str]:
    return (
        fold(article.title),
        fold(article.summary),
        fold(article.author),
        fold(" ".join(sections)),
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
            "group_concat(s.section, char(31)) FROM articles a "
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
            )
    return found


_UPSERT = (
    "INSERT INTO articles (key, url, title, summary, author, published_at, image_url, "
    "word_count, first_seen_at, updated_at, announced) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (key) DO UPDATE SET url = excluded.url, title = excluded.title, "
    "summary = excluded.summary, "
    "author = CASE excluded.author WHEN '' THEN articles.author ELSE excluded.author END, "
    "image_url = coalesce(excluded.image_url, articles.image_url), "
    "word_count = coalesce(excluded.word_count, articles.word_count), "
    "updated_at = excluded.updated_at, "
    "announced = max(articles.announced, excluded.announced)"
)


async def _merged(conn: aiosqlite.Connection, keys: Sequence[str]) -> dict[str, tuple[Any, ...]]:
    """key -> (id, author, published_at, image_url, word_count) as stored after the upsert."""
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
    async with transaction(conn):
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
                )
                for w in writes
            ],
        )
        merged = await _merged(conn, list(dict.fromkeys(w.article.key for w in writes)))
        await conn.executemany(
            "INSERT OR IGNORE INTO article_sections (article_id, section) VALUES (?, ?)",
            [(merged[w.article.key][0], s) for w in writes for s in w.article.sections],
        )
        ids = [int(row[0]) for row in merged.values()]
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
                )
            )
        latest = {a.id: a for a in stored}  # an article written twice is indexed once
        await conn.executemany("DELETE FROM articles_fts WHERE rowid = ?", [(i,) for i in latest])
        await conn.executemany(
            "INSERT INTO articles_fts (rowid, title, summary, author, sections) "
            "VALUES (?, ?, ?, ?, ?)",
            [(i, *_fts_text(a, a.sections)) for i, a in latest.items()],
        )
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
