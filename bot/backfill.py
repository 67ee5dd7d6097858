"""Reading the text and tags of articles stored before search kept them (migration 0003).

On upgrade every stored article lacks its text; search should find them by it all the same.
Their WordPress post ids ask the REST API for a batch at a time, one request in flight and a
pause between requests, so the site's readers come first. A fresh install has nothing to read.

    while articles.unread(BATCH) as batch:
        GET /wp-json/wp/v2/posts?include=<ids>&_embed=wp:term   # text and tag names
        articles.set_text(batch)        # a post the site no longer has is stored as read, empty
        log progress; sleep PAUSE
    an unreachable API: wait (doubling, capped), then the same batch again
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlencode

import aiosqlite

from bot import logs
from bot.domain import Text
from bot.fetch import Fetcher
from bot.ingest import fetcher_for
from bot.parse import FeedError, parse_rest_posts
from storage import articles

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger(__name__)

BATCH = 50  # posts per request (WordPress serves at most 100)
PAUSE = 2.0  # seconds between requests
RETRY_CAP = 3600.0
REST_ACCEPT = "application/json"


def post_id(key: str) -> int | None:
    """The WordPress post id an article key carries ("wp:123"), if any."""
    number = key.removeprefix("wp:")
    return int(number) if key.startswith("wp:") and number.isdigit() else None


def posts_url(site_url: str, ids: Sequence[int]) -> str:
    """The REST request for these posts' text and tag names."""
    query = urlencode(
        {"include": ",".join(map(str, ids)), "per_page": len(ids), "_embed": "wp:term"}
    )
    return f"{site_url.rstrip('/')}/wp-json/wp/v2/posts?{query}"


@dataclass(frozen=True, slots=True)
class Backfill:
    """Reads the text of unread articles from the site's REST API until none is left."""

    conn: aiosqlite.Connection
    fetcher: Fetcher
    site_url: str
    pause: float = PAUSE
    batch: int = BATCH

    async def run(self) -> int:
        """Read every unread article; returns how many were stored as read."""
        left = await articles.count_unread(self.conn)
        if not left:
            return 0
        logs.event(log, "backfill started", articles=left)
        done, failures = 0, 0
        while unread := await articles.unread(self.conn, self.batch):
            if done:
                await asyncio.sleep(self.pause)
            texts = await self.read(unread)
            if texts is None:
                failures += 1
                await asyncio.sleep(min(RETRY_CAP, self.pause * 2.0**failures))
                continue
            failures = 0
            await articles.set_text(self.conn, texts)
            done += len(texts)
            found = sum(bool(t.body) for t in texts)
            logs.event(
                log, "backfill progress", done=done, left=max(0, left - done), with_text=found
            )
        logs.event(log, "backfill finished", articles=done)
        return done

    async def read(self, unread: Sequence[tuple[int, str]]) -> list[Text] | None:
        """The text of each of these articles, or None when the site could not answer."""
        ids = {pid: article_id for article_id, key in unread if (pid := post_id(key)) is not None}
        # No post id (a feed that is not WordPress's): nothing to ask for, stored as read.
        texts = [Text(article_id, "") for article_id, key in unread if post_id(key) is None]
        if not ids:
            return texts
        result = await self.fetcher.get(posts_url(self.site_url, sorted(ids)), accept=REST_ACCEPT)
        reason = result.error
        if reason is None and not result.ok:
            reason = f"HTTP {result.status}"
        found: dict[int, Text] = {}
        if reason is None:
            try:
                for post in parse_rest_posts(result.body, section=""):
                    pid = post_id(post.key)
                    if pid in ids:
                        found[pid] = Text(ids[pid], post.body, post.tags)
            except FeedError as exc:
                reason = str(exc)
        if reason is not None:
            logs.event(log, "backfill paused", logging.WARNING, url=result.url, reason=reason)
            return None
        # A post the site no longer shows (deleted, made private) has no text to give.
        return texts + [found.get(pid, Text(article_id, "")) for pid, article_id in ids.items()]


async def run(rt: Runtime) -> None:
    """The start-up chore: read what migration 0003 left unread, then end."""
    try:
        async with fetcher_for(rt.settings) as fetcher:
            await Backfill(rt.db, fetcher, rt.settings.site_url).run()
    except Exception:
        # Search still works without the text; the next start tries again.
        log.exception("backfill failed")
