"""Admin commands for NEWSBOT_ADMIN_IDS: /stats and /broadcast with a confirmation step."""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Collection, Sequence

from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import TelegramError

from bot import adminview, i18n, keyboards, logs, render
from bot.botdata import Context
from bot.handlers.context import db, language
from bot.handlers.context import send as reply
from storage import broadcasts, deliveries, stats

log = logging.getLogger(__name__)

CONFIRM = "b:ok:"
CANCEL = "b:no:"
COMMANDS = ("stats", "broadcast")
MAX_PENDING = 5  # previews per chat kept waiting; older ones expire


def is_admin(update: Update, context: Context) -> bool:
    """Whether the sender is one of NEWSBOT_ADMIN_IDS."""
    user = update.effective_user
    return user is not None and user.id in context.bot_data.runtime.settings.admin_ids


def _pending(context: Context) -> dict[str, str]:
    # Admin commands and their buttons always come from a chat, so chat_data exists.
    assert context.chat_data is not None
    return context.chat_data.broadcasts


async def _admin_message(update: Update, context: Context) -> tuple[Message, str] | None:
    """The command's message and reply language, or None after refusing a non-admin."""
    message = update.effective_message
    if message is None:
        return None
    lang = await language(update, context)
    if not is_admin(update, context):
        await reply(message, i18n.t(lang, "admin.refused"))
        return None
    return message, lang


async def stats_command(update: Update, context: Context) -> None:
    """Show the bot's figures: chats, deliveries in 24 h, send rate, sections and their polls."""
    asked = await _admin_message(update, context)
    if asked is None:
        return
    message, lang = asked
    rt = context.bot_data.runtime
    conn, now = db(context), int(time.time())
    figures = await stats.figures(conn, now)
    last_day = await deliveries.counts_since(conn, now - 86_400)
    dispatcher = context.bot_data.dispatcher
    rate = dispatcher.rate() if dispatcher is not None else None
    limit = rt.settings.rate_limit  # the configured ceiling, paid broadcasts or not
    report = adminview.stats_report(figures, last_day, rate, limit, now, lang)
    await reply(message, report)


async def broadcast_command(update: Update, context: Context) -> None:
    """Preview an announcement to every active chat, with Confirm and Cancel buttons."""
    asked = await _admin_message(update, context)
    if asked is None:
        return
    message, lang = asked
    text = adminview.broadcast_argument(message.text or "")
    verdict = adminview.judge(text)
    if verdict == "empty":
        await reply(message, i18n.t(lang, "admin.broadcast_usage"))
        return
    if verdict == "too_long":
        length = render.utf16_len(text)
        limit = adminview.MAX_BROADCAST
        await reply(message, i18n.t(lang, "admin.broadcast_too_long", length=length, limit=limit))
        return
    pending = _pending(context)
    while len(pending) >= MAX_PENDING:
        del pending[next(iter(pending))]
    token = secrets.token_hex(6)
    pending[token] = text
    chats = await broadcasts.audience(db(context))
    buttons = [
        InlineKeyboardButton(
            i18n.t(lang, "admin.broadcast_confirm"), callback_data=CONFIRM + token
        ),
        InlineKeyboardButton(i18n.t(lang, "admin.broadcast_cancel"), callback_data=CANCEL + token),
    ]
    preview = adminview.preview(text, chats, lang)
    await reply(message, preview, InlineKeyboardMarkup([buttons]))


async def broadcast_answer(update: Update, context: Context) -> None:
    """Confirm queues the announcement for every active chat; Cancel discards it."""
    query = update.callback_query
    if query is None:
        return
    lang = await language(update, context)
    if not is_admin(update, context):
        await query.answer(i18n.t(lang, "admin.refused"), show_alert=True)
        return
    data = query.data or ""
    action = CONFIRM if data.startswith(CONFIRM) else CANCEL if data.startswith(CANCEL) else ""
    # Popped before any await: of two quick taps on Confirm only one can queue it.
    text = _pending(context).pop(data[len(action) :], None) if action else None
    if text is None:
        await query.answer(i18n.t(lang, "admin.broadcast_gone"), show_alert=True)
        return
    if action == CANCEL:
        await query.answer(i18n.t(lang, "admin.toast_cancelled"))
        outcome = i18n.t(lang, "admin.broadcast_cancelled")
    else:
        user_id = update.effective_user.id if update.effective_user else 0
        broadcast_id, queued = await broadcasts.publish(db(context), text, user_id)
        context.bot_data.runtime.outbox_ready.set()
        logs.event(log, "broadcast queued", broadcast=broadcast_id, chats=queued, admin=user_id)
        outcome = i18n.t(lang, "admin.broadcast_queued", chats=queued)
        await query.answer(outcome)
    if isinstance(query.message, Message):
        body = render.broadcast_message(text).text
        await query.edit_message_text(
            f"{body}\n\n<i>{outcome}</i>", parse_mode=ParseMode.HTML, reply_markup=None
        )


async def advertise(bot: Bot, admin_ids: Collection[int], public: Sequence[BotCommand]) -> None:
    """Show /stats and /broadcast in the admins' own command menus only, in each language."""
    extra = [BotCommand(name, i18n.t(i18n.DEFAULT, f"command.{name}")) for name in COMMANDS]
    for admin_id in sorted(admin_ids):
        for lang in i18n.LANGUAGES:
            menu = keyboards.menu(lang, [*public, *extra])
            code = None if lang == i18n.DEFAULT else lang
            try:
                await bot.set_my_commands(
                    menu, scope=BotCommandScopeChat(admin_id), language_code=code
                )
            except TelegramError as exc:
                # Telegram knows the chat only once the admin has pressed Start; not fatal.
                logs.event(
                    log, "admin menu not set", logging.WARNING, admin=admin_id, error=str(exc)
                )
                break
