"""Article text in the store and the index: tiers, snippets, edits, pruning, the upgrade."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import aiosqlite
import pytest

from bot import search
from bot.domain import Article, Text, Write
from bot.sections import builtin
from storage import articles, db, retention
from storage import search as stored
from storage import sections as stored_sections
from tests.search_data import DAY, T0

CATALOGUE = builtin("https://aze.media")


@pytest.fixture
async def conn(tmp_path: Path) -> AsyncIterator[aiosqlite.Connection]:
    connection = await db.connect(tmp_path / "bot.db")
    await stored_sections.sync(connection, CATALOGUE)
    yield connection
    await connection.close()


def article(n: int, title: str, body: str = "", **kw: object) -> Article:
    return Article(
        key=f"wp:{n}",
        url=f"https://aze.media/{n}/",
        title=title,
        summary=str(kw.pop("summary", "A summary without the word.")),
        published=datetime.fromtimestamp(T0 + n * DAY, UTC),
        sections=tuple(kw.pop("sections", ("news",))),  # type: ignore[arg-type]
        body=body,
        **kw,  # type: ignore[arg-type]
    )


async def store(conn: aiosqlite.Connection, *items: Article) -> list[Article]:
    return await articles.upsert_many(
        conn, [Write(a, announced=True) for a in items], T0 + 100 * DAY
    )


async def titles(
    conn: aiosqlite.Connection, text: str, limit: int = 20, offset: int = 0
) -> list[str]:
    query = search.parse(text, CATALOGUE)
    found = await stored.find(
        conn, search.match_tiers(query), query.sections, limit=limit, offset=offset
    )
    return [a.title for a in found]


async def assert_index_is_exact(conn: aiosqlite.Connection) -> None:
    """Each live index holds exactly the tokens a fresh build from the store would: no stale
    token of an edited or pruned article, nothing missing."""
    for table, (columns, expression) in articles.INDEXES.items():
        names = columns.removeprefix("rowid, ")
        await conn.execute("DROP TABLE IF EXISTS temp.fresh")
        await conn.execute(
            f"CREATE VIRTUAL TABLE temp.fresh USING fts5({names}, "
            "tokenize = 'unicode61 remove_diacritics 2')"
        )
        await conn.execute(f"INSERT INTO temp.fresh ({columns}) {expression}")
        rows = {}
        for schema, name in (("main", table), ("temp", "fresh")):
            await conn.execute(f"DROP TABLE IF EXISTS temp.v_{name}")
            await conn.execute(
                f"CREATE VIRTUAL TABLE temp.v_{name} USING fts5vocab({schema}, {name}, instance)"
            )
            async with conn.execute(f"SELECT * FROM temp.v_{name} ORDER BY 1, 2, 3, 4") as cur:
                rows[name] = [tuple(r) for r in await cur.fetchall()]
        assert rows[table] == rows["fresh"], table
        assert rows["fresh"], "nothing indexed: the check would prove nothing"


async def test_text_and_tags_are_found_and_rank_below_the_headline(
    conn: aiosqlite.Connection,
) -> None:
    await store(
        conn,
        article(1, "Kelbajar families return", "Nothing else."),
        article(2, "Roads open", "The road to Kelbajar opened first. Then the rest."),
        article(3, "Resorts count a record", "Snow.", tags=("Gabala", "Tourism")),
        article(4, "Gabala in summer", "Heat.", summary="Gabala is warm."),
    )
    assert await titles(conn, "kelbajar") == ["Kelbajar families return", "Roads open"]
    # Tag and headline outrank a summary; both come before the text.
    assert await titles(conn, "gabala") == ["Gabala in summer", "Resorts count a record"]
    assert await titles(conn, "tourism") == ["Resorts count a record"]
    await assert_index_is_exact(conn)


async def test_pages_run_on_from_one_tier_into_the_next(conn: aiosqlite.Connection) -> None:
    await store(
        conn,
        *(article(n, f"Pelosi headline {n}") for n in range(1, 8)),
        *(article(n, f"Text {n}", "Pelosi again.") for n in range(8, 16)),
    )
    whole = await titles(conn, "pelosi", limit=50)
    assert whole[:7] == [f"Pelosi headline {n}" for n in range(7, 0, -1)]
    assert whole[7:] == [f"Text {n}" for n in range(15, 7, -1)]
    pages = [await titles(conn, "pelosi", limit=4, offset=o) for o in range(0, 16, 4)]
    assert [t for page in pages for t in page] == whole


async def test_snippet_shows_the_passage_with_its_own_letters(conn: aiosqlite.Connection) -> None:
    body = (
        "The first paragraph talks about something else entirely and goes on for a while.\n"
        "In Şuşa, the Xarıbülbül festival opened on Friday with three thousand guests. "
        "Then the article talks about other things again for a long time, without the word."
    )
    (with_word,) = await store(conn, article(1, "A festival", body))
    (without,) = await store(conn, article(2, "Xaribulbul in the headline", "No word here."))
    tiers = search.match_tiers(search.parse("xaribulbul", CATALOGUE))
    assert tiers is not None
    assert with_word.id is not None and without.id is not None
    found = await stored.snippets(conn, tiers[-1], [with_word.id, without.id], tokens=12)
    assert set(found) == {with_word.id}
    assert "Xarıbülbül festival opened" in found[with_word.id]
    assert "\x02" not in found[with_word.id]


async def test_an_edit_reindexes_and_a_sighting_without_text_keeps_it(
    conn: aiosqlite.Connection,
) -> None:
    (first,) = await store(conn, article(1, "Talks", "Pelosi spoke.", tags=("Shahdag",)))
    await store(conn, replace(article(1, "Talks resume", "Blinken spoke."), tags=()))
    assert await titles(conn, "pelosi") == []
    assert await titles(conn, "blinken") == ["Talks resume"]
    assert await titles(conn, "shahdag") == ["Talks resume"]  # no tags in this sighting: kept
    await store(conn, article(1, "Talks resume", ""))  # e.g. an Atom feed without content
    assert await titles(conn, "blinken") == ["Talks resume"]
    await store(conn, replace(article(1, "Talks resume", ""), sections=("opinion",)))
    assert await titles(conn, "#opinion blinken") == ["Talks resume"]
    assert first.id is not None
    await assert_index_is_exact(conn)


async def test_retention_prunes_the_index_too(conn: aiosqlite.Connection) -> None:
    await store(
        conn,
        article(1, "Old", "Pelosi visited."),
        article(2, "Kept", "Blinken visited."),
    )
    pruned = await retention.prune(
        conn, now=T0 + 100 * DAY + 400 * DAY, article_days=365, delivery_days=30
    )
    assert pruned.articles == 2
    assert await titles(conn, "pelosi") == []
    async with conn.execute("SELECT count(*) FROM articles_fts_docsize") as cur:
        row = await cur.fetchone()
    assert row is not None and row[0] == 0
    async with conn.execute("SELECT count(*) FROM article_texts") as cur:
        row = await cur.fetchone()
    assert row is not None and row[0] == 0
    await store(conn, article(3, "New", "Fresh text."))
    await assert_index_is_exact(conn)


async def test_new_articles_are_read_and_set_text_fills_the_unread(
    conn: aiosqlite.Connection,
) -> None:
    (new,) = await store(conn, article(1, "New without text", ""))
    assert await articles.count_unread(conn) == 0  # read now, even if the feed had no text
    assert new.id is not None
    # An article stored before migration 0003 has no text row at all.
    await conn.execute("DELETE FROM article_texts WHERE article_id = ?", (new.id,))
    assert await articles.unread(conn, 10) == [(new.id, "wp:1")]
    await articles.set_text(conn, [Text(new.id, "Pelosi in the text.", ("Gabala",))])
    assert await articles.count_unread(conn) == 0
    assert await titles(conn, "pelosi") == ["New without text"]
    assert await titles(conn, "gabala") == ["New without text"]
    await assert_index_is_exact(conn)


async def test_migration_0003_indexes_what_a_version_2_database_stored(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    raw = sqlite3.connect(path)
    raw.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at INTEGER)")
    for version, sql in db.migrations():
        if version <= 2:
            raw.executescript(sql)
            raw.execute("INSERT INTO schema_version VALUES (?, 0)", (version,))
    raw.execute(
        "INSERT INTO articles (id, key, url, title, summary, published_at, first_seen_at, "
        "updated_at) VALUES (7, 'wp:7', 'https://aze.media/7/', 'Şuşa hosts a festival', "
        "'Music in Bakı.', 0, 0, 0)"
    )
    raw.execute("INSERT INTO article_sections VALUES (7, 'climate-and-ecology')")
    raw.execute(
        "INSERT INTO articles_fts (rowid, title, summary, author, sections) "
        "VALUES (7, 'susa hosts a festival', 'music in baki.', '', 'climate and ecology')"
    )
    raw.commit()
    raw.close()
    conn = await db.connect(path)
    try:
        assert await db.schema_version(conn) == db.latest_version()
        await stored_sections.sync(conn, CATALOGUE)
        assert await titles(conn, "susa") == ["Şuşa hosts a festival"]
        assert await titles(conn, "baki") == ["Şuşa hosts a festival"]
        assert await titles(conn, "#climate-and-ecology festival") == ["Şuşa hosts a festival"]
        assert await titles(conn, "ecolog") == ["Şuşa hosts a festival"]  # the section's name
        assert await articles.unread(conn, 10) == [(7, "wp:7")]
        await assert_index_is_exact(conn)
    finally:
        await conn.close()


async def test_pages_of_a_section_filter_cover_both_tiers_once(conn: aiosqlite.Connection) -> None:
    await store(
        conn,
        *(article(n, f"Pelosi headline {n}", sections=("opinion",)) for n in range(1, 6)),
        *(article(n, f"Text {n}", "Pelosi again.", sections=("opinion",)) for n in range(6, 12)),
        *(article(n, f"Elsewhere {n}", "Pelosi again.") for n in range(12, 15)),
    )
    whole = await titles(conn, "#opinion pelosi", limit=50)
    assert len(whole) == 11 and len(set(whole)) == 11
    assert whole[:5] == [f"Pelosi headline {n}" for n in range(5, 0, -1)]
    pages = [await titles(conn, "#opinion pelosi", limit=3, offset=o) for o in range(0, 12, 3)]
    assert [t for page in pages for t in page] == whole
