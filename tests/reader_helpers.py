"""Helpers for the reader's end-to-end tests: talk to the running bot through the double."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import aiosqlite

from bot.botdata import App
from tests.doubles.botapi import WAIT, BotApiDouble, Call

GROUP_ID = -4001
SUPERGROUP_ID = -1001234567890
CHANNEL_ID = -1009876543210
ADMIN = 5001
MEMBER = 5002


def db(app: App) -> aiosqlite.Connection:
    """The reader's connection of the running bot (other stages hold transactions on theirs)."""
    rt = app.bot_data.runtime
    return rt.reader_db or rt.db


async def say(botapi: BotApiDouble, chat_id: int, text: str, **kw: Any) -> Call:
    """Send `text` as a user; the bot's first message back to that chat."""
    since = len(botapi.calls)
    botapi.inject_message(chat_id, text, **kw)
    found = await botapi.wait_for(
        "sendMessage", lambda c: c.chat_id == chat_id and c.ok, since=since
    )
    return found[0]


async def post(botapi: BotApiDouble, chat_id: int, text: str) -> Call:
    """Post `text` in a channel; the bot's first message back to it."""
    since = len(botapi.calls)
    botapi.inject_channel_post(chat_id, text)
    found = await botapi.wait_for(
        "sendMessage", lambda c: c.chat_id == chat_id and c.ok, since=since
    )
    return found[0]


async def tap(botapi: BotApiDouble, chat_id: int, message: Call, data: str, **kw: Any) -> Call:
    """Press a button with `data` under the bot's `message`; the answerCallbackQuery call."""
    update = botapi.inject_callback(chat_id, message.result["message_id"], data, **kw)
    query_id = update["callback_query"]["id"]
    found = await botapi.wait_for(
        "answerCallbackQuery", lambda c: c.params.get("callback_query_id") == query_id
    )
    return found[0]


async def edited(botapi: BotApiDouble, method: str, since: int) -> Call:
    """The first successful `method` edit made after call index `since`."""
    found = await botapi.wait_for(method, lambda c: c.ok, since=since)
    return found[0]


async def quiet(botapi: BotApiDouble, since: int, *methods: str) -> None:
    """Assert nothing of `methods` was called after `since`, having let the handler finish."""
    await asyncio.sleep(0.3)  # a negative can only be observed by waiting a little
    made = [c for c in botapi.calls[since:] if c.method in methods]
    assert made == [], made


def labels(call: Call) -> list[str]:
    """Every button text of the call's keyboard."""
    return [b["text"] for b in call.buttons]


def data_of(call: Call, text: str) -> str:
    """The callback data of the button labelled `text`."""
    return next(str(b["callback_data"]) for b in call.buttons if b["text"] == text)


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = WAIT) -> None:  # noqa: ASYNC109
    """Wait until `check()` holds: for effects that show only in the database."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"still false after {timeout}s")
        await asyncio.sleep(0.02)
