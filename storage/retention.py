"""Pruning old articles (with their search rows) and finished delivery rows."""

from __future__ import annotations

from dataclasses import dataclass

import aiosqlite

from storage import articles
from storage.db import rows, transaction

DAY = 86_400
# Small batches keep each write transaction short, so the bot's sends never wait on a prune.
BATCH = 500


@dataclass(frozen=True, slots=True)
class Pruned:
    """How many rows one pass removed."""

    articles: int
    deliveries: int


def cutoff(now: int, days: int) -> int:
    """The unix time before which rows older than `days` fall."""
    return now - days * DAY


# Both dates must be old: an old post that a feed still lists would otherwise be deleted,
# re-ingested as new and pushed again.
_OLD_ARTICLES = (
    "SELECT id FROM articles WHERE published_at < :cut AND first_seen_at < :cut LIMIT :batch"
)

# A sent row is what makes fan_out idempotent for its article, so it is only dropped once the
# article itself is too old to be handed over again.
_OLD_DELIVERIES = (
    "SELECT d.id FROM deliveries d LEFT JOIN articles a ON a.id = d.article_id "
    "WHERE d.status IN ('sent', 'failed', 'dropped') "
    "AND COALESCE(d.sent_at, d.created_at) < :cut "
    "AND (d.article_id IS NULL OR a.first_seen_at < :cut) LIMIT :batch"
)


async def _articles(conn: aiosqlite.Connection, cut: int) -> int:
    total = 0
    while True:
        async with transaction(conn):
            ids = [r[0] for r in await rows(conn, _OLD_ARTICLES, {"cut": cut, "batch": BATCH})]
            if not ids:
                return total
            marks = ",".join("?" * len(ids))
            # No cascade reaches the search index (rowid = articles.id): its tokens leave in the
            # same transaction, before the rows they are computed from. Sections and deliveries
            # cascade.
            await articles.unindex(conn, ids)
            await conn.execute(f"DELETE FROM articles WHERE id IN ({marks})", ids)
        total += len(ids)


async def _deliveries(conn: aiosqlite.Connection, cut: int) -> int:
    total = 0
    while True:
        async with transaction(conn):
            cur = await conn.execute(
                f"DELETE FROM deliveries WHERE id IN ({_OLD_DELIVERIES})",
                {"cut": cut, "batch": BATCH},
            )
            removed = cur.rowcount
            await cur.close()
        if removed <= 0:
            return total
        total += removed


async def prune(
    conn: aiosqlite.Connection, *, now: int, article_days: int, delivery_days: int
) -> Pruned:
    """Delete articles older than `article_days` and finished deliveries older than
    `delivery_days`, measured from `now` (unix seconds)."""
    deliveries = await _deliveries(conn, cutoff(now, delivery_days))
    articles = await _articles(conn, cutoff(now, article_days))
    return Pruned(articles=articles, deliveries=deliveries)
