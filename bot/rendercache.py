"""Rendered messages and the articles behind them, read once per fan-out, not once per chat."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import tzinfo
from typing import Any

import aiosqlite

from bot import render
from bot.domain import Article, Pending
from bot.render import Rendered
from storage import articles as stored_articles
from storage import broadcasts

CACHE_SIZE = 2048  # entries per cache; cleared whole when full (fan-outs reuse few keys)


class RenderCache:
    """One render per (article, language, style, preview, zone) and one read per article."""

    def __init__(
        self,
        conn: aiosqlite.Connection,
        names: Mapping[str, str],
        utm: str | None,
        iv_rhash: str | None = None,
        size: int = CACHE_SIZE,
    ) -> None:
        self.conn = conn
        self.names = names
        self.utm = utm
        self.iv_rhash = iv_rhash
        self.size = size
        self._articles: dict[int, Article | None] = {}
        self._rendered: dict[tuple[Any, ...], Rendered] = {}

    async def article(self, article_id: int) -> Article | None:
        """The stored article (None if it no longer exists)."""
        if article_id not in self._articles:
            if len(self._articles) >= self.size:
                self._articles.clear()
            self._articles[article_id] = await stored_articles.get(self.conn, article_id)
        return self._articles[article_id]

    async def message(self, row: Pending, tz: tzinfo) -> Rendered | None:
        """The message a row sends (None if its article or broadcast no longer exists)."""
        if row.broadcast_id is not None:
            text = await broadcasts.text(self.conn, row.broadcast_id)
            return None if text is None else render.broadcast_message(text)
        assert row.article_id is not None
        s = row.settings
        key = (row.article_id, s.language, s.style, s.link_preview, str(tz))
        cached = self._rendered.get(key)
        if cached is not None:
            return cached
        article = await self.article(row.article_id)
        if article is None:
            return None
        rendered = render.article_message(
            article,
            s,
            s.language,
            section_names=self.names,
            tz=tz,
            utm=self.utm,
            iv_rhash=self.iv_rhash,
        )
        if len(self._rendered) >= self.size:
            self._rendered.clear()
        self._rendered[key] = rendered
        return rendered
