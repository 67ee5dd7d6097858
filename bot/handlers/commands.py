"""Reader commands in private chats, groups and channels."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from telegram import Message, Update
from telegram.ext import CommandHandler

from bot import keyboards, matching, preferences, replies, schedule, topics
from bot.botdata import Context
from bot.domain import Section
from bot.handlers.context import (
    Where,
    db,
    language,
    may_manage,
    send,
    thread_of,
    unless_unchanged,
    where,
)
from bot.i18n import t
from storage import articles, chats, follows, subscriptions

LATEST = 5


async def start(update: Update, context: Context) -> None:
    """Welcome the reader; a deep-link payload ('opinion-defense') follows those sections."""
    here = await where(update, context)
    message = update.effective_message
    if here is None or message is None:
        return
    rt = context.bot_data.runtime
    lang, conn = here.lang, db(context)
    payload = context.args[0] if context.args else ""
    lines = [t(lang, "welcome", site=replies.site_name(rt.settings.site_url))]
    # Payloads starting with "search-" belong to the search handlers, registered ahead of this
    # one; if none took it, the plain welcome is the right answer.
    if payload and not payload.startswith("search-"):
        offered = keyboards.visible(rt.sections)
        found = matching.from_payload(payload, offered)
        if found is None:
            lines.append(t(lang, "deep_link_unknown"))
        elif not await may_manage(update, context):
            lines.append(t(lang, "admins_only"))
        else:
            slugs = {s.slug for s in found}
            await subscriptions.add(conn, here.chat_id, slugs, here.thread_id)
            lines.append(t(lang, "deep_link_followed", sections=replies.names(rt.sections, slugs)))
    followed = await subscriptions.sections_of(conn, here.chat_id, here.thread_id)
    lines.append(t(lang, "picker_prompt"))
    await send(message, "\n\n".join(lines), keyboards.picker(rt.sections, followed, lang))


async def help_command(update: Update, context: Context) -> None:
    """List every command, one line each, and how inline search works."""
    message = update.effective_message
    if message is None:
        return
    lang = await language(update, context)
    await send(message, replies.help_text(lang, context.bot.username))


async def _resolve(
    message: Message, here: Where, sections: Sequence[Section], raw: str
) -> tuple[Section, ...] | None:
    """The sections named in `raw`, or None after telling the reader what was wrong."""
    offered = keyboards.visible(sections)
    if len(raw) > matching.MAX_ARGUMENT:
        await send(message, t(here.lang, "argument_too_long"))
        return None
    result = matching.resolve(raw, offered)
    if result.unknown or not result.found:
        name = result.unknown[0] if result.unknown else raw
        suggestions = matching.closest(name, offered)
        await send(message, replies.unknown(name, suggestions, offered, here.lang))
        return None
    return result.found


@dataclass(frozen=True, slots=True)
class _Change:
    """A /subscribe or /unsubscribe with names, from someone allowed to change the chat."""

    message: Message
    here: Where
    followed: set[str]
    raw: str


async def _change(update: Update, context: Context) -> _Change | None:
    """What to change, or None once answered (not allowed; no names, so the picker)."""
    here = await where(update, context)
    message = update.effective_message
    if here is None or message is None:
        return None
    if not await may_manage(update, context):
        await send(message, t(here.lang, "admins_only"))
        return None
    raw = " ".join(context.args or ())
    followed = await subscriptions.sections_of(db(context), here.chat_id, here.thread_id)
    if not raw.strip():
        markup = keyboards.picker(context.bot_data.runtime.sections, followed, here.lang)
        await send(message, t(here.lang, "picker_prompt"), markup)
        return None
    return _Change(message, here, followed, raw)


async def subscribe(update: Update, context: Context) -> None:
    """Follow sections named in the arguments; without arguments, show the picker."""
    change = await _change(update, context)
    if change is None:
        return
    message, here, followed = change.message, change.here, change.followed
    sections = context.bot_data.runtime.sections
    if matching.means_all(change.raw):
        found: tuple[Section, ...] | None = tuple(keyboards.visible(sections))
    else:
        found = await _resolve(message, here, sections, change.raw)
    if found is None:
        return
    wanted = {s.slug for s in found}
    new, old = wanted - followed, wanted & followed
    await subscriptions.add(db(context), here.chat_id, new, here.thread_id)
    text = replies.changed(here.lang, sections, subscribed=new, already_subscribed=old)
    await send(message, text)


async def unsubscribe(update: Update, context: Context) -> None:
    """Stop following the named sections, or all; without arguments, show the picker."""
    change = await _change(update, context)
    if change is None:
        return
    message, here, followed = change.message, change.here, change.followed
    sections = context.bot_data.runtime.sections
    if matching.means_all(change.raw):
        await subscriptions.remove_all(db(context), here.chat_id, here.thread_id)
        await send(message, t(here.lang, "unsubscribed_all"))
        return
    found = await _resolve(message, here, sections, change.raw)
    if found is None:
        return
    named = {s.slug for s in found}
    gone, absent = named & followed, named - followed
    await subscriptions.remove(db(context), here.chat_id, gone, here.thread_id)
    text = replies.changed(here.lang, sections, unsubscribed=gone, not_subscribed=absent)
    await send(message, text)


async def mysubs(update: Update, context: Context) -> None:
    """Show the chat's sections and settings, with buttons to change them."""
    here = await where(update, context)
    message = update.effective_message
    if here is None or message is None:
        return
    rt = context.bot_data.runtime
    followed = await subscriptions.sections_of(db(context), here.chat_id, here.thread_id)
    lines = preferences.describe(
        here.settings, here.lang, here.client_language, rt.settings.timezone
    )
    text = replies.overview(rt.sections, followed, lines, here.lang, topic=here.thread_id > 0)
    watched = await follows.list_for_chat(db(context), here.chat_id)
    text += "\n\n" + topics.overview(watched, here.thread_id, here.lang)
    await send(message, text, keyboards.mysubs(here.lang))


async def latest(update: Update, context: Context) -> None:
    """The five newest articles of the chat's sections, or of the sections named."""
    here = await where(update, context)
    message = update.effective_message
    if here is None or message is None:
        return
    rt = context.bot_data.runtime
    raw = " ".join(context.args or ())
    intro = ""
    if raw.strip():
        found = await _resolve(message, here, rt.sections, raw)
        if found is None:
            return
        slugs: set[str] | None = {s.slug for s in found}
        heading = t(
            here.lang, "latest_heading_section", section=replies.names(rt.sections, slugs or set())
        )
    else:
        slugs = await subscriptions.sections_of(db(context), here.chat_id, here.thread_id) or None
        heading = t(here.lang, "latest_heading")
        if slugs is None:
            intro = t(here.lang, "latest_all_sections") + "\n\n"
    found_articles = await articles.latest(db(context), LATEST, slugs)
    tz = schedule.zone(here.settings.timezone, rt.settings.timezone)
    listed = replies.latest(found_articles, rt.sections, heading, here.lang, tz)
    await send(message, intro + listed)


async def stop(update: Update, context: Context) -> None:
    """Ask for confirmation before forgetting the chat."""
    message = update.effective_message
    if message is None:
        return
    lang = await language(update, context)
    if not await may_manage(update, context):
        await send(message, t(lang, "admins_only"))
        return
    await send(message, t(lang, "stop_confirm"), keyboards.stop(lang))


async def stop_answer(update: Update, context: Context) -> None:
    """Forget the chat (subscriptions, settings, pending messages) or keep everything."""
    query, chat = update.callback_query, update.effective_chat
    if query is None or chat is None:
        return
    lang = await language(update, context)
    if not await may_manage(update, context):
        await query.answer(t(lang, "admins_only"), show_alert=True)
        return
    await query.answer()
    topic = thread_of(query.message) if isinstance(query.message, Message) else 0
    if query.data == keyboards.STOP_YES and topic:
        # A forum topic forgets only itself; the other topics keep their sections.
        conn = db(context)
        await subscriptions.remove_all(conn, chat.id, topic)
        await follows.remove_all(conn, chat.id, topic)
        text = t(lang, "stop_done_topic")
    elif query.data == keyboards.STOP_YES:
        await chats.delete(db(context), chat.id)
        text = t(lang, "stop_done")
    else:
        text = t(lang, "stop_cancelled")
    if isinstance(query.message, Message):
        async with unless_unchanged():
            await query.edit_message_text(text, parse_mode="HTML")


async def hint(update: Update, context: Context) -> None:
    """Answer any other private message with a one-line hint."""
    message = update.effective_message
    if message is None:
        return
    if message.text and message.text.startswith("/") and _is_registered(message.text, context):
        return  # another handler answers this command
    lang = await language(update, context)
    await send(message, t(lang, "hint", bot=context.bot.username))


def _is_registered(text: str, context: Context) -> bool:
    name = text[1:].split(maxsplit=1)[0].split("@", 1)[0].lower() if len(text) > 1 else ""
    return any(
        isinstance(handler, CommandHandler) and name in handler.commands
        for handlers in context.application.handlers.values()
        for handler in handlers
    )
