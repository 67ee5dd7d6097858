"""Chats and their settings."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import fields
from typing import Any

import aiosqlite

from bot.domain import Chat, ChatKind, ChatSettings
from storage.db import row, transaction

_SETTING_COLUMNS = tuple(f.name for f in fields(ChatSettings))


def settings_from(values: Sequence[Any]) -> ChatSettings:
    """A chat's settings from its settings columns, selected in ChatSettings' field order."""
    (language, style, link_preview, digest_time, quiet_start, quiet_end, quiet_silent, tz,
     digest_time2) = values  # fmt: skip
    return ChatSettings(
        language=language,
        style=style,
        link_preview=bool(link_preview),  # SQLite keeps booleans as 0/1
        digest_time=digest_time,
        quiet_start=quiet_start,
        quiet_end=quiet_end,
        quiet_silent=bool(quiet_silent),
        timezone=tz,
        digest_time2=digest_time2,
    )


def _chat(row: aiosqlite.Row) -> Chat:
    settings = settings_from([row[name] for name in _SETTING_COLUMNS])
    return Chat(row["id"], row["kind"], row["title"], settings, bool(row["active"]))


async def ensure(
    conn: aiosqlite.Connection,
    chat_id: int,
    kind: ChatKind,
    title: str = "",
    client_language: str | None = None,
) -> Chat:
    """The chat, created if new and reactivated if it had left; returns its current state.

    `client_language` (a private chat's app language) is remembered when given.
    """
    now = int(time.time())
    async with transaction(conn):
        await conn.execute(
            "INSERT INTO chats (id, kind, title, created_at, updated_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, title = excluded.title, "
            "active = 1, updated_at = excluded.updated_at WHERE chats.active = 0 "
            "OR chats.kind != excluded.kind OR chats.title != excluded.title",
            (chat_id, kind, title, now, now),
        )
        if client_language is not None:
            await conn.execute(
                "UPDATE chats SET client_language = ? WHERE id = ? AND client_language IS NOT ?",
                (client_language, chat_id, client_language),
            )
    chat = await get(conn, chat_id)
    assert chat is not None
    return chat


async def get(conn: aiosqlite.Connection, chat_id: int) -> Chat | None:
    """The stored chat, or None."""
    found = await row(conn, "SELECT * FROM chats WHERE id = ?", (chat_id,))
    return _chat(found) if found else None


async def update_settings(conn: aiosqlite.Connection, chat_id: int, settings: ChatSettings) -> None:
    """Store all of a chat's settings; what quiet hours or a digest held is due again."""
    values = [getattr(settings, name) for name in _SETTING_COLUMNS]
    assignments = ", ".join(f"{name} = ?" for name in _SETTING_COLUMNS)
    now = int(time.time())
    async with transaction(conn):
        await conn.execute(
            f"UPDATE chats SET {assignments}, updated_at = ? WHERE id = ?",
            (*values, now, chat_id),
        )
        # A hold was decided under the old settings (quiet hours or digest now switched off must
        # not keep messages waiting until morning); the dispatcher holds again if it still must.
        # Rows with attempts wait for a retry back-off, which settings do not change.
        await conn.execute(
            "UPDATE deliveries SET not_before = ? "
            "WHERE chat_id = ? AND status = 'pending' AND attempts = 0 AND not_before > ?",
            (now, chat_id, now),
        )


async def deactivate(conn: aiosqlite.Connection, chat_id: int) -> None:
    """Stop sending to a chat (blocked, kicked, gone) and drop what it was still owed."""
    async with transaction(conn):
        await conn.execute(
            "UPDATE chats SET active = 0, updated_at = ? WHERE id = ?", (int(time.time()), chat_id)
        )
        await conn.execute(
            "UPDATE deliveries SET status = 'dropped', error = 'chat inactive' "
            "WHERE chat_id = ? AND status = 'pending'",
            (chat_id,),
        )


async def migrate(conn: aiosqlite.Connection, old_id: int, new_id: int) -> bool:
    """A group became a supergroup: everything of the old id moves to the new one.

    False when the old id is unknown (already migrated: Telegram announces a migration in both
    chats, and the dispatcher may learn of it from a send as well).
    """
    # ON UPDATE CASCADE carries subscriptions, follows and deliveries along; an existing row for
    # the new id (the bot already saw the supergroup) is merged into by deleting it first.
    async with transaction(conn):
        if await row(conn, "SELECT 1 FROM chats WHERE id = ?", (old_id,)) is None:
            return False
        if await row(conn, "SELECT 1 FROM chats WHERE id = ?", (new_id,)) is not None:
            await conn.execute("DELETE FROM chats WHERE id = ?", (new_id,))
        await conn.execute(
            "UPDATE chats SET id = ?, kind = 'supergroup', updated_at = ? WHERE id = ?",
            (new_id, int(time.time()), old_id),
        )
    return True


async def delete(conn: aiosqlite.Connection, chat_id: int) -> None:
    """Forget a chat and everything stored for it (/stop)."""
    async with transaction(conn):
        await conn.execute("DELETE FROM chats WHERE id = ?", (chat_id,))
