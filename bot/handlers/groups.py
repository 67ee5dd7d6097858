"""Chats the bot joins, leaves or sees change: membership, admin rights, group migration."""

from __future__ import annotations

import logging

from telegram import ChatMember, Update
from telegram.constants import ChatType

from bot import logs
from bot.botdata import Context
from bot.handlers.context import KINDS, db
from storage import chats

log = logging.getLogger(__name__)


async def member_changed(update: Update, context: Context) -> None:
    """A member was promoted, demoted or left: forget what was known of their rights."""
    change = update.chat_member
    if change is None:
        return
    # Dropped before any await, so a tap processed after this update is checked afresh.
    context.bot_data.admin_grants.pop((change.chat.id, change.new_chat_member.user.id), None)
    logs.event(
        log,
        "member status changed",
        chat=change.chat.id,
        user=change.new_chat_member.user.id,
        status=change.new_chat_member.status,
    )


async def membership(update: Update, context: Context) -> None:
    """The bot was added to or removed from a chat (or blocked/unblocked in private)."""
    change = update.my_chat_member
    if change is None:
        return
    chat, status = change.chat, change.new_chat_member.status
    conn = db(context)
    if status in (ChatMember.LEFT, ChatMember.BANNED):
        await chats.deactivate(conn, chat.id)
        logs.event(log, "removed from chat", chat=chat.id, status=status)
    elif chat.type in KINDS:
        title = "" if chat.type == ChatType.PRIVATE else (chat.title or "")
        await chats.ensure(conn, chat.id, KINDS[chat.type], title)
        logs.event(log, "added to chat", chat=chat.id, status=status)


async def migrated(update: Update, context: Context) -> None:
    """A group became a supergroup: its subscriptions and settings move to the new id."""
    message = update.effective_message
    if message is None or message.migrate_to_chat_id is None:
        return
    if not await chats.migrate(db(context), message.chat_id, message.migrate_to_chat_id):
        return  # the other chat's service message, or a send, moved it already
    logs.event(log, "chat migrated", chat=message.chat_id, to=message.migrate_to_chat_id)
