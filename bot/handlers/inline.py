"""Inline mode: `@bot words` in any chat answers with matching articles, a page at a time."""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Mapping, Sequence
from datetime import tzinfo
from urllib.parse import urlsplit

from telegram import (
    InlineQueryResultArticle,
    InlineQueryResultsButton,
    InputTextMessageContent,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import TelegramError

from bot import i18n, logs, metrics, render, schedule, search
from bot.botdata import Context
from bot.domain import Article, ChatSettings
from bot.handlers.context import db
from storage import search as stored
from storage import subscriptions

log = logging.getLogger(__name__)

PAGE = 20  # the Bot API allows 50; 20 keeps the answer small and the first page fast
CACHE_SECONDS = 30  # new articles show up within a minute
DESCRIPTION_WORDS = 90  # characters of summary in a result's description
SNIPPET_CHARS = 160  # characters of a matched passage of the text, which must show its words
# /start payload of the "no results" button: the search deep link without words, which opens
# the section picker (see bot.handlers.search.start).
BROWSE_PAYLOAD = "search-"


def offset_of(raw: str) -> int:
    """The page offset Telegram echoes back; anything but a small number means the start."""
    if not raw.isdigit() or len(raw) > 6:
        return 0
    return min(int(raw), stored.WINDOW)


def next_offset(offset: int, found: int) -> str:
    """The offset of the next page, or "" when this page was the last one."""
    following = offset + found
    return str(following) if found == PAGE and following < stored.WINDOW else ""


def describe(
    article: Article, names: Mapping[str, str], lang: str, tz: tzinfo, snippet: str = ""
) -> str:
    """'Opinion · March 5, 2025 · First words of the summary…' under a result's title; the
    passage of the text that matched instead of the summary when only the text did."""
    parts = [names.get(s, s) for s in article.sections[:1]]
    if article.published is not None:
        parts.append(i18n.format_date(article.published.astimezone(tz), lang))
    summary = " ".join((snippet or article.summary).split())
    if summary:
        parts.append(render.trim(summary, DESCRIPTION_WORDS if not snippet else SNIPPET_CHARS))
    return " · ".join(parts)


def _image(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url)
    return url if parts.scheme in ("http", "https") and parts.netloc else None


def results(
    articles: Sequence[Article],
    lang: str,
    names: Mapping[str, str],
    tz: tzinfo,
    utm: str | None,
    iv_rhash: str | None = None,
    snippets: Mapping[int, str] | None = None,
) -> list[InlineQueryResultArticle]:
    """Each article as a result whose message is the same one a push would be."""
    answer = []
    for article in articles:
        snippet = (snippets or {}).get(article.id or 0, "")
        message = render.article_message(
            article, ChatSettings(), lang, section_names=names, tz=tz, utm=utm, iv_rhash=iv_rhash
        )
        answer.append(
            InlineQueryResultArticle(
                id=str(article.id),
                title=(article.title.strip() or article.url)[:256],
                description=describe(article, names, lang, tz, snippet),
                thumbnail_url=_image(article.image_url),
                input_message_content=InputTextMessageContent(
                    message.text,
                    parse_mode=ParseMode.HTML,
                    link_preview_options=message.link_preview,
                ),
                reply_markup=message.reply_markup,
            )
        )
    return answer


async def inline_query(update: Update, context: Context) -> None:
    """Answer an inline search with one page of matching articles."""
    inline = update.inline_query
    if inline is None:
        return
    started = time.monotonic()
    rt = context.bot_data.runtime
    lang = i18n.language_for(None, inline.from_user.language_code)
    query = search.parse(inline.query, rt.sections)
    offset = offset_of(inline.offset)
    sections = query.sections
    if query.empty and not sections:
        # Browsing: the newest articles of the sections this reader follows in private.
        mine = await subscriptions.sections_of(db(context), inline.from_user.id)
        sections = tuple(sorted(mine))
    conn = db(context)
    snippets: dict[int, str] = {}
    try:
        tiers = search.match_tiers(query)
        found = await stored.find(conn, tiers, sections, limit=PAGE, offset=offset)
        # Only the text explains these matches: show the passage that holds the words.
        unexplained = [
            a.id for a in found if a.id and not search.found_in(query, a.title, a.summary)
        ]
        if tiers and unexplained:
            snippets = await stored.snippets(conn, tiers[-1], unexplained)
    except sqlite3.Error as exc:
        # Never expected (the expression is built from quoted words), but a reader typing must
        # never meet a silent spinner: log it and answer with nothing.
        logs.event(log, "inline search failed", logging.ERROR, error=str(exc))
        found = []
    names = {s.slug: s.name for s in rt.sections}
    tz = schedule.zone(None, rt.settings.timezone)
    button = None
    if not found and offset == 0:
        button = InlineQueryResultsButton(
            text=i18n.t(lang, "search.no_results"), start_parameter=BROWSE_PAYLOAD
        )
    try:
        await inline.answer(
            results(found, lang, names, tz, rt.settings.utm, rt.settings.iv_rhash, snippets),
            cache_time=CACHE_SECONDS,
            # Always personal: every answer is rendered in this reader's language (dates, "Read
            # more", the no-results button), and a shared cache entry would reach every reader.
            is_personal=True,
            next_offset=next_offset(offset, len(found)),
            button=button,
        )
    except TelegramError as exc:
        # Typically "query is too old": the reader typed on; the newer query gets its answer.
        logs.event(log, "inline answer failed", logging.WARNING, error=str(exc))
    else:
        metrics.inline_query(time.monotonic() - started)
