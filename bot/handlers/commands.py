"""Reader commands in private chats, groups and channels."""

from __future__ import annotations

import html

from telegram import Update
from telegram.ext import ContextTypes

from bot import runtime


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Welcome the reader."""
    rt = runtime.of(context)
    if update.effective_message is None:
        return
    await update.effective_message.reply_html(
        f"Welcome! I bring you the news of <b>{html.escape(rt.settings.site_url)}</b>."
    )
