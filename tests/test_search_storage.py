"""The search query against a real SQLite database: ranking, filters, pagination."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiosqlite
import pytest

from bot import search
from bot.sections import builtin
from storage import db
from storage import search as stored
from storage import sections as stored_sections
from tests.search_data import DAY, T0, add_article

CATALOGUE = builtin("https://aze.media")


@pytest.fixture
async def conn(tmp_path: Path) -> AsyncIterator[aiosqlite.Connection]:
    connection = await db.connect(tmp_path / "bot.db")
    await stored_sections.sync(connection, CATALOGUE)
    yield connection
    await connection.close()


async def titles(
    conn: aiosqlite.Connection, text: str, limit: int = 20, offset: int = 0
) -> list[str]:
    query = search.parse(text, CATALOGUE)
    found = await stored.find(
        conn, search.match_tiers(query), query.sections, limit=limit, offset=offset
    )
    return [a.title for a in found]


async def test_title_outranks_summary_and_recency_breaks_ties(conn: aiosqlite.Connection) -> None:
    await add_article(
        conn, "Markets today", "Karabakh reconstruction lifts steel demand", published=T0 + 5 * DAY
    )
    await add_article(conn, "Karabakh reconstruction", "Old news about steel", published=T0)
    await add_article(conn, "Karabakh reconstruction", "Old news about steel", published=T0 + DAY)
    await add_article(conn, "Unrelated", "Nothing here", published=T0 + 9 * DAY)
    assert await titles(conn, "karabakh reconstruction") == [
        "Karabakh reconstruction",
        "Karabakh reconstruction",
        "Markets today",
    ]
    found = await stored.find(conn, search.match_tiers(search.parse("karabakh")), limit=2)
    assert [a.published.day if a.published else None for a in found] == [2, 1]


async def test_prefix_and_folding(conn: aiosqlite.Connection) -> None:
    await add_article(conn, "Şuşa festival opens", "Music in Bakı and Şuşa")
    await add_article(conn, "Karabakh peace", "")
    assert await titles(conn, "karab") == ["Karabakh peace"]
    assert await titles(conn, "susa") == ["Şuşa festival opens"]
    assert await titles(conn, "Baki") == ["Şuşa festival opens"]
    assert await titles(conn, "ŞUŞA") == ["Şuşa festival opens"]


async def test_section_and_author_filters(conn: aiosqlite.Connection) -> None:
    await add_article(
        conn, "Russia and the South Caucasus", sections=("opinion",), author="Nikola Mikovic"
    )
    await add_article(conn, "Russia raises gas exports", sections=("energy", "news"))
    await add_article(conn, "Russia in Central Asia", sections=("opinion",), author="Someone Else")
    # Both match in the title; the shorter title is the closer match.
    assert await titles(conn, "#opinion russia") == [
        "Russia in Central Asia",
        "Russia and the South Caucasus",
    ]
    assert await titles(conn, "russia by:mikovic") == ["Russia and the South Caucasus"]
    assert await titles(conn, "by:mikovic") == ["Russia and the South Caucasus"]
    assert await titles(conn, "#energy russia") == ["Russia raises gas exports"]
    # News brings its sub-sections along.
    assert await titles(conn, "#news russia") == ["Russia raises gas exports"]


async def test_empty_query_lists_newest_of_sections(conn: aiosqlite.Connection) -> None:
    for day in range(5):
        await add_article(conn, f"Culture {day}", sections=("culture",), published=T0 + day * DAY)
        await add_article(conn, f"Defense {day}", sections=("defense",), published=T0 + day * DAY)
    assert await titles(conn, "", limit=3) == ["Defense 4", "Culture 4", "Defense 3"]
    assert await titles(conn, "#culture", limit=2) == ["Culture 4", "Culture 3"]
    newest = await stored.find(conn, None, ["defense", "culture"], limit=1)
    assert newest[0].sections == ("defense",)


async def test_pagination_covers_everything_once(conn: aiosqlite.Connection) -> None:
    for i in range(45):
        await add_article(conn, f"Climate item {i}", published=T0 + i)
    pages = [await titles(conn, "climate", limit=20, offset=o) for o in (0, 20, 40, 60)]
    assert [len(p) for p in pages] == [20, 20, 5, 0]
    flat = [t for p in pages for t in p]
    assert len(set(flat)) == 45
    assert flat[0] == "Climate item 44"


async def test_articles_come_back_whole(conn: aiosqlite.Connection) -> None:
    article_id = await add_article(
        conn,
        "Energy transition",
        "Solar farms",
        author="A. Author",
        sections=("news", "energy"),
        image_url="https://aze.media/img.jpg",
    )
    [article] = await stored.find(conn, search.match_tiers(search.parse("solar")), limit=5)
    assert article.id == article_id
    assert article.sections == ("news", "energy")  # catalogue order
    assert article.image_url == "https://aze.media/img.jpg"
    assert article.author == "A. Author"
    assert article.url.startswith("https://aze.media/")


@pytest.mark.parametrize("text", ['"', "NEAR(", "-x", "a OR", "😀" * 256, "by:* #( :"])
async def test_hostile_queries_run(conn: aiosqlite.Connection, text: str) -> None:
    await add_article(conn, "Anything")
    await titles(conn, text)
