"""Topic alerts: which followed topics a new article matches, and owing it to those chats."""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence

import aiosqlite

from bot.domain import Article, Follow
from bot.i18n import t
from bot.search import MAX_WORDS, words
from storage import follows

MAX_PER_CHAT = 20

TopicIndex = Mapping[str, Sequence[Follow]]


def topic_of(text: str) -> str:
    """The stored form of a topic: its folded words, so "Şuşa" and "susa" are one topic."""
    return " ".join(words(text)[:MAX_WORDS])


def overview(followed: Sequence[Follow], thread_id: int, lang: str) -> str:
    """The topics of one chat (or forum topic) as an HTML list, for /mysubs and /follow."""
    mine = [f.query for f in followed if f.thread_id == thread_id]
    if not mine:
        return f"{t(lang, 'topics.heading')}\n{t(lang, 'topics.none')}"
    return t(lang, "topics.heading") + "\n" + "\n".join(f"• {html.escape(q)}" for q in mine)


def index(followed: Iterable[Follow]) -> dict[str, list[Follow]]:
    """Topics keyed by their longest word, so an article only looks at topics it might match."""
    by_word: dict[str, list[Follow]] = {}
    for follow in followed:
        topic = follow.words
        if topic:
            by_word.setdefault(max(topic, key=len), []).append(follow)
    return by_word


def recipients(topics: TopicIndex, article: Article) -> list[Follow]:
    """The topics whose every word appears in the article's title or summary."""
    present = set(words(article.title)) | set(words(article.summary))
    return [
        follow
        for word in present
        for follow in topics.get(word, ())
        if all(w in present for w in follow.words)
    ]


async def enqueue_followers(conn: aiosqlite.Connection, articles: Sequence[Article]) -> int:
    """Owe each new article to the chats following a topic it matches; returns rows added."""
    topics = index(await follows.active(conn))
    if not topics:
        return 0
    added = 0
    for article in articles:
        matched = recipients(topics, article)
        if matched and article.id is not None:
            added += await follows.enqueue(conn, article.id, matched)
    return added
