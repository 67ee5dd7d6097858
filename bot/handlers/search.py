"""/search, its deep link, and topic alerts (/follow, /unfollow) in private chats and groups."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import tzinfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.ext import filters

from bot import matching, replies, schedule, search, topics
from bot.botdata import Context
from bot.domain import Article, Follow, Section
from bot.handlers import picker
from bot.handlers.context import Where, db, may_manage, send, where
from bot.i18n import t
from storage import follows
from storage import search as stored

TOP = 5
DEEP_LINK = "search-"
MAX_INLINE_QUERY = 256  # the most switch_inline_query_current_chat may carry
# "/start search-karabakh-peace" (with the bot's @name in groups): the search deep link.
START_SEARCH = filters.Regex(r"^/start(@\w+)?\s+search-")


def results_text(
    raw: str, articles: Sequence[Article], sections: Sequence[Section], lang: str, tz: tzinfo
) -> str:
    """The compact list /search answers with: linked headline over section and date."""
    shown = replies.shown(raw)
    if not articles:
        return t(lang, "search.none", query=shown)
    return replies.latest(articles, sections, t(lang, "search.heading", query=shown), lang, tz)


async def _search(update: Update, context: Context, raw: str) -> None:
    here, message = await where(update, context), update.effective_message
    if here is None or message is None:
        return
    rt = context.bot_data.runtime
    query = search.parse(raw, rt.sections, typing=False)
    if query.empty:
        await send(message, t(here.lang, "search.usage"))
        return
    found = await stored.find(db(context), search.match_tiers(query), query.sections, limit=TOP)
    markup = None
    if found and here.kind != "channel":  # channels have no input field to switch to
        more = InlineKeyboardButton(
            t(here.lang, "search.more"),
            switch_inline_query_current_chat=" ".join(raw.split())[:MAX_INLINE_QUERY],
        )
        markup = InlineKeyboardMarkup([[more]])
    tz = schedule.zone(here.settings.timezone, rt.settings.timezone)
    await send(message, results_text(raw, found, rt.sections, here.lang, tz), markup)


async def search_command(update: Update, context: Context) -> None:
    """Reply with the five best matches for the words given, and a button for more."""
    await _search(update, context, " ".join(context.args or ()))


async def start(update: Update, context: Context) -> None:
    """The deep link t.me/<bot>?start=search-<words>; with no words, the section picker."""
    payload = context.args[0] if context.args else ""
    words = payload.removeprefix(DEEP_LINK).replace("-", " ").replace("_", " ").strip()
    if words:
        await _search(update, context, words)
    else:
        await picker.sections(update, context)


async def _topic_words(
    update: Update, context: Context, usage: str | None
) -> tuple[Message, Where, str] | None:
    """The words of /follow or /unfollow, or None once answered (no words: list; not allowed)."""
    here, message = await where(update, context), update.effective_message
    if here is None or message is None:
        return None
    raw = " ".join(context.args or ())
    if not raw.strip():
        listed = await follows.list_for_chat(db(context), here.chat_id)
        text = topics.overview(listed, here.thread_id, here.lang)
        if usage:
            text += "\n\n" + t(here.lang, usage)
        await send(message, text)
        return None
    if not await may_manage(update, context):
        await send(message, t(here.lang, "admins_only"))
        return None
    return message, here, raw


async def follow(update: Update, context: Context) -> None:
    """Also send this chat new articles whose headline or summary contain all these words."""
    asked = await _topic_words(update, context, usage="topics.usage")
    if asked is None:
        return
    message, here, raw = asked
    topic = topics.topic_of(raw)
    if not topic:
        await send(message, t(here.lang, "topics.no_words"))
        return
    outcome = await follows.add(
        db(context), Follow(here.chat_id, topic, here.thread_id), limit=topics.MAX_PER_CHAT
    )
    if outcome == "full":
        text = t(here.lang, "topics.full", limit=topics.MAX_PER_CHAT)
    else:
        key = "topics.added" if outcome == "added" else "topics.exists"
        text = t(here.lang, key, topic=replies.shown(topic))
    await send(message, text)


async def unfollow(update: Update, context: Context) -> None:
    """Stop one topic alert, or all of them; without words, list the chat's topics."""
    asked = await _topic_words(update, context, usage=None)
    if asked is None:
        return
    message, here, raw = asked
    conn = db(context)
    if matching.means_all(raw):
        await follows.remove_all(conn, here.chat_id, here.thread_id)
        await send(message, t(here.lang, "topics.removed_all"))
        return
    topic = topics.topic_of(raw)
    removed = bool(topic) and await follows.remove(
        conn, Follow(here.chat_id, topic, here.thread_id)
    )
    key = "topics.removed" if removed else "topics.unknown"
    await send(message, t(here.lang, key, topic=replies.shown(topic or raw)))
