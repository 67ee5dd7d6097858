"""/settings: per-chat message style, link preview, language, digest, quiet hours, time zone."""

from __future__ import annotations

import time
from datetime import datetime

from telegram import ForceReply, Message, Update
from telegram.ext import ApplicationHandlerStop

from bot import i18n, keyboards, preferences, replies, schedule, zones
from bot.botdata import Context
from bot.domain import ChatSettings
from bot.handlers.context import Where, db, may_manage, send, unless_unchanged, where
from bot.i18n import t
from storage import chats


def _view(settings: ChatSettings, here: Where, default_tz: str) -> tuple[str, str]:
    lang = i18n.language_for(settings, here.client_language)
    lines = preferences.describe(settings, lang, here.client_language, default_tz)
    return lang, replies.settings_view(lines, lang)


async def settings(update: Update, context: Context) -> None:
    """Show the settings with a keyboard to change them."""
    here = await where(update, context)
    if here is None or update.effective_message is None:
        return
    default_tz = context.bot_data.runtime.settings.timezone
    lang, text = _view(here.settings, here, default_tz)
    zone = here.settings.timezone or default_tz
    await send(update.effective_message, text, keyboards.settings(here.settings, lang, zone))


async def _save(context: Context, chat_id: int, updated: ChatSettings) -> None:
    await chats.update_settings(db(context), chat_id, updated)
    context.bot_data.runtime.outbox_ready.set()  # held messages are reconsidered under new settings


def _reply_wanted(here: Where) -> ForceReply | None:
    """Open the reader's reply box; channels have none (an admin posts a reply there instead)."""
    if here.kind == "channel":
        return None
    return ForceReply(input_field_placeholder=zones.EXAMPLES)


def _from_bot(message: Message, bot_id: int) -> bool:
    """Whether the bot wrote `message` (in a channel it posts as the channel itself)."""
    if message.from_user is not None:
        return message.from_user.id == bot_id
    return message.sender_chat is not None and message.sender_chat.id == message.chat.id


async def choose(update: Update, context: Context) -> None:
    """Apply one tapped option, or open a sub-page, and redraw the settings."""
    query = update.callback_query
    here = await where(update, context)
    if query is None or here is None:
        return
    if not isinstance(query.message, Message):
        await query.answer(t(here.lang, "toast_stale"))
        return
    if not await may_manage(update, context):
        await query.answer(t(here.lang, "admins_only"), show_alert=True)
        return
    default_tz = context.bot_data.runtime.settings.timezone
    zone = here.settings.timezone or default_tz
    data = query.data or ""
    if data == keyboards.SETTINGS_DONE:
        await query.answer(t(here.lang, "toast_saved"))
        async with unless_unchanged():
            await query.edit_message_text(t(here.lang, "settings_done"))
        return
    if data == keyboards.TZ_ASK:
        await query.answer()
        await query.message.reply_text(t(here.lang, "tz_ask"), reply_markup=_reply_wanted(here))
        return
    current = updated = here.settings
    parsed = keyboards.parse_settings(data)
    if data == keyboards.SETTINGS_OPEN:
        await query.answer()
    elif parsed is not None and parsed[0] == "page":
        page = parsed[1]
        prompt = preferences.page_prompt(page, current, here.lang, zone)
        markup = keyboards.settings_page(page, current, here.lang, zone)
        if prompt is not None and markup is not None:
            await query.answer()
            async with unless_unchanged():
                await query.edit_message_text(prompt, parse_mode="HTML", reply_markup=markup)
            return
        await query.answer(t(here.lang, "toast_stale"))  # then redraw the settings
    else:
        chosen = preferences.apply(current, *parsed) if parsed else None
        if chosen is None:
            await query.answer(t(here.lang, "toast_stale"))  # then redraw a fresh keyboard
        elif chosen == current:
            await query.answer(t(here.lang, "toast_unchanged"))
            # From a sub-page, go back to the settings all the same.
            if parsed is not None and parsed[0] not in ("dig", "dig2", "quiet", "tz"):
                return
        else:
            updated = chosen
            await _save(context, here.chat_id, updated)
            await query.answer(t(i18n.language_for(updated, here.client_language), "toast_saved"))
    lang, text = _view(updated, here, default_tz)
    markup = keyboards.settings(updated, lang, updated.timezone or default_tz)
    async with unless_unchanged():
        await query.edit_message_text(text, parse_mode="HTML", reply_markup=markup)


async def typed_zone(update: Update, context: Context) -> None:
    """A reply to the bot's "which time zone?": a city or UTC offset, resolved to a zone."""
    message = update.effective_message
    if message is None or not message.text or message.reply_to_message is None:
        return
    asked = message.reply_to_message
    if not _from_bot(asked, context.bot.id):
        return
    if not preferences.asks_for_zone(asked.text):
        return  # a reply to some other message of the bot's: not ours to answer
    here = await where(update, context)
    if here is None:
        raise ApplicationHandlerStop
    if not await may_manage(update, context):
        await send(message, t(here.lang, "admins_only"))
        raise ApplicationHandlerStop
    zone = zones.resolve(message.text)
    if zone is None:
        # Plain text: the reader's words are quoted back as typed, never parsed as markup.
        await message.reply_text(
            preferences.zone_not_found(message.text, here.lang), reply_markup=_reply_wanted(here)
        )
        raise ApplicationHandlerStop
    default_tz = context.bot_data.runtime.settings.timezone
    updated = preferences.apply(here.settings, "tz", zone) or here.settings
    if updated != here.settings:
        await _save(context, here.chat_id, updated)
    lang, text = _view(updated, here, default_tz)
    now = datetime.fromtimestamp(time.time(), schedule.zone(zone, default_tz))
    confirmed = t(lang, "tz_set", zone=zones.label(zone), time=f"{now:%H:%M}")
    await send(message, f"{confirmed}\n\n{text}", keyboards.settings(updated, lang, zone))
    raise ApplicationHandlerStop  # handled: the private-chat hint must not answer it too
