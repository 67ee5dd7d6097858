"""Parsing a reader's query and turning it into a safe FTS5 expression."""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot import search
from bot.domain import fold
from bot.sections import builtin
from storage import db

CATALOGUE = builtin("https://aze.media")

HOSTILE = [
    '"',
    '""',
    '"unterminated',
    "*",
    "**",
    "karab*",
    "-",
    "-russia",
    "a - b",
    "AND",
    "OR",
    "NOT",
    "NEAR",
    "NEAR(a b, 2)",
    "a AND OR b",
    "(",
    ")",
    "((a)",
    ":",
    "title:",
    "title:karabakh",
    "{title summary}: x",
    "^start",
    "a + b",
    "col:(a OR b)",
    "by:",
    "by:*",
    '#"',
    "#",
    "##",
    "#opinion",
    "'; DROP TABLE articles; --",
    "\x00",
    "\u200f\u202e",
    "😀" * 128,
    "🇦🇿" * 64,
    "שלום עולם " * 25,
    "مرحبا بالعالم " * 18,
    "Şuşa Bakı ƏLİYEV",
    "a" * 256,
    " ".join(["x"] * 128),
]


@pytest.fixture(scope="module")
def fts() -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(":memory:")
    conn.create_function("fold", 1, fold, deterministic=True)
    for _, sql in db.migrations():
        conn.executescript(sql)
    rows = [
        (1, "Karabakh peace talks resume", "Bakı and Yerevan meet again.", "Nikola Mikovic"),
        (2, "Şuşa festival opens", "Music returns to the city of Şuşa.", "Aysel Əliyeva"),
        (3, "Oil prices", "Brent rises as OPEC+ holds output — AND stays flat.", "Staff"),
    ]
    conn.executemany(
        "INSERT INTO articles_fts (rowid, title, tags, sections, author, summary, body) "
        "VALUES (?, ?, '', '', ?, ?, '')",
        [(i, fold(t), fold(a), fold(s)) for i, t, s, a in rows],
    )
    yield conn
    conn.close()


def hits(conn: sqlite3.Connection, text: str) -> list[int]:
    expression = search.match_expression(search.parse(text, CATALOGUE))
    if expression is None:
        return []
    cur = conn.execute(
        "SELECT rowid FROM articles_fts WHERE articles_fts MATCH ? ORDER BY rowid", (expression,)
    )
    return [r[0] for r in cur.fetchall()]


def test_words_are_folded_and_split_like_the_index() -> None:
    query = search.parse("Şuşa, Bakı! ƏLİYEV's", typing=False)
    assert query.words == ("susa", "baki", "eliyev", "s")
    assert not query.prefix


def test_last_word_is_a_prefix_only_while_typing() -> None:
    assert search.parse("karabakh pea").prefix
    assert not search.parse("karabakh peace ").prefix
    assert not search.parse("karabakh pea", typing=False).prefix
    assert not search.parse("peace #opinion", CATALOGUE).prefix


def test_section_filter_by_slug_name_or_unique_prefix() -> None:
    assert search.parse("#opinion russia", CATALOGUE).sections == ("opinion",)
    assert search.parse("#Opinion russia", CATALOGUE).sections == ("opinion",)
    assert search.parse("#climate-and-ecology", CATALOGUE).sections == ("climate-and-ecology",)
    assert search.parse("#ClimateAndEcology", CATALOGUE).sections == ("climate-and-ecology",)
    assert search.parse("#karab", CATALOGUE).sections == ("karabakh",)
    query = search.parse("#opinion russia", CATALOGUE)
    assert query.words == ("russia",)


def test_parent_section_brings_its_children() -> None:
    query = search.parse("#news gas", CATALOGUE)
    assert query.sections == ("news", "economy", "energy", "climate-and-ecology")


def test_unknown_or_ambiguous_hashtag_is_searched_as_words() -> None:
    query = search.parse("#nosuchthing", CATALOGUE)
    assert query.sections == ()
    assert query.words == ("nosuchthing",)
    # "c" starts both COP29 and Culture (and Climate): not a filter.
    assert search.parse("#c", CATALOGUE).sections == ()


def test_author_filter() -> None:
    query = search.parse("by:Mikovic karabakh", CATALOGUE)
    assert query.author == ("mikovic",)
    assert query.words == ("karabakh",)
    assert search.parse("BY:Əliyeva").author == ("eliyeva",)


def test_empty_and_filter_only_queries_match_nothing() -> None:
    assert search.match_expression(search.parse("")) is None
    assert search.match_expression(search.parse("   ")) is None
    assert search.match_expression(search.parse("😀 -- ** ()")) is None
    query = search.parse("#opinion", CATALOGUE)
    assert query.empty and query.sections == ("opinion",)
    assert search.match_expression(query) is None


def test_expression_quotes_every_word() -> None:
    query = search.parse('peace AND "war" karab')
    assert search.match_expression(query) == ('"peace" AND "and" AND "war" AND "karab"*')


def test_quote_doubles_inner_quotes() -> None:
    assert search.quote('a"b') == '"a""b"'


def test_word_count_is_capped() -> None:
    query = search.parse(" ".join(f"w{i}" for i in range(100)))
    assert len(query.words) == search.MAX_WORDS
    assert not query.prefix


def test_search_finds_prefix_folded_and_author(fts: sqlite3.Connection) -> None:
    assert hits(fts, "karab") == [1]
    assert hits(fts, "Susa") == [2]
    assert hits(fts, "şuşa fest") == [2]
    assert hits(fts, "baki") == [1]
    assert hits(fts, "by:mikov") == [1]
    assert hits(fts, "by:eliyeva") == [2]
    assert hits(fts, "karabakh by:eliyeva") == []
    assert hits(fts, "and") == [1, 3]  # a word, not an operator


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_queries_never_raise(fts: sqlite3.Connection, text: str) -> None:
    hits(fts, text)


def expressions(query: search.SearchQuery) -> list[str]:
    """Every expression storage runs for a query: each tier, and each tier minus the one before."""
    tiers = search.match_tiers(query) or ()
    return [*tiers, *(f"({b}) NOT ({a})" for a, b in itertools.pairwise(tiers))]


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=256))
def test_any_text_builds_a_valid_expression(text: str) -> None:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE VIRTUAL TABLE f USING fts5(title, tags, sections, author, summary, body)")
    conn.execute("INSERT INTO f VALUES ('a', 'b', 'c', 'd', 'e', 'f')")
    for expression in expressions(search.parse(text, CATALOGUE)):
        conn.execute("SELECT rowid FROM f WHERE f MATCH ?", (expression,)).fetchall()
    conn.close()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([*HOSTILE, "karab", "#opinion", "by:x", " "]), max_size=8))
def test_hostile_combinations_never_raise(parts: list[str]) -> None:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE VIRTUAL TABLE f USING fts5(title, tags, sections, author, summary, body)")
    for expression in expressions(search.parse(" ".join(parts)[:256], CATALOGUE)):
        conn.execute("SELECT rowid FROM f WHERE f MATCH ?", (expression,)).fetchall()
    conn.close()


def test_topic_matching_needs_every_word() -> None:
    topic = search.parse("Şuşa festival", typing=False).words
    assert search.matches(topic, "Susa Festival opens", "")
    assert search.matches(topic, "Festival opens", "In Şuşa, music…")
    assert not search.matches(topic, "Festival opens", "In Baku")
    assert not search.matches(topic, "Festivals", "Şuşa")  # whole words, no stemming
    assert not search.matches((), "anything", "at all")


def test_section_filter_narrows_inside_the_index() -> None:
    query = search.parse("#climate-and-ecology #energy gas", CATALOGUE)
    assert search.match_expression(query) == (
        '"gas"* AND sections : ("climateandecology" OR "energy")'
    )
