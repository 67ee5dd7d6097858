"""The last callback handler: a button nobody handles (old, forged) still stops the spinner."""

from __future__ import annotations

from telegram import Update

from bot.botdata import Context
from bot.handlers.context import language
from bot.i18n import t


async def unknown_button(update: Update, context: Context) -> None:
    """Answer a button press that no other handler claimed, politely."""
    query = update.callback_query
    if query is None:
        return
    lang = await language(update, context)
    await query.answer(t(lang, "button_unknown"))
