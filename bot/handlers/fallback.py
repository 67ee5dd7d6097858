"""The last callback handler: a button nobody handles (old, forged) still stops the spinner."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot.handlers import groups
from bot.i18n import t


async def unknown_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer a button press that no other handler claimed, politely."""
    query = update.callback_query
    if query is None:
        return
    lang = await groups.language(update, context)
    await query.answer(t(lang, "button_unknown"))
