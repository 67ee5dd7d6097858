"""/settings: per-chat message style, link preview, language, digest, quiet hours, time zone."""

from __future__ import annotations

from telegram import Message, Update
from telegram.ext import ContextTypes

from bot import i18n, keyboards, preferences, replies, runtime
from bot.domain import ChatSettings
from bot.handlers import groups
from bot.handlers.picker import send, unless_unchanged
from bot.i18n import t
from storage import chats


def _view(settings: ChatSettings, here: groups.Where, default_tz: str) -> tuple[str, str]:
    lang = i18n.language_for(settings, here.client_language)
    lines = preferences.describe(settings, lang, here.client_language, default_tz)
    return lang, replies.settings_view(lines, lang)


async def settings(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Show the settings with a keyboard to change them."""
    here = await groups.where(update, context)
    if here is None or update.effective_message is None:
        return
    default_tz = runtime.of(context).settings.timezone
    lang, text = _view(here.settings, here, default_tz)
    zone = here.settings.timezone or default_tz
    await send(update.effective_message, text, keyboards.settings(here.settings, lang, zone))


async def choose(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Apply one tapped option and redraw the settings (in the new language, if it changed)."""
    query = update.callback_query
    here = await groups.where(update, context)
    if query is None or here is None:
        return
    if not isinstance(query.message, Message):
        await query.answer(t(here.lang, "toast_stale"))
        return
    if not await groups.may_manage(update, context):
        await query.answer(t(here.lang, "admins_only"), show_alert=True)
        return
    rt = runtime.of(context)
    default_tz = rt.settings.timezone
    data = query.data or ""
    if data == keyboards.SETTINGS_DONE:
        await query.answer(t(here.lang, "toast_saved"))
        async with unless_unchanged():
            await query.edit_message_text(t(here.lang, "settings_done"))
        return
    current = updated = here.settings
    if data == keyboards.SETTINGS_OPEN:
        await query.answer()
    else:
        parsed = keyboards.parse_settings(data)
        chosen = preferences.apply(current, *parsed) if parsed else None
        if chosen is None:
            await query.answer(t(here.lang, "toast_stale"))  # then redraw a fresh keyboard
        elif chosen == current:
            await query.answer(t(here.lang, "toast_unchanged"))
            return
        else:
            updated = chosen
            await chats.update_settings(groups.db(context), here.chat_id, updated)
            rt.outbox_ready.set()  # held messages are reconsidered under the new settings
            await query.answer(t(i18n.language_for(updated, here.client_language), "toast_saved"))
    lang, text = _view(updated, here, default_tz)
    markup = keyboards.settings(updated, lang, updated.timezone or default_tz)
    async with unless_unchanged():
        await query.edit_message_text(text, parse_mode="HTML", reply_markup=markup)
