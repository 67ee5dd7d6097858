"""The handler prelude: where an update happens (chat, forum topic, language), who may change a
shared chat, and how a handler replies."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiosqlite
from telegram import ChatMember, InlineKeyboardMarkup, LinkPreviewOptions, Message, Update
from telegram.constants import ChatType
from telegram.error import BadRequest, TelegramError
from telegram.ext import filters

from bot import i18n, logs
from bot.botdata import Context
from bot.domain import ChatKind, ChatSettings
from storage import chats

log = logging.getLogger(__name__)

# Commands arrive as new messages or channel posts; edits of either are ignored on purpose.
NEW_POSTS = filters.UpdateType.MESSAGE | filters.UpdateType.CHANNEL_POST

# A "yes" from getChatMember is reused this long so a run of taps costs one call; a "no" is never
# reused (a member just promoted must not wait). A `chat_member` update drops the entry at once
# (groups.member_changed), so a demoted admin loses rights immediately where the bot is an admin
# (Telegram sends those updates only to admins); elsewhere a grant outlives a demotion by this
# much at most.
GRANT_TTL = 10.0
_ADMIN_STATUSES = (ChatMember.ADMINISTRATOR, ChatMember.OWNER)
KINDS: dict[str, ChatKind] = {
    ChatType.PRIVATE: "private",
    ChatType.GROUP: "group",
    ChatType.SUPERGROUP: "supergroup",
    ChatType.CHANNEL: "channel",
}


@dataclass(frozen=True, slots=True)
class Where:
    """The chat (and forum topic) an update concerns, its stored settings and reply language."""

    chat_id: int
    thread_id: int
    kind: ChatKind
    settings: ChatSettings
    lang: str
    client_language: str | None


def thread_of(message: Message) -> int:
    """The forum topic a message belongs to; 0 for the chat itself (and for reply chains)."""
    return (message.message_thread_id or 0) if message.is_topic_message else 0


def db(context: Context) -> aiosqlite.Connection:
    """The reader's database connection."""
    rt = context.bot_data.runtime
    return rt.reader_db or rt.db


async def where(update: Update, context: Context) -> Where | None:
    """The update's chat, stored (created or reactivated) so that settings can be read."""
    chat, message = update.effective_chat, update.effective_message
    if chat is None or chat.type not in KINDS:
        return None
    title = "" if chat.type == ChatType.PRIVATE else (chat.title or "")
    user = update.effective_user
    client = user.language_code if user and not user.is_bot else None
    # Only a private chat has one reader whose app language its pushes should follow.
    remembered = i18n.supported(client) if chat.type == ChatType.PRIVATE else None
    stored = await chats.ensure(db(context), chat.id, KINDS[chat.type], title, remembered)
    return Where(
        chat_id=chat.id,
        thread_id=thread_of(message) if isinstance(message, Message) else 0,
        kind=stored.kind,
        settings=stored.settings,
        lang=i18n.language_for(stored.settings, client),
        client_language=client,
    )


async def language(update: Update, context: Context) -> str:
    """The reply language without storing anything (for chats the bot must not remember)."""
    chat, user = update.effective_chat, update.effective_user
    stored = await chats.get(db(context), chat.id) if chat else None
    return i18n.language_for(
        stored.settings if stored else None, user.language_code if user else None
    )


async def may_manage(update: Update, context: Context) -> bool:
    """Whether the sender may change this chat's subscriptions and settings."""
    chat, message = update.effective_chat, update.effective_message
    if chat is None:
        return False
    if chat.type == ChatType.PRIVATE:
        return True
    if update.channel_post is not None:
        return True  # only a channel's administrators can post in it
    if update.callback_query is None and message is not None and message.sender_chat is not None:
        # An anonymous administrator posts as the group itself; a linked channel as itself.
        return message.sender_chat.id == chat.id
    user = update.effective_user
    if user is None:
        return False
    return await _is_admin(context, chat.id, user.id)


async def _is_admin(context: Context, chat_id: int, user_id: int) -> bool:
    grants = context.bot_data.admin_grants
    now = time.monotonic()
    if grants.get((chat_id, user_id), 0.0) > now:
        return True
    try:
        member = await context.bot.get_chat_member(chat_id, user_id)
    except TelegramError as exc:
        logs.event(log, "admin check failed", logging.WARNING, chat=chat_id, error=str(exc))
        return False
    if member.status not in _ADMIN_STATUSES:
        grants.pop((chat_id, user_id), None)
        return False
    if len(grants) > 10_000:  # a bound, not an eviction policy: entries expire in seconds anyway
        grants.clear()
    grants[(chat_id, user_id)] = time.monotonic() + GRANT_TTL
    return True


@contextlib.asynccontextmanager
async def unless_unchanged() -> AsyncIterator[None]:
    """Swallow Telegram's 'message is not modified' from a race between two quick taps."""
    try:
        yield
    except BadRequest as exc:
        if "not modified" not in exc.message.lower():
            raise


async def send(message: Message, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """Reply in the message's chat (and forum topic) with HTML text and no link preview."""
    await message.reply_html(
        text, reply_markup=markup, link_preview_options=LinkPreviewOptions(is_disabled=True)
    )
