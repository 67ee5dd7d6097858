"""The last resort: log a failed update (never the token) and tell the reader, never crash."""

from __future__ import annotations

import logging
import traceback

from telegram import Update
from telegram.constants import ChatType
from telegram.error import RetryAfter

from bot import logs
from bot.botdata import Context
from bot.budget import unreachable
from bot.handlers.context import language
from bot.i18n import t

log = logging.getLogger(__name__)


async def on_error(update: object, context: Context) -> None:
    """Log what failed; answer a pending button press or a private message with an apology."""
    error = context.error
    if isinstance(error, RetryAfter) or (error is not None and unreachable(error)):
        # Telegram refused or did not answer a reply the limiter already waited for: one line,
        # no traceback, and no apology into the same refused second (or the same outage).
        logs.event(
            log,
            "reply not sent",
            logging.WARNING,
            error=logs.redact(f"{type(error).__name__}: {error}", context.bot.token),
        )
        return
    details = "".join(traceback.format_exception(error)) if error else ""
    logs.event(
        log,
        "update failed",
        logging.ERROR,
        error=logs.redact(repr(error), context.bot.token),
        traceback=logs.redact(details, context.bot.token),
    )
    if not isinstance(update, Update):
        return
    chat = update.effective_chat
    try:
        lang = await language(update, context)
        if update.callback_query is not None:
            await update.callback_query.answer(t(lang, "error_generic"))
        elif update.effective_message and chat and chat.type == ChatType.PRIVATE:
            await update.effective_message.reply_text(t(lang, "error_generic"))
    except Exception as exc:  # the apology is best effort; an error handler must not raise
        logs.event(
            log, "apology failed", logging.WARNING, error=logs.redact(repr(exc), context.bot.token)
        )
