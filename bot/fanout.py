"""Fan-out: a new article becomes one outbox row per subscribed chat or forum topic."""

from __future__ import annotations

from collections.abc import Sequence

import aiosqlite

from bot import topics
from bot.domain import Article
from storage import deliveries


async def fan_out(conn: aiosqlite.Connection, articles: Sequence[Article]) -> int:
    """Queue each article for its subscribers (idempotent); returns the rows created."""
    queued = 0
    for article in articles:
        if article.id is not None:
            queued += await deliveries.enqueue_article(conn, article.id)
    # Topic alerts share the outbox; its UNIQUE keeps a chat that matched twice at one message.
    queued += await topics.enqueue_followers(conn, articles)
    return queued
